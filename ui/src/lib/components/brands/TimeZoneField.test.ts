import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import TimeZoneField from './TimeZoneField.svelte';

describe('TimeZoneField', () => {
	it('filters the zones as one types and picks with the keyboard', async () => {
		render(TimeZoneField, { label: 'Time zone', value: 'UTC' });
		const input = screen.getByRole('combobox', { name: 'Time zone' }) as HTMLInputElement;
		expect(input.getAttribute('aria-expanded')).toBe('false');

		await fireEvent.input(input, { target: { value: 'ho chi' } });
		expect(input.getAttribute('aria-expanded')).toBe('true');
		const options = screen.getAllByRole('option');
		expect(options.map((o) => o.textContent?.trim())).toContain('Asia/Ho_Chi_Minh');

		await fireEvent.keyDown(input, { key: 'Enter' });
		expect(input.value).toBe('Asia/Ho_Chi_Minh');
		expect(input.getAttribute('aria-expanded')).toBe('false');
	});

	it('moves the active option with the arrows and closes on Escape', async () => {
		render(TimeZoneField, { label: 'Time zone', value: '' });
		const input = screen.getByRole('combobox', { name: 'Time zone' }) as HTMLInputElement;
		await fireEvent.input(input, { target: { value: 'europe/' } });
		await fireEvent.keyDown(input, { key: 'ArrowDown' });
		const active = input.getAttribute('aria-activedescendant');
		expect(active).toBeTruthy();
		expect(document.getElementById(active!)?.getAttribute('aria-selected')).toBe('true');
		await fireEvent.keyDown(input, { key: 'Escape' });
		expect(input.getAttribute('aria-expanded')).toBe('false');
		// Free text stays: the server checks the name.
		expect(input.value).toBe('europe/');
	});
});
