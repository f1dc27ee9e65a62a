import { describe, expect, it } from 'vitest';
import { customerOf, describeReset, limitSource, periodOf } from './destination';

describe('customerOf', () => {
	it('shows phone numbers with + and addresses as they are', () => {
		expect(customerOf('MOBILE:84901234567')).toEqual({ kind: 'MOBILE', display: '+84901234567' });
		expect(customerOf('EMAIL:ana@example.com')).toEqual({
			kind: 'EMAIL',
			display: 'ana@example.com'
		});
		expect(customerOf('odd')).toEqual({ kind: null, display: 'odd' });
	});
});

describe('usage in words', () => {
	it('names where the limit comes from', () => {
		expect(limitSource({ overrideLimit: null })).toBe('brand');
		expect(limitSource({ overrideLimit: 3 })).toBe('override');
	});

	it('names the counted period', () => {
		expect(periodOf({ limitWindowMinutes: null })).toBe('today');
		expect(periodOf({ limitWindowMinutes: 90 })).toBe('in the last 1 h 30 min');
	});

	it('says when the count drops', () => {
		expect(
			describeReset({ limitWindowMinutes: null, resetsInSeconds: 3600, timeZone: 'UTC' })
		).toBe('At midnight UTC, in 1 h.');
		expect(describeReset({ limitWindowMinutes: 60, resetsInSeconds: 125, timeZone: 'UTC' })).toBe(
			'In 2 min 5 s, when the oldest code leaves the window.'
		);
		expect(describeReset({ limitWindowMinutes: 60, resetsInSeconds: null, timeZone: 'UTC' })).toBe(
			'Nothing is counted in the window now.'
		);
	});
});
