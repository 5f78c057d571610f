// @vitest-environment happy-dom
/**
 * The administration screen against a fake core: a registration request is checked before anything is
 * signed and its fingerprint shown; a grant made in advance sends the ledger's time of the chosen date;
 * a pending action is co-signed by its digest; the designer publishes what it shows; the version diff
 * names what changed; a refused BPMN import lists every problem with its element.
 */
import { flushSync, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdminView } from '$lib/bindings/AdminView';
import type { WorkflowDraft } from '$lib/bindings/WorkflowDraft';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { format } from '$lib/i18n';
import { byRole, chinaDate, diffTemplates, ledgerTime, deadlineSecs, officialMatches } from '$lib/admin';
import { fakeCore, mountAlone, settle, signPreview, typeInto, unmountAll } from '$lib/testing/fixtures';
import AdminPage from './+page.svelte';

const ref = (name: string, id: string, department = 'fire') => ({
	official_id: id.repeat(64 / id.length),
	fingerprint: `${id}${id} ${id}${id}`,
	name,
	department,
	department_name: department === 'fire' ? '消防救援支队' : '城市管理局'
});

const stage = (name: string, group: string | null = null) => ({
	name,
	department: 'fire',
	role: 'fire-inspector',
	threshold: 1,
	group,
	deadline_secs: 604800,
	on_reject: 'end' as const,
	return_to: null
});

const v1: WorkflowDraft = { id: 'fire-acceptance', version: 1, name: '消防验收', stages: [stage('受理'), stage('现场检查', 'check')] };
const v2: WorkflowDraft = {
	...v1,
	version: 2,
	stages: [stage('受理'), { ...stage('现场检查', 'check'), deadline_secs: 259200 }, stage('图纸复核', 'check')]
};

function view(over: Partial<AdminView> = {}): AdminView {
	return {
		departments: [
			{ id: 'city-management', name: '城市管理局', parent: null, admin_threshold: 1, admins: [ref('城管管理员', 'c')], administered: false },
			{ id: 'fire', name: '消防救援支队', parent: 'city-management', admin_threshold: 1, admins: [ref('消防管理员', 'a')], administered: true }
		],
		officials: [
			{
				official: ref('韩梅', 'b'),
				public_key: 'bb'.repeat(32),
				key_count: 1,
				registered_at: 12,
				revoked_at: null,
				grants: [
					{
						id: 'dd'.repeat(32),
						department: 'fire',
						role: 'fire-inspector',
						scope: 'hz/xihu',
						granted_at: 13,
						valid_from: '2099-06-01T00:00:00.000Z',
						expires_at: null,
						active: false,
						later: true
					}
				]
			}
		],
		proposals: [
			{
				digest: 'ee'.repeat(32),
				kind: 'department.add',
				scope: 'consortium',
				department: null,
				payload: '{"id":"civil-affairs","name":"杭州市民政局"}',
				approvals: [ref('城管管理员', 'c', 'city-management')],
				counted: 1,
				needed: 2,
				first_height: 3,
				signed_by_me: false,
				may_sign: true
			}
		],
		templates: [
			{
				id: 'fire-acceptance',
				owner: 'fire',
				owner_name: '消防救援支队',
				mine: true,
				versions: [
					{ draft: v2, defined_by: ref('消防管理员', 'a'), defined_at: 20, cases: 0 },
					{ draft: v1, defined_by: ref('消防管理员', 'a'), defined_at: 18, cases: 4 }
				]
			}
		],
		roles: ['admin', 'fire-inspector'],
		scopes: ['*', 'hz', 'hz/xihu'],
		consortium_threshold: 2,
		height: 40,
		...over
	};
}

afterEach(() => {
	unmountAll();
	setTransport(null);
});

function click(el: HTMLElement, testid: string) {
	el.querySelector<HTMLButtonElement>(`[data-testid=${testid}]`)!.click();
}

describe('the administration screen', () => {
	it('checks a registration request and signs exactly what it read', async () => {
		const calls: Array<[string, unknown]> = [];
		const check = {
			name: '李雷',
			department: 'fire',
			department_name: '消防救援支队',
			public_key: 'ff'.repeat(32),
			fingerprint: 'ffff ffff ffff ffff',
			key_storage: 'OS keychain',
			registered_as: null,
			may_register: true
		};
		setTransport(fakeCore({ admin_view: view(), check_registration: check, prepare_signature: signPreview({ kind: 'official.register' }) }, calls));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		typeInto(el.querySelector<HTMLTextAreaElement>('[data-testid=adm-request]')!, '{"kind":"official.register"}');
		click(el, 'adm-check');
		await settle(flushSync);
		expect(el.querySelector('[data-testid=adm-fingerprint]')!.textContent).toBe('ffff ffff ffff ffff');
		click(el, 'adm-register');
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({
			request: { kind: 'register_official', department: 'fire', name: '李雷', public_key: 'ff'.repeat(32) }
		});
		expect(el.ownerDocument.querySelector('[data-testid=sign-confirm]')).not.toBeNull();
	});

	it('says why a request cannot be registered, and never offers to sign it', async () => {
		setTransport(
			fakeCore({
				admin_view: view(),
				check_registration: () => Promise.reject({ code: 'registration.malformed', message: 'not a registration request: not JSON' })
			})
		);
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		typeInto(el.querySelector<HTMLTextAreaElement>('[data-testid=adm-request]')!, 'hello');
		click(el, 'adm-check');
		await settle(flushSync);
		expect(el.querySelector('[role=alert]')!.textContent).toContain('registration.malformed');
		expect(el.querySelector('[data-testid=adm-register]')).toBeNull();
	});

	it('shows a grant made in advance as not yet counting, and grants from a date in ledger time', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ admin_view: view(), prepare_signature: signPreview({ kind: 'role.grant' }) }, calls));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		const chip = el.querySelector('[data-testid=adm-officials] .chip')!;
		expect(chip.classList.contains('pending')).toBe(true);
		expect(chip.textContent).toContain(format(zhCN['admin.grant.from'], { date: '2099-06-01' }));
		const who = el.querySelector<HTMLSelectElement>('[data-testid=adm-g-official]')!;
		who.value = 'b'.repeat(64);
		who.dispatchEvent(new Event('change'));
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-g-role]')!, 'fire-inspector');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-g-scope]')!, 'hz');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-g-from]')!, '2099-06-01');
		click(el, 'adm-grant');
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({
			request: {
				kind: 'grant_role',
				official: 'b'.repeat(64),
				department: 'fire',
				role: 'fire-inspector',
				scope: 'hz',
				valid_from: '2099-05-31T16:00:00.000Z',
				expires_at: null
			}
		});
	});

	it('asks why before it revokes an official, and signs the reason with it', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ admin_view: view(), prepare_signature: signPreview({ kind: 'official.revoke' }) }, calls));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		click(el, 'adm-revoke');
		await settle(flushSync);
		const go = el.querySelector<HTMLButtonElement>('[data-testid=adm-revoke-sign]')!;
		expect(go.disabled).toBe(true);
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-revoke-reason]')!, '调离');
		go.click();
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({
			request: { kind: 'revoke_official', official: 'b'.repeat(64), reason: '调离' }
		});
	});

	it('co-signs a pending action by its digest', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ admin_view: view(), prepare_signature: signPreview({ kind: 'department.add' }) }, calls));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		click(el, 'admin-tab-proposals');
		await settle(flushSync);
		expect(el.querySelector('[data-testid=adm-what]')!.textContent).toBe('杭州市民政局 (civil-affairs)');
		expect(el.querySelector('[data-testid=adm-progress]')!.textContent).toBe(format(zhCN['admin.proposals.progress'], { counted: 1, needed: 2 }));
		click(el, 'adm-cosign');
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({ request: { kind: 'co_sign', digest: 'ee'.repeat(32) } });
	});

	it('proposes a new department with its admins read one per line', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ admin_view: view({ proposals: [] }), prepare_signature: signPreview({ kind: 'department.add' }) }, calls));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		click(el, 'admin-tab-proposals');
		await settle(flushSync);
		expect(el.querySelector('[data-testid=adm-no-proposals]')).not.toBeNull();
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-p-id]')!, 'water');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-p-name]')!, '杭州市水务局');
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-p-node]')!, 'aa'.repeat(32));
		typeInto(el.querySelector<HTMLTextAreaElement>('[data-testid=adm-p-admins]')!, `水务 管理员 ${'bb'.repeat(32)}\n\n`);
		click(el, 'adm-propose');
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'prepare_signature')?.[1]).toEqual({
			request: {
				kind: 'add_department',
				id: 'water',
				name: '杭州市水务局',
				parent: null,
				node_key: 'aa'.repeat(32),
				admin_threshold: 1,
				admins: [{ name: '水务 管理员', public_key: 'bb'.repeat(32) }]
			}
		});
	});

	it('diffs versions, edits a new version and publishes exactly the designer’s stages', async () => {
		const calls: Array<[string, unknown]> = [];
		setTransport(fakeCore({ admin_view: view(), prepare_signature: signPreview({ kind: 'workflow.define' }) }, calls));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		click(el, 'admin-tab-templates');
		await settle(flushSync);
		const rows = [...el.querySelectorAll('[data-testid=adm-diff] tr')].map((r) => r.getAttribute('data-change'));
		expect(rows).toEqual(['same', 'changed', 'added']);
		click(el, 'adm-new-version');
		await settle(flushSync);
		click(el, 'adm-d-add');
		await settle(flushSync);
		const names = el.querySelectorAll<HTMLInputElement>('[data-testid=adm-d-stage]');
		expect(names.length).toBe(4);
		typeInto(names[3]!, '签发意见');
		click(el, 'adm-publish');
		await settle(flushSync);
		const sent = calls.find(([c]) => c === 'prepare_signature')?.[1] as { request: { template: WorkflowDraft } };
		expect(sent.request.template.version).toBe(3);
		expect(sent.request.template.stages.map((s) => s.name)).toEqual(['受理', '现场检查', '图纸复核', '签发意见']);
	});

	it('lists every BPMN problem with its element and fills nothing', async () => {
		setTransport(
			fakeCore({
				admin_view: view(),
				import_bpmn: {
					groups: [{ group: 'zjj_slk', department: '', role: '' }],
					template: null,
					problems: [
						{ code: 'bpmn.condition', element_id: 'gw1', element_type: 'exclusiveGateway', message: 'a condition cannot be expressed' },
						{ code: 'bpmn.unmapped_group', element_id: null, element_type: 'candidateGroups', message: 'map zjj_slk' }
					]
				}
			})
		);
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		click(el, 'admin-tab-templates');
		await settle(flushSync);
		const input = el.querySelector<HTMLInputElement>('[data-testid=adm-bpmn-file]')!;
		const file = new File(['<definitions/>'], 'x.bpmn', { type: 'application/xml' });
		Object.defineProperty(input, 'files', { value: [file] });
		input.dispatchEvent(new Event('change', { bubbles: true }));
		for (let i = 0; i < 10 && !el.querySelector('[data-testid=adm-bpmn-problems]'); i++) await settle(flushSync);
		const problems = el.querySelector('[data-testid=adm-bpmn-problems]')!.textContent!;
		expect(problems).toContain('gw1');
		expect(problems).toContain('bpmn.unmapped_group');
		expect(el.querySelector('[data-testid=adm-designer]')).toBeNull();
		expect(el.querySelector('[data-testid=adm-bpmn-groups]')).not.toBeNull();
	});
});

describe('a department of 1,500 officials', () => {
	it('draws at most 200 rows, finds anyone by the filter, and sums up who holds what where', async () => {
		const many = Array.from({ length: 1500 }, (_, i) => {
			const id = (i + 1).toString(16).padStart(4, '0');
			return {
				official: { ...ref(`人员${i}`, id), fingerprint: `${id}${id} ${id}${id}` },
				public_key: id.repeat(16),
				key_count: 1,
				registered_at: 2,
				revoked_at: null,
				grants: [
					{
						id: id.repeat(16),
						department: 'fire',
						role: i % 3 === 0 ? 'approver' : 'fire-inspector',
						scope: i % 2 === 0 ? 'hz' : 'hz/xihu',
						granted_at: 3,
						valid_from: null,
						expires_at: null,
						active: true,
						later: false
					}
				]
			};
		});
		setTransport(fakeCore({ admin_view: view({ officials: many }) }));
		const el = mountAlone(AdminPage as Component);
		await settle(flushSync);
		expect(el.querySelectorAll('[data-testid=adm-officials] tbody tr').length).toBe(200);
		typeInto(el.querySelector<HTMLInputElement>('[data-testid=adm-filter]')!, '人员1499');
		await settle(flushSync);
		const rows = el.querySelectorAll('[data-testid=adm-officials] tbody tr');
		expect(rows.length).toBe(1);
		expect(rows[0]!.textContent).toContain('人员1499');
		expect(el.querySelectorAll('[data-testid=adm-roles] tbody tr').length).toBe(4);
		const table = byRole(many);
		expect(table.map((r) => [r.role, r.scope, r.now.length])).toEqual([
			['approver', 'hz', 250],
			['approver', 'hz/xihu', 250],
			['fire-inspector', 'hz', 500],
			['fire-inspector', 'hz/xihu', 500]
		]);
	});
});

describe('administration helpers', () => {
	it('finds an official by a fingerprint typed with or without spaces', () => {
		const o = view().officials[0]!;
		expect(officialMatches(o, 'bb bb')).toBe(true);
		expect(officialMatches(o, 'bbbb')).toBe(true);
		expect(officialMatches(o, 'hz/xihu')).toBe(true);
		expect(officialMatches(o, '李')).toBe(false);
		expect(byRole(view().officials)[0]!.later).toEqual(['韩梅']);
		// An expired grant is neither held now nor later.
		const expired = { ...o, grants: [{ ...o.grants[0]!, later: false, expires_at: '2020-01-01T00:00:00.000Z' }] };
		expect(byRole([expired])).toEqual([]);
	});

	it('diffs stage by stage', () => {
		const d = diffTemplates(v2, v1);
		expect(d.map((x) => x.change)).toEqual(['same', 'changed', 'removed']);
		expect(d[1]!.fields).toEqual(['deadline_secs']);
	});

	it('turns a date into the ledger time of its midnight in China and a deadline into seconds', () => {
		expect(ledgerTime('2026-12-03')).toBe('2026-12-02T16:00:00.000Z');
		expect(ledgerTime('')).toBeNull();
		expect(chinaDate(ledgerTime('2099-01-01')!)).toBe('2099-01-01');
		expect(ledgerTime('03/12/2026')).toBeNull();
		expect(deadlineSecs('1.5')).toBe(129600);
		expect(deadlineSecs('0')).toBeNull();
		expect(deadlineSecs('')).toBeNull();
	});
});
