import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import type { PageLoad } from './$types';

// `/` is the inbox. Keep the query (e.g. `?lang=en`).
export const load: PageLoad = ({ url }) => {
	redirect(307, resolve('/inbox') + url.search);
};
