import { describe, expect, it } from 'vitest';
import { ApiError } from '$lib/api';
import { plainField } from './channels';

describe('plainField', () => {
	it('strips the settings./config. prefix from the field and the message', () => {
		const e = plainField(
			new ApiError(400, 'settings.port: "70000" is not a port number (1–65535)', {
				field: 'settings.port'
			})
		) as ApiError;
		expect(e.field).toBe('port');
		expect(e.message).toBe('port: "70000" is not a port number (1–65535)');
		expect(e.fieldMessage).toBe('"70000" is not a port number (1–65535)');
		expect(e.status).toBe(400);
	});

	it('leaves other errors alone', () => {
		const plain = new ApiError(400, 'host: is required', { field: 'host' });
		expect(plainField(plain)).toBe(plain);
		const none = new ApiError(404, 'Not found.');
		expect(plainField(none)).toBe(none);
		const other = new Error('x');
		expect(plainField(other)).toBe(other);
	});
});
