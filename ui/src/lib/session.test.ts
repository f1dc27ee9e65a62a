import { beforeEach, describe, expect, it } from 'vitest';
import { api, CSRF_HEADER, type Transport, type TransportRequest } from '$lib/api';
import { session } from './session.svelte';

type Handler = (req: TransportRequest) => [number, unknown?];

let requests: TransportRequest[] = [];
function serve(handler: Handler) {
	requests = [];
	const transport: Transport = {
		async request(req) {
			requests.push(req);
			const [status, body] = handler(req);
			const text = body === undefined ? '' : JSON.stringify(body);
			return {
				status,
				headers: new Headers(),
				text: async () => text,
				json: async () => JSON.parse(text)
			};
		},
		download: async () => ({
			status: 200,
			headers: new Headers(),
			text: async () => '',
			json: async () => undefined as never
		})
	};
	api.setTransport(transport);
}

const view = (mustChangePassword = false, csrfToken = 'csrf-1') => ({
	operator: { name: 'alice', role: 'admin', mustChangePassword },
	csrfToken
});
const unauthorized = [401, { error: { code: null, message: 'no session', field: null } }] as [
	number,
	unknown
];

describe('session', () => {
	beforeEach(() => session.expire());

	it('is anonymous on 401 and learns whether setup is needed', async () => {
		serve((r) => (r.path.endsWith('/auth/setup') ? [200, { needed: true }] : unauthorized));
		await session.load();
		expect(session.status).toBe('anonymous');
		expect(session.setupNeeded).toBe(true);
		expect(session.operator).toBeNull();
	});

	it('keeps the CSRF token in memory and sends it on writes', async () => {
		serve((r) => (r.path.endsWith('/auth/login') ? [200, view()] : [204]));
		await session.login('alice', 'correct horse battery');
		expect(session.status).toBe('authenticated');
		expect(session.isAdmin).toBe(true);
		expect(session.csrfToken).toBe('csrf-1');
		await api.post('/brands', { name: 'ACME' });
		expect(requests.at(-1)?.headers?.[CSRF_HEADER]).toBe('csrf-1');
		expect(localStorage.length + sessionStorage.length).toBe(0);
	});

	it('re-reads the session after a password change', async () => {
		serve((r) => (r.path.endsWith('/auth/login') ? [200, view(true)] : [204]));
		await session.login('alice', 'temporary password');
		expect(session.mustChangePassword).toBe(true);
		serve((r) => (r.path.endsWith('/auth/session') ? [200, view(false, 'csrf-2')] : [204]));
		await session.changePassword('temporary password', 'a much better passphrase');
		expect(session.mustChangePassword).toBe(false);
		expect(session.csrfToken).toBe('csrf-2');
		expect(requests[0]).toMatchObject({
			method: 'POST',
			path: '/admin/api/auth/password',
			body: { currentPassword: 'temporary password', newPassword: 'a much better passphrase' }
		});
		expect(requests[0]?.headers?.[CSRF_HEADER]).toBe('csrf-1');
	});

	it('forgets everything on logout, even when the server cannot be told', async () => {
		serve((r) => (r.path.endsWith('/auth/login') ? [200, view()] : [503]));
		await session.login('alice', 'x');
		await session.logout().catch(() => {});
		expect(session.status).toBe('anonymous');
		expect(session.csrfToken).toBeNull();
	});

	it('reports a server it cannot read as an error, not as logged out', async () => {
		serve(() => [503]);
		await session.load();
		expect(session.status).toBe('error');
		expect(session.error?.status).toBe(503);
	});
});
