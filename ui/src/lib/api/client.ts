import { ApiError, parseError } from './errors';
import type { Method, Query, Transport, TransportResponse } from './transport';

/** Where the admin API lives on the admin origin. Client paths are relative to it. */
export const API_BASE = '/admin/api';

export const CSRF_HEADER = 'X-CSRF-Token';

export interface RequestOptions {
	query?: Query;
	headers?: Record<string, string>;
	signal?: AbortSignal;
	/**
	 * Do not send the app to /login on a 401 (the auth calls themselves: a 401 from
	 * `GET /auth/session` just means "not logged in").
	 */
	noAuthRedirect?: boolean;
	/** Prefix instead of `/admin/api` (e.g. `''` for `/metrics`). */
	base?: string;
}

export interface ApiClientConfig {
	/** The CSRF token of the current session (kept in memory by the session module). */
	getCsrfToken: () => string | null;
	/** Called on a 401 unless the request set `noAuthRedirect`. */
	onUnauthorized: (error: ApiError) => void;
}

/**
 * The typed admin-API client: JSON in and out, the CSRF header on every state-changing
 * request, the error body parsed into {@link ApiError}, 401 → `onUnauthorized`.
 * Services (`$lib/services/*`) are its only users.
 */
export class ApiClient {
	private config: ApiClientConfig = { getCsrfToken: () => null, onUnauthorized: () => {} };

	constructor(
		private transport: Transport,
		config: Partial<ApiClientConfig> = {}
	) {
		this.configure(config);
	}

	configure(config: Partial<ApiClientConfig>): void {
		this.config = { ...this.config, ...config };
	}

	/** Swaps the transport (desktop start-up, tests). */
	setTransport(transport: Transport): void {
		this.transport = transport;
	}

	get<T>(path: string, opts?: RequestOptions): Promise<T> {
		return this.request<T>('GET', path, undefined, opts);
	}

	post<T = void>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
		return this.request<T>('POST', path, body, opts);
	}

	put<T = void>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
		return this.request<T>('PUT', path, body, opts);
	}

	patch<T = void>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
		return this.request<T>('PATCH', path, body, opts);
	}

	delete<T = void>(path: string, opts?: RequestOptions): Promise<T> {
		return this.request<T>('DELETE', path, undefined, opts);
	}

	/** A GET whose answer is text (e.g. Prometheus `/metrics` with `base: ''`). */
	async getText(path: string, opts: RequestOptions = {}): Promise<string> {
		const res = await this.send('GET', path, undefined, opts);
		return res.text();
	}

	/** Downloads a file (`log.csv`, `backup`) through the transport. */
	async download(path: string, query: Query | undefined, suggestedName: string): Promise<void> {
		let res: TransportResponse;
		try {
			res = await this.transport.download(API_BASE + path, query, suggestedName);
		} catch (e) {
			throw ApiError.from(e);
		}
		if (res.status >= 400) throw await this.fail(res, {});
	}

	async request<T>(
		method: Method,
		path: string,
		body?: unknown,
		opts: RequestOptions = {}
	): Promise<T> {
		const res = await this.send(method, path, body, opts);
		if (res.status === 204 || method === 'HEAD') return undefined as T;
		const text = await res.text();
		if (!text) return undefined as T;
		try {
			return JSON.parse(text) as T;
		} catch (e) {
			throw new ApiError(res.status, 'otpd sent an answer the console cannot read.', { cause: e });
		}
	}

	private async send(
		method: Method,
		path: string,
		body: unknown,
		opts: RequestOptions
	): Promise<TransportResponse> {
		const headers: Record<string, string> = { ...opts.headers };
		if (method !== 'GET' && method !== 'HEAD') {
			const token = this.config.getCsrfToken();
			if (token) headers[CSRF_HEADER] = token;
		}
		let res: TransportResponse;
		try {
			res = await this.transport.request({
				method,
				path: (opts.base ?? API_BASE) + path,
				query: opts.query,
				headers,
				body,
				signal: opts.signal
			});
		} catch (e) {
			if (e instanceof DOMException && e.name === 'AbortError') throw e;
			throw ApiError.from(e);
		}
		if (res.status >= 400) throw await this.fail(res, opts);
		return res;
	}

	private async fail(res: TransportResponse, opts: RequestOptions): Promise<ApiError> {
		const error = await parseError(res);
		if (error.isUnauthorized && !opts.noAuthRedirect) this.config.onUnauthorized(error);
		return error;
	}
}
