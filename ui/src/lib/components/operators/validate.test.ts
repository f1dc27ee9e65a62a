import { describe, expect, it } from 'vitest';
import { checkNewOperator } from './validate';

const ok = { name: 'alice', password: 'correct horse battery', confirm: 'correct horse battery' };

describe('checkNewOperator', () => {
	it('accepts a valid operator', () => {
		expect(checkNewOperator(ok)).toEqual({});
		expect(checkNewOperator({ ...ok, name: 'ops@example.com' })).toEqual({});
	});

	it('applies the name rule', () => {
		expect(checkNewOperator({ ...ok, name: '' }).name).toBe('Enter a name.');
		expect(checkNewOperator({ ...ok, name: 'Alice' }).name).toMatch(/lower case/);
		expect(checkNewOperator({ ...ok, name: 'a b' }).name).toMatch(/no spaces/);
		expect(checkNewOperator({ ...ok, name: 'a'.repeat(65) }).name).toBeDefined();
		expect(checkNewOperator(ok, ['alice']).name).toBe('An operator named alice already exists.');
	});

	it('needs 12 characters and a matching confirmation', () => {
		expect(checkNewOperator({ ...ok, password: 'short', confirm: 'short' })).toEqual({
			password: 'Use at least 12 characters.'
		});
		expect(checkNewOperator({ ...ok, confirm: 'something else' })).toEqual({
			confirm: 'The passwords do not match.'
		});
	});
});
