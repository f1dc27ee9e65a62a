import { invoke } from '@tauri-apps/api/core';
import {
	NetworkError,
	buildQuery,
	type Query,
	type ResponseHeaders,
	type Transport,
	type TransportRequest,
	type TransportResponse
} from './transport';

/** What the desktop app's `admin_request` / `save_download` commands answer. */
interface IpcAnswer {
	status: number;
	headers: [string, string][];
	body: string;
	/** `save_download` only: where the file went, or null when the operator cancelled. */
	savedTo?: string | null;
}

/**
 * The desktop transport: each request goes through one Tauri command, which hands it to the
 * admin router inside the app's own process as the local operator — no HTTP, no cookie, no
 * token in the page. Downloads are written to a file the operator picks in a save dialog.
 */
export class IpcTransport implements Transport {
	async request(req: TransportRequest): Promise<TransportResponse> {
		const headers: [string, string][] = Object.entries({
			accept: 'application/json',
			...req.headers
		});
		let body: string | null = null;
		if (req.body !== undefined) {
			headers.push(['content-type', 'application/json']);
			body = JSON.stringify(req.body);
		}
		const answer = await call('admin_request', {
			request: { method: req.method, path: req.path + buildQuery(req.query), headers, body }
		});
		return wrap(answer);
	}

	async download(
		path: string,
		query: Query | undefined,
		suggestedName: string
	): Promise<TransportResponse> {
		const answer = await call('save_download', {
			path: path + buildQuery(query),
			suggestedName
		});
		return wrap(answer);
	}
}

async function call(command: string, args: Record<string, unknown>): Promise<IpcAnswer> {
	try {
		return await invoke<IpcAnswer>(command, args);
	} catch (e) {
		throw new NetworkError(`The desktop app could not run the request: ${String(e)}`, {
			cause: e
		});
	}
}

function wrap(answer: IpcAnswer): TransportResponse {
	const headers: ResponseHeaders = {
		get: (name) =>
			answer.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? null
	};
	return {
		status: answer.status,
		headers,
		text: async () => answer.body,
		json: async <T>() => JSON.parse(answer.body) as T
	};
}
