/**
 * Delivery channels of a brand (`/admin/api/brands/{name}/channels`): list, read, set a whole
 * provider config, remove, and send a test message. Secrets come back as `"set"` (or `""`
 * when unset); sending `"set"` back keeps the stored value.
 */
import { ApiError, api, type Schema } from '$lib/api';

export type ChannelKind = Schema<'ChannelKind'>;
export type ChannelConfig = Schema<'ChannelConfig'>;
export type ChannelView = Schema<'ChannelView'>;
export type TestChannel = Schema<'TestChannel'>;
export type TestSendOutcome = Schema<'TestSendOutcome'>;
export type SmtpTls = Schema<'SmtpTls'>;
export type HttpMethod = Schema<'HttpMethod'>;
export type BodyFormat = Schema<'BodyFormat'>;
/** The `provider` tag of a config: `LOG`, `SMTP`, `HTTP`, `TWILIO`, `WHATSAPP`, `ZALO`. */
export type Provider = ChannelConfig['provider'];

export const CHANNEL_KINDS: readonly ChannelKind[] = ['EMAIL', 'SMS', 'WHATSAPP', 'ZALO'];

const base = (brand: string) => `/brands/${encodeURIComponent(brand)}/channels`;
const one = (brand: string, kind: ChannelKind) => `${base(brand)}/${encodeURIComponent(kind)}`;

export function listChannels(brand: string): Promise<ChannelView[]> {
	return api.get<ChannelView[]>(base(brand));
}

export function getChannel(brand: string, kind: ChannelKind): Promise<ChannelView> {
	return api.get<ChannelView>(one(brand, kind));
}

/**
 * Saves a whole provider config. The server checks it and names the bad key in `field`
 * (`host`, or `settings.port` for the CLI's form); the error comes back with the plain key
 * so a form can put it next to its input.
 */
export async function setChannel(
	brand: string,
	kind: ChannelKind,
	config: ChannelConfig
): Promise<ChannelView> {
	try {
		return await api.put<ChannelView>(one(brand, kind), { config });
	} catch (e) {
		throw plainField(e);
	}
}

/** Removes a channel; the public API then refuses codes for it (1603). Returns the rest. */
export function removeChannel(brand: string, kind: ChannelKind): Promise<ChannelView[]> {
	return api.delete<ChannelView[]>(one(brand, kind));
}

/** Sends a sample message through the saved provider; a failed send is an answer, not an error. */
export function testChannel(
	brand: string,
	kind: ChannelKind,
	body: TestChannel
): Promise<TestSendOutcome> {
	return api.post<TestSendOutcome>(`${one(brand, kind)}/test`, body);
}

/** `settings.port` / `config.port` → `port` (message prefix included); other errors unchanged. */
export function plainField(e: unknown): unknown {
	if (!(e instanceof ApiError) || !e.field) return e;
	const m = /^(settings|config)\.(.+)$/.exec(e.field);
	if (!m) return e;
	const field = m[2];
	const message = e.message.startsWith(`${e.field}:`)
		? `${field}:${e.message.slice(e.field.length + 1)}`
		: e.message;
	return new ApiError(e.status, message, {
		code: e.code,
		field,
		retryAfter: e.retryAfter,
		cause: e
	});
}
