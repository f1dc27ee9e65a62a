import { describe, expect, it, vi } from 'vitest';
import { ApiClient, CSRF_HEADER } from './client';
import { ApiError, parseRetryAfter } from './errors';
import {
	NetworkError,
	buildQuery,
	filenameFromDisposition,
	type Transport,
	type TransportRequest,
	type TransportResponse
} from './transport';

/** A Transport that records requests and answers from a script. */
class FakeTransport implements Transport {
	requests: TransportRequest[] = [];
	downloads: { path: string; name: string }[] = [];
	constructor(private answer: (req: TransportRequest) => TransportResponse) {}

	async request(req: TransportRequest): Promise<TransportResponse> {
		this.requests.push(req);
		return this.answer(req);
	}

	async download(path: string, query: unknown, name: string): Promise<TransportResponse> {
		this.downloads.push({ path: path + buildQuery(query as never), name });
		return this.answer({ method: 'GET', path });
	}
}

function reply(
	status: number,
	body?: unknown,
	headers: Record<string, string> = {}
): TransportResponse {
	const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
	const h = new Headers(headers);
	return { status, headers: h, text: async () => text, json: async () => JSON.parse(text) };
}

describe('ApiClient', () => {
	it('prefixes /admin/api, passes the query and parses JSON', async () => {
		const t = new FakeTransport(() => reply(200, { items: [1, 2] }));
		const api = new ApiClient(t);
		const out = await api.get<{ items: number[] }>('/brands', {
			query: { limit: 50, before: undefined }
		});
		expect(out).toEqual({ items: [1, 2] });
		expect(t.requests[0]).toMatchObject({
			method: 'GET',
			path: '/admin/api/brands',
			query: { limit: 50 }
		});
	});

	it('adds the CSRF header to state-changing requests only', async () => {
		const t = new FakeTransport(() => reply(204));
		const api = new ApiClient(t, { getCsrfToken: () => 'tok-123' });
		await api.get('/brands');
		await api.post('/brands', { name: 'ACME' });
		await api.put('/brands/ACME/limits/x', { limit: 3 });
		await api.patch('/brands/ACME', { otpLength: 6 });
		await api.delete('/brands/ACME/limits/x');
		const [get, ...writes] = t.requests;
		expect(get?.headers?.[CSRF_HEADER]).toBeUndefined();
		expect(writes.map((r) => [r.method, r.headers?.[CSRF_HEADER]])).toEqual([
			['POST', 'tok-123'],
			['PUT', 'tok-123'],
			['PATCH', 'tok-123'],
			['DELETE', 'tok-123']
		]);
		expect(writes[0]?.body).toEqual({ name: 'ACME' });
	});

	it('sends no CSRF header before there is a session', async () => {
		const t = new FakeTransport(() => reply(204));
		await new ApiClient(t).post('/auth/login', { name: 'a', password: 'b' });
		expect(t.requests[0]?.headers?.[CSRF_HEADER]).toBeUndefined();
	});

	it('returns undefined for 204 and empty bodies', async () => {
		const api = new ApiClient(new FakeTransport(() => reply(204)));
		await expect(api.post('/auth/logout')).resolves.toBeUndefined();
	});

	it('parses the error body into an ApiError with its field', async () => {
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(400, {
					error: { code: 1519, message: 'otpLength must be 4 to 10', field: 'otpLength' }
				})
			)
		);
		const err = await api.patch('/brands/ACME', { otpLength: 2 }).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err).toMatchObject({
			status: 400,
			code: 1519,
			message: 'otpLength must be 4 to 10',
			field: 'otpLength',
			retryAfter: null
		});
	});

	it('offers the message without the field-name prefix otpd puts first', async () => {
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(400, {
					error: {
						code: null,
						message: 'newPassword: use at least 12 characters',
						field: 'newPassword'
					}
				})
			)
		);
		const err = (await api.post('/auth/password', {}).catch((e: unknown) => e)) as ApiError;
		expect(err.message).toBe('newPassword: use at least 12 characters');
		expect(err.fieldMessage).toBe('use at least 12 characters');
	});

	it('makes a lower-case message without a field read as a sentence', async () => {
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(401, { error: { code: null, message: 'wrong name or password', field: null } })
			)
		);
		await expect(api.post('/auth/login', {}, { noAuthRedirect: true })).rejects.toMatchObject({
			message: 'Wrong name or password'
		});
	});

	it('accepts an error body without code and field', async () => {
		const api = new ApiClient(
			new FakeTransport(() => reply(404, { error: { message: 'no such brand' } }))
		);
		await expect(api.get('/brands/X')).rejects.toMatchObject({
			status: 404,
			code: null,
			field: null,
			message: 'No such brand'
		});
	});

	it('keeps nested field paths and a null code', async () => {
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(422, {
					error: { code: null, message: 'not a number', field: 'testIdentifiers[0].otp' }
				})
			)
		);
		await expect(api.put('/brands/ACME', {})).rejects.toMatchObject({
			code: null,
			field: 'testIdentifiers[0].otp'
		});
	});

	it('reads Retry-After on 429', async () => {
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(
					429,
					{ error: { code: null, message: 'too many attempts', field: null } },
					{ 'Retry-After': '42' }
				)
			)
		);
		const err = (await api.post('/auth/login', {}).catch((e: unknown) => e)) as ApiError;
		expect(err.isRateLimited).toBe(true);
		expect(err.retryAfter).toBe(42);
		expect(err.field).toBeNull();
	});

	it('falls back to a message when the body is not the error shape', async () => {
		const api = new ApiClient(new FakeTransport(() => reply(502, '<html>Bad Gateway</html>')));
		await expect(api.get('/brands')).rejects.toMatchObject({
			status: 502,
			message: 'otpd is not reachable (bad gateway).'
		});
	});

	it('turns a transport failure into a status-0 ApiError', async () => {
		const t: Transport = {
			request: async () => {
				throw new NetworkError('Cannot reach otpd');
			},
			download: async () => reply(200)
		};
		const err = (await new ApiClient(t).get('/brands').catch((e: unknown) => e)) as ApiError;
		expect(err).toBeInstanceOf(ApiError);
		expect(err.isNetwork).toBe(true);
		expect(err.message).toBe('Cannot reach otpd');
	});

	it('reports 401 to onUnauthorized unless the call opts out', async () => {
		const onUnauthorized = vi.fn();
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(401, { error: { code: null, message: 'no session', field: null } })
			),
			{ onUnauthorized }
		);
		await expect(api.get('/brands')).rejects.toMatchObject({ status: 401 });
		expect(onUnauthorized).toHaveBeenCalledTimes(1);
		await expect(api.get('/auth/session', { noAuthRedirect: true })).rejects.toMatchObject({
			status: 401
		});
		expect(onUnauthorized).toHaveBeenCalledTimes(1);
	});

	it('does not report other errors as 401', async () => {
		const onUnauthorized = vi.fn();
		const api = new ApiClient(
			new FakeTransport(() =>
				reply(403, { error: { code: null, message: 'viewer', field: null } })
			),
			{
				onUnauthorized
			}
		);
		await expect(api.post('/brands', {})).rejects.toMatchObject({ status: 403, isForbidden: true });
		expect(onUnauthorized).not.toHaveBeenCalled();
	});

	it('downloads through the transport and surfaces download errors', async () => {
		const ok = new FakeTransport(() => reply(200));
		await new ApiClient(ok).download('/log.csv', { brand: 'DEMO' }, 'log.csv');
		expect(ok.downloads).toEqual([{ path: '/admin/api/log.csv?brand=DEMO', name: 'log.csv' }]);

		const denied = new FakeTransport(() =>
			reply(403, { error: { code: null, message: 'admins only', field: null } })
		);
		await expect(
			new ApiClient(denied).download('/backup', undefined, 'otpd.backup')
		).rejects.toMatchObject({
			status: 403,
			message: 'Admins only'
		});
	});
});

describe('helpers', () => {
	it('builds queries, skipping empty values and repeating arrays', () => {
		expect(buildQuery({ a: 1, b: null, c: undefined, d: ['x', 'y'], e: true, f: 'a b' })).toBe(
			'?a=1&d=x&d=y&e=true&f=a+b'
		);
		expect(buildQuery({})).toBe('');
		expect(buildQuery(undefined)).toBe('');
	});

	it('parses Retry-After seconds and dates', () => {
		expect(parseRetryAfter('30')).toBe(30);
		expect(parseRetryAfter(null)).toBeNull();
		expect(parseRetryAfter('soon')).toBeNull();
		const now = Date.UTC(2026, 0, 1, 0, 0, 0);
		expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10);
	});

	it('reads file names from Content-Disposition', () => {
		expect(filenameFromDisposition('attachment; filename="log.csv"')).toBe('log.csv');
		expect(filenameFromDisposition("attachment; filename*=UTF-8''otpd%202026.backup")).toBe(
			'otpd 2026.backup'
		);
		expect(filenameFromDisposition(null)).toBeNull();
	});
});
