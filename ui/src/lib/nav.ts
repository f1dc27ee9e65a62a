import ClipboardList from '@lucide/svelte/icons/clipboard-list';
import Gauge from '@lucide/svelte/icons/gauge';
import LayoutDashboard from '@lucide/svelte/icons/layout-dashboard';
import MessageSquareText from '@lucide/svelte/icons/message-square-text';
import ScrollText from '@lucide/svelte/icons/scroll-text';
import Settings from '@lucide/svelte/icons/settings';
import Signature from '@lucide/svelte/icons/signature';
import Tags from '@lucide/svelte/icons/tags';
import Users from '@lucide/svelte/icons/users';
import type { IconComponent } from '$lib/components/types';

export interface NavItem {
	href: string;
	label: string;
	icon: IconComponent;
	/** Shown to admins only (viewers get a "not allowed" page if they type the URL). */
	adminOnly?: boolean;
}

/** The sidebar, in order. */
export const NAV: readonly NavItem[] = [
	{ href: '/', label: 'Dashboard', icon: LayoutDashboard },
	{ href: '/brands', label: 'Brands', icon: Tags },
	{ href: '/channels', label: 'Channels & templates', icon: MessageSquareText },
	{ href: '/signing', label: 'Payload signing', icon: Signature },
	{ href: '/limits', label: 'Limits', icon: Gauge },
	{ href: '/log', label: 'Issuance log', icon: ScrollText },
	{ href: '/audit', label: 'Audit', icon: ClipboardList },
	{ href: '/operators', label: 'Operators', icon: Users, adminOnly: true },
	{ href: '/settings', label: 'Settings', icon: Settings }
];

/** Is `href` the current section? ('/' only matches exactly; others match sub-paths.) */
export function isActive(href: string, pathname: string): boolean {
	if (href === '/') return pathname === '/';
	return pathname === href || pathname.startsWith(`${href}/`);
}
