import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, api } from '$lib/api';
import { getDashboard } from './stats';

describe('stats service', () => {
	afterEach(() => vi.restoreAllMocks());

	it('asks for the dashboard in the given time zone and brand', async () => {
		const get = vi.spyOn(api, 'get').mockResolvedValue({ timeZone: 'Asia/Ho_Chi_Minh' });
		await getDashboard({ brand: 'ACME', timeZone: 'Asia/Ho_Chi_Minh' });
		expect(get).toHaveBeenCalledWith('/stats', {
			query: { brand: 'ACME', timeZone: 'Asia/Ho_Chi_Minh' },
			signal: undefined
		});
	});

	it('falls back to UTC days when otpd does not know the time zone', async () => {
		const get = vi
			.spyOn(api, 'get')
			.mockRejectedValueOnce(
				new ApiError(400, 'timeZone: "Mars/Base" is not an IANA time zone name', {
					field: 'timeZone'
				})
			)
			.mockResolvedValueOnce({ timeZone: 'UTC' });
		await expect(getDashboard({ timeZone: 'Mars/Base' })).resolves.toEqual({ timeZone: 'UTC' });
		expect(get).toHaveBeenLastCalledWith('/stats', {
			query: { brand: undefined },
			signal: undefined
		});
	});

	it('passes other errors on', async () => {
		vi.spyOn(api, 'get').mockRejectedValue(new ApiError(0, 'Cannot reach otpd'));
		await expect(getDashboard({ timeZone: 'UTC' })).rejects.toMatchObject({ status: 0 });
	});
});
