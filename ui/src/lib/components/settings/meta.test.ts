import { describe, expect, it } from 'vitest';
import { backupFileName } from '$lib/services/settings';
import { envName, flagName, formatSetting, metaOf, otherSettings, pinnedNote } from './meta';

describe('settings display', () => {
	it('formats values with their units', () => {
		expect(formatSetting('logRetentionDays', 90)).toBe('90 days');
		expect(formatSetting('maxConcurrentRequests', 1024)).toBe('1,024');
		expect(formatSetting('clientRateLimitPerMinute', 0)).toBe('Off');
		expect(formatSetting('trustedProxies', [])).toBe('None');
		expect(formatSetting('trustedProxies', ['10.0.0.1', '10.0.0.2'])).toBe('10.0.0.1, 10.0.0.2');
		expect(formatSetting('demoBrand', false)).toBe('No');
		expect(formatSetting('durability', 'periodic')).toBe('periodic');
		expect(formatSetting('somethingNew', null)).toBe('—');
	});

	it('explains every known setting and names unknown ones', () => {
		for (const name of ['publicListen', 'durability', 'deliveryWorkers']) {
			expect(metaOf(name).help.length).toBeGreaterThan(10);
		}
		expect(metaOf('fancyNewSetting')).toEqual({ label: 'fancyNewSetting', help: '' });
	});

	it('lists the other settings in a stable order, unknown ones last', () => {
		expect(
			otherSettings(['zeta', 'demoBrand', 'publicListen', 'clientRateLimitPerMinute', 'alpha'])
		).toEqual(['clientRateLimitPerMinute', 'demoBrand', 'alpha', 'zeta']);
	});

	it('says where a pinned setting must be changed', () => {
		expect(envName('publicListen')).toBe('OTPD_PUBLIC_LISTEN');
		expect(envName('clientRateLimitPerMinute')).toBe('OTPD_CLIENT_RATE_LIMIT_PER_MINUTE');
		expect(flagName('adminListen')).toBe('--admin-listen');
		expect(pinnedNote('publicListen', 'environment')).toBe(
			'Set in the environment (OTPD_PUBLIC_LISTEN); change it there.'
		);
		expect(pinnedNote('publicListen', 'file')).toMatch(/config file/);
		expect(pinnedNote('publicListen', 'flag')).toMatch(/--public-listen/);
		expect(pinnedNote('publicListen', 'default')).toBeNull();
		expect(pinnedNote('publicListen', 'console')).toBeNull();
	});

	it('names backups by the local date', () => {
		expect(backupFileName(new Date(2026, 10, 5, 23, 59))).toBe('otpd-2026-11-05.backup');
	});
});
