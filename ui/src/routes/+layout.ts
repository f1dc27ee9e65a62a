import { redirect } from '@sveltejs/kit';
import { browser } from '$app/environment';
import { goto } from '$app/navigation';
import { api } from '$lib/api';
import { guard, loginPath } from '$lib/guard';
import { session } from '$lib/session.svelte';
import type { LayoutLoad } from './$types';

// A single-page app: otpd's admin listener serves build/index.html for every path.
export const ssr = false;
export const prerender = false;

if (browser) {
	// Any 401 outside the auth calls: the session expired → log in again, then come back.
	api.configure({
		onUnauthorized: () => {
			if (session.status !== 'authenticated') return;
			session.expire();
			void goto(loginPath(location.pathname + location.search, 'expired'), {
				replaceState: true
			});
		}
	});
}

/** The route guard: runs before every navigation (it reads `url`). */
export const load: LayoutLoad = async ({ url }) => {
	await session.ensureLoaded();
	const target = guard(url, {
		status: session.status,
		setupNeeded: session.setupNeeded,
		mustChangePassword: session.mustChangePassword
	});
	if (target) redirect(307, target);
	return {};
};
