import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import SmsCounter from './SmsCounter.svelte';

describe('SmsCounter', () => {
	it('shows encoding, length, segments and what is left', () => {
		render(SmsCounter, { text: 'Mã ACME của bạn là 123456' });
		const text = screen.getByTestId('sms-counter').textContent?.replace(/\s+/g, ' ').trim();
		expect(text).toBe('UCS-2 · 25 chars · 1 segment · 45 left');
	});

	it('announces only the encoding and segment count', () => {
		render(SmsCounter, { text: 'x'.repeat(161) });
		expect(screen.getByText('GSM-7, 2 segments').getAttribute('aria-live')).toBe('polite');
	});
});
