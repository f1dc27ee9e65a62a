import { describe, expect, it } from 'vitest';
import { actionLabel, actorLabel, diffRows, entryKind, printValue } from './audit-diff';

describe('audit entries', () => {
	it('tells creations, removals, changes and actions apart', () => {
		expect(entryKind({ action: 'brand.create', before: null, after: { a: 1 } })).toBe('created');
		expect(entryKind({ action: 'limit.unset', before: { a: 1 }, after: null })).toBe('removed');
		expect(entryKind({ action: 'brand.update', before: { a: 1 }, after: { a: 2 } })).toBe(
			'changed'
		);
		expect(entryKind({ action: 'channel.test', before: null, after: { ok: true } })).toBe('action');
	});

	it('lists changed settings side by side', () => {
		expect(
			diffRows(
				{ resendCooldownSeconds: 30, testIdentifiers: [], defaultLocale: null },
				{ resendCooldownSeconds: 5, testIdentifiers: [{ otp: 'redacted' }], defaultLocale: 'vi' }
			)
		).toEqual([
			{ key: 'resendCooldownSeconds', before: 30, after: 5, status: 'changed' },
			{ key: 'testIdentifiers', before: [], after: [{ otp: 'redacted' }], status: 'changed' },
			{ key: 'defaultLocale', before: null, after: 'vi', status: 'changed' }
		]);
	});

	it('compares nested settings key by key and skips what stayed', () => {
		expect(
			diffRows(
				{ 'channels.SMS': { provider: 'HTTP', url: 'https://a', timeoutSeconds: 10 } },
				{
					'channels.SMS': { provider: 'HTTP', url: 'https://b', timeoutSeconds: 10, method: 'POST' }
				}
			)
		).toEqual([
			{ key: 'channels.SMS.url', before: 'https://a', after: 'https://b', status: 'changed' },
			{ key: 'channels.SMS.method', before: undefined, after: 'POST', status: 'added' }
		]);
	});

	it('lists the values of something created or removed', () => {
		expect(diffRows({ 'channels.EMAIL': null }, { 'channels.EMAIL': { provider: 'LOG' } })).toEqual(
			[{ key: 'channels.EMAIL.provider', before: undefined, after: 'LOG', status: 'added' }]
		);
		expect(diffRows(null, { role: 'viewer', disabled: false })).toEqual([
			{ key: 'role', before: undefined, after: 'viewer', status: 'added' },
			{ key: 'disabled', before: undefined, after: false, status: 'added' }
		]);
		expect(diffRows({ overrideLimit: 20 }, null)).toEqual([
			{ key: 'overrideLimit', before: 20, after: undefined, status: 'removed' }
		]);
	});

	it('leaves out values that appear or go as none', () => {
		expect(
			diffRows({ 'templates.SMS': null }, { 'templates.SMS': { html: null, text: 'Mã {otp}' } })
		).toEqual([
			{ key: 'templates.SMS.text', before: undefined, after: 'Mã {otp}', status: 'added' }
		]);
	});

	it('shows a bare value as one row', () => {
		expect(diffRows('a', 'b')).toEqual([{ key: '', before: 'a', after: 'b', status: 'changed' }]);
		expect(diffRows(null, null)).toEqual([]);
	});

	it('prints values for reading', () => {
		expect(printValue(undefined)).toMatchObject({ text: 'not set', placeholder: true });
		expect(printValue(null)).toMatchObject({ text: 'none', placeholder: true });
		expect(printValue('')).toMatchObject({ text: 'empty', placeholder: true });
		expect(printValue('redacted')).toEqual({ text: 'redacted', block: false, placeholder: false });
		expect(printValue(false).text).toBe('false');
		expect(printValue(['EMAIL', 'SMS'])).toMatchObject({ text: '["EMAIL","SMS"]', block: false });
		const long = printValue([{ identifierType: 'MOBILE', identifierValue: '+84900000000' }]);
		expect(long.block).toBe(true);
		expect(long.text).toContain('\n    "identifierType": "MOBILE"');
	});

	it('names actions and actors', () => {
		expect(actionLabel('brand.update')).toBe('Changed brand settings');
		expect(actionLabel('brand.teleport')).toBe('brand.teleport');
		expect(actorLabel('cli')).toEqual({ name: 'otpd CLI', tool: true });
		expect(actorLabel('desktop').tool).toBe(true);
		expect(actorLabel('alice')).toEqual({ name: 'alice', tool: false });
	});
});
