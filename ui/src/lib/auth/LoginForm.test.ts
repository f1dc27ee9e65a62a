import { fireEvent, render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '$lib/api';
import LoginForm from './LoginForm.svelte';

async function fill(name: string, password: string) {
	await fireEvent.input(screen.getByLabelText('Name'), { target: { value: name } });
	await fireEvent.input(screen.getByLabelText('Password'), { target: { value: password } });
}

const submitButton = () => screen.getByRole('button', { name: 'Log in' }) as HTMLButtonElement;

afterEach(() => {
	vi.useRealTimers();
});

describe('LoginForm', () => {
	it('asks for both fields before calling the server', async () => {
		const login = vi.fn();
		render(LoginForm, { login, onsuccess: vi.fn() });
		await fireEvent.click(submitButton());
		expect(login).not.toHaveBeenCalled();
		const name = screen.getByLabelText('Name');
		expect(name.getAttribute('aria-invalid')).toBe('true');
		expect(screen.getByText('Enter your operator name.')).toBeTruthy();
		expect(document.activeElement).toBe(name);
	});

	it('logs in with the trimmed name and continues', async () => {
		const login = vi.fn().mockResolvedValue(undefined);
		const onsuccess = vi.fn();
		render(LoginForm, { login, onsuccess });
		await fill('  alice ', 'correct horse battery');
		await fireEvent.click(submitButton());
		await vi.waitFor(() => expect(onsuccess).toHaveBeenCalled());
		expect(login).toHaveBeenCalledWith('alice', 'correct horse battery');
	});

	it('shows the server message on a wrong password and clears the password', async () => {
		const login = vi.fn().mockRejectedValue(new ApiError(401, 'Wrong name or password.'));
		const onsuccess = vi.fn();
		render(LoginForm, { login, onsuccess });
		await fill('alice', 'nope');
		await fireEvent.click(submitButton());
		const alert = await screen.findByRole('alert');
		expect(alert.textContent).toContain('Wrong name or password.');
		expect((screen.getByLabelText('Password') as HTMLInputElement).value).toBe('');
		expect(onsuccess).not.toHaveBeenCalled();
	});

	it('counts down after 429 and keeps the button disabled until then', async () => {
		vi.useFakeTimers({
			toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date']
		});
		const login = vi
			.fn()
			.mockRejectedValueOnce(new ApiError(429, 'Too many attempts', { retryAfter: 3 }))
			.mockResolvedValue(undefined);
		render(LoginForm, { login, onsuccess: vi.fn() });
		await fill('alice', 'guess');
		await fireEvent.click(submitButton());
		await vi.waitFor(() =>
			expect(screen.getByText(/^Too many attempts, try again in 3\ss$/)).toBeTruthy()
		);
		expect(submitButton().disabled).toBe(true);

		vi.advanceTimersByTime(1000);
		flushSync();
		expect(screen.getByText(/^Too many attempts, try again in 2\ss$/)).toBeTruthy();

		// Submitting while locked does nothing.
		await fill('alice', 'again');
		await fireEvent.submit(submitButton().form!);
		expect(login).toHaveBeenCalledTimes(1);

		vi.advanceTimersByTime(2000);
		flushSync();
		expect(screen.queryByText(/Too many attempts/)).toBeNull();
		expect(submitButton().disabled).toBe(false);
	});

	it('shows a notice when given one', () => {
		render(LoginForm, {
			login: vi.fn(),
			onsuccess: vi.fn(),
			notice: 'Your session has ended. Log in again to continue.'
		});
		expect(screen.getByText('Your session has ended. Log in again to continue.')).toBeTruthy();
	});
});
