import type { Role } from '$lib/services/operators';

export const ROLE_LABELS: Record<Role, string> = { admin: 'Admin', viewer: 'Viewer' };

export const ROLE_OPTIONS: { value: Role; label: string }[] = [
	{ value: 'viewer', label: 'Viewer: sees everything, changes nothing' },
	{ value: 'admin', label: 'Admin: changes settings and manages operators' }
];

/** What a row's buttons ask for: change the role, disable/enable, reset the password. */
export type OperatorAction = 'role' | 'toggle' | 'reset';
