#!/usr/bin/env node
/**
 * A stand-in for otpd's admin API, for working on the console without the Rust server.
 * Plain Node, no dependencies, everything in memory (restart = fresh state).
 *
 *   npm run mock                                   # listens on 127.0.0.1:8089
 *   OTPD_ADMIN_URL=http://127.0.0.1:8089 npm run dev
 *
 * Environment:
 *   MOCK_PORT=8089        port to listen on
 *   MOCK_SETUP=1          start with no operator: first-run setup (prints the setup link)
 *   MOCK_DELAY=200        artificial latency per request, ms (to see loading states)
 *   MOCK_MAX_FAILURES=5   failed logins per name before 429
 *   MOCK_LOCK_SECONDS=30  Retry-After of that 429
 *
 * Operators (unless MOCK_SETUP=1), password "correct horse battery" for all:
 *   admin (admin), viewer (viewer), newbie (admin, must change password)
 *
 * Implements the auth routes of the contract (README of ui/), the CSRF check on every
 * non-GET request and the error shape {"error": {"code", "message", "field"}}. Page authors:
 * add fixtures for your resource to `routes` below (same shapes as the real API).
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const PORT = Number(process.env.MOCK_PORT ?? 8089);
const DELAY = Number(process.env.MOCK_DELAY ?? 200);
const MAX_FAILURES = Number(process.env.MOCK_MAX_FAILURES ?? 5);
const LOCK_SECONDS = Number(process.env.MOCK_LOCK_SECONDS ?? 30);
const COOKIE = 'otpd_admin_session';
const PASSWORD = 'correct horse battery';
const MIN_PASSWORD = 12;

/** name → { role, password, mustChangePassword } */
const operators = new Map();
if (process.env.MOCK_SETUP !== '1') {
	operators.set('admin', { role: 'admin', password: PASSWORD, mustChangePassword: false });
	operators.set('viewer', { role: 'viewer', password: PASSWORD, mustChangePassword: false });
	operators.set('newbie', { role: 'admin', password: PASSWORD, mustChangePassword: true });
}
let setupToken = operators.size === 0 ? randomBytes(16).toString('hex') : null;

/** session id → { name, csrfToken } */
const sessions = new Map();
/** name → { failures, lockedUntil } */
const failures = new Map();

const token = () => randomBytes(18).toString('base64url');

function send(res, status, body, headers = {}) {
	const text = body === undefined ? '' : JSON.stringify(body);
	res.writeHead(status, {
		...(text ? { 'content-type': 'application/json' } : {}),
		'cache-control': 'no-store',
		...headers
	});
	res.end(text);
}

/** Like otpd: a message that starts with a field name ("newPassword: …") is about that field. */
function fieldOf(message) {
	const m = /^([A-Za-z][A-Za-z0-9.[\]_-]*): /.exec(message);
	return m ? m[1] : null;
}

const error = (res, status, message, headers = {}, code = null) =>
	send(res, status, { error: { code, message, field: fieldOf(message) } }, headers);

function cookies(req) {
	return Object.fromEntries(
		(req.headers.cookie ?? '')
			.split(';')
			.map((c) => c.trim().split('='))
			.filter(([k]) => k)
	);
}

function currentSession(req) {
	const id = cookies(req)[COOKIE];
	const s = id ? sessions.get(id) : undefined;
	return s && operators.has(s.name) ? { id, ...s } : null;
}

function view(name, csrfToken) {
	const op = operators.get(name);
	return {
		operator: { name, role: op.role, mustChangePassword: op.mustChangePassword },
		csrfToken
	};
}

function startSession(res, name) {
	const id = token();
	const csrfToken = token();
	sessions.set(id, { name, csrfToken });
	send(res, 200, view(name, csrfToken), {
		'set-cookie': `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict`
	});
}

async function readJson(req) {
	let raw = '';
	for await (const chunk of req) raw += chunk;
	if (!raw) return {};
	try {
		return JSON.parse(raw);
	} catch {
		return null;
	}
}

/** Route table: "METHOD /path" → handler(req, res, ctx). ctx: { session, body, url }. */
const routes = {
	'GET /admin/api/auth/session': (_req, res, { session }) =>
		session
			? send(res, 200, view(session.name, session.csrfToken))
			: error(res, 401, 'not logged in'),

	'POST /admin/api/auth/login': (_req, res, { body }) => {
		const name = String(body.name ?? '');
		const f = failures.get(name) ?? { failures: 0, lockedUntil: 0 };
		const now = Date.now();
		if (f.lockedUntil > now) {
			const wait = Math.ceil((f.lockedUntil - now) / 1000);
			return error(res, 429, `too many failed logins; try again in ${wait} s`, {
				'retry-after': String(wait)
			});
		}
		const op = operators.get(name);
		if (!op || op.password !== body.password) {
			f.failures += 1;
			if (f.failures >= MAX_FAILURES) {
				f.failures = 0;
				f.lockedUntil = now + LOCK_SECONDS * 1000;
			}
			failures.set(name, f);
			return error(res, 401, 'wrong name or password');
		}
		failures.delete(name);
		startSession(res, name);
	},

	'POST /admin/api/auth/logout': (_req, res, { session }) => {
		sessions.delete(session.id);
		send(res, 204, undefined, { 'set-cookie': `${COOKIE}=; Path=/; HttpOnly; Max-Age=0` });
	},

	'POST /admin/api/auth/password': (_req, res, { session, body }) => {
		const op = operators.get(session.name);
		if (op.password !== body.currentPassword) {
			return error(res, 400, 'currentPassword: this is not your current password');
		}
		if (String(body.newPassword ?? '').length < MIN_PASSWORD) {
			return error(res, 400, `newPassword: use at least ${MIN_PASSWORD} characters`);
		}
		if (body.newPassword === body.currentPassword) {
			return error(res, 400, 'newPassword: choose a password different from the current one');
		}
		op.password = body.newPassword;
		op.mustChangePassword = false;
		send(res, 204);
	},

	'GET /admin/api/auth/setup': (_req, res) => send(res, 200, { needed: operators.size === 0 }),

	'POST /admin/api/auth/setup': (_req, res, { body }) => {
		const name = String(body.name ?? '').trim();
		if (!name) return error(res, 400, 'name: an operator needs a name');
		if (String(body.password ?? '').length < MIN_PASSWORD) {
			return error(res, 400, `password: use at least ${MIN_PASSWORD} characters`);
		}
		if (operators.size > 0 || !setupToken || body.token !== setupToken) {
			return error(
				res,
				403,
				'this setup link is not valid: it was used, has expired, or an operator already exists. Restart otpd for a new link, or use `otpd operator add`'
			);
		}
		operators.set(name, { role: 'admin', password: body.password, mustChangePassword: false });
		setupToken = null;
		startSession(res, name);
	},

	'GET /metrics': (_req, res) => {
		res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
		res.end('# HELP otpd_mock_up The mock is up.\n# TYPE otpd_mock_up gauge\notpd_mock_up 1\n');
	}
};

/** Routes that need no session and no CSRF token (the session route answers 401 itself). */
const PUBLIC = new Set([
	'GET /admin/api/auth/session',
	'POST /admin/api/auth/login',
	'GET /admin/api/auth/setup',
	'POST /admin/api/auth/setup',
	'GET /metrics'
]);

/** Routes every operator may call, viewers included (their own session). */
const OWN = new Set(['POST /admin/api/auth/logout', 'POST /admin/api/auth/password']);

const server = createServer(async (req, res) => {
	const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
	const key = `${req.method} ${url.pathname}`;
	const started = Date.now();
	res.on('finish', () =>
		console.log(
			`${req.method} ${url.pathname}${url.search} → ${res.statusCode} (${Date.now() - started} ms)`
		)
	);
	if (DELAY) await new Promise((r) => setTimeout(r, DELAY));

	const body = req.method === 'GET' || req.method === 'HEAD' ? {} : await readJson(req);
	if (body === null) return error(res, 400, 'request body: not valid JSON');
	const json = (req.headers['content-type'] ?? '').startsWith('application/json');
	if ((key === 'POST /admin/api/auth/login' || key === 'POST /admin/api/auth/setup') && !json) {
		return error(res, 400, 'request body: send JSON with Content-Type: application/json');
	}
	const session = currentSession(req);

	if (!PUBLIC.has(key)) {
		if (!session) return error(res, 401, 'not logged in');
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			if (req.headers['x-csrf-token'] !== session.csrfToken) {
				return error(res, 403, 'missing or wrong X-CSRF-Token');
			}
			if (!OWN.has(key) && operators.get(session.name)?.role !== 'admin') {
				return error(res, 403, 'this needs the admin role');
			}
		}
	}

	const handler = routes[key];
	if (handler) return handler(req, res, { session, body, url });
	if (url.pathname.startsWith('/admin/api/')) {
		return error(res, 404, `no such admin route in the mock: ${key}`);
	}
	error(res, 404, 'not found');
});

server.listen(PORT, '127.0.0.1', () => {
	console.log(`otpd admin API mock on http://127.0.0.1:${PORT}`);
	if (setupToken) {
		console.log('No operator yet. Open the setup link (through the dev server):');
		console.log(`  http://127.0.0.1:5173/setup#token=${setupToken}`);
	} else {
		console.log(`Operators: admin, viewer, newbie — password "${PASSWORD}"`);
	}
});
