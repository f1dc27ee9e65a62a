// Starting and stopping the desktop app under WebDriver: tauri-driver (which drives
// WebKitWebDriver) launches the built app with its own data directory and ports.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { remote } from 'webdriverio';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value (or throws after `timeoutMs`). */
export async function until(what, probe, timeoutMs = 20_000) {
	const deadline = Date.now() + timeoutMs;
	let last;
	while (Date.now() < deadline) {
		try {
			const v = await probe();
			if (v) return v;
		} catch (e) {
			last = e;
		}
		await sleep(100);
	}
	throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** A free loopback port. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

/** Starts tauri-driver (once per run) with the environment the app will inherit. */
export async function startDriver(env) {
	const driver = spawn('tauri-driver', ['--port', String(env.DRIVER_PORT)], {
		env: { ...process.env, ...env },
		stdio: ['ignore', 'inherit', 'inherit']
	});
	await until('tauri-driver', async () => {
		const r = await fetch(`http://127.0.0.1:${env.DRIVER_PORT}/status`);
		return r.ok;
	});
	return driver;
}

/** Opens the app (a WebDriver session launches it) and waits for the console's first page. */
export async function openApp({ app, driverPort }) {
	const browser = await remote({
		hostname: '127.0.0.1',
		port: Number(driverPort),
		logLevel: 'warn',
		capabilities: { 'tauri:options': { application: app } }
	});
	await browser.setTimeout({ implicit: 0 });
	return browser;
}

/**
 * Waits for a visible element matching `selector` whose text contains `text`, then returns it.
 * Reads `textContent`: WebKitWebDriver's visible-text algorithm drops text next to an SVG icon.
 */
export async function byText(browser, selector, text, timeoutMs = 20_000) {
	return until(`${selector} with "${text}"`, async () => {
		for (const el of await browser.$$(selector)) {
			const content = String(await el.getProperty('textContent')).replace(/\s+/g, ' ');
			if (content.includes(text) && (await el.isDisplayed())) return el;
		}
		return null;
	}, timeoutMs);
}

/** The form control labelled `label` (a <label> whose text starts with it). */
export async function field(browser, label) {
	const ref = await until(`the field "${label}"`, () =>
		browser.execute((text) => {
			const l = [...document.querySelectorAll('label')].find((l) =>
				l.textContent.trim().startsWith(text)
			);
			return l ? (l.control ?? document.getElementById(l.htmlFor)) : null;
		}, label)
	);
	return browser.$(ref);
}
