/**
 * Whether otpd's public API is listening, for the banner at the top of every page: fetched
 * once per app load (`ensure`), and replaced whenever the Settings page loads or saves.
 */
import { getSettings, type PublicApiStatus } from '$lib/services/settings';

class PublicApiState {
	status = $state<PublicApiStatus | null>(null);
	#requested = false;

	/** Loads the status unless it was asked for already (a failure just shows no banner). */
	ensure(): Promise<void> {
		if (this.#requested) return Promise.resolve();
		this.#requested = true;
		return this.refresh();
	}

	async refresh(): Promise<void> {
		try {
			this.status = (await getSettings()).publicApi;
		} catch {
			/* no banner rather than a second error message */
		}
	}

	/** The Settings page read or saved the settings: reuse its answer. */
	set(status: PublicApiStatus): void {
		this.#requested = true;
		this.status = status;
	}
}

export const publicApi = new PublicApiState();
