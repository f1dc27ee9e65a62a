/**
 * Operators (`/admin/api/operators`, admins only): list, add, change role, disable/enable,
 * reset a password (the temporary one is in the answer, once).
 */
import { api, type Schema } from '$lib/api';

export type OperatorView = Schema<'OperatorView'>;
export type NewOperator = Schema<'NewOperator'>;
export type OperatorPatch = Schema<'OperatorPatch'>;
export type PasswordReset = Schema<'PasswordReset'>;
export type Role = Schema<'Role'>;

const path = (name: string) => `/operators/${encodeURIComponent(name)}`;

export function listOperators(): Promise<OperatorView[]> {
	return api.get<OperatorView[]>('/operators');
}

export function addOperator(body: NewOperator): Promise<OperatorView> {
	return api.post<OperatorView>('/operators', body);
}

/** Role or disabled; the server refuses (409) to leave no enabled admin. */
export function updateOperator(name: string, patch: OperatorPatch): Promise<OperatorView> {
	return api.patch<OperatorView>(path(name), patch);
}

export function resetPassword(name: string): Promise<PasswordReset> {
	return api.post<PasswordReset>(`${path(name)}/reset-password`);
}
