/**
 * Server settings (`/admin/api/settings`): every bootstrap setting with its source, the two
 * the console may change, the public API's state, the server keys; and the backup download.
 */
import { api, type Schema } from '$lib/api';

export type ServerSettings = Schema<'ServerSettings'>;
export type ServerSettingsPatch = Schema<'ServerSettingsPatch'>;
export type SettingView = Schema<'SettingView'>;
export type SettingSource = Schema<'Source'>;
export type PublicApiStatus = Schema<'PublicApiStatus'>;

export function getSettings(): Promise<ServerSettings> {
	return api.get<ServerSettings>('/settings');
}

/** 409 for a setting pinned by the config file, the environment or a flag. */
export function updateSettings(patch: ServerSettingsPatch): Promise<ServerSettings> {
	return api.patch<ServerSettings>('/settings', patch);
}

/** `otpd-2026-11-29.backup` for a date (local calendar day). */
export function backupFileName(now: Date = new Date()): string {
	const pad = (n: number) => String(n).padStart(2, '0');
	return `otpd-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.backup`;
}

/** Streams a backup of the store to the user (admins only). */
export function downloadBackup(now: Date = new Date()): Promise<void> {
	return api.download('/backup', undefined, backupFileName(now));
}
