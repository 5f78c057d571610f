import { describe, expect, it } from 'vitest';
import { hitHref, nodeHref } from './links';
import { emptyGraph, merge, toElements } from './graph';
import { approvalsByWeek, localName, paymentBars, shortWeek, stageHours } from './dashboard';
import type { GraphEdgeLabel } from './bindings/GraphEdgeLabel';
import type { SearchHit } from './bindings/SearchHit';
import type { SearchHitKind } from './bindings/SearchHitKind';

const hit = (kind: SearchHitKind, key: string, height: number | null = null, index: number | null = null): SearchHit => ({
	kind,
	key,
	label: key,
	detail: '',
	height,
	index
});

describe('links', () => {
	it('opens each hit on its screen', () => {
		expect(hitHref(hit('block', '7', 7))).toBe('/explorer?height=7');
		expect(hitHref(hit('tx', 'ab'.repeat(32), 7, 3))).toBe('/explorer?height=7&index=3');
		expect(hitHref(hit('tx', 'abcd'))).toBe('/explorer?tx=abcd');
		expect(hitHref(hit('case', 'HZ-2026-0042'))).toBe('/cases/HZ-2026-0042');
		expect(hitHref(hit('project', 'XA 7'))).toBe('/projects/XA%207');
		expect(hitHref(hit('official', 'ff00'))).toBe('/graph?focus=official%3Aff00');
		expect(hitHref(hit('certificate', 'C-1'))).toBe('/graph?focus=certificate%3AC-1');
	});

	it('maps graph nodes to detail screens', () => {
		expect(nodeHref('tx:12:4')).toBe('/explorer?height=12&index=4');
		expect(nodeHref('block:0')).toBe('/explorer?height=0');
		expect(nodeHref('case:HZ-1')).toBe('/cases/HZ-1');
		expect(nodeHref('official:ab')).toBeNull();
	});
});

describe('graph', () => {
	it('merges neighbourhoods without duplicates and keeps only edges between known nodes', () => {
		let m = emptyGraph();
		m = merge(m, 'block:1', {
			nodes: [
				{ id: 'block:1', kind: 'block', label: '#1', detail: '' },
				{ id: 'tx:1:0', kind: 'tx', label: 'case.open', detail: 'id' }
			],
			edges: [{ source: 'block:1', target: 'tx:1:0', label: 'contains' }]
		});
		m = merge(m, 'tx:1:0', {
			nodes: [
				{ id: 'tx:1:0', kind: 'tx', label: 'case.open', detail: 'id' },
				{ id: 'block:1', kind: 'block', label: '#1', detail: '3 tx' },
				{ id: 'case:A', kind: 'case', label: 'A', detail: '' }
			],
			edges: [
				{ source: 'block:1', target: 'tx:1:0', label: 'contains' },
				{ source: 'tx:1:0', target: 'case:A', label: 'acts on' },
				{ source: 'tx:1:0', target: 'ghost', label: 'x' as GraphEdgeLabel }
			]
		});
		expect(m.nodes.size).toBe(3);
		expect(m.nodes.get('block:1')?.detail).toBe('3 tx');
		const els = toElements(m);
		expect(els.filter((e) => e.group === 'edges')).toHaveLength(2);
		expect(els.find((e) => e.data.id === 'tx:1:0')?.classes).toBe('expanded');
		expect(els.find((e) => e.data.id === 'case:A')?.classes).toBeUndefined();
		const labelled = toElements(m, (r) => `<${r}>`).filter((e) => e.group === 'edges');
		expect(labelled.map((e) => e.data.label).sort()).toEqual(['<acts on>', '<contains>']);
	});
});

describe('dashboard', () => {
	it('stacks approvals by week and department, zero-filled', () => {
		const s = approvalsByWeek([
			{ week: '2026-W48', department: 'fire', department_name: '消防', count: 2 },
			{ week: '2026-W47', department: 'city', department_name: '城管', count: 1 },
			{ week: '2026-W48', department: 'city', department_name: '城管', count: 3 }
		]);
		expect(s.categories).toEqual(['2026-W47', '2026-W48']);
		expect(s.series).toEqual([
			{ name: '城管', data: [1, 3] },
			{ name: '消防', data: [0, 2] }
		]);
	});

	it('gives median stage times in hours, slowest first', () => {
		const rows = stageHours([
			{ template: 't', stage: 'a', department_name: 'x', median_ms: 1_800_000, cases: 2 },
			{ template: 't', stage: 'b', department_name: 'y', median_ms: 36_000_000, cases: 1 }
		]);
		expect(rows.map((r) => [r.label, r.hours])).toEqual([
			['b', 10],
			['a', 0.5]
		]);
		expect(stageHours([{ template: 't', stage: '消防审查 / Fire review', department_name: 'x', median_ms: 0, cases: 1 }], 'en')[0]?.label).toBe(
			'Fire review'
		);
	});

	it('shortens bilingual names and weeks for axis labels', () => {
		expect(localName('消防审查 / Fire review', 'zh-CN')).toBe('消防审查');
		expect(localName('消防审查 / Fire review', 'en')).toBe('Fire review');
		expect(localName('单语', 'en')).toBe('单语');
		expect(shortWeek('2026-W08')).toBe('W08');
	});

	it('splits budgets into paid, pending and what is left (never negative)', () => {
		const b = paymentBars([
			{ project_id: 'P', name: '', budget: 10_000, paid: 2_000, pending: 3_000, refused: 0, payments: 2 },
			{ project_id: 'Q', name: 'Q name', budget: 100, paid: 100, pending: 50, refused: 0, payments: 1 }
		]);
		expect(b.categories).toEqual(['P', 'Q name']);
		expect(b.series.map((s) => s.data)).toEqual([
			[20, 1],
			[30, 0.5],
			[50, 0]
		]);
	});
});
