/**
 * The issuance log's filter: read from and written to the page's URL query (so a filtered
 * view can be shared and the back button works), and turned into the API's query.
 *
 * URL parameters: `range` (1h · 24h · 7d · 30d · all · custom), `from` / `to` (custom range,
 * `datetime-local` values in the browser's time zone), `brand`, `destination`, `outcome`,
 * `channel`, `delivery`, `test` (true · false), `limit` (25 · 50 · 100). Defaults are left out.
 */
import { CHANNELS, DELIVERY_STATES } from '$lib/codes';
import type { LogQuery } from '$lib/services/log';

export const RANGES = [
	{ value: 'all', label: 'All time' },
	{ value: '1h', label: 'Last hour' },
	{ value: '24h', label: 'Last 24 hours' },
	{ value: '7d', label: 'Last 7 days' },
	{ value: '30d', label: 'Last 30 days' },
	{ value: 'custom', label: 'Custom range…' }
] as const;
export type Range = (typeof RANGES)[number]['value'];

const RANGE_MS: Record<Exclude<Range, 'all' | 'custom'>, number> = {
	'1h': 3_600_000,
	'24h': 86_400_000,
	'7d': 7 * 86_400_000,
	'30d': 30 * 86_400_000
};

export const PAGE_SIZES = [25, 50, 100] as const;

export interface LogFilter {
	range: Range;
	/** `datetime-local` value ("2026-11-29T14:30"), local time; custom range only. */
	from: string;
	to: string;
	brand: string;
	destination: string;
	/** An outcome code as text ('' = any). */
	outcome: string;
	channel: string;
	delivery: string;
	test: '' | 'true' | 'false';
	limit: number;
}

export const DEFAULT_FILTER: Readonly<LogFilter> = {
	range: 'all',
	from: '',
	to: '',
	brand: '',
	destination: '',
	outcome: '',
	channel: '',
	delivery: '',
	test: '',
	limit: 50
};

const oneOf = <T extends string>(v: string | null, allowed: readonly T[]): T | '' =>
	v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : '';

/** The filter a URL query describes; anything unknown falls back to its default. */
export function parseFilter(params: URLSearchParams): LogFilter {
	const get = (k: string) => params.get(k)?.trim() ?? '';
	const range =
		oneOf(
			params.get('range'),
			RANGES.map((r) => r.value)
		) || DEFAULT_FILTER.range;
	const limit = Number(params.get('limit'));
	const outcome = get('outcome');
	return {
		range,
		from: range === 'custom' ? get('from') : '',
		to: range === 'custom' ? get('to') : '',
		brand: get('brand').toUpperCase(),
		destination: get('destination'),
		outcome: /^\d{1,5}$/.test(outcome) ? outcome : '',
		channel: oneOf(params.get('channel'), CHANNELS),
		delivery: oneOf(params.get('delivery'), DELIVERY_STATES),
		test: oneOf(params.get('test'), ['true', 'false'] as const),
		limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_FILTER.limit
	};
}

/** The URL query of a filter (defaults left out, stable order). */
export function filterToParams(f: LogFilter): URLSearchParams {
	const params = new URLSearchParams();
	const put = (k: keyof LogFilter) => {
		const v = String(f[k]);
		if (v !== '' && v !== String(DEFAULT_FILTER[k])) params.set(k, v);
	};
	put('range');
	if (f.range === 'custom') {
		put('from');
		put('to');
	}
	(['brand', 'destination', 'outcome', 'channel', 'delivery', 'test', 'limit'] as const).forEach(
		put
	);
	return params;
}

/** True when anything but the page size differs from the defaults. */
export function isFiltered(f: LogFilter): boolean {
	const { limit: _a, ...rest } = f;
	const { limit: _b, ...defaults } = DEFAULT_FILTER;
	return (Object.keys(rest) as (keyof typeof rest)[]).some((k) => rest[k] !== defaults[k]);
}

/** A `datetime-local` value as epoch ms (local time), or null when empty or invalid. */
export function fromLocalInput(value: string): number | null {
	if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return null;
	const ms = new Date(value).getTime();
	return Number.isFinite(ms) ? ms : null;
}

/** Epoch ms as a `datetime-local` value in local time ("2026-11-29T14:30"). */
export function toLocalInput(ms: number): string {
	const d = new Date(ms);
	const p = (n: number) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export interface QueryResult {
	query: LogQuery;
	/** Problems with the filter itself, by field (`from`, `to`); the query is unusable then. */
	errors: Partial<Record<'from' | 'to', string>>;
}

/**
 * The API query (without the cursor) for a filter at time `now`: presets become `sinceMs`, a
 * custom range `sinceMs`/`untilMs`.
 */
export function filterToQuery(f: LogFilter, now: number = Date.now()): QueryResult {
	const errors: QueryResult['errors'] = {};
	const query: LogQuery = { limit: f.limit };
	if (f.range === 'custom') {
		const since = fromLocalInput(f.from);
		const until = fromLocalInput(f.to);
		if (f.from && since === null) errors.from = 'Enter a date and time.';
		if (f.to && until === null) errors.to = 'Enter a date and time.';
		if (since !== null && until !== null && since >= until) {
			errors.to = 'The end must be after the start.';
		}
		if (since !== null) query.sinceMs = since;
		if (until !== null) query.untilMs = until;
	} else if (f.range !== 'all') {
		query.sinceMs = now - RANGE_MS[f.range];
	}
	if (f.brand) query.brand = f.brand;
	if (f.destination) query.destination = f.destination;
	if (f.outcome) query.outcome = Number(f.outcome);
	if (f.channel) query.channel = f.channel as LogQuery['channel'];
	if (f.delivery) query.delivery = f.delivery as LogQuery['delivery'];
	if (f.test) query.test = f.test === 'true';
	return { query, errors };
}
