import { describe, expect, it } from 'vitest';
import {
	DELIVERY_STATES,
	FILTER_CODES,
	channelLabel,
	codeInfo,
	codeLabel,
	deliveryInfo
} from './codes';

describe('codes', () => {
	it('explains the codes an operator meets', () => {
		expect(codeInfo(200)).toMatchObject({ short: 'Issued', tone: 'success' });
		expect(codeInfo(1534).short).toBe('Daily limit reached');
		expect(codeInfo(1701).short).toBe('Resend too soon');
		expect(codeInfo(1702).tone).toBe('warn');
		expect(codeInfo(5004).short).toBe('Bad payload signature');
	});

	it('accepts the codes as the stats keys spell them', () => {
		expect(codeInfo('1505')).toBe(codeInfo(1505));
		expect(codeLabel('1518')).toBe('1518 · Too many wrong codes');
	});

	it('gives an unknown code a neutral label instead of failing', () => {
		expect(codeInfo(4242)).toEqual({
			code: 4242,
			short: 'Code 4242',
			meaning: 'otpd answered with code 4242.',
			tone: 'neutral'
		});
	});

	it('has words for every code the log filter offers', () => {
		for (const code of FILTER_CODES) expect(codeInfo(code).tone).not.toBe('neutral');
	});

	it('names every delivery state and channel', () => {
		for (const s of DELIVERY_STATES) expect(deliveryInfo(s).label).not.toBe(s);
		expect(deliveryInfo('FAILED').tone).toBe('danger');
		expect(deliveryInfo('SOMETHING')).toMatchObject({ label: 'SOMETHING', tone: 'neutral' });
		expect(channelLabel('EMAIL')).toBe('E-mail');
		expect(channelLabel('TEST')).toBe('Test (not sent)');
		expect(channelLabel('FAX')).toBe('FAX');
	});
});
