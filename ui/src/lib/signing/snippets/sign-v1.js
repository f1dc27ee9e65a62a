/**
 * otpd payload signing v1 — compute the `hash` of one request.
 *
 * No dependencies: Web Crypto only, so it runs unchanged in browsers and in Node ≥ 20.
 *
 * Usage:
 *   import { signV1 } from './sign-v1.js';
 *
 *   const path = '/auth/v1/otp/generate';
 *   const body = { brand: 'DEMO', identifierType: 'MOBILE', identifierValue: '+84901234567',
 *                  deviceId: 'dev-1', sessionId: 'P-…' };
 *   const timeStamp = Date.now();                          // epoch milliseconds
 *   const hash = await signV1(SECRET_BASE64, path, body, timeStamp);
 *   await fetch('https://otp.example.com' + path, {
 *     method: 'POST',
 *     headers: { 'content-type': 'application/json' },
 *     body: JSON.stringify({ ...body, timeStamp, hash })
 *   });
 *
 * The signed message is these lines joined by "\n" (no trailing newline):
 *   v1, timeStamp, path, brand, identifierType, identifierValue, deviceId, sessionId, otp
 * each field exactly as sent (a missing field is an empty line). The hash is the lower-case hex
 * of HMAC-SHA256(secret, message), the secret being the base64 text otpd showed once.
 */

/** The signed fields after `v1`, `timeStamp` and the path, in order. */
const FIELDS = ['brand', 'identifierType', 'identifierValue', 'deviceId', 'sessionId', 'otp'];

/**
 * A field as the request sends it: a string as is, a number as its digits, anything else empty.
 * @param {Record<string, unknown>} body
 * @param {string} name
 * @returns {string}
 */
function sent(body, name) {
	const value = body[name];
	if (typeof value === 'string') return value;
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return '';
}

/**
 * The v1 message: what the hash is computed over.
 * @param {string} path the request path, e.g. `/auth/v1/otp/generate`
 * @param {Record<string, unknown> | string} body the request object, or its JSON text
 * @param {number | string} [timeStamp] epoch milliseconds; default: the body's `timeStamp`
 * @returns {string}
 */
export function messageV1(path, body, timeStamp) {
	const fields = typeof body === 'string' ? JSON.parse(body) : body;
	const ts = timeStamp ?? sent(fields, 'timeStamp');
	if (!/^\d+$/.test(String(ts))) throw new Error('timeStamp must be epoch milliseconds');
	return ['v1', String(ts), path, ...FIELDS.map((name) => sent(fields, name))].join('\n');
}

/**
 * The `hash` of a request: lower-case hex HMAC-SHA256 of the v1 message.
 * @param {string} secretBase64 the brand's signing secret, standard base64
 * @param {string} path the request path, e.g. `/auth/v1/otp/generate`
 * @param {Record<string, unknown> | string} body the request object, or its JSON text
 * @param {number | string} [timeStamp] epoch milliseconds; default: the body's `timeStamp`
 * @returns {Promise<string>}
 */
export async function signV1(secretBase64, path, body, timeStamp) {
	const secret = Uint8Array.from(atob(secretBase64.trim()), (c) => c.charCodeAt(0));
	const key = await globalThis.crypto.subtle.importKey(
		'raw',
		secret,
		{ name: 'HMAC', hash: 'SHA-256' },
		false,
		['sign']
	);
	const message = new TextEncoder().encode(messageV1(path, body, timeStamp));
	const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, message));
	return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}
