/**
 * The template editor's logic: the sample values a preview renders with (as otpd does), the
 * client-side rendering the SMS counter needs, locale tags, and inserting a placeholder at the
 * caret.
 */
import type { BrandSettings } from '$lib/services/brands';
import type { ChannelTemplatesView, Template, TemplateInput } from '$lib/services/templates';

export interface Placeholder {
	name: string;
	token: string;
	means: string;
}

export const PLACEHOLDERS: readonly Placeholder[] = [
	{ name: 'otp', token: '{otp}', means: 'the code (required)' },
	{ name: 'brand', token: '{brand}', means: 'the brand name' },
	{ name: 'validityMinutes', token: '{validityMinutes}', means: 'minutes until the code expires' }
];

export interface SampleValues {
	otp: string;
	brand: string;
	validityMinutes: number;
}

/** What otpd renders previews and test messages with: `123456…` as long as the brand's codes. */
export function sampleValues(
	brand: string,
	settings: Pick<BrandSettings, 'otpLength' | 'otpTtlSeconds'>
): SampleValues {
	const length = settings.otpLength ?? 6;
	const digits = '1234567890';
	let otp = '';
	for (let i = 0; i < length; i++) otp += digits[i % digits.length];
	return {
		otp,
		brand,
		validityMinutes: Math.ceil((settings.otpTtlSeconds ?? 600) / 60)
	};
}

/** Fills `{otp}`, `{brand}`, `{validityMinutes}` like otpd; anything else stays as written. */
export function renderText(text: string, v: SampleValues): string {
	return text.replace(/\{(otp|brand|validityMinutes)\}/g, (_, name: string) =>
		name === 'otp' ? v.otp : name === 'brand' ? v.brand : String(v.validityMinutes)
	);
}

/** A language tag otpd accepts: 2–16 letters, digits, `-` or `_`, starting with a letter. */
export function isLocaleTag(tag: string): boolean {
	return /^[A-Za-z][A-Za-z0-9_-]{1,15}$/.test(tag);
}

/** Tags compare ignoring case and `_` vs `-` (`vi_VN` is `vi-VN`). */
export function sameTag(a: string, b: string): boolean {
	const key = (t: string) => t.trim().replace(/_/g, '-').toLowerCase();
	return key(a) === key(b);
}

/** Why a new locale tag cannot be added, or null. */
export function checkNewTag(tag: string, existing: readonly string[]): string | null {
	const t = tag.trim();
	if (t === '') return 'Enter a language tag, e.g. vi or vi-VN.';
	if (!isLocaleTag(t)) return 'Use a language tag such as en, vi or vi-VN.';
	const twin = existing.find((e) => sameTag(e, t));
	if (twin) return `There is a ${twin} template already.`;
	return null;
}

/** The editor's key of a variant: a locale tag, or BASE for the base template. */
export const BASE = '@base';
export const variantKey = (locale: string | null): string => locale ?? BASE;
export const localeOf = (key: string): string | null => (key === BASE ? null : key);

/** One entry of the variant list: the base template (locale null) or a locale variant. */
export interface Variant {
	locale: string | null;
	/** Saved on the server (else: the built-in template applies, or an unsaved new locale). */
	saved: boolean;
}

/** The base template first, then the saved locales (sorted), then unsaved new ones. */
export function variantsOf(view: ChannelTemplatesView, added: readonly string[] = []): Variant[] {
	const saved = Object.keys(view.locales ?? {}).sort((a, b) => a.localeCompare(b));
	const fresh = added.filter((t) => !saved.some((s) => sameTag(s, t)));
	return [
		{ locale: null, saved: !!view.default },
		...saved.map((locale) => ({ locale, saved: true })),
		...fresh.map((locale) => ({ locale, saved: false }))
	];
}

/** The template a variant shows: its saved one; a new locale starts from the base (or built-in). */
export function templateOf(view: ChannelTemplatesView, locale: string | null): Template {
	if (locale !== null) {
		const saved = view.locales?.[locale];
		if (saved) return saved;
	}
	return view.default ?? view.builtIn;
}

/** The editor's fields (mobile channels use `text` only). */
export interface TemplateFields {
	subject: string;
	text: string;
	html: string;
}

/** The editor's fields for a template (empty strings for absent ones). */
export function toFields(t: Template): TemplateFields {
	return { subject: t.subject ?? '', text: t.text, html: t.html ?? '' };
}

/** What to send for the editor's fields: mobile channels have no subject or HTML. */
export function fromFields(fields: TemplateFields, email: boolean): TemplateInput {
	return email
		? { subject: fields.subject, text: fields.text, html: fields.html }
		: { text: fields.text };
}

/** `value` with `insert` replacing `[start, end)`; the caret goes after the insert. */
export function insertAt(
	value: string,
	start: number,
	end: number,
	insert: string
): { value: string; caret: number } {
	const s = Math.max(0, Math.min(start, value.length));
	const e = Math.max(s, Math.min(end, value.length));
	return { value: value.slice(0, s) + insert + value.slice(e), caret: s + insert.length };
}
