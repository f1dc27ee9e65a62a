/**
 * The audit trail (`/admin/api/audit`): who changed what and when, newest first, with the
 * changed values before → after (secrets arrive redacted). Paged with a cursor.
 */
import { api, type Schema } from '$lib/api';
import type { operations } from '$lib/api/schema';

export type AuditPage = Schema<'AuditPage'>;
export type AuditEntry = Schema<'AuditEntry'>;

/** `actor` (an operator, or `cli` / `desktop`), `brand`, `before` (cursor), `limit` (1–500). */
export type AuditQuery = NonNullable<operations['audit']['parameters']['query']>;

export function listAudit(query: AuditQuery = {}, signal?: AbortSignal): Promise<AuditPage> {
	return api.get<AuditPage>('/audit', { query: { ...query }, signal });
}
