/**
 * Message templates of a brand per channel and locale
 * (`/admin/api/brands/{name}/templates/{kind}[/{locale}]`): read, save, remove, preview.
 */
import { api, type Schema } from '$lib/api';
import type { ChannelKind } from './channels';

export type Template = Schema<'Template'>;
export type TemplateInput = Schema<'TemplateInput'>;
export type ChannelTemplatesView = Schema<'ChannelTemplatesView'>;
export type TemplatePreview = Schema<'TemplatePreview'>;
export type SmsInfo = Schema<'SmsInfo'>;

const base = (brand: string, kind: ChannelKind) =>
	`/brands/${encodeURIComponent(brand)}/templates/${encodeURIComponent(kind)}`;
const at = (brand: string, kind: ChannelKind, locale: string | null) =>
	locale === null ? base(brand, kind) : `${base(brand, kind)}/${encodeURIComponent(locale)}`;

export function listTemplates(brand: string): Promise<ChannelTemplatesView[]> {
	return api.get<ChannelTemplatesView[]>(`/brands/${encodeURIComponent(brand)}/templates`);
}

export function getTemplates(brand: string, kind: ChannelKind): Promise<ChannelTemplatesView> {
	return api.get<ChannelTemplatesView>(base(brand, kind));
}

/** Saves the base template (`locale` null) or a locale variant. */
export function saveTemplate(
	brand: string,
	kind: ChannelKind,
	locale: string | null,
	template: TemplateInput
): Promise<ChannelTemplatesView> {
	return api.put<ChannelTemplatesView>(at(brand, kind, locale), template);
}

/** Removes the base template (the built-in one applies again) or a locale variant. */
export function removeTemplate(
	brand: string,
	kind: ChannelKind,
	locale: string | null
): Promise<ChannelTemplatesView> {
	return api.delete<ChannelTemplatesView>(at(brand, kind, locale));
}

/** Renders a draft with a sample code (checked first: a 400 names the field). */
export function previewTemplate(
	brand: string,
	kind: ChannelKind,
	draft: TemplateInput,
	signal?: AbortSignal
): Promise<TemplatePreview> {
	return api.post<TemplatePreview>(`${base(brand, kind)}/preview`, draft, { signal });
}
