import { NetworkError, type TransportResponse } from './transport';

/** The error body every admin-API route answers with on a 4xx/5xx. */
export interface ApiErrorBody {
	error: { code: number | null; message: string; field?: string | null };
}

/**
 * A failed admin-API call. `status` 0 means otpd could not be reached. `field` names the form
 * field a validation error is about (`"otpLength"`, `"testIdentifiers[0].otp"`,
 * `"settings.host"`); `retryAfter` is the 429 `Retry-After` in seconds.
 */
export class ApiError extends Error {
	override readonly name = 'ApiError';
	readonly status: number;
	readonly code: number | null;
	readonly field: string | null;
	readonly retryAfter: number | null;

	constructor(
		status: number,
		message: string,
		opts: {
			code?: number | null;
			field?: string | null;
			retryAfter?: number | null;
			cause?: unknown;
		} = {}
	) {
		super(message, { cause: opts.cause });
		this.status = status;
		this.code = opts.code ?? null;
		this.field = opts.field ?? null;
		this.retryAfter = opts.retryAfter ?? null;
	}

	/**
	 * The message to show next to the field: otpd names the field first
	 * (`"otpLength: must be 4 to 10"`), which is redundant under the input itself.
	 */
	get fieldMessage(): string {
		const prefix = this.field ? `${this.field}: ` : '';
		return prefix && this.message.startsWith(prefix)
			? this.message.slice(prefix.length)
			: this.message;
	}

	get isNetwork(): boolean {
		return this.status === 0;
	}
	get isUnauthorized(): boolean {
		return this.status === 401;
	}
	get isForbidden(): boolean {
		return this.status === 403;
	}
	get isNotFound(): boolean {
		return this.status === 404;
	}
	get isRateLimited(): boolean {
		return this.status === 429;
	}

	/** Anything thrown (ApiError, NetworkError, TypeError…) as an ApiError. */
	static from(e: unknown): ApiError {
		if (e instanceof ApiError) return e;
		if (e instanceof NetworkError) return new ApiError(0, e.message, { cause: e });
		const message = e instanceof Error ? e.message : String(e);
		return new ApiError(0, message || 'Unexpected error', { cause: e });
	}
}

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date); null when absent/invalid. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
	if (value === null) return null;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed);
	const date = Date.parse(trimmed);
	if (Number.isNaN(date)) return null;
	return Math.max(0, Math.ceil((date - now) / 1000));
}

const FALLBACK_MESSAGES: Record<number, string> = {
	400: 'The request was not accepted.',
	401: 'Your session has ended. Please log in again.',
	403: 'You are not allowed to do this.',
	404: 'Not found.',
	409: 'This conflicts with the current state. Reload and try again.',
	413: 'The request is too large.',
	429: 'Too many requests. Try again shortly.',
	500: 'otpd hit an internal error.',
	502: 'otpd is not reachable (bad gateway).',
	503: 'otpd is busy or shutting down. Try again shortly.',
	504: 'otpd did not answer in time.'
};

function isErrorBody(v: unknown): v is ApiErrorBody {
	if (typeof v !== 'object' || v === null || !('error' in v)) return false;
	const err = (v as { error: unknown }).error;
	return (
		typeof err === 'object' &&
		err !== null &&
		typeof (err as { message?: unknown }).message === 'string'
	);
}

/** Turns a non-2xx response into an ApiError, tolerating bodies that are not the error shape. */
export async function parseError(res: TransportResponse): Promise<ApiError> {
	const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
	let text = '';
	try {
		text = await res.text();
	} catch {
		/* body unreadable: fall back to the status */
	}
	let parsed: unknown = undefined;
	try {
		parsed = text ? JSON.parse(text) : undefined;
	} catch {
		/* not JSON (a proxy's HTML page, say) */
	}
	if (isErrorBody(parsed)) {
		const { code, message, field } = parsed.error;
		const fieldName = typeof field === 'string' && field ? field : null;
		// otpd writes messages in lower case ("wrong name or password"); shown alone they read
		// better as a sentence. A message that starts with its field name stays as it is.
		const text = fieldName ? message : message.charAt(0).toUpperCase() + message.slice(1);
		return new ApiError(res.status, text, {
			code: typeof code === 'number' ? code : null,
			field: fieldName,
			retryAfter
		});
	}
	const message = FALLBACK_MESSAGES[res.status] ?? `otpd answered with HTTP ${res.status}.`;
	return new ApiError(res.status, message, { retryAfter });
}
