// The desktop app end to end, in a real window under Xvfb: it opens on the dashboard, an
// operator creates a brand and sets its SMS channel in the GUI, a client issues a code through
// the public API, the record shows in the log view, the app quits the way the tray's Quit does
// (the store is flushed: a restart shows the record), a second start hands over to the first,
// and a taken public port is said plainly while the console still works.
//
// Run by tests/e2e/run-desktop.sh (it starts Xvfb and a D-Bus session); needs the app built
// with its console: cargo build -p otpd-desktop --features custom-protocol.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { byText, field, freePort, openApp, sleep, startDriver, until } from './harness.mjs';

const root = resolve(import.meta.dirname, '../../..');
const app = process.env.APP ?? join(root, 'target/debug/otpd-desktop');
const otpdCli = process.env.OTPD_BIN ?? join(root, 'target/debug/otpd');
const screenshots = join(root, 'docs/screenshots');
mkdirSync(screenshots, { recursive: true });

const env = {
	OTPD_DATA_DIR: mkdtempSync(join(tmpdir(), 'otpd-desktop-')),
	OTPD_PUBLIC_LISTEN: `127.0.0.1:${await freePort()}`,
	OTPD_ADMIN_LISTEN: `127.0.0.1:${await freePort()}`,
	OTPD_CLIENT_RATE_LIMIT_PER_MINUTE: '0',
	DRIVER_PORT: String(await freePort())
};
const publicUrl = `http://${env.OTPD_PUBLIC_LISTEN}`;
const PHONE = '+84901234567';
const step = (what) => console.log(`desktop e2e: ${what}`);

async function post(path, body) {
	const r = await fetch(publicUrl + path, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body)
	});
	return { status: r.status, body: await r.json() };
}

/** Clicks the sidebar link with this name. */
async function go(browser, name) {
	const link = await byText(browser, 'nav a', name);
	await link.click();
}

async function quitLikeTheTray(browser) {
	// The tray's Quit and this command run the same code: stop the server (drain, flush), exit.
	await browser
		.executeAsync((done) => {
			window.__TAURI_INTERNALS__.invoke('quit').then(done, done);
		})
		.catch(() => {});
	await browser.deleteSession().catch(() => {});
}

const driver = await startDriver(env);
let browser;
try {
	step('the app opens on the dashboard');
	browser = await openApp({ app, driverPort: env.DRIVER_PORT });
	await byText(browser, 'h1', 'Dashboard');

	step('a brand is created in the GUI, and its SMS channel set to the log sink');
	await createBrandInGui(browser, 'ACME');

	step('a client issues a code through the public API');
	const token = await post('/auth/v1/token/generate', {
		identifierType: 'MOBILE',
		identifierValue: PHONE,
		brand: 'ACME',
		deviceId: 'e2e-phone'
	});
	assert.equal(token.status, 200, JSON.stringify(token.body));
	const generated = await post('/auth/v1/otp/generate', {
		identifierType: 'MOBILE',
		identifierValue: PHONE,
		brand: 'ACME',
		deviceId: 'e2e-phone',
		sessionId: token.body.user.sessionId
	});
	assert.equal(generated.status, 200, JSON.stringify(generated.body));

	step('the record shows in the log view');
	await go(browser, 'Issuance log');
	await byText(browser, 'table', '84901234567');
	await byText(browser, 'table', 'ACME');
	await sleep(300);
	await browser.saveScreenshot(join(screenshots, 'desktop-log.png'));

	step('a second start hands over to the first and exits');
	const second = spawn(app, [], { env: { ...process.env, ...env }, stdio: 'ignore' });
	const code = await new Promise((r) => second.on('exit', r));
	assert.equal(code, 0, 'the second instance exits');
	await byText(browser, 'h1', 'Issuance log');

	step('Quit stops the server and flushes the store');
	await quitLikeTheTray(browser);
	await until('the public API to stop', async () => {
		try {
			await fetch(publicUrl + '/health/live');
			return false;
		} catch {
			return true;
		}
	});

	step('after a restart the record is still there');
	browser = await openApp({ app, driverPort: env.DRIVER_PORT });
	await byText(browser, 'h1', 'Dashboard');
	await go(browser, 'Issuance log');
	await byText(browser, 'table', '84901234567');
	await go(browser, 'Dashboard');
	await byText(browser, 'h1', 'Dashboard');
	await sleep(800);
	await browser.saveScreenshot(join(screenshots, 'desktop.png'));
	await quitLikeTheTray(browser);
	browser = undefined;

	step('a taken public port is said plainly, and the console still opens');
	const blocker = net.createServer().listen(Number(env.OTPD_PUBLIC_LISTEN.split(':')[1]), '127.0.0.1');
	await new Promise((r) => blocker.once('listening', r));
	try {
		browser = await openApp({ app, driverPort: env.DRIVER_PORT });
		await byText(browser, '[role="alert"], .banner, main', 'public API is not running');
		await byText(browser, 'h1', 'Dashboard');
		await browser.saveScreenshot(join(screenshots, 'desktop-port-taken.png'));
		await quitLikeTheTray(browser);
		browser = undefined;
	} finally {
		blocker.close();
	}
	step('passed');
} finally {
	if (browser) await quitLikeTheTray(browser);
	driver.kill();
}

async function createBrandInGui(browser, name) {
	await go(browser, 'Brands');
	await (await byText(browser, 'button', 'New brand')).click();
	await (await field(browser, 'Name')).setValue(name);
	await (await byText(browser, 'button', 'Create brand')).click();
	await byText(browser, 'h1', name);
	// The CLI works against the desktop app's server as against `otpd serve`: it gives the new
	// brand an SMS channel (the log sink) so a code can be issued.
	const out = execFileSync(
		otpdCli,
		['channel', 'set', name, 'SMS', 'provider=log', '--data-dir', env.OTPD_DATA_DIR],
		{ encoding: 'utf8' }
	);
	assert.match(out, /log/i);
}
