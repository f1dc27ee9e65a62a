import { beforeEach, describe, expect, it, vi } from 'vitest';

/** What the fake `invoke` answers, and the calls it saw. */
let answer: (command: string, args: unknown) => Promise<unknown>;
let calls: [string, unknown][] = [];
vi.mock('@tauri-apps/api/core', () => ({
	invoke: (command: string, args: unknown) => {
		calls.push([command, args]);
		return answer(command, args);
	}
}));

const { IpcTransport } = await import('./ipc-transport');
const { NetworkError } = await import('./transport');

describe('IpcTransport', () => {
	beforeEach(() => {
		calls = [];
	});

	it('sends one admin_request with the query, headers and JSON body', async () => {
		answer = async () => ({
			status: 201,
			headers: [['Content-Type', 'application/json']],
			body: '{"name":"ACME"}'
		});
		const res = await new IpcTransport().request({
			method: 'POST',
			path: '/admin/api/brands',
			query: { a: 1, skip: undefined },
			headers: { 'x-csrf-token': 't' },
			body: { name: 'ACME' }
		});
		expect(calls).toEqual([
			[
				'admin_request',
				{
					request: {
						method: 'POST',
						path: '/admin/api/brands?a=1',
						headers: [
							['accept', 'application/json'],
							['x-csrf-token', 't'],
							['content-type', 'application/json']
						],
						body: '{"name":"ACME"}'
					}
				}
			]
		]);
		expect(res.status).toBe(201);
		expect(res.headers.get('content-type')).toBe('application/json');
		expect(await res.json()).toEqual({ name: 'ACME' });
	});

	it('saves downloads through save_download and passes errors back', async () => {
		answer = async () => ({ status: 200, headers: [], body: '', savedTo: '/tmp/x.csv' });
		const ok = await new IpcTransport().download('/admin/api/log.csv', { brand: 'A' }, 'x.csv');
		expect(calls[0]).toEqual([
			'save_download',
			{ path: '/admin/api/log.csv?brand=A', suggestedName: 'x.csv' }
		]);
		expect(ok.status).toBe(200);
		answer = async () => ({ status: 403, headers: [], body: '{"error":{"message":"no"}}' });
		const refused = await new IpcTransport().download('/admin/api/backup', undefined, 'b');
		expect(refused.status).toBe(403);
		expect(await refused.text()).toContain('no');
	});

	it('turns a failed command into a NetworkError', async () => {
		answer = () => Promise.reject(new Error('the app is shutting down'));
		const err = await new IpcTransport()
			.request({ method: 'GET', path: '/admin/api/brands' })
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(NetworkError);
		expect((err as Error).message).toMatch(/could not run the request/);
	});
});
