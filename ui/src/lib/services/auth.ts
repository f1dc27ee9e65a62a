/**
 * Auth routes (`/admin/api/auth/*`). One service module per resource lives in this folder;
 * each is a set of functions over the shared `api` client, typed with the generated schema.
 * The auth calls never trigger the global 401 → /login redirect: a 401 here is an answer
 * ("not logged in", "wrong name or password"), not an expired session.
 */
import { api, type Schema } from '$lib/api';

export type SessionView = Schema<'SessionView'>;
/** The operator a session belongs to (name, role, mustChangePassword). */
export type SessionOperator = Schema<'SessionOperator'>;
export type Role = Schema<'Role'>;
export type LoginRequest = Schema<'LoginRequest'>;
export type SetupRequest = Schema<'SetupRequest'>;
export type SetupStatus = Schema<'SetupStatus'>;
export type ChangePassword = Schema<'ChangePassword'>;

/** The server's password rule (also checked by the server: 400 on `newPassword`). */
export const MIN_PASSWORD_LENGTH = 12;

const quiet = { noAuthRedirect: true } as const;

/** The current session; rejects with an ApiError of status 401 when there is none. */
export function getSession(): Promise<SessionView> {
	return api.get<SessionView>('/auth/session', quiet);
}

export function login(body: LoginRequest): Promise<SessionView> {
	return api.post<SessionView>('/auth/login', body, quiet);
}

export function logout(): Promise<void> {
	return api.post('/auth/logout', undefined, quiet);
}

export function changePassword(body: ChangePassword): Promise<void> {
	return api.post('/auth/password', body);
}

export function getSetupStatus(): Promise<SetupStatus> {
	return api.get<SetupStatus>('/auth/setup', quiet);
}

/** Creates the first admin with the one-time token from the setup link, and logs in. */
export function setup(body: SetupRequest): Promise<SessionView> {
	return api.post<SessionView>('/auth/setup', body, quiet);
}
