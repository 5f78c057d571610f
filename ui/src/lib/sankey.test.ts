import { describe, expect, it } from 'vitest';
import type { FundFlow } from './bindings/FundFlow';
import { outflow, toSankey, type Labels } from './sankey';

const labels: Labels = {
	budget: 'Budget',
	payment: (id) => `Payment ${id}`,
	party: (p) => `Party ${p}`,
	worker: (h) => `Worker ${h}`,
	payrollIncomplete: (id) => `Missing lines of ${id}`,
	unallocated: 'Unallocated'
};

describe('toSankey', () => {
	const flows: FundFlow[] = [
		{ source: 'budget:XA', target: 'payment:P-1', amount: 400, status: 'pending' },
		{ source: 'payment:P-1', target: 'worker:abc', amount: 150, status: 'pending' },
		{ source: 'payment:P-1', target: 'party:contractor', amount: 250, status: 'pending' },
		{ source: 'budget:XA', target: 'unallocated', amount: 600, status: 'unallocated' }
	];

	it('names every node once, readably', () => {
		const { nodes } = toSankey(flows, labels);
		expect(nodes.map((n) => n.label)).toEqual([
			'Budget',
			'Payment P-1',
			'Worker abc',
			'Party contractor',
			'Unallocated'
		]);
		expect(new Set(nodes.map((n) => n.name)).size).toBe(nodes.length);
	});

	it('keeps every fen: what leaves the budget is the budget, what leaves a payment is its amount', () => {
		const { links } = toSankey(flows, labels);
		expect(outflow(links, 'budget:XA')).toBe(1000);
		expect(outflow(links, 'payment:P-1')).toBe(400);
		expect(links.every((l) => Number.isSafeInteger(l.value))).toBe(true);
	});

	it('names a committed payroll still arriving as such, not as unallocated', () => {
		const { nodes } = toSankey(
			[{ source: 'payment:P-2', target: 'payroll-incomplete:P-2', amount: 90, status: 'pending' }],
			labels
		);
		expect(nodes[1]).toEqual({
			name: 'payroll-incomplete:P-2',
			label: 'Missing lines of P-2',
			kind: 'payrollIncomplete'
		});
	});
});
