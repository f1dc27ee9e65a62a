import { describe, expect, it } from 'vitest';
import { formatSkew, messageLines, parseBody, sampleBody, withTimeStamp } from './signing';

describe('messageLines', () => {
	it('labels the nine lines of a v1 message', () => {
		const lines = messageLines(
			'v1\n1700000000000\n/auth/v1/otp/generate\nDEMO\nMOBILE\n+849\ndev-1\nP-1\n'
		);
		expect(lines).toHaveLength(9);
		expect(lines[0]).toEqual({ name: 'version', value: 'v1' });
		expect(lines[5]).toEqual({ name: 'identifierValue', value: '+849' });
		expect(lines[8]).toEqual({ name: 'otp', value: '' });
	});

	it('numbers lines it cannot name', () => {
		expect(messageLines('a\nb').map((l) => l.name)).toEqual(['line 1', 'line 2']);
	});
});

describe('formatSkew', () => {
	it('says which clock is off', () => {
		expect(formatSkew(3)).toBe("+3 s (the client's clock is behind)");
		expect(formatSkew(-2)).toBe("−2 s (the client's clock is ahead)");
		expect(formatSkew(0)).toBe('0 s (in step)');
		expect(formatSkew(null)).toBe('—');
	});
});

describe('parseBody', () => {
	it('takes one JSON object', () => {
		expect(parseBody('{"brand":"DEMO","timeStamp":1}')).toEqual({ brand: 'DEMO', timeStamp: 1 });
	});

	it('refuses anything else with an error on the body field', () => {
		expect(() => parseBody('{')).toThrow(expect.objectContaining({ field: 'body' }));
		expect(() => parseBody('[1]')).toThrow(
			expect.objectContaining({ fieldMessage: 'must be one JSON object, as the client sends it' })
		);
		expect(() => parseBody('null')).toThrow(expect.objectContaining({ field: 'body' }));
	});
});

describe('sample bodies', () => {
	it('starts from the brand and the current time', () => {
		const body = JSON.parse(sampleBody('ACME', 42)) as Record<string, unknown>;
		expect(body).toMatchObject({ brand: 'ACME', timeStamp: 42, hash: '' });
	});

	it('sets timeStamp to now and leaves unreadable text alone', () => {
		expect(JSON.parse(withTimeStamp('{"a":1,"timeStamp":5}', 9))).toEqual({ a: 1, timeStamp: 9 });
		expect(withTimeStamp('{oops', 9)).toBe('{oops');
	});
});
