/**
 * Payload signing (`/admin/api/brands/{name}/signing/*`): switching it on and off, rotating and
 * revoking keys, and checking a client's hash. A new secret appears once, in `newKey`.
 */
import { api, type Schema } from '$lib/api';

export type SigningOutcome = Schema<'SigningOutcome'>;
export type NewSecret = Schema<'NewSecret'>;
export type KeyView = Schema<'KeyView'>;
export type KeyState = Schema<'KeyState'>;
export type SignedEndpoint = Schema<'SignedEndpoint'>;
export type EnableSigning = Schema<'EnableSigning'>;
export type RevokeKey = Schema<'RevokeKey'>;
/** The generated type reads the free-form `body` as `Record<string, never>`; any JSON object goes. */
export type HashCheckRequest = Omit<Schema<'HashCheckRequest'>, 'body'> & {
	body: Record<string, unknown>;
};
export type HashCheck = Schema<'HashCheck'>;
export type HashVerdict = Schema<'HashVerdict'>;

const base = (brand: string) => `/brands/${encodeURIComponent(brand)}/signing`;

/**
 * Requires signatures on `endpoints` with the given window (10–600 s). Also changes them
 * while signing is on. Creates the first key when the brand has no active one.
 */
export function enableSigning(brand: string, body: EnableSigning): Promise<SigningOutcome> {
	return api.post<SigningOutcome>(`${base(brand)}/enable`, body);
}

/** Stops requiring signatures; the keys are kept. */
export function disableSigning(brand: string): Promise<SigningOutcome> {
	return api.post<SigningOutcome>(`${base(brand)}/disable`);
}

/** Adds a new active key; the previous active key becomes retiring and still verifies. */
export function rotateKey(brand: string): Promise<SigningOutcome> {
	return api.post<SigningOutcome>(`${base(brand)}/rotate`);
}

/** Revokes a key. 409 when it is the last key that verifies while signing is on, unless `force`. */
export function revokeKey(brand: string, keyId: number, force = false): Promise<SigningOutcome> {
	const body: RevokeKey = force ? { keyId, force } : { keyId };
	return api.post<SigningOutcome>(`${base(brand)}/revoke`, body);
}

/** What the server would answer to this signed request, and why. Changes nothing. */
export function checkHash(brand: string, body: HashCheckRequest): Promise<HashCheck> {
	return api.post<HashCheck>(`${base(brand)}/check`, body);
}
