/**
 * The admin-API entry point: one client for the whole app. Services import `api` from here;
 * the session module wires the CSRF token and the 401 handler into it.
 */
import { ApiClient } from './client';
import { selectTransport } from './select';

export const api = new ApiClient(selectTransport());

export {
	API_BASE,
	ApiClient,
	CSRF_HEADER,
	type ApiClientConfig,
	type RequestOptions
} from './client';
export { ApiError, parseError, parseRetryAfter, type ApiErrorBody } from './errors';
export {
	NetworkError,
	buildQuery,
	type Method,
	type Query,
	type QueryValue,
	type Transport,
	type TransportRequest,
	type TransportResponse
} from './transport';
export type { components, paths } from './schema';
export type { Schema } from './types';
