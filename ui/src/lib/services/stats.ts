/**
 * The dashboard's numbers (`GET /admin/api/stats`): codes per hour and per day by brand and
 * channel, outcomes, deliveries, limit hits, each brand's funnel and failing channels.
 */
import { ApiError, api, type Schema } from '$lib/api';

export type Dashboard = Schema<'Dashboard'>;
export type StatsBucket = Schema<'StatsBucket'>;
export type StatsTotals = Schema<'StatsTotals'>;
export type BrandFunnel = Schema<'BrandFunnel'>;
export type FailingChannel = Schema<'FailingChannel'>;

/** The browser's IANA time zone, so "days" on the dashboard are the operator's days. */
export function browserTimeZone(): string | undefined {
	try {
		return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
	} catch {
		return undefined;
	}
}

/**
 * The dashboard for every brand, or for one (`brand`), with days counted in `timeZone` (the
 * browser's by default). Should otpd not know that zone, the days are counted in UTC instead
 * (the answer's `timeZone` says which).
 */
export async function getDashboard(
	opts: { brand?: string | null; timeZone?: string; signal?: AbortSignal } = {}
): Promise<Dashboard> {
	const brand = opts.brand || undefined;
	const timeZone = opts.timeZone ?? browserTimeZone();
	try {
		return await api.get<Dashboard>('/stats', { query: { brand, timeZone }, signal: opts.signal });
	} catch (e) {
		if (!timeZone || !(e instanceof ApiError) || e.field !== 'timeZone') throw e;
		return api.get<Dashboard>('/stats', { query: { brand }, signal: opts.signal });
	}
}
