/**
 * How the Settings page names and explains each bootstrap setting (config.example.toml), shows
 * its value, and says where it comes from.
 */
import type { SettingSource } from '$lib/services/settings';

export interface SettingMeta {
	label: string;
	/** One line in the operator's words. */
	help: string;
	unit?: string;
}

export const SETTINGS_META: Record<string, SettingMeta> = {
	publicListen: {
		label: 'Public API address',
		help: 'Where client apps reach the OTP API (host:port); 0.0.0.0:8080 accepts connections from other machines.'
	},
	adminListen: {
		label: 'Console address',
		help: 'Where this console, the admin API and /metrics listen; keep it on loopback unless you know why not.'
	},
	durability: {
		label: 'Durability',
		help: 'flush-each: every acknowledged code is on disk before the answer. periodic: flushed every 0.5 s, faster, but the last half second can be lost on power loss.'
	},
	logRetentionDays: {
		label: 'Keep the issuance log for',
		help: 'Records older than this are deleted by the next sweep.',
		unit: 'days'
	},
	clientRateLimitPerMinute: {
		label: 'Requests per client address',
		help: 'OTP, token and validate requests one client address may make per minute (code 1702); 0 turns the limit off.',
		unit: 'per minute'
	},
	trustedProxies: {
		label: 'Trusted proxies',
		help: 'Reverse proxies whose X-Forwarded-For header is believed when finding a client’s address.'
	},
	maxConcurrentRequests: {
		label: 'Concurrent requests',
		help: 'Requests in flight per listener before new ones are turned away with HTTP 503.'
	},
	requestTimeoutSeconds: {
		label: 'Request timeout',
		help: 'How long one request may take from start to answer.',
		unit: 's'
	},
	headerReadTimeoutSeconds: {
		label: 'Header timeout',
		help: 'How long a client may take to send its request headers (stops slow-drip attacks).',
		unit: 's'
	},
	deliveryWorkers: {
		label: 'Delivery workers',
		help: 'How many messages otpd sends at the same time.'
	},
	logFormat: {
		label: 'Server log format',
		help: 'human: readable lines; json: one JSON object per line for log collectors.'
	},
	demoBrand: {
		label: 'Demo brand',
		help: 'Whether the DEMO brand, whose channels only write to the server log, is created on first start.'
	},
	consoleSessionIdleMinutes: {
		label: 'Console idle logout',
		help: 'The console logs an operator out after this many idle minutes (and always 12 hours after login).',
		unit: 'min'
	}
};

/** The order of the read-only list on the Settings page; unknown settings follow by name. */
export const OTHER_ORDER = [
	'clientRateLimitPerMinute',
	'trustedProxies',
	'maxConcurrentRequests',
	'requestTimeoutSeconds',
	'headerReadTimeoutSeconds',
	'deliveryWorkers',
	'consoleSessionIdleMinutes',
	'logFormat',
	'demoBrand'
];

/** Settings shown in their own sections (not in the "other settings" list). */
export const SECTION_SETTINGS = ['publicListen', 'adminListen', 'durability', 'logRetentionDays'];

export function metaOf(name: string): SettingMeta {
	return SETTINGS_META[name] ?? { label: name, help: '' };
}

/** The names of the settings for the "other settings" list, in display order. */
export function otherSettings(names: readonly string[]): string[] {
	const rest = names.filter((n) => !SECTION_SETTINGS.includes(n));
	const known = OTHER_ORDER.filter((n) => rest.includes(n));
	const unknown = rest.filter((n) => !OTHER_ORDER.includes(n)).sort();
	return [...known, ...unknown];
}

/** A setting's value as text: "Yes"/"No", lists joined ("None" when empty), units appended. */
export function formatSetting(name: string, value: unknown): string {
	const unit = metaOf(name).unit;
	if (value === null || value === undefined || value === '') return '—';
	if (typeof value === 'boolean') return value ? 'Yes' : 'No';
	if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : 'None';
	if (typeof value === 'number') {
		if (name === 'clientRateLimitPerMinute' && value === 0) return 'Off';
		return unit ? `${value.toLocaleString('en')} ${unit}` : value.toLocaleString('en');
	}
	if (typeof value === 'object') return JSON.stringify(value);
	return String(value);
}

export const SOURCE_LABELS: Record<SettingSource, string> = {
	default: 'Default',
	file: 'Config file',
	environment: 'Environment',
	flag: 'Command line',
	console: 'Console'
};

/** `publicListen` → `OTPD_PUBLIC_LISTEN`. */
export function envName(name: string): string {
	return `OTPD_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** `publicListen` → `--public-listen`. */
export function flagName(name: string): string {
	return `--${name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
}

/** Where a pinned setting must be changed, or null when the console may change it. */
export function pinnedNote(name: string, source: SettingSource): string | null {
	switch (source) {
		case 'file':
			return `Set in the config file (${name}); change it there.`;
		case 'environment':
			return `Set in the environment (${envName(name)}); change it there.`;
		case 'flag':
			return `Set by a flag of otpd serve (${flagName(name)}); change it there.`;
		default:
			return null;
	}
}
