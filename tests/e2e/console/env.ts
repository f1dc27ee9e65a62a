// Where the servers of this run are (written by global-setup.ts), and small helpers the specs
// share: the public API, the SMTP server's mailbox, otpd's CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The operators the specs create (01: the admin, 05: the viewer). */
export const ADMIN = { name: 'alice', password: 'correct horse battery staple' };
export const VIEWER = { name: 'victor', password: 'viewer horse battery staple' };

/** The e-mail customer of ACME whose codes 03 issues (and 07 and 08 show). */
export const CUSTOMER = 'dana@acme.test';

/** Follows a sidebar link ("Brands", "Issuance log", …). */
export async function nav(page: Page, name: string) {
	const link = page
		.getByRole('navigation', { name: 'Main' })
		.getByRole('link', { name, exact: true });
	await link.click();
	// The old page's heading is visible too until the router has swapped pages: wait for the
	// link to be marked current, which happens when the new page is in place.
	await expect(link).toHaveAttribute('aria-current', 'page');
	await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
}

/** A headline number of the dashboard ("Codes issued, 24 h", "Limit hits, 24 h"). */
export async function kpi(page: Page, name: string): Promise<number> {
	const card = page
		.locator('section')
		.filter({ has: page.getByRole('heading', { name, exact: true }) });
	return Number((await card.locator('.num').first().innerText()).replace(/[^\d]/g, ''));
}

/** Logs in through /login (the page must be anonymous) and waits for the dashboard. */
export async function login(page: Page, who: { name: string; password: string } = ADMIN) {
	await page.goto(state().consoleUrl + '/login');
	await page.getByLabel('Name', { exact: true }).fill(who.name);
	await page.getByLabel('Password', { exact: true }).fill(who.password);
	await page.getByRole('button', { name: 'Log in' }).click();
	await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
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

/** One customer of one brand as a client app names them in the public API. */
export interface Customer {
	brand: string;
	identifierType: 'EMAIL' | 'MOBILE';
	identifierValue: string;
	deviceId: string;
}

/** The application code of a public-API answer (`status.code`). */
export function appCode(body: Record<string, unknown>): number | undefined {
	return (body.status as { code?: number } | undefined)?.code;
}

/** token/generate for `who`; answers the session ID. */
export async function openSession(who: Customer): Promise<string> {
	const r = await publicApi('/auth/v1/token/generate', who);
	expect(r.status, JSON.stringify(r.body)).toBe(200);
	const sessionId = (r.body.user as { sessionId?: string } | undefined)?.sessionId;
	expect(sessionId).toBeTruthy();
	return sessionId as string;
}

/**
 * Signs a request with a JavaScript signing module (the console's snippet, saved as it is)
 * in a separate `node` process, as a client developer would run it: answers the hash.
 */
export function signWithNode(
	moduleSource: string,
	secret: string,
	path: string,
	body: Record<string, unknown>,
	timeStamp: number
): string {
	const dir = mkdtempSync(join(tmpdir(), 'otpd-sign-'));
	writeFileSync(join(dir, 'sign-v1.mjs'), moduleSource);
	writeFileSync(
		join(dir, 'sign.mjs'),
		[
			"import { signV1 } from './sign-v1.mjs';",
			'const [secret, path, body, timeStamp] = process.argv.slice(2);',
			'console.log(await signV1(secret, path, JSON.parse(body), Number(timeStamp)));'
		].join('\n')
	);
	try {
		return execFileSync(
			process.execPath,
			[join(dir, 'sign.mjs'), secret, path, JSON.stringify(body), String(timeStamp)],
			{ encoding: 'utf8' }
		).trim();
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
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

/** The recipient (envelope) of a mail from `mails()`. */
export function recipient(mail: string): string {
	return /^X-RcptTo: (.*)$/m.exec(mail)?.[1]?.trim() ?? '';
}

/** The code in a mail's text/plain part (null when it holds none). */
export function codeIn(mail: string): string | null {
	const text = mail.split('== text/plain ==')[1]?.split(/^== /m)[0] ?? '';
	return /\b(\d{4,10})\b/.exec(text)?.[1] ?? null;
}

/** Runs the otpd CLI against this run's server. */
export function otpdCli(args: string[], input?: string): string {
	return execFileSync(state().otpdBin, [...args, '--data-dir', state().dataDir], {
		input,
		encoding: 'utf8'
	});
}

/**
 * Saves a full-page screenshot (light theme, then dark) into the screenshots folder. The window is
 * made as tall as the page first, so what is sized to the window (the sidebar) spans the
 * whole picture, as on a tall screen.
 */
export async function screenshots(page: Page, name: string) {
	const dir = state().screenshots;
	const viewport = page.viewportSize() ?? { width: 1280, height: 860 };
	// No hover effect where the last click was.
	await page.mouse.move(viewport.width - 1, viewport.height - 1);
	for (const [colorScheme, file] of [
		['light', `${name}.png`],
		['dark', `${name}-dark.png`]
	] as const) {
		await page.emulateMedia({ colorScheme });
		const height = await page.evaluate(() => document.documentElement.scrollHeight);
		await page.setViewportSize({
			width: viewport.width,
			height: Math.max(viewport.height, height)
		});
		await page.screenshot({ path: join(dir, file), animations: 'disabled', caret: 'hide' });
		await page.setViewportSize(viewport);
	}
	await page.emulateMedia({ colorScheme: 'light' });
}
