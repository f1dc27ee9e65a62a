import { describe, expect, it } from 'vitest';
import { guard, loginPath, safeNext, type GuardState } from './guard';

const anon: GuardState = { status: 'anonymous', setupNeeded: false, mustChangePassword: false };
const firstRun: GuardState = { ...anon, setupNeeded: true };
const user: GuardState = { status: 'authenticated', setupNeeded: false, mustChangePassword: false };
const mustChange: GuardState = { ...user, mustChangePassword: true };
const at = (path: string) => new URL(path, 'http://127.0.0.1:8081');

describe('guard', () => {
	it('sends anonymous visitors to /login with the page to return to', () => {
		expect(guard(at('/brands?x=1'), anon)).toBe('/login?next=%2Fbrands%3Fx%3D1');
		expect(guard(at('/'), anon)).toBe('/login');
		expect(guard(at('/login'), anon)).toBeNull();
		expect(guard(at('/setup'), anon)).toBeNull();
	});

	it('sends everyone to /setup on first run', () => {
		expect(guard(at('/'), firstRun)).toBe('/setup');
		expect(guard(at('/login'), firstRun)).toBe('/setup');
		expect(guard(at('/setup'), firstRun)).toBeNull();
	});

	it('holds operators on /account while a password change is required', () => {
		expect(guard(at('/brands'), mustChange)).toBe('/account?next=%2Fbrands');
		expect(guard(at('/'), mustChange)).toBe('/account');
		expect(guard(at('/account'), mustChange)).toBeNull();
		expect(guard(at('/login?next=/log'), mustChange)).toBe('/account?next=%2Flog');
	});

	it('moves logged-in operators away from login and setup', () => {
		expect(guard(at('/login?next=/audit'), user)).toBe('/audit');
		expect(guard(at('/login?next=https://evil.example'), user)).toBe('/');
		expect(guard(at('/setup'), user)).toBe('/');
		expect(guard(at('/brands'), user)).toBeNull();
	});

	it('does nothing while loading or on error', () => {
		expect(guard(at('/brands'), { ...anon, status: 'error' })).toBeNull();
		expect(guard(at('/brands'), { ...anon, status: 'loading' })).toBeNull();
	});
});

describe('safeNext', () => {
	it.each([
		['/brands/ACME?tab=sms', '/brands/ACME?tab=sms'],
		['//evil.example/x', null],
		['/\\evil.example', null],
		['https://evil.example', null],
		['javascript:alert(1)', null],
		['/login', null],
		['', null],
		[null, null]
	])('%s → %s', (input, expected) => {
		expect(safeNext(input)).toBe(expected);
	});

	it('builds login paths', () => {
		expect(loginPath('/log?brand=DEMO', 'expired')).toBe(
			'/login?next=%2Flog%3Fbrand%3DDEMO&reason=expired'
		);
		expect(loginPath('/')).toBe('/login');
	});
});
