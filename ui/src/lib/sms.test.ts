import { describe, expect, it } from 'vitest';
import { countSms, describeSms, isGsm7 } from './sms';

// Mirrors otpd's domain::template tests so the editor and the server agree.
const short = (t: string) => {
	const c = countSms(t);
	return [c.encoding, c.units, c.segments];
};

describe('countSms — GSM-7', () => {
	it('counts an empty text as no segment', () => {
		expect(countSms('')).toEqual({
			encoding: 'GSM-7',
			units: 0,
			segments: 0,
			perSegment: 160,
			remaining: 160
		});
	});

	it('fits 160 septets in one SMS, 161 needs two parts of 153', () => {
		expect(countSms('a'.repeat(160))).toMatchObject({
			units: 160,
			segments: 1,
			perSegment: 160,
			remaining: 0
		});
		expect(countSms('a'.repeat(161))).toMatchObject({
			units: 161,
			segments: 2,
			perSegment: 153,
			remaining: 145
		});
		expect(short('a'.repeat(306))).toEqual(['GSM-7', 306, 2]);
		expect(short('a'.repeat(307))).toEqual(['GSM-7', 307, 3]);
	});

	it('keeps non-ASCII letters of the basic set in GSM-7', () => {
		expect(short('123456 is your ACME code.')).toEqual(['GSM-7', 25, 1]);
		expect(short('Ñandù @ £5 ¿Δ? é')).toEqual(['GSM-7', 16, 1]);
		expect(short('line\nbreak\r')).toEqual(['GSM-7', 11, 1]);
	});

	it('counts every extension character (and form feed) as two septets', () => {
		expect(short('€{}[]~|^\\\f')).toEqual(['GSM-7', 20, 1]);
		expect(isGsm7('^{}\\[~]|€\f')).toBe(true);
	});

	it('handles extension characters at the single-SMS boundary', () => {
		expect(short('€'.repeat(80))).toEqual(['GSM-7', 160, 1]);
		expect(short('€'.repeat(81))).toEqual(['GSM-7', 162, 2]);
		expect(short(`${'a'.repeat(159)}€`)).toEqual(['GSM-7', 161, 2]);
		expect(short(`${'a'.repeat(158)}€`)).toEqual(['GSM-7', 160, 1]);
	});

	it('never splits an escape pair across parts', () => {
		// 152 + € (2) does not fit in the first part's 153: € starts part two.
		expect(short(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toEqual(['GSM-7', 306, 3]);
		// 151 + € fits exactly.
		expect(short(`${'a'.repeat(151)}€${'a'.repeat(153)}`)).toEqual(['GSM-7', 306, 2]);
	});
});

describe('countSms — UCS-2', () => {
	it('switches the whole message for one character outside GSM', () => {
		expect(countSms('Ñandú').encoding).toBe('UCS-2');
		expect(countSms('abc`').encoding).toBe('UCS-2'); // backtick is not in GSM 03.38
	});

	it('counts Vietnamese with diacritics as UCS-2', () => {
		expect(short('Mã OTP của bạn là 123456')).toEqual(['UCS-2', 24, 1]);
		expect(short('Mã {brand} của bạn là {otp}').slice(0, 1)).toEqual(['UCS-2']);
	});

	it('fits 70 units in one SMS, then parts of 67', () => {
		expect(countSms('ă'.repeat(70))).toMatchObject({
			units: 70,
			segments: 1,
			perSegment: 70,
			remaining: 0
		});
		expect(countSms('ă'.repeat(71))).toMatchObject({ units: 71, segments: 2, perSegment: 67 });
		expect(short('ă'.repeat(134))).toEqual(['UCS-2', 134, 2]);
		expect(short('ă'.repeat(135))).toEqual(['UCS-2', 135, 3]);
	});

	it('counts an emoji as two units and never splits it', () => {
		expect(short('🔐 123456')).toEqual(['UCS-2', 9, 1]);
		expect(short(`${'ă'.repeat(66)}🔐`)).toEqual(['UCS-2', 68, 1]);
		expect(short(`${'ă'.repeat(66)}🔐${'ă'.repeat(5)}`)).toEqual(['UCS-2', 73, 2]);
		expect(short(`${'ă'.repeat(66)}🔐${'ă'.repeat(66)}`)).toEqual(['UCS-2', 134, 3]);
	});
});

describe('describeSms', () => {
	it('summarises a count', () => {
		expect(describeSms(countSms('a'.repeat(161)))).toBe(
			'GSM-7 · 161 chars · 2 segments · 145 left'
		);
		expect(describeSms(countSms('ă'))).toBe('UCS-2 · 1 chars · 1 segment · 69 left');
	});
});
