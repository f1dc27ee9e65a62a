/**
 * Per-customer limits (`/admin/api/brands/{name}/limits`): the overrides of a brand's
 * `dailyOtpLimit`, and one customer's usage in the current day or window. A destination is
 * `MOBILE:<digits>`, `EMAIL:<address>`, or a bare phone number or address as typed.
 */
import { api, type Schema } from '$lib/api';

export type LimitView = Schema<'LimitView'>;
export type OverrideView = Schema<'OverrideView'>;
export type SetLimit = Schema<'SetLimit'>;

const base = (brand: string) => `/brands/${encodeURIComponent(brand)}/limits`;
const one = (brand: string, destination: string) =>
	`${base(brand)}/${encodeURIComponent(destination.trim())}`;

/** Every per-customer override of a brand. */
export function listOverrides(brand: string): Promise<OverrideView[]> {
	return api.get<OverrideView[]>(base(brand));
}

/** One customer's limit in force, where it comes from, and today's usage. */
export function showLimit(brand: string, destination: string): Promise<LimitView> {
	return api.get<LimitView>(one(brand, destination));
}

/** Gives one customer their own limit (at least 1; 0 answers 1535). */
export function setOverride(brand: string, destination: string, limit: number): Promise<LimitView> {
	const body: SetLimit = { limit };
	return api.put<LimitView>(one(brand, destination), body);
}

/** Removes a customer's override: the brand's limit applies again. */
export function removeOverride(brand: string, destination: string): Promise<LimitView> {
	return api.delete<LimitView>(one(brand, destination));
}

/** Forgets what the customer was issued in the current day or window (not the cooldown). */
export function resetUsage(brand: string, destination: string): Promise<LimitView> {
	return api.post<LimitView>(`${one(brand, destination)}/reset`);
}
