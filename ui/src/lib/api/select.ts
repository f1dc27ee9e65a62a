import { HttpTransport } from './http-transport';
import { IpcTransport } from './ipc-transport';
import type { Transport } from './transport';

/** True inside the Tauri desktop window. */
export function isDesktop(): boolean {
	return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/**
 * The transport for this run, chosen once at start-up: Tauri `invoke` in the desktop window,
 * `fetch` in a browser. Pages and services never see the difference.
 */
export function selectTransport(): Transport {
	return isDesktop() ? new IpcTransport() : new HttpTransport();
}
