// Starts what the console tests run against: a real SMTP server (aiosmtpd, writing each mail to
// a directory) and a real `otpd serve` with a fresh data directory, both on loopback, and
// records where they are for the specs (console/env.ts reads it). Returns the teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { STATE_FILE, type E2eState } from './env';

const root = resolve(import.meta.dirname, '../../..');

function freePort(): Promise<number> {
	return new Promise((ok, fail) => {
		const s = net.createServer();
		s.once('error', fail);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address() as net.AddressInfo;
			s.close(() => ok(port));
		});
	});
}

/** Resolves with the first match of `pattern` in the process's stdout. */
function waitForLine(
	child: ChildProcess,
	pattern: RegExp,
	what: string
): Promise<RegExpMatchArray> {
	return new Promise((ok, fail) => {
		let seen = '';
		const timer = setTimeout(() => fail(new Error(`${what} did not start:\n${seen}`)), 30_000);
		child.stdout?.on('data', (chunk: Buffer) => {
			seen += chunk.toString();
			const m = seen.match(pattern);
			if (m) {
				clearTimeout(timer);
				ok(m);
			}
		});
		child.on('exit', (code) => fail(new Error(`${what} exited with ${code}:\n${seen}`)));
	});
}

export default async function globalSetup() {
	const work = mkdtempSync(join(tmpdir(), 'otpd-console-e2e-'));
	const mailDir = join(work, 'mail');
	mkdirSync(mailDir);
	const smtpPort = await freePort();
	const smtp = spawn(
		'/usr/bin/python3',
		[join(root, 'src/delivery/testdata/smtp_sink.py'), String(smtpPort), mailDir],
		{ stdio: ['ignore', 'pipe', 'inherit'] }
	);
	await waitForLine(smtp, /listening/, 'the SMTP server');

	const publicPort = await freePort();
	const adminPort = await freePort();
	const dataDir = join(work, 'data');
	const otpd = spawn(
		process.env.OTPD_BIN ?? join(root, 'target/debug/otpd'),
		[
			'serve',
			'--data-dir',
			dataDir,
			'--public-listen',
			`127.0.0.1:${publicPort}`,
			'--admin-listen',
			`127.0.0.1:${adminPort}`
		],
		{
			env: { ...process.env, OTPD_CLIENT_RATE_LIMIT_PER_MINUTE: '0', RUST_LOG: 'info' },
			stdio: ['ignore', 'pipe', 'inherit']
		}
	);
	const link = await waitForLine(otpd, /(http:\/\/\S+\/setup#token=[0-9a-f]+)/, 'otpd');

	const state: E2eState = {
		consoleUrl: `http://127.0.0.1:${adminPort}`,
		publicUrl: `http://127.0.0.1:${publicPort}`,
		setupLink: link[1] as string,
		smtpPort,
		mailDir,
		dataDir,
		otpdBin: process.env.OTPD_BIN ?? join(root, 'target/debug/otpd'),
		// Screenshots go to the test results; OTPD_SCREENSHOTS=docs/screenshots refreshes the
		// README's (a path relative to the repository's root).
		screenshots: resolve(root, process.env.OTPD_SCREENSHOTS ?? 'tests/e2e/test-results/screenshots')
	};
	mkdirSync(state.screenshots, { recursive: true });
	mkdirSync(dirname(STATE_FILE), { recursive: true });
	writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));

	// Should the runner die without its teardown (a signal), the servers go with it.
	const killAll = () => {
		otpd.kill('SIGTERM');
		smtp.kill('SIGTERM');
	};
	process.once('exit', killAll);

	return async () => {
		process.off('exit', killAll);
		const stopped = new Promise((r) => otpd.once('exit', r));
		killAll();
		await stopped;
		// The data directory and the mailbox (E2E_KEEP=1 keeps them to look at).
		if (!process.env.E2E_KEEP) rmSync(work, { recursive: true, force: true });
	};
}
