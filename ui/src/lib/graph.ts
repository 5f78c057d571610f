/**
 * The explorer graph's model: neighbourhoods from the core merged into one graph as the auditor
 * expands nodes, and turned into Cytoscape elements. Pure, so it is tested without a canvas.
 */
import type { Graph } from './bindings/Graph';
import type { GraphEdgeLabel } from './bindings/GraphEdgeLabel';
import type { GraphNode } from './bindings/GraphNode';
import type { GraphNodeKind } from './bindings/GraphNodeKind';

export interface Merged {
	nodes: Map<string, GraphNode>;
	/** Edge id `source→target:label` → edge. */
	edges: Map<string, { source: string; target: string; label: GraphEdgeLabel }>;
	expanded: Set<string>;
}

export function emptyGraph(): Merged {
	return { nodes: new Map(), edges: new Map(), expanded: new Set() };
}

/** Adds neighbourhood `g` of node `focus`; nodes already known keep their richer detail. */
export function merge(m: Merged, focus: string, g: Graph): Merged {
	const nodes = new Map(m.nodes);
	for (const n of g.nodes) {
		const old = nodes.get(n.id);
		if (!old || (!old.detail && n.detail)) nodes.set(n.id, n);
	}
	const edges = new Map(m.edges);
	for (const e of g.edges) edges.set(`${e.source}→${e.target}:${e.label}`, e);
	return { nodes, edges, expanded: new Set([...m.expanded, focus]) };
}

export const KIND_COLOURS: Record<GraphNodeKind, string> = {
	block: '#1c3f78',
	tx: '#5b7bb2',
	case: '#b8322a',
	project: '#2a8a52',
	official: '#e0a526',
	department: '#7a5aa6',
	certificate: '#3a8f9e'
};

export interface CyElement {
	group: 'nodes' | 'edges';
	data: Record<string, string>;
	classes?: string;
}

/** Cytoscape elements: nodes carry kind, label and colour; expanded nodes get class `expanded`;
 *  edge labels go through `edgeLabel` (the core names relations in English: `signed`, `acts on` …). */
export function toElements(m: Merged, edgeLabel: (relation: GraphEdgeLabel) => string = (r) => r): CyElement[] {
	const out: CyElement[] = [];
	for (const n of m.nodes.values()) {
		out.push({
			group: 'nodes',
			data: { id: n.id, kind: n.kind, label: n.label, colour: KIND_COLOURS[n.kind] ?? '#888' },
			classes: m.expanded.has(n.id) ? 'expanded' : undefined
		});
	}
	for (const [id, e] of m.edges) {
		if (m.nodes.has(e.source) && m.nodes.has(e.target))
			out.push({ group: 'edges', data: { id, source: e.source, target: e.target, label: edgeLabel(e.label) } });
	}
	return out;
}
