/** Pure helpers of the Payload signing page: endpoint and verdict labels, the signed message. */
import type { Tone } from '$lib/components';
import { fieldError } from '$lib/components/brands/settings';
import type { HashVerdict, KeyState, SignedEndpoint } from '$lib/services/signing';

export const ENDPOINTS: readonly { id: SignedEndpoint; label: string; path: string }[] = [
	{ id: 'TOKEN_GENERATE', label: 'Open a session', path: 'token/generate' },
	{ id: 'OTP_GENERATE', label: 'Send a code', path: 'otp/generate' },
	{ id: 'OTP_VALIDATE', label: 'Check a code', path: 'otp/validate' }
];

/** The six paths a signature can be checked for (mobile and web). */
export const SIGNED_PATHS: readonly string[] = [
	'/auth/v1/token/generate',
	'/auth/v1/otp/generate',
	'/auth/v1/otp/validate',
	'/auth/v1/web/token/generate',
	'/auth/v1/web/otp/generate',
	'/auth/v1/web/otp/validate'
];

/** The window the server accepts (signatureWindowSeconds). */
export const WINDOW_MIN = 10;
export const WINDOW_MAX = 600;

export const VERDICTS: Record<HashVerdict, { tone: Tone; title: string }> = {
	ACCEPTED: { tone: 'success', title: 'The server would accept this request' },
	MISSING: { tone: 'danger', title: 'No signature in the request' },
	MALFORMED: { tone: 'danger', title: 'The hash or timeStamp is malformed' },
	STALE: { tone: 'warn', title: 'The timestamp is outside the window' },
	REVOKED: { tone: 'danger', title: 'Signed with a revoked key' },
	NO_MATCH: { tone: 'danger', title: 'The hash matches no key' }
};

export const KEY_STATES: Record<KeyState, { tone: Tone; label: string; meaning: string }> = {
	ACTIVE: { tone: 'success', label: 'Active', meaning: 'signs new app builds; verifies' },
	RETIRING: { tone: 'warn', label: 'Retiring', meaning: 'replaced; still verifies until revoked' },
	REVOKED: { tone: 'neutral', label: 'Revoked', meaning: 'verifies nothing' }
};

/** The names of the signed message's lines, in order (docs/api.md §5). */
export const MESSAGE_FIELDS = [
	'version',
	'timeStamp',
	'path',
	'brand',
	'identifierType',
	'identifierValue',
	'deviceId',
	'sessionId',
	'otp'
] as const;

/** The signed message as labelled lines (generic labels if it does not have nine). */
export function messageLines(message: string): { name: string; value: string }[] {
	const lines = message.split('\n');
	const named = lines.length === MESSAGE_FIELDS.length;
	return lines.map((value, i) => ({
		name: named ? (MESSAGE_FIELDS[i] as string) : `line ${i + 1}`,
		value
	}));
}

/** Server time minus timeStamp, in words: "+3 s (the client is behind)". */
export function formatSkew(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined) return '—';
	if (seconds === 0) return '0 s (in step)';
	const n = Math.abs(seconds);
	return seconds > 0
		? `+${n} s (the client's clock is behind)`
		: `−${n} s (the client's clock is ahead)`;
}

/** The body typed into the checker, as an object; a field error when it is not one. */
export function parseBody(text: string): Record<string, unknown> {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (e) {
		const detail = e instanceof Error ? e.message : String(e);
		throw fieldError('body', `not valid JSON (${detail})`);
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw fieldError('body', 'must be one JSON object, as the client sends it');
	}
	return value as Record<string, unknown>;
}

/** A body to start the checker from. */
export function sampleBody(brand: string, now: number = Date.now()): string {
	return JSON.stringify(
		{
			brand,
			identifierType: 'MOBILE',
			identifierValue: '+84901234567',
			deviceId: 'dev-1',
			sessionId: 'P-…',
			timeStamp: now,
			hash: ''
		},
		null,
		2
	);
}

/** `text` with its `timeStamp` set to `now` (unchanged when it is not a JSON object). */
export function withTimeStamp(text: string, now: number = Date.now()): string {
	try {
		const body = parseBody(text);
		return JSON.stringify({ ...body, timeStamp: now }, null, 2);
	} catch {
		return text;
	}
}
