import { describe, expect, it } from 'vitest';
import {
	DEFAULT_FILTER,
	filterToParams,
	filterToQuery,
	fromLocalInput,
	isFiltered,
	parseFilter,
	toLocalInput
} from './log-filter';

const parse = (q: string) => parseFilter(new URLSearchParams(q));

describe('log filter', () => {
	it('reads a shared URL and writes it back the same', () => {
		const q =
			'range=7d&brand=ACME&destination=%2B84901234567&outcome=1534&channel=SMS&delivery=FAILED&test=false&limit=100';
		const f = parse(q);
		expect(f).toEqual({
			...DEFAULT_FILTER,
			range: '7d',
			brand: 'ACME',
			destination: '+84901234567',
			outcome: '1534',
			channel: 'SMS',
			delivery: 'FAILED',
			test: 'false',
			limit: 100
		});
		expect(filterToParams(f).toString()).toBe(q);
	});

	it('falls back to defaults for anything it does not know', () => {
		expect(
			parse('range=forever&outcome=abc&channel=FAX&delivery=LOST&test=maybe&limit=7&brand=acme')
		).toEqual({ ...DEFAULT_FILTER, brand: 'ACME' });
		expect(filterToParams(DEFAULT_FILTER).toString()).toBe('');
		expect(isFiltered(DEFAULT_FILTER)).toBe(false);
		expect(isFiltered({ ...DEFAULT_FILTER, limit: 100 })).toBe(false);
		expect(isFiltered({ ...DEFAULT_FILTER, test: 'true' })).toBe(true);
	});

	it('keeps from/to only for a custom range', () => {
		expect(parse('range=24h&from=2026-11-01T00:00').from).toBe('');
		const f = parse('range=custom&from=2026-11-01T00:00&to=2026-11-02T12:30');
		expect(filterToParams(f).toString()).toBe(
			'range=custom&from=2026-11-01T00%3A00&to=2026-11-02T12%3A30'
		);
	});

	it('turns presets into sinceMs relative to now', () => {
		const now = 1_800_000_000_000;
		expect(filterToQuery({ ...DEFAULT_FILTER, range: '1h' }, now).query).toEqual({
			limit: 50,
			sinceMs: now - 3_600_000
		});
		expect(filterToQuery({ ...DEFAULT_FILTER, range: '30d' }, now).query.sinceMs).toBe(
			now - 30 * 86_400_000
		);
		expect(filterToQuery(DEFAULT_FILTER, now).query).toEqual({ limit: 50 });
	});

	it('maps every filter field to the API names and types', () => {
		const f = parse(
			'brand=DEMO&destination=a@b.co&outcome=200&channel=EMAIL&delivery=SENT&test=true'
		);
		expect(filterToQuery(f).query).toEqual({
			limit: 50,
			brand: 'DEMO',
			destination: 'a@b.co',
			outcome: 200,
			channel: 'EMAIL',
			delivery: 'SENT',
			test: true
		});
		expect(filterToQuery({ ...f, test: 'false' }).query.test).toBe(false);
	});

	it('reads a custom range in local time and checks it', () => {
		const f = parse('range=custom&from=2026-11-01T08:00&to=2026-11-02T08:00');
		const { query, errors } = filterToQuery(f);
		expect(errors).toEqual({});
		expect(query.sinceMs).toBe(new Date(2026, 10, 1, 8, 0).getTime());
		expect(query.untilMs).toBe(new Date(2026, 10, 2, 8, 0).getTime());

		expect(filterToQuery({ ...f, to: '2026-10-01T00:00' }).errors).toEqual({
			to: 'The end must be after the start.'
		});
		expect(filterToQuery({ ...f, from: 'yesterday' }).errors).toEqual({
			from: 'Enter a date and time.'
		});
		expect(filterToQuery({ ...f, to: '' }).query.untilMs).toBeUndefined();
	});

	it('converts datetime-local values both ways', () => {
		const ms = new Date(2026, 10, 29, 21, 5).getTime();
		expect(toLocalInput(ms)).toBe('2026-11-29T21:05');
		expect(fromLocalInput('2026-11-29T21:05')).toBe(ms);
		expect(fromLocalInput('2026-11-29')).toBeNull();
		expect(fromLocalInput('')).toBeNull();
	});
});
