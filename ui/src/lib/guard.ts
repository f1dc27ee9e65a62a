/**
 * Where a navigation must go instead, given the session (pure; used by the root layout's
 * load). Order: first run → /setup; not logged in → /login?next=…; a password change is
 * required → /account before anything else; logged in → away from /login and /setup.
 */
export interface GuardState {
	status: 'idle' | 'loading' | 'authenticated' | 'anonymous' | 'error';
	setupNeeded: boolean;
	mustChangePassword: boolean;
}

/** Pages shown without a session. */
export const PUBLIC_PATHS = ['/login', '/setup'] as const;

export function isPublicPath(pathname: string): boolean {
	return (PUBLIC_PATHS as readonly string[]).includes(pathname);
}

/**
 * A `next` parameter made safe: only a path on this origin (no `//host`, no scheme, not a
 * public page). Anything else → null.
 */
export function safeNext(next: string | null | undefined): string | null {
	if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
		return null;
	}
	try {
		const url = new URL(next, 'http://x');
		if (url.origin !== 'http://x' || isPublicPath(url.pathname)) return null;
		return url.pathname + url.search + url.hash;
	} catch {
		return null;
	}
}

/** `/login` with a `next` pointing back at `here` (left out for the dashboard). */
export function loginPath(here: string, reason?: 'expired'): string {
	const params = new URLSearchParams();
	const next = safeNext(here);
	if (next && next !== '/') params.set('next', next);
	if (reason) params.set('reason', reason);
	const q = params.toString();
	return q ? `/login?${q}` : '/login';
}

/** The redirect target for `url`, or null to stay. */
export function guard(url: URL, s: GuardState): string | null {
	const { pathname } = url;
	const here = pathname + url.search;
	if (s.status === 'error' || s.status === 'idle' || s.status === 'loading') return null;

	if (s.status === 'anonymous') {
		if (s.setupNeeded) return pathname === '/setup' ? null : '/setup';
		return isPublicPath(pathname) ? null : loginPath(here);
	}

	// Authenticated.
	const next = safeNext(url.searchParams.get('next'));
	if (s.mustChangePassword) {
		if (pathname === '/account') return null;
		const target = isPublicPath(pathname) ? next : safeNext(here);
		return target && target !== '/' ? `/account?next=${encodeURIComponent(target)}` : '/account';
	}
	if (isPublicPath(pathname)) return next ?? '/';
	return null;
}
