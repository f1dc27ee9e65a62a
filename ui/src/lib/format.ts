/**
 * Display formatting. Dates and numbers follow the browser's locale unless one is passed
 * (tests pass one); relative times are English to match the console's text.
 */

const DASH = '—';

function valid(ms: number | null | undefined): ms is number {
	return typeof ms === 'number' && Number.isFinite(ms);
}

export interface DateOptions {
	locale?: string | string[];
	timeZone?: string;
	/** Include seconds (default true: logs are read to the second). */
	seconds?: boolean;
}

/** Local date and time of an epoch-ms timestamp, e.g. "29 Nov 2026, 21:58:03". */
export function formatDateTime(ms: number | null | undefined, opts: DateOptions = {}): string {
	if (!valid(ms)) return DASH;
	return new Intl.DateTimeFormat(opts.locale, {
		year: 'numeric',
		month: 'short',
		day: 'numeric',
		hour: '2-digit',
		minute: '2-digit',
		second: opts.seconds === false ? undefined : '2-digit',
		hourCycle: 'h23',
		timeZone: opts.timeZone
	}).format(ms);
}

/** Compact sortable local timestamp for dense tables: "2026-11-29 21:58:03". */
export function formatTimestamp(ms: number | null | undefined, timeZone?: string): string {
	if (!valid(ms)) return DASH;
	const parts = Object.fromEntries(
		new Intl.DateTimeFormat('en-CA', {
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit',
			hourCycle: 'h23',
			timeZone
		})
			.formatToParts(ms)
			.map((p) => [p.type, p.value])
	) as Record<string, string>;
	return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/**
 * Relative time from `now`: "just now", "3 min ago", "2 h ago", "yesterday", "5 days ago",
 * "in 10 min". Beyond 30 days: the date.
 */
export function formatRelative(
	ms: number | null | undefined,
	now: number = Date.now(),
	opts: DateOptions = {}
): string {
	if (!valid(ms)) return DASH;
	const diff = ms - now;
	const abs = Math.abs(diff);
	const future = diff > 0;
	const say = (n: number, unit: string) => (future ? `in ${n} ${unit}` : `${n} ${unit} ago`);
	const SEC = 1000;
	const MIN = 60 * SEC;
	const HOUR = 60 * MIN;
	const DAY = 24 * HOUR;
	if (abs < 45 * SEC) return future ? 'in a few seconds' : 'just now';
	if (abs < 90 * SEC) return say(1, 'min');
	if (abs < HOUR) return say(Math.round(abs / MIN), 'min');
	if (abs < DAY) return say(Math.round(abs / HOUR), 'h');
	const days = Math.round(abs / DAY);
	if (days === 1) return future ? 'tomorrow' : 'yesterday';
	if (days <= 30) return say(days, 'days');
	return formatDateTime(ms, { ...opts, seconds: false });
}

/** A number with thousands separators: 1234567 → "1,234,567". */
export function formatNumber(
	n: number | null | undefined,
	opts: { locale?: string | string[]; fractionDigits?: number } = {}
): string {
	if (!valid(n)) return DASH;
	return new Intl.NumberFormat(opts.locale, {
		maximumFractionDigits: opts.fractionDigits ?? 2,
		minimumFractionDigits: 0
	}).format(n);
}

/**
 * A ratio as a percentage: 0.1234 → "12.3%". `fractionDigits` defaults to 1; a non-zero
 * value that would round to zero shows as "<0.1%" so it is not mistaken for none.
 */
export function formatPercent(
	ratio: number | null | undefined,
	opts: { locale?: string | string[]; fractionDigits?: number } = {}
): string {
	if (!valid(ratio)) return DASH;
	const digits = opts.fractionDigits ?? 1;
	const fmt = new Intl.NumberFormat(opts.locale, {
		style: 'percent',
		minimumFractionDigits: 0,
		maximumFractionDigits: digits
	});
	const smallest = 10 ** -digits / 100;
	if (ratio > 0 && ratio < smallest) return `<${fmt.format(smallest)}`;
	return fmt.format(ratio);
}

/** `part / whole` as a percentage; "—" when `whole` is 0. */
export function formatShare(
	part: number,
	whole: number,
	opts: { locale?: string | string[]; fractionDigits?: number } = {}
): string {
	return whole === 0 ? DASH : formatPercent(part / whole, opts);
}
