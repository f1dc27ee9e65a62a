/**
 * What otpd's answer codes and delivery states mean, in an operator's words. The issuance log
 * and the dashboard share these (docs/api.md §7 is the source).
 */
import type { Tone } from '$lib/components/types';

export interface CodeInfo {
	code: number;
	/** A few words for a badge or a chart axis ("Daily limit"). */
	short: string;
	/** One sentence for a tooltip, a legend or the record view. */
	meaning: string;
	tone: Tone;
}

const CODES: readonly CodeInfo[] = [
	{
		code: 200,
		short: 'Issued',
		meaning: 'A code was issued and queued for delivery.',
		tone: 'success'
	},
	{
		code: 1534,
		short: 'Daily limit reached',
		meaning: 'The customer already had their daily (or per-window) number of codes.',
		tone: 'warn'
	},
	{
		code: 1701,
		short: 'Resend too soon',
		meaning: 'Asked again before the resend cooldown was over.',
		tone: 'warn'
	},
	{
		code: 1702,
		short: 'Address rate limit',
		meaning: 'Too many requests from one client address in a minute.',
		tone: 'warn'
	},
	{
		code: 1505,
		short: 'Invalid session',
		meaning: 'The session is unknown or has expired: the app must start over.',
		tone: 'danger'
	},
	{
		code: 1518,
		short: 'Too many wrong codes',
		meaning: 'The session used up its wrong-code attempts: the app must start over.',
		tone: 'danger'
	},
	{
		code: 1504,
		short: 'Brand off or unknown',
		meaning: 'The brand does not exist or is switched off.',
		tone: 'danger'
	},
	{
		code: 1519,
		short: 'Invalid request',
		meaning: 'The request was malformed or missed a field.',
		tone: 'danger'
	},
	{
		code: 1540,
		short: 'No mobile or e-mail',
		meaning: 'The request named no mobile number or e-mail address to send the code to.',
		tone: 'danger'
	},
	{
		code: 1601,
		short: 'Fallback needs a mobile',
		meaning: 'The fallback channel asked for needs a mobile number in the request.',
		tone: 'danger'
	},
	{
		code: 1602,
		short: 'Fallback needs an e-mail',
		meaning: 'The fallback channel asked for needs an e-mail address in the request.',
		tone: 'danger'
	},
	{
		code: 1603,
		short: 'Channel not set up',
		meaning: 'The channel the code should go through is not configured for this brand.',
		tone: 'danger'
	},
	{
		code: 5004,
		short: 'Bad payload signature',
		meaning: 'The payload signature was missing, wrong, stale or replayed.',
		tone: 'danger'
	},
	{
		code: 1503,
		short: 'Could not generate',
		meaning: 'otpd could not issue a code (a server-side problem).',
		tone: 'danger'
	},
	{
		code: 1507,
		short: 'Mobile differs from session',
		meaning: "The mobile number differs from the session's.",
		tone: 'danger'
	},
	{
		code: 1508,
		short: 'Device differs from session',
		meaning: "The device ID differs from the session's.",
		tone: 'danger'
	},
	{
		code: 1509,
		short: 'Brand differs from session',
		meaning: "The brand differs from the session's.",
		tone: 'danger'
	},
	{
		code: 1541,
		short: 'Identifier differs from session',
		meaning: "The identifier differs from the session's.",
		tone: 'danger'
	},
	{
		code: 1546,
		short: 'Invalid identifier type',
		meaning: 'The identifierType is not one otpd knows.',
		tone: 'danger'
	}
];

const BY_CODE = new Map(CODES.map((c) => [c.code, c]));

/** The codes an operator filters by, most common first (the log's outcome filter). */
export const FILTER_CODES: readonly number[] = [
	200, 1534, 1701, 1702, 1505, 1518, 1504, 1519, 1540, 1601, 1602, 1603, 5004
];

/** What a code means; unknown codes get a neutral "Code N". */
export function codeInfo(code: number | string): CodeInfo {
	const n = typeof code === 'number' ? code : Number(code);
	const known = BY_CODE.get(n);
	if (known) return known;
	return {
		code: n,
		short: `Code ${code}`,
		meaning: `otpd answered with code ${code}.`,
		tone: 'neutral'
	};
}

/** "1534 · Daily limit reached" — the code and its words, for axes and options. */
export function codeLabel(code: number | string): string {
	const info = codeInfo(code);
	return `${code} · ${info.short}`;
}

/** The three refusals that come from the limits (dashboard "limit hits"). */
export const LIMIT_CODES = [1534, 1701, 1702] as const;

export type DeliveryState =
	'NONE' | 'TEST' | 'QUEUED' | 'SENT' | 'DELIVERED' | 'FAILED' | 'EXPIRED';

export interface DeliveryInfo {
	label: string;
	meaning: string;
	tone: Tone;
}

const DELIVERY: Record<DeliveryState, DeliveryInfo> = {
	QUEUED: {
		label: 'Queued',
		meaning: 'Waiting to be sent (or retrying after a failed attempt).',
		tone: 'info'
	},
	SENT: { label: 'Sent', meaning: 'The provider accepted the message.', tone: 'success' },
	DELIVERED: {
		label: 'Delivered',
		meaning: 'The provider reported the message delivered.',
		tone: 'success'
	},
	FAILED: {
		label: 'Failed',
		meaning: 'Every attempt on every channel failed.',
		tone: 'danger'
	},
	EXPIRED: {
		label: 'Expired',
		meaning: 'The code expired before it could be sent.',
		tone: 'warn'
	},
	NONE: {
		label: 'Not sent',
		meaning: 'Nothing to send: the request was refused.',
		tone: 'neutral'
	},
	TEST: {
		label: 'Test',
		meaning: 'A test identifier with a fixed code: nothing is sent.',
		tone: 'neutral'
	}
};

/** Delivery states in the order an operator thinks of them (the log's filter). */
export const DELIVERY_STATES: readonly DeliveryState[] = [
	'QUEUED',
	'SENT',
	'DELIVERED',
	'FAILED',
	'EXPIRED',
	'NONE',
	'TEST'
];

export function deliveryInfo(state: string): DeliveryInfo {
	return (
		DELIVERY[state as DeliveryState] ?? {
			label: state,
			meaning: `Delivery: ${state}.`,
			tone: 'neutral'
		}
	);
}

/** Channels a code travels over; `TEST` is the dashboard's bucket for test identifiers. */
export const CHANNELS = ['EMAIL', 'SMS', 'WHATSAPP', 'ZALO'] as const;
export type Channel = (typeof CHANNELS)[number];

const CHANNEL_LABELS: Record<string, string> = {
	EMAIL: 'E-mail',
	SMS: 'SMS',
	WHATSAPP: 'WhatsApp',
	ZALO: 'Zalo',
	TEST: 'Test (not sent)'
};

export function channelLabel(channel: string): string {
	return CHANNEL_LABELS[channel] ?? channel;
}
