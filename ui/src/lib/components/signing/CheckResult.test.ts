import { render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import CheckResult from './CheckResult.svelte';

describe('CheckResult', () => {
	it('shows the verdict, the key, the skew and the message with visible line breaks', () => {
		render(CheckResult, {
			result: {
				verdict: 'STALE',
				explanation: 'timeStamp is 300 s away from the server',
				required: true,
				message: 'v1\n1700000000000\n/auth/v1/otp/generate\nDEMO\nMOBILE\n+849\ndev-1\nP-1\n',
				keyId: 2,
				keyState: 'RETIRING',
				skewSeconds: 300
			}
		});
		expect(screen.getByText('STALE')).toBeTruthy();
		expect(screen.getByText('Key 2')).toBeTruthy();
		expect(screen.getByText('Retiring')).toBeTruthy();
		expect(screen.getByText("+300 s (the client's clock is behind)")).toBeTruthy();
		const lines = within(screen.getByRole('list', { name: /Signed message/ })).getAllByRole(
			'listitem'
		);
		expect(lines).toHaveLength(9);
		// Every line but the last ends in a visible \n; the empty otp says so.
		expect(lines.slice(0, 8).every((li) => li.textContent?.includes('\\n'))).toBe(true);
		expect(lines[8]?.textContent).toContain('(empty)');
		expect(lines[8]?.textContent).not.toContain('\\n');
	});
});
