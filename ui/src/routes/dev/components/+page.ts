import { error } from '@sveltejs/kit';
import { dev } from '$app/environment';
import type { PageLoad } from './$types';

// The component gallery exists in `npm run dev` only.
export const load: PageLoad = () => {
	if (!dev) error(404, 'Not found');
};
