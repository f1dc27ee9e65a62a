import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { session } from '$lib/session.svelte';
import SecretField from './SecretField.svelte';

describe('SecretField', () => {
	beforeEach(() => {
		session.operator = { name: 'admin', role: 'admin', mustChangePassword: false };
	});
	afterEach(() => {
		session.operator = null;
	});

	it('shows a stored secret as "Set" without an input', () => {
		render(SecretField, { label: 'Password', value: 'set', stored: true });
		expect(screen.getByText('Set')).toBeTruthy();
		expect(screen.queryByLabelText('Password', { selector: 'input' })).toBeNull();
		expect(screen.getByRole('group', { name: 'Password' })).toBeTruthy();
	});

	it('Replace reveals an empty field; "Keep" goes back to the stored value', async () => {
		render(SecretField, { label: 'Password', value: 'set', stored: true, optional: true });
		await fireEvent.click(screen.getByRole('button', { name: 'Replace password' }));
		const input = screen.getByLabelText(/Password/, { selector: 'input' }) as HTMLInputElement;
		expect(input.value).toBe('');
		expect(input.type).toBe('password');
		expect(document.activeElement).toBe(input);
		expect(screen.getByText(/leave it empty to remove the stored one/)).toBeTruthy();
		await fireEvent.click(screen.getByRole('button', { name: 'Keep the current password' }));
		expect(screen.getByText('Set')).toBeTruthy();
		expect(screen.queryByLabelText(/Password/, { selector: 'input' })).toBeNull();
	});

	it('gives viewers no Replace button', () => {
		session.operator = { name: 'viewer', role: 'viewer', mustChangePassword: false };
		render(SecretField, { label: 'Password', value: 'set', stored: true });
		expect(screen.getByText('Set')).toBeTruthy();
		expect(screen.queryByRole('button', { name: 'Replace password' })).toBeNull();
	});

	it('is a plain password field when nothing is stored', () => {
		render(SecretField, { label: 'Auth token', value: '', stored: false, error: 'Is required' });
		const input = screen.getByLabelText('Auth token');
		expect(input.getAttribute('aria-invalid')).toBe('true');
		expect(screen.queryByRole('button', { name: /Keep/ })).toBeNull();
	});
});
