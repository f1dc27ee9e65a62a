import { describe, expect, it } from 'vitest';
import { countSms } from '$lib/sms';
import type { ChannelTemplatesView } from '$lib/services/templates';
import {
	checkNewTag,
	fromFields,
	insertAt,
	isLocaleTag,
	renderText,
	sameTag,
	sampleValues,
	templateOf,
	toFields,
	variantsOf
} from './template';

const builtIn = { subject: null, text: '{otp} is your {brand} code.', html: null };

describe('sample values', () => {
	it('match what otpd renders previews with', () => {
		expect(sampleValues('ACME', { otpLength: 6, otpTtlSeconds: 600 })).toEqual({
			otp: '123456',
			brand: 'ACME',
			validityMinutes: 10
		});
		expect(sampleValues('A', { otpLength: 12, otpTtlSeconds: 61 })).toMatchObject({
			otp: '123456789012',
			validityMinutes: 2
		});
	});
});

describe('renderText', () => {
	const v = { otp: '123456', brand: 'DEMO', validityMinutes: 10 };
	it('fills the placeholders and leaves anything else', () => {
		expect(renderText('{otp} for {brand}, {validityMinutes} min {other} {', v)).toBe(
			'123456 for DEMO, 10 min {other} {'
		);
	});

	it('counts as otpd does once rendered (the preview agrees)', () => {
		// `otpd template preview DEMO SMS` with the Vietnamese text: UCS-2, 25 chars, 1 segment.
		const c = countSms(renderText('Mã {brand} của bạn là {otp}', v));
		expect([c.encoding, c.units, c.segments]).toEqual(['UCS-2', 25, 1]);
		// `{` and `}` are GSM-7 extension characters (2 each): counting the draft would be wrong.
		const text = 'x'.repeat(146) + '{brand}{otp}';
		expect(countSms(text).segments).toBe(2);
		expect(countSms(renderText(text, v))).toMatchObject({ units: 156, segments: 1 });
	});
});

describe('locale tags', () => {
	it('accepts what otpd accepts', () => {
		for (const t of ['vi', 'vi-VN', 'en_US', 'zh-Hant-TW']) expect(isLocaleTag(t)).toBe(true);
		for (const t of ['v', '1a', 'vi!', 'vi VN', 'a'.repeat(17)]) expect(isLocaleTag(t)).toBe(false);
	});

	it('compares ignoring case and _ vs -', () => {
		expect(sameTag('vi_vn', 'VI-VN')).toBe(true);
		expect(sameTag('vi', 'vi-VN')).toBe(false);
	});

	it('explains why a new tag cannot be added', () => {
		expect(checkNewTag(' ', [])).toMatch(/Enter/);
		expect(checkNewTag('vi!', [])).toMatch(/language tag/);
		expect(checkNewTag('vi_vn', ['vi-VN'])).toBe('There is a vi-VN template already.');
		expect(checkNewTag(' vi ', ['vi-VN'])).toBeNull();
	});
});

describe('variants', () => {
	const view: ChannelTemplatesView = {
		channel: 'SMS',
		builtIn,
		default: { subject: null, text: 'Base {otp}', html: null },
		locales: { vi: { subject: null, text: 'Mã {otp}', html: null }, en: builtIn }
	};

	it('lists base, saved locales (sorted), then unsaved ones', () => {
		expect(variantsOf(view, ['fr', 'VI'])).toEqual([
			{ locale: null, saved: true },
			{ locale: 'en', saved: true },
			{ locale: 'vi', saved: true },
			{ locale: 'fr', saved: false }
		]);
		expect(variantsOf({ channel: 'SMS', builtIn })[0]).toEqual({ locale: null, saved: false });
	});

	it('starts a new locale from the base template, or the built-in one', () => {
		expect(templateOf(view, 'fr').text).toBe('Base {otp}');
		expect(templateOf(view, 'vi').text).toBe('Mã {otp}');
		expect(templateOf({ channel: 'SMS', builtIn }, null)).toBe(builtIn);
	});

	it('maps fields to what the API takes', () => {
		const fields = toFields({ subject: 'S', text: 'T {otp}', html: null });
		expect(fields).toEqual({ subject: 'S', text: 'T {otp}', html: '' });
		expect(fromFields(fields, true)).toEqual({ subject: 'S', text: 'T {otp}', html: '' });
		expect(fromFields(fields, false)).toEqual({ text: 'T {otp}' });
	});
});

describe('insertAt', () => {
	it('replaces the selection and puts the caret after the insert', () => {
		expect(insertAt('Code: !', 6, 6, '{otp}')).toEqual({ value: 'Code: {otp}!', caret: 11 });
		expect(insertAt('Code: XX', 6, 8, '{otp}')).toEqual({ value: 'Code: {otp}', caret: 11 });
		expect(insertAt('ab', 99, 99, '{otp}')).toEqual({ value: 'ab{otp}', caret: 7 });
	});
});
