import { describe, expect, it } from 'vitest';
import { ApiError } from '$lib/api';
import {
	brandNameProblem,
	changedSettings,
	mergeInto,
	checkTestRows,
	describeLimit,
	explainLimitZero,
	formatDuration,
	move,
	requireNumbers,
	timeIn,
	timeZoneNames,
	type TestRow
} from './settings';

describe('changedSettings', () => {
	it('keeps only what differs, arrays and nulls included', () => {
		expect(
			changedSettings(
				{ otpLength: 6, keyTtlSeconds: null as number | null, fallbackChannels: ['SMS'] },
				{ otpLength: 6, keyTtlSeconds: 60, fallbackChannels: ['SMS'] }
			)
		).toEqual({ keyTtlSeconds: 60 });
		expect(changedSettings({ a: [1, 2] }, { a: [2, 1] })).toEqual({ a: [2, 1] });
		expect(changedSettings({ a: 1 }, { a: 1 })).toEqual({});
		expect(changedSettings({ w: 5 as number | null }, { w: null })).toEqual({ w: null });
	});
});

describe('formatDuration', () => {
	it('says seconds in the two largest units', () => {
		expect(formatDuration(45)).toBe('45 s');
		expect(formatDuration(90)).toBe('1 min 30 s');
		expect(formatDuration(900)).toBe('15 min');
		expect(formatDuration(3600)).toBe('1 h');
		expect(formatDuration(86_400)).toBe('1 day');
		expect(formatDuration(31_536_000)).toBe('365 days');
		expect(formatDuration(93_784)).toBe('1 day 2 h');
		expect(formatDuration(0)).toBe('0 s');
		expect(formatDuration(null)).toBe('—');
	});
});

describe('describeLimit', () => {
	it('names the calendar day or the window', () => {
		expect(describeLimit({ dailyOtpLimit: 10, limitWindowMinutes: null })).toBe('10 a day');
		expect(describeLimit({ dailyOtpLimit: 3, limitWindowMinutes: 60 })).toBe('3 per 1 h');
		expect(describeLimit({ dailyOtpLimit: 3, limitWindowMinutes: 15 })).toBe('3 per 15 min');
	});
});

describe('explainLimitZero', () => {
	it('adds the code to a 1535 and keeps its field', () => {
		const e = new ApiError(400, 'dailyOtpLimit: the OTP limit cannot be 0', {
			code: 1535,
			field: 'dailyOtpLimit'
		});
		const out = explainLimitZero(e) as ApiError;
		expect(out.field).toBe('dailyOtpLimit');
		expect(out.code).toBe(1535);
		expect(out.fieldMessage).toBe('the limit cannot be 0; use at least 1 (1535)');
	});

	it('leaves other errors alone', () => {
		const e = new ApiError(400, 'otpLength: 2 is outside the allowed range 4–10', {
			field: 'otpLength'
		});
		expect(explainLimitZero(e)).toBe(e);
	});
});

describe('requireNumbers', () => {
	it('names the first empty field', () => {
		expect(() => requireNumbers({ a: 1, b: 0 })).not.toThrow();
		expect(() => requireNumbers({ a: 1, b: null })).toThrow(
			expect.objectContaining({ field: 'b', fieldMessage: 'enter a number' })
		);
	});
});

describe('move', () => {
	it('moves up and down and ignores moves past the ends', () => {
		expect(move(['a', 'b', 'c'], 2, -1)).toEqual(['a', 'c', 'b']);
		expect(move(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
		expect(move(['a', 'b'], 0, -1)).toEqual(['a', 'b']);
		expect(move(['a', 'b'], 1, 1)).toEqual(['a', 'b']);
	});
});

describe('time zones', () => {
	it('lists UTC first, once', () => {
		const zones = timeZoneNames();
		expect(zones[0]).toBe('UTC');
		expect(zones.filter((z) => z === 'UTC')).toHaveLength(1);
		expect(zones).toContain('Asia/Ho_Chi_Minh');
	});

	it('tells the time in a zone and rejects unknown names', () => {
		const t = Date.UTC(2026, 0, 1, 23, 30);
		expect(timeIn('UTC', t)).toBe('23:30');
		expect(timeIn('Asia/Ho_Chi_Minh', t)).toBe('06:30');
		expect(timeIn('Mars/Base', t)).toBeNull();
	});
});

describe('checkTestRows', () => {
	const row = (r: Partial<TestRow>): TestRow => ({
		identifierType: 'MOBILE',
		identifierValue: '+84900000001',
		otp: '123456',
		stored: false,
		...r
	});

	it('accepts kept codes and new codes of the right length', () => {
		expect(() =>
			checkTestRows([row({ stored: true, otp: 'set' }), row({ otp: '000000' })], 6)
		).not.toThrow();
	});

	it('refuses a new code of the wrong length, naming its row', () => {
		expect(() =>
			checkTestRows([row({ stored: true, otp: 'set' }), row({ otp: '1234' })], 6)
		).toThrow(expect.objectContaining({ field: 'testIdentifiers[1].otp' }));
		expect(() => checkTestRows([row({ otp: '12345a' })], 6)).toThrow(
			expect.objectContaining({ field: 'testIdentifiers[0].otp' })
		);
		// "set" is only a code to keep on a stored row.
		expect(() => checkTestRows([row({ otp: 'set' })], 6)).toThrow(
			expect.objectContaining({ field: 'testIdentifiers[0].otp' })
		);
	});

	it('refuses an empty identifier', () => {
		expect(() => checkTestRows([row({ identifierValue: ' ' })], 6)).toThrow(
			expect.objectContaining({ field: 'testIdentifiers[0].identifierValue' })
		);
	});
});

describe('brandNameProblem', () => {
	it('accepts what otpd accepts', () => {
		expect(brandNameProblem('acme')).toBeNull();
		expect(brandNameProblem('A.b-c_9')).toBeNull();
		expect(brandNameProblem('x'.repeat(64))).toBeNull();
	});
	it('says what is wrong', () => {
		expect(brandNameProblem('')).toBe('enter a name');
		expect(brandNameProblem('x'.repeat(65))).toMatch(/64/);
		expect(brandNameProblem('bad name')).toMatch(/only/);
		expect(brandNameProblem('ÄCME')).toMatch(/only/);
	});
});

describe('mergeInto', () => {
	it('assigns only what changed, merging the deep keys key by key', () => {
		const keep = ['SMS'];
		const target = { updatedMs: 1, settings: { otpLength: 6, fallbackChannels: keep } };
		const settings = target.settings;
		mergeInto(target, { updatedMs: 2, settings: { otpLength: 8, fallbackChannels: ['SMS'] } }, [
			'settings'
		]);
		expect(target.updatedMs).toBe(2);
		expect(target.settings).toBe(settings);
		expect(target.settings.otpLength).toBe(8);
		// Equal by value: the array object is not replaced.
		expect(target.settings.fallbackChannels).toBe(keep);
	});
});
