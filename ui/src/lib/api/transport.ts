/**
 * The transport moves one admin-API request to otpd and back. The browser build talks HTTP
 * (`HttpTransport`); the desktop app will add an `IpcTransport` (Tauri `invoke`) chosen in
 * `select.ts`. Nothing above this layer — the client, services, pages — knows which one runs,
 * so nothing above it may call `fetch`.
 */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryValue = string | number | boolean | null | undefined;
/** Query parameters; `null`/`undefined` are left out, arrays repeat the key. */
export type Query = Record<string, QueryValue | readonly QueryValue[]>;

export interface TransportRequest {
	method: Method;
	/** Absolute path on the admin origin, e.g. `/admin/api/brands`. */
	path: string;
	query?: Query;
	headers?: Record<string, string>;
	/** Sent as JSON (`content-type: application/json`) unless `undefined`. */
	body?: unknown;
	signal?: AbortSignal;
}

/** The part of `Headers` a transport must provide (case-insensitive lookup). */
export interface ResponseHeaders {
	get(name: string): string | null;
}

export interface TransportResponse {
	status: number;
	headers: ResponseHeaders;
	/** The body as text; may be read once. */
	text(): Promise<string>;
	/** The body parsed as JSON; may be read once. */
	json<T>(): Promise<T>;
}

export interface Transport {
	request(req: TransportRequest): Promise<TransportResponse>;
	/**
	 * Fetches a file (`GET path?query`) and hands it to the user (browser download, or a save
	 * dialog on the desktop). Resolves with the response: on a 2xx the file has been handed over
	 * and the body is consumed; on any other status nothing was saved and the body is the error,
	 * for the client to parse.
	 */
	download(
		path: string,
		query: Query | undefined,
		suggestedName: string
	): Promise<TransportResponse>;
}

/** Thrown by a transport when otpd cannot be reached at all (no HTTP status). */
export class NetworkError extends Error {
	override readonly name = 'NetworkError';
	constructor(message = 'Cannot reach otpd', options?: { cause?: unknown }) {
		super(message, options);
	}
}

/** `?a=1&b=x&b=y` for a query (empty string when nothing is set). */
export function buildQuery(query: Query | undefined): string {
	if (!query) return '';
	const params = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) {
		const values = Array.isArray(value) ? value : [value];
		for (const v of values as QueryValue[]) {
			if (v === null || v === undefined) continue;
			params.append(key, String(v));
		}
	}
	const s = params.toString();
	return s ? `?${s}` : '';
}

/** The file name in a `Content-Disposition` header, if any. */
export function filenameFromDisposition(header: string | null): string | null {
	if (!header) return null;
	const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
	if (star?.[1]) {
		try {
			return decodeURIComponent(star[1].trim());
		} catch {
			/* fall through to the plain form */
		}
	}
	const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(header);
	const name = plain?.[2] ?? plain?.[1];
	return name ? name.trim() : null;
}
