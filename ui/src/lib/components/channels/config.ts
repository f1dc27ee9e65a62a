/**
 * The channel editor's model: a flat draft per provider (what the inputs bind to), built from a
 * redacted `ChannelConfig` and turned back into one for `PUT …/channels/{kind}`. Keeping every
 * provider's draft lets an operator flip the provider select without losing what they typed.
 * Defaults and rules follow docs/channels.md.
 */
import type { BrandSettings } from '$lib/services/brands';
import type {
	BodyFormat,
	ChannelConfig,
	ChannelKind,
	HttpMethod,
	Provider,
	SmtpTls
} from '$lib/services/channels';

/** What the API shows for a stored secret; sending it back keeps the stored value. */
export const SECRET_SET = 'set';
export const DEFAULT_TIMEOUT = 10;
export const MAX_TIMEOUT = 60;

export const TWILIO_BASE_URL = 'https://api.twilio.com';
export const WHATSAPP_BASE_URL = 'https://graph.facebook.com';
export const WHATSAPP_API_VERSION = 'v21.0';
export const ZALO_BASE_URL = 'https://business.openapi.zalo.me';

export const CHANNEL_LABELS: Record<ChannelKind, string> = {
	EMAIL: 'E-mail',
	SMS: 'SMS',
	WHATSAPP: 'WhatsApp',
	ZALO: 'Zalo'
};

export const PROVIDER_LABELS: Record<Provider, string> = {
	LOG: 'Server log (development)',
	SMTP: 'SMTP server',
	HTTP: 'HTTP SMS gateway',
	TWILIO: 'Twilio',
	WHATSAPP: 'WhatsApp Cloud API',
	ZALO: 'Zalo ZNS'
};

/** The providers each channel can use, the real one first (docs/channels.md). */
export const PROVIDERS: Record<ChannelKind, readonly Provider[]> = {
	EMAIL: ['SMTP', 'LOG'],
	SMS: ['HTTP', 'TWILIO', 'LOG'],
	WHATSAPP: ['WHATSAPP', 'LOG'],
	ZALO: ['ZALO', 'LOG']
};

/** Channels that deliver to a phone number (and count SMS segments). */
export function isMobile(kind: ChannelKind): boolean {
	return kind !== 'EMAIL';
}

/** SMTP's port when none is given: by TLS mode (none 25, STARTTLS 587, TLS 465). */
export function defaultPort(tls: SmtpTls): number {
	return tls === 'none' ? 25 : tls === 'tls' ? 465 : 587;
}

export function defaultBody(format: BodyFormat): string {
	return format === 'form' ? 'to={to}&message={message}' : '{"to":"{to}","message":"{message}"}';
}

export interface HeaderRow {
	key: string;
	value: string;
}

export interface SmtpDraft {
	host: string;
	port: number | null;
	tls: SmtpTls;
	username: string;
	password: string;
	from: string;
	fromName: string;
	timeoutSeconds: number | null;
}

export interface HttpDraft {
	method: HttpMethod;
	url: string;
	headers: HeaderRow[];
	bodyFormat: BodyFormat;
	body: string;
	secret: string;
	timeoutSeconds: number | null;
}

export interface TwilioDraft {
	accountSid: string;
	authToken: string;
	/** Which sender the form shows: a number/sender ID or a messaging service. */
	sender: 'from' | 'service';
	from: string;
	messagingServiceSid: string;
	baseUrl: string;
	timeoutSeconds: number | null;
}

export interface WhatsappDraft {
	phoneNumberId: string;
	accessToken: string;
	template: string;
	language: string;
	apiVersion: string;
	baseUrl: string;
	copyCodeButton: boolean;
	timeoutSeconds: number | null;
}

export interface ZaloDraft {
	accessToken: string;
	templateId: string;
	otpKey: string;
	baseUrl: string;
	timeoutSeconds: number | null;
}

/** The editor's state: the chosen provider ('' = not chosen yet) and each provider's fields. */
export interface ChannelDraft {
	provider: Provider | '';
	smtp: SmtpDraft;
	http: HttpDraft;
	twilio: TwilioDraft;
	whatsapp: WhatsappDraft;
	zalo: ZaloDraft;
}

/** A draft with every provider at its defaults (secrets empty). */
export function emptyDraft(): ChannelDraft {
	return {
		provider: '',
		smtp: {
			host: '',
			port: defaultPort('starttls'),
			tls: 'starttls',
			username: '',
			password: '',
			from: '',
			fromName: '',
			timeoutSeconds: DEFAULT_TIMEOUT
		},
		http: {
			method: 'POST',
			url: '',
			headers: [],
			bodyFormat: 'json',
			body: defaultBody('json'),
			secret: '',
			timeoutSeconds: DEFAULT_TIMEOUT
		},
		twilio: {
			accountSid: '',
			authToken: '',
			sender: 'from',
			from: '',
			messagingServiceSid: '',
			baseUrl: TWILIO_BASE_URL,
			timeoutSeconds: DEFAULT_TIMEOUT
		},
		whatsapp: {
			phoneNumberId: '',
			accessToken: '',
			template: '',
			language: '',
			apiVersion: WHATSAPP_API_VERSION,
			baseUrl: WHATSAPP_BASE_URL,
			copyCodeButton: true,
			timeoutSeconds: DEFAULT_TIMEOUT
		},
		zalo: {
			accessToken: '',
			templateId: '',
			otpKey: 'otp',
			baseUrl: ZALO_BASE_URL,
			timeoutSeconds: DEFAULT_TIMEOUT
		}
	};
}

/** The draft for a stored (redacted) config, or an empty one for a channel not configured. */
export function toDraft(config: ChannelConfig | null | undefined): ChannelDraft {
	const d = emptyDraft();
	if (!config) return d;
	d.provider = config.provider;
	switch (config.provider) {
		case 'SMTP': {
			const tls = config.tls ?? 'starttls';
			d.smtp = {
				host: config.host,
				port: config.port,
				tls,
				username: config.username ?? '',
				password: config.password ?? '',
				from: config.from,
				fromName: config.fromName ?? '',
				timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT
			};
			break;
		}
		case 'HTTP':
			d.http = {
				method: config.method ?? 'POST',
				url: config.url,
				headers: Object.entries(config.headers ?? {}).map(([key, value]) => ({ key, value })),
				bodyFormat: config.bodyFormat ?? 'json',
				body: config.body ?? '',
				secret: config.secret ?? '',
				timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT
			};
			break;
		case 'TWILIO':
			d.twilio = {
				accountSid: config.accountSid,
				authToken: config.authToken ?? '',
				sender: config.messagingServiceSid && !config.from ? 'service' : 'from',
				from: config.from ?? '',
				messagingServiceSid: config.messagingServiceSid ?? '',
				baseUrl: config.baseUrl ?? TWILIO_BASE_URL,
				timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT
			};
			break;
		case 'WHATSAPP':
			d.whatsapp = {
				phoneNumberId: config.phoneNumberId,
				accessToken: config.accessToken ?? '',
				template: config.template,
				language: config.language,
				apiVersion: config.apiVersion ?? WHATSAPP_API_VERSION,
				baseUrl: config.baseUrl ?? WHATSAPP_BASE_URL,
				copyCodeButton: config.copyCodeButton ?? true,
				timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT
			};
			break;
		case 'ZALO':
			d.zalo = {
				accessToken: config.accessToken ?? '',
				templateId: config.templateId,
				otpKey: config.otpKey ?? 'otp',
				baseUrl: config.baseUrl ?? ZALO_BASE_URL,
				timeoutSeconds: config.timeoutSeconds ?? DEFAULT_TIMEOUT
			};
			break;
	}
	return d;
}

const trim = (s: string) => s.trim();
const orNull = (s: string) => (s.trim() === '' ? null : s.trim());
const timeout = (t: number | null) => t ?? DEFAULT_TIMEOUT;

/** Header rows → the `headers` object; rows with neither name nor value are dropped. */
export function headersObject(rows: readonly HeaderRow[]): Record<string, string> {
	const out: Record<string, string> = {};
	for (const row of rows) {
		const key = row.key.trim();
		if (key === '' && row.value.trim() === '') continue;
		out[key] = row.value;
	}
	return out;
}

/**
 * Problems the server would name too but that the form can say first (keyed by the server's
 * field names), so a half-typed header row is not silently dropped.
 */
export function checkDraft(d: ChannelDraft): Record<string, string> {
	const errors: Record<string, string> = {};
	if (d.provider === '') errors.provider = 'Choose a provider.';
	if (d.provider === 'HTTP') {
		const seen = new Set<string>();
		d.http.headers.forEach((row, i) => {
			const key = row.key.trim();
			if (key === '' && row.value.trim() !== '') {
				errors[`headers[${i}]`] = 'Give the header a name.';
			} else if (key !== '' && seen.has(key.toLowerCase())) {
				errors[`headers[${i}]`] = `Header ${key} is given twice.`;
			}
			seen.add(key.toLowerCase());
		});
	}
	return errors;
}

/** The config to send for a draft (provider chosen). Secrets pass through: "set" keeps them. */
export function toConfig(d: ChannelDraft): ChannelConfig {
	switch (d.provider) {
		case 'SMTP': {
			const s = d.smtp;
			return {
				provider: 'SMTP',
				host: trim(s.host),
				port: s.port ?? defaultPort(s.tls),
				tls: s.tls,
				username: orNull(s.username),
				password: s.password,
				from: trim(s.from),
				fromName: orNull(s.fromName),
				timeoutSeconds: timeout(s.timeoutSeconds)
			};
		}
		case 'HTTP': {
			const h = d.http;
			return {
				provider: 'HTTP',
				method: h.method,
				url: trim(h.url),
				headers: headersObject(h.headers),
				bodyFormat: h.bodyFormat,
				body: h.body,
				secret: h.secret,
				timeoutSeconds: timeout(h.timeoutSeconds)
			};
		}
		case 'TWILIO': {
			const t = d.twilio;
			return {
				provider: 'TWILIO',
				accountSid: trim(t.accountSid),
				authToken: t.authToken,
				from: t.sender === 'from' ? orNull(t.from) : null,
				messagingServiceSid: t.sender === 'service' ? orNull(t.messagingServiceSid) : null,
				baseUrl: trim(t.baseUrl) || TWILIO_BASE_URL,
				timeoutSeconds: timeout(t.timeoutSeconds)
			};
		}
		case 'WHATSAPP': {
			const w = d.whatsapp;
			return {
				provider: 'WHATSAPP',
				phoneNumberId: trim(w.phoneNumberId),
				accessToken: w.accessToken,
				template: trim(w.template),
				language: trim(w.language),
				apiVersion: trim(w.apiVersion) || WHATSAPP_API_VERSION,
				baseUrl: trim(w.baseUrl) || WHATSAPP_BASE_URL,
				copyCodeButton: w.copyCodeButton,
				timeoutSeconds: timeout(w.timeoutSeconds)
			};
		}
		case 'ZALO': {
			const z = d.zalo;
			return {
				provider: 'ZALO',
				accessToken: z.accessToken,
				templateId: trim(z.templateId),
				otpKey: trim(z.otpKey) || 'otp',
				baseUrl: trim(z.baseUrl) || ZALO_BASE_URL,
				timeoutSeconds: timeout(z.timeoutSeconds)
			};
		}
		case 'LOG':
			return { provider: 'LOG' };
		default:
			throw new Error('Choose a provider first.');
	}
}

/**
 * After the TLS mode changes: the port follows when it was empty or the old mode's default
 * (an operator's own port stays).
 */
export function portAfterTlsChange(port: number | null, from: SmtpTls, to: SmtpTls): number {
	return port === null || port === defaultPort(from) ? defaultPort(to) : port;
}

/** After the body format changes: the body follows when it was empty or the old default. */
export function bodyAfterFormatChange(body: string, from: BodyFormat, to: BodyFormat): string {
	return body.trim() === '' || body === defaultBody(from) ? defaultBody(to) : body;
}

export interface SummaryLine {
	label: string;
	value: string;
}

const secretState = (s: string | undefined) => (s === SECRET_SET ? 'set' : 'not set');

/** The few lines a channel card shows about a config (no secrets, only whether they are set). */
export function summarize(config: ChannelConfig): SummaryLine[] {
	switch (config.provider) {
		case 'LOG':
			return [{ label: 'Sends to', value: 'the server log (development only)' }];
		case 'SMTP': {
			const tls = config.tls ?? 'starttls';
			const from = config.fromName ? `${config.fromName} <${config.from}>` : config.from;
			return [
				{ label: 'Server', value: `${config.host}:${config.port}` },
				{ label: 'Security', value: TLS_LABELS[tls] },
				{ label: 'From', value: from },
				{
					label: 'Login',
					value: config.username
						? `${config.username} (password ${secretState(config.password)})`
						: 'none'
				}
			];
		}
		case 'HTTP':
			return [
				{ label: 'Request', value: `${config.method ?? 'POST'} ${config.url}` },
				{
					label: 'Body',
					value:
						(config.method ?? 'POST') === 'GET'
							? 'none (GET)'
							: (config.bodyFormat ?? 'json').toUpperCase()
				},
				{ label: 'Secret', value: secretState(config.secret) }
			];
		case 'TWILIO':
			return [
				{ label: 'Account', value: config.accountSid },
				config.messagingServiceSid && !config.from
					? { label: 'Messaging service', value: config.messagingServiceSid }
					: { label: 'From', value: config.from ?? '—' },
				{ label: 'Auth token', value: secretState(config.authToken) }
			];
		case 'WHATSAPP':
			return [
				{ label: 'Phone number ID', value: config.phoneNumberId },
				{ label: 'Template', value: `${config.template} (${config.language})` },
				{ label: 'Access token', value: secretState(config.accessToken) }
			];
		case 'ZALO':
			return [
				{ label: 'Template ID', value: config.templateId },
				{ label: 'Code parameter', value: config.otpKey ?? 'otp' },
				{ label: 'Access token', value: secretState(config.accessToken) }
			];
	}
}

export const TLS_LABELS: Record<SmtpTls, string> = {
	starttls: 'STARTTLS',
	tls: 'TLS (SMTPS)',
	none: 'None (plain text)'
};

/** What a channel does for a brand: the e-mail channel, the mobile channel, a fallback, or nothing. */
export interface ChannelRole {
	/** EMAIL delivers e-mail codes; the mobile channel delivers phone codes. */
	primary: boolean;
	/** 1-based position in `fallbackChannels`, or null. */
	fallback: number | null;
}

export function channelRole(
	kind: ChannelKind,
	settings: Pick<BrandSettings, 'mobileChannel' | 'fallbackChannels'>
): ChannelRole {
	const mobile = settings.mobileChannel ?? 'SMS';
	const i = (settings.fallbackChannels ?? []).indexOf(kind);
	return { primary: kind === 'EMAIL' || kind === mobile, fallback: i < 0 ? null : i + 1 };
}

/** "E-mail codes", "Mobile channel", "Fallback 1", joined; "Not used" when none applies. */
export function roleLabels(kind: ChannelKind, role: ChannelRole): string[] {
	const labels: string[] = [];
	if (role.primary) labels.push(kind === 'EMAIL' ? 'E-mail codes' : 'Mobile channel');
	if (role.fallback !== null) labels.push(`Fallback ${role.fallback}`);
	return labels;
}

/** Server field names that live under the form's "Advanced" disclosure. */
export const ADVANCED_FIELDS = ['baseUrl', 'apiVersion'] as const;

/** Every field name the server may put in `error.field` for a channel config. */
export const CHANNEL_FIELDS = [
	'provider',
	'host',
	'port',
	'tls',
	'username',
	'password',
	'from',
	'fromName',
	'timeoutSeconds',
	'method',
	'url',
	'header.*',
	'headers*',
	'bodyFormat',
	'body',
	'secret',
	'accountSid',
	'authToken',
	'messagingServiceSid',
	'baseUrl',
	'phoneNumberId',
	'accessToken',
	'template',
	'language',
	'apiVersion',
	'copyCodeButton',
	'templateId',
	'otpKey'
] as const;

const SECRET_KEYS = ['password', 'secret', 'authToken', 'accessToken'] as const;

/** The secrets a saved config holds (each reads "set"). */
export function storedSecrets(config: ChannelConfig | null | undefined): Set<string> {
	const out = new Set<string>();
	if (!config) return out;
	const record = config as Record<string, unknown>;
	for (const key of SECRET_KEYS) if (record[key] === SECRET_SET) out.add(key);
	return out;
}
