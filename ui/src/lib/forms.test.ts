import { describe, expect, it } from 'vitest';
import { ApiError } from '$lib/api';
import { FormState } from './forms.svelte';

describe('FormState', () => {
	it('puts a field error next to a field the form shows', async () => {
		const form = new FormState(['otpLength', 'testIdentifiers*']);
		const ok = await form.submit(async () => {
			throw new ApiError(400, 'must be 4 to 10', { field: 'otpLength' });
		});
		expect(ok).toBe(false);
		expect(form.errors).toEqual({ otpLength: 'Must be 4 to 10' });
		expect(form.formError).toBeNull();

		await form.submit(async () => {
			throw new ApiError(400, 'not digits', { field: 'testIdentifiers[0].otp' });
		});
		expect(form.errors).toEqual({ 'testIdentifiers[0].otp': 'Not digits' });
	});

	it('drops the field-name prefix of otpd messages under the field', async () => {
		const form = new FormState(['currentPassword']);
		await form.submit(async () => {
			throw new ApiError(400, 'currentPassword: this is not your current password', {
				field: 'currentPassword'
			});
		});
		expect(form.errors).toEqual({ currentPassword: 'This is not your current password' });
	});

	it('never drops an error for a field the form does not show', async () => {
		const form = new FormState(['otpLength']);
		await form.submit(async () => {
			throw new ApiError(400, 'bad host', { field: 'settings.host' });
		});
		expect(form.errors).toEqual({});
		expect(form.formError).toBe('bad host');
	});

	it('clears old errors on the next submit and reports success', async () => {
		const form = new FormState(['a']);
		form.setError('a', 'old');
		expect(await form.submit(async () => {})).toBe(true);
		expect(form.hasErrors).toBe(false);
		expect(form.submitting).toBe(false);
	});
});
