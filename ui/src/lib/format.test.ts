import { describe, expect, it } from 'vitest';
import {
	formatDateTime,
	formatNumber,
	formatPercent,
	formatRelative,
	formatShare,
	formatTimestamp
} from './format';

const T = Date.UTC(2026, 10, 29, 21, 58, 3); // 2026-11-29 21:58:03 UTC
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('formatDateTime / formatTimestamp', () => {
	it('formats absolute local time', () => {
		expect(formatDateTime(T, { locale: 'en-GB', timeZone: 'UTC' })).toBe('29 Nov 2026, 21:58:03');
		expect(formatDateTime(T, { locale: 'en-GB', timeZone: 'Asia/Ho_Chi_Minh' })).toBe(
			'30 Nov 2026, 04:58:03'
		);
		expect(formatDateTime(T, { locale: 'en-GB', timeZone: 'UTC', seconds: false })).toBe(
			'29 Nov 2026, 21:58'
		);
	});

	it('formats a compact sortable timestamp', () => {
		expect(formatTimestamp(T, 'UTC')).toBe('2026-11-29 21:58:03');
		expect(formatTimestamp(Date.UTC(2026, 0, 2, 0, 0, 0), 'UTC')).toBe('2026-01-02 00:00:00');
	});

	it('shows a dash for missing values', () => {
		expect(formatDateTime(null)).toBe('—');
		expect(formatTimestamp(undefined)).toBe('—');
		expect(formatRelative(Number.NaN)).toBe('—');
	});
});

describe('formatRelative', () => {
	it.each([
		[T - 10 * S, 'just now'],
		[T - 60 * S, '1 min ago'],
		[T - 3 * M, '3 min ago'],
		[T - 59 * M, '59 min ago'],
		[T - 2 * H, '2 h ago'],
		[T - 23 * H, '23 h ago'],
		[T - D, 'yesterday'],
		[T - 5 * D, '5 days ago'],
		[T + 10 * M, 'in 10 min'],
		[T + 10 * S, 'in a few seconds'],
		[T + D, 'tomorrow']
	])('%i → %s', (ms, expected) => {
		expect(formatRelative(ms, T)).toBe(expected);
	});

	it('falls back to the date beyond 30 days', () => {
		expect(formatRelative(T - 40 * D, T, { locale: 'en-GB', timeZone: 'UTC' })).toBe(
			'20 Oct 2026, 21:58'
		);
	});
});

describe('formatNumber', () => {
	it('adds thousands separators', () => {
		expect(formatNumber(1234567, { locale: 'en-US' })).toBe('1,234,567');
		expect(formatNumber(1234567, { locale: 'de-DE' })).toBe('1.234.567');
		expect(formatNumber(999, { locale: 'en-US' })).toBe('999');
		expect(formatNumber(-12345.678, { locale: 'en-US' })).toBe('-12,345.68');
		expect(formatNumber(0, { locale: 'en-US' })).toBe('0');
		expect(formatNumber(null)).toBe('—');
	});
});

describe('formatPercent / formatShare', () => {
	it('formats a ratio', () => {
		expect(formatPercent(0.1234, { locale: 'en-US' })).toBe('12.3%');
		expect(formatPercent(1, { locale: 'en-US' })).toBe('100%');
		expect(formatPercent(0, { locale: 'en-US' })).toBe('0%');
		expect(formatPercent(0.5, { locale: 'en-US', fractionDigits: 0 })).toBe('50%');
	});

	it('does not round a tiny share down to zero', () => {
		expect(formatPercent(0.00001, { locale: 'en-US' })).toBe('<0.1%');
	});

	it('handles an empty whole', () => {
		expect(formatShare(3, 0)).toBe('—');
		expect(formatShare(1, 4, { locale: 'en-US' })).toBe('25%');
		expect(formatPercent(Number.POSITIVE_INFINITY)).toBe('—');
	});
});
