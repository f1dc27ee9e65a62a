/**
 * Who is logged in. Loaded once at start-up (`GET /auth/session`) by the root layout; the
 * CSRF token lives here, in memory only, and the API client reads it for every POST/PUT/
 * PATCH/DELETE. Pages read `session.operator`, `session.isAdmin`; they never store either.
 */
import { ApiError, api } from '$lib/api';
import * as auth from '$lib/services/auth';
import type { SessionOperator, SessionView } from '$lib/services/auth';

export type SessionStatus = 'idle' | 'loading' | 'authenticated' | 'anonymous' | 'error';

class Session {
	operator = $state<SessionOperator | null>(null);
	status = $state<SessionStatus>('idle');
	/** True when no operator exists yet (first run: /setup). Known only while anonymous. */
	setupNeeded = $state(false);
	/** Why the session could not be loaded (status 'error'). */
	error = $state<ApiError | null>(null);

	readonly isAdmin = $derived(this.operator?.role === 'admin');
	readonly mustChangePassword = $derived(this.operator?.mustChangePassword === true);

	#csrfToken: string | null = null;
	#loading: Promise<void> | null = null;

	get csrfToken(): string | null {
		return this.#csrfToken;
	}

	/** Loads the session unless it is known already (concurrent callers share one request). */
	ensureLoaded(): Promise<void> {
		if (this.status === 'authenticated' || this.status === 'anonymous') return Promise.resolve();
		return this.load();
	}

	/** (Re)loads the session from the server. */
	load(): Promise<void> {
		this.#loading ??= this.#load().finally(() => (this.#loading = null));
		return this.#loading;
	}

	async #load(): Promise<void> {
		this.status = 'loading';
		this.error = null;
		try {
			this.#apply(await auth.getSession());
		} catch (e) {
			const error = ApiError.from(e);
			if (!error.isUnauthorized) {
				this.status = 'error';
				this.error = error;
				return;
			}
			this.#clear();
			try {
				this.setupNeeded = (await auth.getSetupStatus()).needed;
			} catch {
				this.setupNeeded = false; // the login page will show any real problem
			}
		}
	}

	async login(name: string, password: string): Promise<void> {
		this.#apply(await auth.login({ name, password }));
	}

	async setup(token: string, name: string, password: string): Promise<void> {
		this.#apply(await auth.setup({ token, name, password }));
		this.setupNeeded = false;
	}

	/** Changes the password, then re-reads the session (the server may rotate it). */
	async changePassword(currentPassword: string, newPassword: string): Promise<void> {
		await auth.changePassword({ currentPassword, newPassword });
		try {
			this.#apply(await auth.getSession());
		} catch (e) {
			if (ApiError.from(e).isUnauthorized) this.#clear();
			else if (this.operator) this.operator = { ...this.operator, mustChangePassword: false };
		}
	}

	/** Ends the session on the server (best effort) and forgets it here. */
	async logout(): Promise<void> {
		try {
			await auth.logout();
		} finally {
			this.#clear();
		}
	}

	/** The server said 401 to some call: the session is gone. */
	expire(): void {
		this.#clear();
	}

	#apply(view: SessionView): void {
		this.operator = view.operator;
		this.#csrfToken = view.csrfToken;
		this.status = 'authenticated';
		this.error = null;
		this.setupNeeded = false;
	}

	#clear(): void {
		this.operator = null;
		this.#csrfToken = null;
		this.status = 'anonymous';
	}
}

export const session = new Session();

api.configure({ getCsrfToken: () => session.csrfToken });
