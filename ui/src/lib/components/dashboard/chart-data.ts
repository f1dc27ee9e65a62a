/**
 * Turns the dashboard's numbers (`GET /admin/api/stats`) into chart series and table rows.
 * Pure functions (no chart.js, no DOM) so they can be tested; colours are CSS custom property
 * names that `BarChart` resolves against the current theme.
 */
import { CHANNELS, channelLabel, codeInfo, codeLabel, type CodeInfo } from '$lib/codes';
import type { Tone } from '$lib/components/types';

/** One series of a bar chart: its name, one value per label, and its colour token(s). */
export interface Series {
	label: string;
	data: number[];
	/** A CSS custom property (`--color-chart-1`), or one per bar. */
	color: string | string[];
}

export type StackBy = 'brand' | 'channel';

/** What a bucket of the stats answer looks like (hourly and daily share it). */
export interface Bucket {
	startMs: number;
	issued: number;
	byBrand: Record<string, number>;
	byChannel: Record<string, number>;
}

const PALETTE_SIZE = 8;

/** The chart colour token of the n-th series (wraps after eight). */
export function paletteToken(n: number): string {
	return `--color-chart-${(((n % PALETTE_SIZE) + PALETTE_SIZE) % PALETTE_SIZE) + 1}`;
}

/**
 * A brand's colour: its place among every brand (sorted), so a brand keeps its colour across
 * charts, refreshes and the brand filter. Unknown brands hash into the palette.
 */
export function brandColor(brand: string, allBrands: readonly string[]): string {
	const sorted = [...new Set(allBrands)].sort();
	const i = sorted.indexOf(brand);
	if (i >= 0) return paletteToken(i);
	let h = 0;
	for (const ch of brand) h = (h * 31 + ch.charCodeAt(0)) | 0;
	return paletteToken(Math.abs(h));
}

const CHANNEL_ORDER = [...CHANNELS, 'TEST'] as const;

/** A channel's colour: fixed per channel; test codes are grey. */
export function channelColor(channel: string): string {
	if (channel === 'TEST') return '--color-chart-8';
	const i = (CHANNEL_ORDER as readonly string[]).indexOf(channel);
	return paletteToken(i >= 0 ? i : 5);
}

/** The series keys present in the buckets: brands sorted, channels in their usual order. */
export function seriesKeys(buckets: readonly Bucket[], by: StackBy): string[] {
	const keys = new Set<string>();
	for (const b of buckets) {
		for (const [k, v] of Object.entries(by === 'brand' ? b.byBrand : b.byChannel)) {
			if (v > 0) keys.add(k);
		}
	}
	const list = [...keys];
	if (by === 'brand') return list.sort();
	const rank = (k: string) => {
		const i = (CHANNEL_ORDER as readonly string[]).indexOf(k);
		return i >= 0 ? i : CHANNEL_ORDER.length;
	};
	return list.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** One stacked series per brand (or channel), one value per bucket. */
export function stackedSeries(
	buckets: readonly Bucket[],
	by: StackBy,
	allBrands: readonly string[] = []
): Series[] {
	return seriesKeys(buckets, by).map((key) => ({
		label: by === 'brand' ? key : channelLabel(key),
		data: buckets.map((b) => (by === 'brand' ? b.byBrand : b.byChannel)[key] ?? 0),
		color: by === 'brand' ? brandColor(key, allBrands) : channelColor(key)
	}));
}

/** "14:00" in the browser's time zone (or the one given). */
export function hourLabel(ms: number, timeZone?: string, locale?: string): string {
	return new Intl.DateTimeFormat(locale, {
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23',
		timeZone
	}).format(ms);
}

/** "29 Nov" in the time zone the server counted days in. */
export function dayLabel(ms: number, timeZone?: string, locale?: string): string {
	return new Intl.DateTimeFormat(locale ?? 'en-GB', {
		day: 'numeric',
		month: 'short',
		timeZone
	}).format(ms);
}

const TONE_TOKEN: Record<Tone, string> = {
	success: '--color-success-solid',
	warn: '--color-warn-solid',
	danger: '--color-danger-solid',
	info: '--color-info-solid',
	neutral: '--color-neutral-solid'
};

export interface OutcomeRow {
	code: number;
	count: number;
	label: string;
	info: CodeInfo;
	color: string;
}

/** The outcomes map (`{"200": 25, "1534": 3}`) as rows: issued first, then by count. */
export function outcomeRows(outcomes: Record<string, number>): OutcomeRow[] {
	return Object.entries(outcomes)
		.filter(([, n]) => n > 0)
		.map(([code, count]) => {
			const info = codeInfo(code);
			return {
				code: Number(code),
				count,
				label: codeLabel(code),
				info,
				color: TONE_TOKEN[info.tone]
			};
		})
		.sort((a, b) =>
			a.code === 200 ? -1 : b.code === 200 ? 1 : b.count - a.count || a.code - b.code
		);
}

/** "25 in total, most (12) at 14:00" — the gist of a chart for its accessible name. */
export function summarise(
	labels: readonly string[],
	series: readonly Series[],
	unit: string
): string {
	const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.data[i] ?? 0), 0));
	const total = totals.reduce((a, b) => a + b, 0);
	if (total === 0) return `No ${unit}.`;
	let peak = 0;
	totals.forEach((t, i) => {
		if (t > (totals[peak] ?? 0)) peak = i;
	});
	return `${total} ${unit} in total; the most, ${totals[peak]}, at ${labels[peak]}.`;
}

/** Rows for a chart's table view: one per label, a column per series, and a total. */
export function tableRows(
	labels: readonly string[],
	series: readonly Series[]
): (string | number)[][] {
	return labels.map((label, i) => {
		const values = series.map((s) => s.data[i] ?? 0);
		return [label, ...values, values.reduce((a, b) => a + b, 0)];
	});
}
