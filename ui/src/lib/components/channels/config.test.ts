import { describe, expect, it } from 'vitest';
import type { ChannelConfig } from '$lib/services/channels';
import {
	SECRET_SET,
	bodyAfterFormatChange,
	channelRole,
	checkDraft,
	defaultBody,
	defaultPort,
	emptyDraft,
	headersObject,
	portAfterTlsChange,
	roleLabels,
	storedSecrets,
	summarize,
	toConfig,
	toDraft
} from './config';

const smtp: ChannelConfig = {
	provider: 'SMTP',
	host: 'smtp.example.com',
	port: 587,
	tls: 'starttls',
	username: 'apikey',
	password: SECRET_SET,
	from: 'otp@example.com',
	fromName: null,
	timeoutSeconds: 10
};

describe('SMTP defaults', () => {
	it('derives the port from the TLS mode', () => {
		expect(defaultPort('none')).toBe(25);
		expect(defaultPort('starttls')).toBe(587);
		expect(defaultPort('tls')).toBe(465);
	});

	it('moves the port with the TLS mode unless the operator chose one', () => {
		expect(portAfterTlsChange(587, 'starttls', 'tls')).toBe(465);
		expect(portAfterTlsChange(null, 'starttls', 'none')).toBe(25);
		expect(portAfterTlsChange(2525, 'none', 'tls')).toBe(2525);
	});

	it('fills an empty port from the TLS mode when saving', () => {
		const d = toDraft(smtp);
		d.smtp.port = null;
		d.smtp.tls = 'tls';
		expect(toConfig(d)).toMatchObject({ provider: 'SMTP', port: 465, tls: 'tls' });
	});
});

describe('toDraft / toConfig', () => {
	it('round-trips a stored config, sending secrets back as "set"', () => {
		expect(toConfig(toDraft(smtp))).toEqual(smtp);
	});

	it('turns empty optional text into null and trims', () => {
		const d = toDraft(smtp);
		d.smtp.username = '  ';
		d.smtp.password = '';
		d.smtp.fromName = ' ACME Login ';
		d.smtp.host = ' mail.example.com ';
		expect(toConfig(d)).toMatchObject({
			username: null,
			password: '',
			fromName: 'ACME Login',
			host: 'mail.example.com'
		});
	});

	it('keeps each provider’s fields when the provider changes', () => {
		const d = toDraft(smtp);
		d.provider = 'LOG';
		expect(toConfig(d)).toEqual({ provider: 'LOG' });
		d.provider = 'SMTP';
		expect(toConfig(d)).toEqual(smtp);
	});

	it('maps HTTP headers between rows and an object', () => {
		const http: ChannelConfig = {
			provider: 'HTTP',
			method: 'POST',
			url: 'https://sms.example.net/send',
			headers: { Authorization: 'Bearer {secret}', 'X-App': 'otpd' },
			bodyFormat: 'json',
			body: defaultBody('json'),
			secret: SECRET_SET,
			timeoutSeconds: 5
		};
		const d = toDraft(http);
		expect(d.http.headers).toEqual([
			{ key: 'Authorization', value: 'Bearer {secret}' },
			{ key: 'X-App', value: 'otpd' }
		]);
		d.http.headers.push({ key: '', value: '' });
		expect(toConfig(d)).toEqual(http);
	});

	it('sends only the chosen Twilio sender', () => {
		const d = emptyDraft();
		d.provider = 'TWILIO';
		d.twilio.accountSid = 'AC' + 'a'.repeat(32);
		d.twilio.from = '+15005550006';
		d.twilio.messagingServiceSid = 'MG' + 'b'.repeat(32);
		expect(toConfig(d)).toMatchObject({ from: '+15005550006', messagingServiceSid: null });
		d.twilio.sender = 'service';
		expect(toConfig(d)).toMatchObject({ from: null, messagingServiceSid: 'MG' + 'b'.repeat(32) });
	});

	it('shows a stored messaging service as the chosen sender', () => {
		const d = toDraft({ provider: 'TWILIO', accountSid: 'AC1', messagingServiceSid: 'MG1' });
		expect(d.twilio.sender).toBe('service');
		expect(d.twilio.baseUrl).toBe('https://api.twilio.com');
	});

	it('falls back to the defaults for blank advanced fields', () => {
		const d = emptyDraft();
		d.provider = 'WHATSAPP';
		d.whatsapp.apiVersion = ' ';
		d.whatsapp.baseUrl = '';
		expect(toConfig(d)).toMatchObject({
			apiVersion: 'v21.0',
			baseUrl: 'https://graph.facebook.com',
			copyCodeButton: true,
			timeoutSeconds: 10
		});
		d.provider = 'ZALO';
		d.zalo.otpKey = '';
		expect(toConfig(d)).toMatchObject({
			otpKey: 'otp',
			baseUrl: 'https://business.openapi.zalo.me'
		});
	});

	it('refuses to build a config without a provider', () => {
		expect(() => toConfig(emptyDraft())).toThrow();
	});
});

describe('HTTP body format', () => {
	it('swaps the default body but keeps an operator’s own', () => {
		expect(bodyAfterFormatChange(defaultBody('json'), 'json', 'form')).toBe(defaultBody('form'));
		expect(bodyAfterFormatChange('', 'json', 'form')).toBe(defaultBody('form'));
		expect(bodyAfterFormatChange('{"a":"{to}"}', 'json', 'form')).toBe('{"a":"{to}"}');
	});
});

describe('checkDraft', () => {
	it('asks for a provider', () => {
		expect(checkDraft(emptyDraft())).toEqual({ provider: 'Choose a provider.' });
	});

	it('names header rows without a name, or given twice', () => {
		const d = emptyDraft();
		d.provider = 'HTTP';
		d.http.headers = [
			{ key: 'X-Key', value: '1' },
			{ key: '', value: 'orphan' },
			{ key: 'x-key', value: '2' },
			{ key: '', value: '' }
		];
		expect(checkDraft(d)).toEqual({
			'headers[1]': 'Give the header a name.',
			'headers[2]': 'Header x-key is given twice.'
		});
	});

	it('drops empty rows from the headers object', () => {
		expect(headersObject([{ key: ' ', value: '' }])).toEqual({});
	});
});

describe('summaries and roles', () => {
	it('summarises without secrets', () => {
		expect(summarize(smtp)).toEqual([
			{ label: 'Server', value: 'smtp.example.com:587' },
			{ label: 'Security', value: 'STARTTLS' },
			{ label: 'From', value: 'otp@example.com' },
			{ label: 'Login', value: 'apikey (password set)' }
		]);
		expect(
			summarize({ provider: 'ZALO', templateId: '231456', accessToken: '' }).map((l) => l.value)
		).toEqual(['231456', 'otp', 'not set']);
	});

	it('lists the stored secrets', () => {
		expect([...storedSecrets(smtp)]).toEqual(['password']);
		expect([...storedSecrets({ provider: 'LOG' })]).toEqual([]);
		expect([...storedSecrets(null)]).toEqual([]);
	});

	it('says what each channel does for the brand', () => {
		const settings = {
			mobileChannel: 'WHATSAPP' as const,
			fallbackChannels: ['SMS' as const, 'EMAIL' as const]
		};
		expect(roleLabels('EMAIL', channelRole('EMAIL', settings))).toEqual([
			'E-mail codes',
			'Fallback 2'
		]);
		expect(roleLabels('WHATSAPP', channelRole('WHATSAPP', settings))).toEqual(['Mobile channel']);
		expect(roleLabels('SMS', channelRole('SMS', settings))).toEqual(['Fallback 1']);
		expect(roleLabels('ZALO', channelRole('ZALO', settings))).toEqual([]);
	});
});
