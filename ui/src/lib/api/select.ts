import { HttpTransport } from './http-transport';
import type { Transport } from './transport';

/** True inside the Tauri desktop window. */
export function isDesktop(): boolean {
	return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/**
 * The transport for this run, chosen once at start-up. The desktop app adds its
 * `IpcTransport` (Tauri `invoke`) here — the only place that changes; pages and services
 * never see the difference.
 */
export function selectTransport(): Transport {
	if (isDesktop()) {
		// Desktop: `return new IpcTransport();` once src/lib/api/ipc-transport.ts exists.
		// Until then the window must load the console from the admin listener itself.
	}
	return new HttpTransport();
}
