// Where the servers of this run are (written by global-setup.ts), and small helpers the specs
// share: the public API, the SMTP server's mailbox, otpd's CLI.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, type Page } from '@playwright/test';

export interface E2eState {
	consoleUrl: string;
	publicUrl: string;
	setupLink: string;
	smtpPort: number;
	mailDir: string;
	dataDir: string;
	otpdBin: string;
	screenshots: string;
}

export const STATE_FILE = resolve(import.meta.dirname, '../test-results/e2e-state.json');

export function state(): E2eState {
	return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
}

/** POSTs a JSON body to the public API; answers status and body. */
export async function publicApi(path: string, body: unknown) {
	const r = await fetch(state().publicUrl + path, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body)
	});
	return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The mails the SMTP server received, oldest first (each as rendered text). */
export function mails(): string[] {
	const dir = state().mailDir;
	return readdirSync(dir)
		.filter((f) => f.endsWith('.txt'))
		.sort()
		.map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** Waits until the SMTP server has received `count` mails; returns them. */
export async function waitForMails(count: number): Promise<string[]> {
	await expect.poll(() => mails().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(count);
	return mails();
}

/** Runs the otpd CLI against this run's server. */
export function otpdCli(args: string[], input?: string): string {
	return execFileSync(state().otpdBin, [...args, '--data-dir', state().dataDir], {
		input,
		encoding: 'utf8'
	});
}

/** Saves a full-page screenshot into docs/screenshots (light theme, then dark). */
export async function screenshots(page: Page, name: string) {
	const dir = state().screenshots;
	await page.emulateMedia({ colorScheme: 'light' });
	await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: join(dir, `${name}-dark.png`), fullPage: true });
	await page.emulateMedia({ colorScheme: 'light' });
}
