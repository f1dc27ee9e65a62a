/**
 * The issuance log (`/admin/api/log`): one record per generate request, newest first, with a
 * cursor (`nextBefore`) for the next (older) page; one record with its delivery attempts; and
 * the same selection as CSV (a download through the transport).
 */
import { api, type Schema } from '$lib/api';
import type { operations } from '$lib/api/schema';

export type LogPage = Schema<'LogPage'>;
export type IssuanceRecord = Schema<'IssuanceRecord'>;
export type DeliveryAttempt = Schema<'DeliveryAttempt'>;
export type DeliveryStatus = Schema<'DeliveryStatus'>;
export type ChannelKind = Schema<'ChannelKind'>;

/** The filter the log and its CSV export take (every field optional), as the API names it. */
export type LogQuery = NonNullable<operations['log_page']['parameters']['query']>;

export function listLog(query: LogQuery = {}, signal?: AbortSignal): Promise<LogPage> {
	return api.get<LogPage>('/log', { query: { ...query }, signal });
}

export function getLogRecord(id: string): Promise<IssuanceRecord> {
	return api.get<IssuanceRecord>(`/log/${encodeURIComponent(id)}`);
}

/** Downloads the records the filter selects (no paging: up to 100,000) as CSV. */
export function exportLogCsv(query: Omit<LogQuery, 'before' | 'limit'>): Promise<void> {
	return api.download('/log.csv', { ...query }, 'otpd-issuance-log.csv');
}
