import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import TextField from './TextField.svelte';

function describedTexts(el: HTMLElement): string[] {
	const ids = (el.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
	return ids.map((id) => document.getElementById(id)?.textContent?.trim() ?? `<missing #${id}>`);
}

describe('TextField', () => {
	it('ties the label to the input', () => {
		render(TextField, { label: 'Brand name', value: 'ACME' });
		const input = screen.getByLabelText('Brand name') as HTMLInputElement;
		expect(input.value).toBe('ACME');
		expect(input.getAttribute('aria-invalid')).toBeNull();
		expect(input.getAttribute('aria-describedby')).toBeNull();
	});

	it('describes the input by its help text', () => {
		render(TextField, { label: 'Host', help: 'Name or IP address of the SMTP server.' });
		const input = screen.getByLabelText('Host');
		expect(input.getAttribute('aria-invalid')).toBeNull();
		expect(describedTexts(input)).toEqual(['Name or IP address of the SMTP server.']);
	});

	it('marks the input invalid and points at the error message first', () => {
		render(TextField, {
			label: 'OTP length',
			help: 'Digits per code.',
			error: 'Must be between 4 and 10.'
		});
		const input = screen.getByLabelText('OTP length');
		expect(input.getAttribute('aria-invalid')).toBe('true');
		expect(describedTexts(input)).toEqual(['Must be between 4 and 10.', 'Digits per code.']);
		expect(screen.getByText('Must be between 4 and 10.')).toBeTruthy();
	});

	it('updates the error wiring when the error goes away', async () => {
		const { rerender } = render(TextField, { label: 'Name', error: 'Required.' });
		const input = screen.getByLabelText('Name');
		expect(input.getAttribute('aria-invalid')).toBe('true');
		await rerender({ label: 'Name', error: null });
		expect(input.getAttribute('aria-invalid')).toBeNull();
		expect(input.getAttribute('aria-describedby')).toBeNull();
		expect(screen.queryByText('Required.')).toBeNull();
	});

	it('gives each field its own ids', () => {
		render(TextField, { label: 'One', error: 'E1' });
		render(TextField, { label: 'Two', error: 'E2' });
		expect(describedTexts(screen.getByLabelText('One'))).toEqual(['E1']);
		expect(describedTexts(screen.getByLabelText('Two'))).toEqual(['E2']);
	});

	it('passes attributes through and accepts typing', async () => {
		render(TextField, { label: 'Sender', placeholder: 'otp@example.com', type: 'email' });
		const input = screen.getByLabelText('Sender') as HTMLInputElement;
		expect(input.type).toBe('email');
		expect(input.placeholder).toBe('otp@example.com');
		await fireEvent.input(input, { target: { value: 'a@b.c' } });
		expect(input.value).toBe('a@b.c');
	});
});
