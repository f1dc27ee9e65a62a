import type { LucideIcon } from '@lucide/svelte';

/** A lucide icon component (`import Tag from '@lucide/svelte/icons/tag'`). */
export type IconComponent = LucideIcon;

export type Tone = 'success' | 'warn' | 'danger' | 'neutral' | 'info';

/** Ids of a field's help and error texts, for `aria-describedby`. */
export function describedBy(
	id: string,
	help: unknown,
	error: unknown,
	extra?: string
): string | undefined {
	const ids = [error ? `${id}-error` : '', help ? `${id}-help` : '', extra ?? ''].filter(Boolean);
	return ids.length ? ids.join(' ') : undefined;
}

export interface SelectOption {
	value: string;
	label: string;
	disabled?: boolean;
}

/** One DataTable column. Content: `cell` snippet, else `value(row)`, else `row[key]`. */
export interface Column<T> {
	key: string;
	header: string;
	align?: 'left' | 'right' | 'center';
	/** CSS width ("8rem", "20%"). */
	width?: string;
	/** Monospace (ids, codes, destinations). */
	mono?: boolean;
	/** Let long text wrap instead of truncating with an ellipsis. */
	wrap?: boolean;
	/** Hide on narrow screens (below 768 px). */
	hideOnMobile?: boolean;
	value?: (row: T) => string | number | null | undefined;
	cell?: import('svelte').Snippet<[T]>;
}
