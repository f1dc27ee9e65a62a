/**
 * Brands (`/admin/api/brands`): list, read, create, change settings, disable and enable.
 * Other pages (log filters, limits, signing, channels) pick a brand through `listBrands`.
 */
import { api, type Schema } from '$lib/api';

export type BrandView = Schema<'BrandView'>;
export type BrandSettings = Schema<'BrandSettings'>;
/**
 * `CreateBrand` with its `settings` typed: the generated schema reads the free-form object as
 * `Record<string, never>` (utoipa's `Object`), which would accept no setting at all.
 */
export type CreateBrand = Omit<Schema<'CreateBrand'>, 'settings'> & {
	settings?: Partial<BrandSettings>;
};
export type ChannelKind = Schema<'ChannelKind'>;
export type IdentifierType = Schema<'IdentifierType'>;
export type TestIdentifier = Schema<'TestIdentifier'>;

const path = (name: string) => `/brands/${encodeURIComponent(name)}`;

export function listBrands(): Promise<BrandView[]> {
	return api.get<BrandView[]>('/brands');
}

export function getBrand(name: string): Promise<BrandView> {
	return api.get<BrandView>(`/brands/${encodeURIComponent(name)}`);
}

/** Creates a brand; `settings` holds only what differs from the defaults. */
export function createBrand(name: string, settings?: Partial<BrandSettings>): Promise<BrandView> {
	const body: CreateBrand =
		settings && Object.keys(settings).length ? { name, settings } : { name };
	return api.post<BrandView>('/brands', body);
}

/** Changes the named settings (PATCH: the rest keep their values). */
export function updateBrand(name: string, changes: Partial<BrandSettings>): Promise<BrandView> {
	return api.patch<BrandView>(path(name), changes);
}

/** Switches a brand off: its requests answer 1504 until it is enabled again. */
export function disableBrand(name: string): Promise<BrandView> {
	return api.post<BrandView>(`${path(name)}/disable`);
}

export function enableBrand(name: string): Promise<BrandView> {
	return api.post<BrandView>(`${path(name)}/enable`);
}
