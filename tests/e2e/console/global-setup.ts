// Starts what the console tests run against: a real SMTP server (aiosmtpd, writing each mail to
// a directory) and a real `otpd serve` with a fresh data directory, both on loopback, and
// records where they are for the specs (console/env.ts reads it). Returns the teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
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
function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
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
		screenshots: join(root, 'docs/screenshots')
	};
	mkdirSync(state.screenshots, { recursive: true });
	mkdirSync(dirname(STATE_FILE), { recursive: true });
	writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));

	return async () => {
		otpd.kill('SIGTERM');
		smtp.kill('SIGTERM');
		await new Promise((r) => otpd.once('exit', r));
	};
}
