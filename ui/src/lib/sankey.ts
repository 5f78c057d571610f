/**
 * A project's fund flows (from the core) as a Sankey diagram's nodes and links: node names become
 * readable labels, links keep their status for colouring. Pure, so it is tested without a canvas.
 */
import type { FlowStatus } from './bindings/FlowStatus';
import type { FundFlow } from './bindings/FundFlow';

export interface SankeyNode {
	name: string;
	label: string;
	kind: 'budget' | 'payment' | 'party' | 'worker' | 'payrollIncomplete' | 'unallocated';
}

export interface SankeyLink {
	source: string;
	target: string;
	value: number;
	status: FlowStatus;
}

export type Labels = {
	budget: string;
	payment: (id: string) => string;
	party: (party: string) => string;
	worker: (hash: string) => string;
	/** A committed payroll's lines not yet on chain (PROTOCOL §12.5). */
	payrollIncomplete: (payment: string) => string;
	unallocated: string;
};

function node(name: string, labels: Labels): SankeyNode {
	const [kind, rest = ''] = name.split(':', 2);
	switch (kind) {
		case 'budget':
			return { name, label: labels.budget, kind: 'budget' };
		case 'payment':
			return { name, label: labels.payment(rest), kind: 'payment' };
		case 'party':
			return { name, label: labels.party(rest), kind: 'party' };
		case 'worker':
			return { name, label: labels.worker(rest), kind: 'worker' };
		case 'payroll-incomplete':
			return { name, label: labels.payrollIncomplete(rest), kind: 'payrollIncomplete' };
		default:
			return { name, label: labels.unallocated, kind: 'unallocated' };
	}
}

export function toSankey(flows: FundFlow[], labels: Labels): { nodes: SankeyNode[]; links: SankeyLink[] } {
	const names = new Set<string>();
	for (const f of flows) {
		names.add(f.source);
		names.add(f.target);
	}
	return {
		nodes: [...names].map((n) => node(n, labels)),
		links: flows.map((f) => ({ source: f.source, target: f.target, value: f.amount, status: f.status }))
	};
}

/** Sum of what leaves `name` (for checking that every fen is accounted for). */
export function outflow(links: SankeyLink[], name: string): number {
	return links.filter((l) => l.source === name).reduce((a, l) => a + l.value, 0);
}
