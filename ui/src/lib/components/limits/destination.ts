/**
 * Customers as the limits API names them (`MOBILE:<digits>`, `EMAIL:<address>`), shown the way
 * an operator types them, and a customer's usage in words.
 */
import type { LimitView } from '$lib/services/limits';
import { formatDuration } from '$lib/components/brands/settings';

export interface Customer {
	kind: 'MOBILE' | 'EMAIL' | null;
	/** `+84901234567`, `ana@example.com`. */
	display: string;
}

/** `MOBILE:84901234567` → `{ kind: 'MOBILE', display: '+84901234567' }`. */
export function customerOf(destination: string): Customer {
	const [head, ...rest] = destination.split(':');
	const value = rest.join(':');
	if (head === 'MOBILE' && value) return { kind: 'MOBILE', display: `+${value}` };
	if (head === 'EMAIL' && value) return { kind: 'EMAIL', display: value };
	return { kind: null, display: destination };
}

/** Where the limit in force comes from. */
export function limitSource(v: Pick<LimitView, 'overrideLimit'>): 'override' | 'brand' {
	return v.overrideLimit === null || v.overrideLimit === undefined ? 'brand' : 'override';
}

/** "today" or "in the last 1 h": the period `issued` counts. */
export function periodOf(v: Pick<LimitView, 'limitWindowMinutes'>): string {
	const w = v.limitWindowMinutes;
	return w === null || w === undefined ? 'today' : `in the last ${formatDuration(w * 60)}`;
}

/** When the count next drops, in words. */
export function describeReset(
	v: Pick<LimitView, 'limitWindowMinutes' | 'resetsInSeconds' | 'timeZone'>
): string {
	const rolling = v.limitWindowMinutes !== null && v.limitWindowMinutes !== undefined;
	const s = v.resetsInSeconds;
	if (s === null || s === undefined) {
		return rolling ? 'Nothing is counted in the window now.' : '—';
	}
	if (rolling) return `In ${formatDuration(s)}, when the oldest code leaves the window.`;
	return `At midnight ${v.timeZone}, in ${formatDuration(s)}.`;
}
