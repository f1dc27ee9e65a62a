/**
 * Reading an audit entry: what kind of change it was, which values changed (nested objects such
 * as a channel's settings are compared key by key, so `channels.SMS.url` shows on its own), how
 * to print a JSON value, and the action in words.
 */

export type EntryKind = 'created' | 'removed' | 'changed' | 'action';

export type RowStatus = 'added' | 'removed' | 'changed';

export interface DiffRow {
	/** Dotted path of the value (`dailyOtpLimit`, `channels.SMS.url`); '' for a bare value. */
	key: string;
	/** `undefined` when the value did not exist on that side. */
	before: unknown;
	after: unknown;
	status: RowStatus;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;

/** Entries that record something done rather than a stored value changed (a test message). */
const ACTIONS = new Set(['channel.test']);

export function entryKind(entry: { action: string; before: unknown; after: unknown }): EntryKind {
	if (ACTIONS.has(entry.action)) return 'action';
	if (absent(entry.before) && !absent(entry.after)) return 'created';
	if (!absent(entry.before) && absent(entry.after)) return 'removed';
	return 'changed';
}

function same(a: unknown, b: unknown): boolean {
	return JSON.stringify(a) === JSON.stringify(b);
}

function walk(before: unknown, after: unknown, path: string, rows: DiffRow[]): void {
	const join = (k: string) => (path ? `${path}.${k}` : k);
	if (isObj(before) && isObj(after)) {
		const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
		for (const k of keys) walk(before[k], after[k], join(k), rows);
		return;
	}
	// Something created as a whole (a channel set for the first time): list its values.
	if (absent(before) && isObj(after) && Object.keys(after).length > 0) {
		for (const k of Object.keys(after)) walk(undefined, after[k], join(k), rows);
		return;
	}
	if (isObj(before) && absent(after) && Object.keys(before).length > 0) {
		for (const k of Object.keys(before)) walk(before[k], undefined, join(k), rows);
		return;
	}
	if (same(before, after)) return;
	// A value that came or went as "none" tells nothing (a new template's empty subject).
	if ((before === undefined && after === null) || (before === null && after === undefined)) return;
	rows.push({
		key: path,
		before,
		after,
		status: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed'
	});
}

/** The values that differ between `before` and `after`, leaf by leaf. */
export function diffRows(before: unknown, after: unknown): DiffRow[] {
	const rows: DiffRow[] = [];
	walk(before, after, '', rows);
	return rows;
}

export interface Printed {
	text: string;
	/** Multi-line JSON: show it as a block. */
	block: boolean;
	/** Not a real value: "not set", "none" (shown muted). */
	placeholder: boolean;
}

/** A JSON value for a diff cell: strings as they are, short JSON inline, long JSON indented. */
export function printValue(v: unknown): Printed {
	if (v === undefined) return { text: 'not set', block: false, placeholder: true };
	if (v === null) return { text: 'none', block: false, placeholder: true };
	if (typeof v === 'string') {
		return v === ''
			? { text: 'empty', block: false, placeholder: true }
			: { text: v, block: v.includes('\n'), placeholder: false };
	}
	if (typeof v !== 'object') return { text: String(v), block: false, placeholder: false };
	const inline = JSON.stringify(v);
	if (inline.length <= 48) return { text: inline, block: false, placeholder: false };
	return { text: JSON.stringify(v, null, 2), block: true, placeholder: false };
}

const LABELS: Record<string, string> = {
	'brand.create': 'Created a brand',
	'brand.update': 'Changed brand settings',
	'channel.set': 'Set a channel',
	'channel.remove': 'Removed a channel',
	'channel.test': 'Sent a test message',
	'template.set': 'Saved a template',
	'template.remove': 'Removed a template',
	'signing.enable': 'Turned payload signing on',
	'signing.disable': 'Turned payload signing off',
	'signing.rotate': 'Rotated the signing key',
	'signing.revoke': 'Revoked a signing key',
	'limit.set': "Set a customer's limit",
	'limit.unset': "Removed a customer's limit",
	'limit.reset': "Reset a customer's usage",
	'operator.add': 'Added an operator',
	'operator.update': 'Changed an operator',
	'operator.disable': 'Disabled an operator',
	'operator.enable': 'Enabled an operator',
	'operator.reset-password': "Reset an operator's password",
	'operator.password': 'Changed their password',
	'operator.setup': 'Created the first admin',
	'settings.update': 'Changed server settings'
};

/** The action in words ("Changed brand settings"); unknown actions as they are. */
export function actionLabel(action: string): string {
	return LABELS[action] ?? action;
}

/** Who did it, in words: operators by name, the local tools by what they are. */
export function actorLabel(actor: string): { name: string; tool: boolean } {
	if (actor === 'cli') return { name: 'otpd CLI', tool: true };
	if (actor === 'desktop') return { name: 'Desktop app', tool: true };
	return { name: actor, tool: false };
}
