import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import FallbackList from './FallbackList.svelte';

const order = () =>
	within(screen.getByRole('list'))
		.getAllByRole('listitem')
		.map((li) => li.querySelector('.name')?.textContent);

describe('FallbackList', () => {
	it('reorders, removes and adds channels with buttons', async () => {
		render(FallbackList, { value: ['SMS', 'EMAIL'], configured: ['SMS'] });
		expect(order()).toEqual(['SMS', 'E-mail']);
		// A channel without a provider is marked.
		expect(screen.getByText('not set up')).toBeTruthy();

		await fireEvent.click(screen.getByRole('button', { name: 'Move E-mail up' }));
		expect(order()).toEqual(['E-mail', 'SMS']);
		expect(
			(screen.getByRole('button', { name: 'Move E-mail up' }) as HTMLButtonElement).disabled
		).toBe(true);

		await fireEvent.click(screen.getByRole('button', { name: 'Remove SMS' }));
		expect(order()).toEqual(['E-mail']);

		const add = screen.getByLabelText('Add a fallback channel');
		await fireEvent.change(add, { target: { value: 'ZALO' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
		expect(order()).toEqual(['E-mail', 'Zalo']);
	});

	it('shows the order only, without controls, when disabled', () => {
		render(FallbackList, { value: ['WHATSAPP'], configured: [], disabled: true });
		expect(order()).toEqual(['WhatsApp']);
		expect(screen.queryByRole('button')).toBeNull();
	});
});
