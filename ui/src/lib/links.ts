/**
 * Where things open: a search hit or a graph node id (`kind:key`) to the route that shows it.
 * Blocks and transactions open in the explorer, cases and projects on their screens, officials,
 * departments and certificates in the graph.
 */
import type { SearchHit } from './bindings/SearchHit';

export type Href =
	| `/explorer?height=${number}`
	| `/explorer?height=${number}&index=${number}`
	| `/explorer?tx=${string}`
	| `/cases/${string}`
	| `/projects/${string}`
	| `/graph?focus=${string}`;

export function hitHref(h: SearchHit): Href {
	switch (h.kind) {
		case 'block':
			return `/explorer?height=${h.height ?? Number(h.key)}`;
		case 'tx':
			return h.height !== null && h.index !== null
				? `/explorer?height=${h.height}&index=${h.index}`
				: `/explorer?tx=${h.key}`;
		case 'case':
			return `/cases/${encodeURIComponent(h.key)}`;
		case 'project':
			return `/projects/${encodeURIComponent(h.key)}`;
		default:
			return `/graph?focus=${encodeURIComponent(`${h.kind}:${h.key}`)}`;
	}
}

/** The screen that shows graph node `id` in full, or null if the graph is its best view. */
export function nodeHref(id: string): Href | null {
	const [kind, ...rest] = id.split(':');
	const key = rest.join(':');
	switch (kind) {
		case 'block':
			return `/explorer?height=${Number(key)}`;
		case 'tx': {
			const [h = 0, i = 0] = key.split(':').map(Number);
			return `/explorer?height=${h}&index=${i}`;
		}
		case 'case':
			return `/cases/${encodeURIComponent(key)}`;
		case 'project':
			return `/projects/${encodeURIComponent(key)}`;
		default:
			return null;
	}
}

/** `href` inside the app (prefixed with the app's base path, empty in the desktop app). */
export function appHref(href: Href, base = ''): string {
	return `${base}${href}`;
}
