// The desktop app end to end, in a real window under Xvfb: it opens on the dashboard, an
// operator creates a brand in the GUI (the CLI, pointed at the app's data directory, gives it a
// channel), a client issues a code through the public API, the record shows in the log view, a
// second start hands over to the first, a failing channel is one desktop notification and its
// recovery one more, the app quits the way the tray's Quit does (the store is flushed: a restart
// shows the record), and a taken public port is said plainly while the console still works.
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
// Screenshots go to the test results; OTPD_SCREENSHOTS=docs/screenshots refreshes the README's.
const screenshots = resolve(root, process.env.OTPD_SCREENSHOTS ?? 'tests/e2e/test-results/screenshots');
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

/** Quits through the console's "Quit otpd", which runs the tray's Quit: stop the server
 * (drain requests and deliveries, flush the store), then exit. */
async function quit(browser) {
	await (await byText(browser, 'header button', 'Quit otpd')).click();
	const confirm = await byText(browser, 'dialog button, [role="dialog"] button', 'Quit otpd');
	// The app exits while the click is answered: the session ends with it.
	await confirm.click().catch(() => {});
	await browser.deleteSession().catch(() => {});
	// The admin listener is the app's in every scenario (the public port may be someone else's).
	await until('the server to stop', async () => {
		try {
			await fetch(`http://${env.OTPD_ADMIN_LISTEN}/admin/api/health`, {
				signal: AbortSignal.timeout(1000)
			});
			return false;
		} catch {
			return true;
		}
	});
}

/** Cleanup after a failure: the same command, without the GUI. */
async function forceQuit(browser) {
	await browser
		.executeAsync((done) => {
			window.__TAURI_INTERNALS__.invoke('quit').then(done, done);
		})
		.catch(() => {});
	await browser.deleteSession().catch(() => {});
}

/** The desktop notifications shown so far (dunst, the session's notification daemon). */
function notifications() {
	execFileSync('dunstctl', ['close-all']);
	const history = JSON.parse(execFileSync('dunstctl', ['history'], { encoding: 'utf8' }));
	return history.data.flat().map((n) => `${n.summary.data}: ${n.body.data}`);
}

function cli(...args) {
	return execFileSync(otpdCli, [...args, '--data-dir', env.OTPD_DATA_DIR], { encoding: 'utf8' });
}

async function issueCode(brand, phone) {
	const who = { identifierType: 'MOBILE', identifierValue: phone, brand, deviceId: 'e2e-phone' };
	const token = await post('/auth/v1/token/generate', who);
	assert.equal(token.status, 200, JSON.stringify(token.body));
	const generated = await post('/auth/v1/otp/generate', { ...who, sessionId: token.body.user.sessionId });
	assert.equal(generated.status, 200, JSON.stringify(generated.body));
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
	await issueCode('ACME', PHONE);

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

	step('a channel that starts failing is one notification, and its recovery one more');
	// A gateway nobody listens on: every attempt fails; the third in a row makes it "failing".
	cli('channel', 'set', 'ACME', 'SMS', 'provider=http', 'url=http://127.0.0.1:9/send', 'timeoutSeconds=1');
	await issueCode('ACME', '+84907777777');
	const failing = 'SMS deliveries of ACME are failing';
	await until('the failing notification', () => notifications().some((n) => n.startsWith(failing)), 30_000);
	cli('channel', 'set', 'ACME', 'SMS', 'provider=log');
	await issueCode('ACME', '+84908888888');
	const recovered = 'SMS deliveries of ACME work again';
	await until('the recovery notification', () => notifications().some((n) => n.startsWith(recovered)), 30_000);
	const shown = notifications();
	assert.equal(shown.filter((n) => n.startsWith(failing)).length, 1, shown.join('\n'));
	assert.equal(shown.filter((n) => n.startsWith(recovered)).length, 1, shown.join('\n'));

	step('Quit stops the server and flushes the store');
	await quit(browser);

	step('after a restart the record is still there');
	browser = await openApp({ app, driverPort: env.DRIVER_PORT });
	await byText(browser, 'h1', 'Dashboard');
	await go(browser, 'Issuance log');
	await byText(browser, 'table', '84901234567');
	await go(browser, 'Dashboard');
	await byText(browser, 'h1', 'Dashboard');
	await sleep(800);
	await browser.saveScreenshot(join(screenshots, 'desktop.png'));
	await quit(browser);
	browser = undefined;

	step('a taken public port is said plainly, and the console still opens');
	const blocker = net.createServer().listen(Number(env.OTPD_PUBLIC_LISTEN.split(':')[1]), '127.0.0.1');
	await new Promise((r) => blocker.once('listening', r));
	try {
		browser = await openApp({ app, driverPort: env.DRIVER_PORT });
		await byText(browser, '[role="alert"], .banner, main', 'public API is not running');
		await byText(browser, 'h1', 'Dashboard');
		await browser.saveScreenshot(join(screenshots, 'desktop-port-taken.png'));
		await quit(browser);
		browser = undefined;
	} finally {
		blocker.close();
	}
	step('passed');
} finally {
	if (browser) await forceQuit(browser);
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
	assert.match(cli('channel', 'set', name, 'SMS', 'provider=log'), /log/i);
}
