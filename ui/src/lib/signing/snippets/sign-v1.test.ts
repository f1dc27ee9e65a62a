import { describe, expect, it } from 'vitest';
import { messageV1, signV1 } from './sign-v1.js';

const SECRET = 'a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=';
const PATH = '/auth/v1/otp/generate';
const BODY =
	'{"brand":"DEMO","identifierType":"MOBILE","identifierValue":"+84901234567","deviceId":"dev-1","sessionId":"P-6ec5fcc9-2bca-4778-9672-4ee5097d8313"}';
// Computed by the server's own `otpd sign`.
const EXPECTED = '459a10000995b72b9af0cf9f307c41d1f6bf370048687424bca204e814b7a5a4';

describe('signV1', () => {
	it('matches the hash otpd computes for the reference vector', async () => {
		expect(await signV1(SECRET, PATH, BODY, 1700000000000)).toBe(EXPECTED);
	});

	it('takes the body as an object and the timeStamp as text or from the body', async () => {
		const body = JSON.parse(BODY) as Record<string, unknown>;
		expect(await signV1(SECRET, PATH, body, '1700000000000')).toBe(EXPECTED);
		expect(await signV1(SECRET, PATH, { ...body, timeStamp: 1700000000000 })).toBe(EXPECTED);
	});

	it('lays the message out as v1 lines with empty lines for missing fields', () => {
		expect(messageV1(PATH, BODY, 1700000000000)).toBe(
			'v1\n1700000000000\n/auth/v1/otp/generate\nDEMO\nMOBILE\n+84901234567\ndev-1\nP-6ec5fcc9-2bca-4778-9672-4ee5097d8313\n'
		);
		expect(messageV1('/auth/v1/web/otp/validate', { brand: 'A', otp: 123456 }, 5)).toBe(
			'v1\n5\n/auth/v1/web/otp/validate\nA\n\n\n\n\n123456'
		);
	});

	it('changes with any signed field', async () => {
		const body = JSON.parse(BODY) as Record<string, unknown>;
		const other = await signV1(SECRET, PATH, { ...body, deviceId: 'dev-2' }, 1700000000000);
		expect(other).not.toBe(EXPECTED);
		expect(other).toMatch(/^[0-9a-f]{64}$/);
	});

	it('refuses a timeStamp that is not epoch milliseconds', () => {
		expect(() => messageV1(PATH, BODY)).toThrow(/timeStamp/);
		expect(() => messageV1(PATH, BODY, 'soon')).toThrow(/timeStamp/);
	});
});
