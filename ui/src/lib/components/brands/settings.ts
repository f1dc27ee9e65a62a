/**
 * Pure helpers of the brand pages: what changed in a section, durations and limits in words,
 * the time-zone list, and client-side checks that fail the way the server does (an ApiError
 * with a `field`, so FormState puts the message next to the input).
 */
import { ApiError } from '$lib/api';
import type { BrandSettings, ChannelKind, IdentifierType } from '$lib/services/brands';

/** The settings of `value` that differ from `saved` (compared as JSON): what a PATCH sends. */
export function changedSettings<T extends object>(saved: T, value: T): Partial<T> {
	const out: Partial<T> = {};
	for (const key of Object.keys(value) as (keyof T)[]) {
		if (JSON.stringify(value[key]) !== JSON.stringify(saved[key])) out[key] = value[key];
	}
	return out;
}

/** A 400 as otpd would send it, for checks the console makes before sending. */
export function fieldError(field: string, message: string): ApiError {
	return new ApiError(400, `${field}: ${message}`, { field });
}

/** Fails like the server when a required number field is empty. */
export function requireNumbers(values: Record<string, number | null | undefined>): void {
	for (const [field, v] of Object.entries(values)) {
		if (v === null || v === undefined || Number.isNaN(v)) throw fieldError(field, 'enter a number');
	}
}

/** otpd's 1535 (a limit of 0), with its code, so operators can match it with the docs. */
export function explainLimitZero(e: unknown): unknown {
	const err = ApiError.from(e);
	if (err.code !== 1535) return e;
	const field = err.field ?? 'dailyOtpLimit';
	return new ApiError(err.status, `${field}: the limit cannot be 0; use at least 1 (1535)`, {
		code: err.code,
		field
	});
}

/** Seconds in words: 45 → "45 s", 90 → "1 min 30 s", 900 → "15 min", 86400 → "1 day". */
export function formatDuration(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
	const s = Math.max(0, Math.round(seconds));
	const units: [number, string, string][] = [
		[86_400, 'day', 'days'],
		[3_600, 'h', 'h'],
		[60, 'min', 'min'],
		[1, 's', 's']
	];
	const parts: string[] = [];
	let rest = s;
	for (const [size, one, many] of units) {
		const n = Math.floor(rest / size);
		if (n > 0) {
			parts.push(`${n} ${n === 1 ? one : many}`);
			rest -= n * size;
		}
		if (parts.length === 2) break;
	}
	return parts.length ? parts.join(' ') : '0 s';
}

/** The limit in words: "10 a day" or "10 per 60 min". */
export function describeLimit(
	s: Pick<BrandSettings, 'dailyOtpLimit' | 'limitWindowMinutes'>
): string {
	if (s.limitWindowMinutes === null || s.limitWindowMinutes === undefined) {
		return `${s.dailyOtpLimit} a day`;
	}
	return `${s.dailyOtpLimit} per ${formatDuration(s.limitWindowMinutes * 60)}`;
}

/** Current IANA names that browsers still list under their old alias (Asia/Saigon…). */
const MODERN_NAMES = [
	'Asia/Ho_Chi_Minh',
	'Asia/Kolkata',
	'Asia/Kathmandu',
	'Asia/Yangon',
	'Europe/Kyiv',
	'America/Nuuk',
	'Pacific/Kanton'
];

/**
 * IANA time zones for the picker: the browser's list plus the current names of renamed zones,
 * sorted, with UTC first (Chromium omits it).
 */
export function timeZoneNames(): string[] {
	let zones: string[] = [];
	try {
		zones = Intl.supportedValuesOf('timeZone');
	} catch {
		zones = [];
	}
	const known = new Set(zones);
	for (const name of MODERN_NAMES) if (timeIn(name) !== null) known.add(name);
	known.delete('UTC');
	return ['UTC', ...[...known].sort()];
}

/** The wall-clock time now in `timeZone` ("14:05"), or null for a name the browser rejects. */
export function timeIn(timeZone: string, now: number = Date.now()): string | null {
	try {
		return new Intl.DateTimeFormat('en-GB', {
			hour: '2-digit',
			minute: '2-digit',
			hourCycle: 'h23',
			timeZone
		}).format(now);
	} catch {
		return null;
	}
}

export const MOBILE_CHANNELS: readonly ChannelKind[] = ['SMS', 'WHATSAPP', 'ZALO'];
export const ALL_CHANNELS: readonly ChannelKind[] = ['SMS', 'WHATSAPP', 'ZALO', 'EMAIL'];

const CHANNEL_LABELS: Record<ChannelKind, string> = {
	SMS: 'SMS',
	WHATSAPP: 'WhatsApp',
	ZALO: 'Zalo',
	EMAIL: 'E-mail'
};

export function channelLabel(kind: ChannelKind): string {
	return CHANNEL_LABELS[kind] ?? kind;
}

/** Moves the item at `index` by `delta` places (a copy; out-of-range moves change nothing). */
export function move<T>(list: readonly T[], index: number, delta: number): T[] {
	const to = index + delta;
	const out = [...list];
	if (index < 0 || index >= list.length || to < 0 || to >= list.length) return out;
	const [item] = out.splice(index, 1);
	out.splice(to, 0, item as T);
	return out;
}

export const IDENTIFIER_TYPES: readonly IdentifierType[] = ['MOBILE', 'EMAIL', 'USERNAME'];

/** The code of a stored test identifier reads like this (write-only). */
export const STORED_CODE = 'set';

/** One row of the test-identifier editor: `stored` rows came from the server. */
export interface TestRow {
	identifierType: IdentifierType;
	identifierValue: string;
	/** `"set"` keeps the stored code; anything else is a new code. */
	otp: string;
	stored: boolean;
}

/**
 * Checks the rows as the server would before saving: a value for every new row, and every
 * new or replaced code exactly `otpLength` digits. Throws the first problem as a field error.
 */
export function checkTestRows(rows: readonly TestRow[], otpLength: number): void {
	rows.forEach((row, i) => {
		if (!row.identifierValue.trim()) {
			throw fieldError(`testIdentifiers[${i}].identifierValue`, 'enter the identifier');
		}
		if (row.stored && row.otp === STORED_CODE) return;
		if (!new RegExp(`^\\d{${otpLength}}$`).test(row.otp)) {
			throw fieldError(
				`testIdentifiers[${i}].otp`,
				`the code must be exactly ${otpLength} digits (the brand's code length)`
			);
		}
	});
}

/** A brand name otpd accepts: 1–64 of A-Z a-z 0-9 _ - . (stored upper-case). */
export function brandNameProblem(name: string): string | null {
	if (!name) return 'enter a name';
	if (name.length > 64) return 'use at most 64 characters';
	if (!/^[A-Za-z0-9_.-]+$/.test(name)) return 'use only letters A–Z, digits and _ - .';
	return null;
}

/**
 * Copies `next` into the (deeply reactive) `target`, assigning only the values that differ
 * (compared as JSON). Readers of unchanged settings then do not re-run, so saving one section
 * of a brand leaves the unsaved edits of the others alone. `settings` is merged key by key.
 */
export function mergeInto<T extends object>(
	target: T,
	next: T,
	deep: readonly string[] = []
): void {
	for (const key of Object.keys(next) as (keyof T & string)[]) {
		const a = target[key];
		const b = next[key];
		if (deep.includes(key) && a && b && typeof a === 'object' && typeof b === 'object') {
			mergeInto(a as object, b as object);
		} else if (JSON.stringify(a) !== JSON.stringify(b)) {
			target[key] = b;
		}
	}
}
