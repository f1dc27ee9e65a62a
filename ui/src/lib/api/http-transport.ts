import {
	NetworkError,
	buildQuery,
	filenameFromDisposition,
	type Query,
	type Transport,
	type TransportRequest,
	type TransportResponse
} from './transport';

/** The browser transport: `fetch` against the admin listener's origin, cookie session. */
export class HttpTransport implements Transport {
	/** `baseUrl` is prepended to every path; empty means same origin (the normal case). */
	constructor(private readonly baseUrl = '') {}

	async request(req: TransportRequest): Promise<TransportResponse> {
		const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
		let body: string | undefined;
		if (req.body !== undefined) {
			headers['content-type'] = 'application/json';
			body = JSON.stringify(req.body);
		}
		const res = await this.fetch(this.baseUrl + req.path + buildQuery(req.query), {
			method: req.method,
			headers,
			body,
			credentials: 'same-origin',
			cache: 'no-store',
			signal: req.signal
		});
		return wrap(res);
	}

	async download(
		path: string,
		query: Query | undefined,
		suggestedName: string
	): Promise<TransportResponse> {
		const res = await this.fetch(this.baseUrl + path + buildQuery(query), {
			method: 'GET',
			credentials: 'same-origin',
			cache: 'no-store'
		});
		if (!res.ok) return wrap(res);
		const name = filenameFromDisposition(res.headers.get('content-disposition')) ?? suggestedName;
		const blob = await res.blob();
		const url = URL.createObjectURL(blob);
		try {
			const a = document.createElement('a');
			a.href = url;
			a.download = name;
			a.rel = 'noopener';
			a.style.display = 'none';
			document.body.append(a);
			a.click();
			a.remove();
		} finally {
			// Give the browser a moment to start the download before the URL goes away.
			setTimeout(() => URL.revokeObjectURL(url), 10_000);
		}
		return {
			status: res.status,
			headers: res.headers,
			text: async () => '',
			json: async () => undefined as never
		};
	}

	private async fetch(url: string, init: RequestInit): Promise<Response> {
		try {
			return await fetch(url, init);
		} catch (e) {
			if (e instanceof DOMException && e.name === 'AbortError') throw e;
			throw new NetworkError('Cannot reach otpd. Check that the server is running.', { cause: e });
		}
	}
}

function wrap(res: Response): TransportResponse {
	return {
		status: res.status,
		headers: res.headers,
		text: () => res.text(),
		json: <T>() => res.json() as Promise<T>
	};
}
