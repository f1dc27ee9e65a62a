/**
 * Light/dark theme. Follows the OS (`prefers-color-scheme`) until the operator flips it in
 * the header; a choice that differs from the OS is the only thing the console keeps in
 * localStorage (flipping back to the OS's theme forgets it, so the OS is followed again).
 * Applied as <html data-theme="light|dark"> (absent = follow the OS; see app.css).
 */
export type ThemePreference = 'system' | 'light' | 'dark';

const KEY = 'otpd.theme';

function readStored(): ThemePreference {
	try {
		const v = localStorage.getItem(KEY);
		return v === 'light' || v === 'dark' ? v : 'system';
	} catch {
		return 'system';
	}
}

class Theme {
	preference = $state<ThemePreference>('system');
	systemDark = $state(false);
	/** The theme actually shown. */
	readonly resolved = $derived<'light' | 'dark'>(
		this.preference === 'system' ? (this.systemDark ? 'dark' : 'light') : this.preference
	);
	#started = false;

	/** Reads the stored choice and starts following the OS. Safe to call more than once. */
	init(): void {
		if (this.#started || typeof window === 'undefined') return;
		this.#started = true;
		this.preference = readStored();
		const mq = window.matchMedia('(prefers-color-scheme: dark)');
		this.systemDark = mq.matches;
		mq.addEventListener('change', (e) => (this.systemDark = e.matches));
		this.#apply();
	}

	set(preference: ThemePreference): void {
		this.preference = preference;
		try {
			if (preference === 'system') localStorage.removeItem(KEY);
			else localStorage.setItem(KEY, preference);
		} catch {
			/* storage unavailable: the choice lasts for this window only */
		}
		this.#apply();
	}

	/** The header toggle: always flips what is shown. */
	toggle(): void {
		const next = this.resolved === 'dark' ? 'light' : 'dark';
		const system = this.systemDark ? 'dark' : 'light';
		this.set(next === system ? 'system' : next);
	}

	#apply(): void {
		const root = document.documentElement;
		if (this.preference === 'system') root.removeAttribute('data-theme');
		else root.dataset.theme = this.preference;
	}
}

export const theme = new Theme();
