import { describe, expect, it } from 'vitest';
import {
	brandColor,
	channelColor,
	dayLabel,
	hourLabel,
	outcomeRows,
	paletteToken,
	seriesKeys,
	stackedSeries,
	summarise,
	tableRows,
	type Bucket
} from './chart-data';

const buckets: Bucket[] = [
	{ startMs: 0, issued: 3, byBrand: { DEMO: 1, ACME: 2 }, byChannel: { SMS: 2, EMAIL: 1 } },
	{ startMs: 3_600_000, issued: 0, byBrand: {}, byChannel: {} },
	{ startMs: 7_200_000, issued: 2, byBrand: { SHOP: 2 }, byChannel: { TEST: 1, WHATSAPP: 1 } }
];

describe('chart data', () => {
	it('stacks by brand, one value per bucket, zeros filled in', () => {
		expect(stackedSeries(buckets, 'brand', ['ACME', 'DEMO', 'SHOP'])).toEqual([
			{ label: 'ACME', data: [2, 0, 0], color: '--color-chart-1' },
			{ label: 'DEMO', data: [1, 0, 0], color: '--color-chart-2' },
			{ label: 'SHOP', data: [0, 0, 2], color: '--color-chart-3' }
		]);
	});

	it('stacks by channel in the usual channel order with readable names', () => {
		expect(seriesKeys(buckets, 'channel')).toEqual(['EMAIL', 'SMS', 'WHATSAPP', 'TEST']);
		const series = stackedSeries(buckets, 'channel');
		expect(series.map((s) => s.label)).toEqual(['E-mail', 'SMS', 'WhatsApp', 'Test (not sent)']);
		expect(series[3]).toMatchObject({ data: [0, 0, 1], color: '--color-chart-8' });
	});

	it('keeps a brand its colour whatever else is shown', () => {
		const all = ['SHOP', 'ACME', 'DEMO'];
		expect(brandColor('DEMO', all)).toBe('--color-chart-2');
		expect(brandColor('DEMO', [...all, 'DEMO'])).toBe('--color-chart-2');
		const unknown = brandColor('GHOST', all);
		expect(unknown).toMatch(/^--color-chart-[1-8]$/);
		expect(brandColor('GHOST', all)).toBe(unknown);
		expect(paletteToken(8)).toBe('--color-chart-1');
		expect(channelColor('SMS')).toBe('--color-chart-2');
	});

	it('orders outcomes: issued first, then the most frequent', () => {
		const rows = outcomeRows({ '1519': 2, '200': 25, '1701': 7, '1505': 0, '9999': 7 });
		expect(rows.map((r) => r.code)).toEqual([200, 1701, 9999, 1519]);
		expect(rows[0]).toMatchObject({ label: '200 · Issued', color: '--color-success-solid' });
		expect(rows[1]?.color).toBe('--color-warn-solid');
		expect(rows[2]?.color).toBe('--color-neutral-solid');
	});

	it('summarises a chart and tabulates it', () => {
		const series = stackedSeries(buckets, 'brand', []);
		const labels = ['00:00', '01:00', '02:00'];
		expect(summarise(labels, series, 'codes issued')).toBe(
			'5 codes issued in total; the most, 3, at 00:00.'
		);
		expect(summarise(labels, [], 'codes issued')).toBe('No codes issued.');
		expect(tableRows(labels, series)).toEqual([
			['00:00', 2, 1, 0, 3],
			['01:00', 0, 0, 0, 0],
			['02:00', 0, 0, 2, 2]
		]);
	});

	it('labels hours and days in the given time zone', () => {
		const ms = Date.UTC(2026, 10, 29, 22, 0, 0);
		expect(hourLabel(ms, 'UTC', 'en-GB')).toBe('22:00');
		expect(hourLabel(ms, 'Asia/Ho_Chi_Minh', 'en-GB')).toBe('05:00');
		expect(dayLabel(ms, 'UTC')).toBe('29 Nov');
		expect(dayLabel(ms, 'Asia/Ho_Chi_Minh')).toBe('30 Nov');
	});
});
