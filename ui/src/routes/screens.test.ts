// @vitest-environment happy-dom
/**
 * The list screens, mounted for real against a fake core: a failing IPC call is shown as an error
 * (the core's code, its message, what to do next) — never as the empty state.
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessRow } from '$lib/bindings/AccessRow';
import type { CaseSummary } from '$lib/bindings/CaseSummary';
import type { InboxEntry } from '$lib/bindings/InboxEntry';
import { toCsv } from '$lib/csv';
import { setTransport, type Transport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { format } from '$lib/i18n';
import { app } from '$lib/app.svelte';
import { alarm, syncStatus } from '$lib/testing/fixtures';
import AccessPage from './access/+page.svelte';
import CasesPage from './cases/+page.svelte';
import ProjectsPage from './projects/+page.svelte';
import InboxPage from './inbox/+page.svelte';

/** A core whose every command answers from `answers`, or fails with the given error. */
/** The core's answer to the case list: one page holding `items`. */
const casePage = (items: CaseSummary[]) => ({ offset: 0, total: items.length, items });

function core(answers: Record<string, unknown> | { fail: { code: string; message: string } }): Transport {
	return {
		invoke<T>(command: string): Promise<T> {
			if ('fail' in answers) return Promise.reject(answers.fail);
			return command in answers
				? Promise.resolve(answers[command] as T)
				: Promise.reject({ code: 'test.unknown_command', message: command });
		},
		listen: () => Promise.resolve(() => {})
	};
}

const mounted: Array<Record<string, unknown>> = [];

async function render(page: Component): Promise<HTMLElement> {
	const target = document.createElement('main');
	document.body.replaceChildren(target);
	mounted.push(mount(page, { target }));
	flushSync();
	// Let the fake core answer, then let Svelte show it.
	await new Promise((r) => setTimeout(r, 0));
	flushSync();
	return target;
}

afterEach(() => {
	for (const m of mounted.splice(0)) unmount(m);
	setTransport(null);
});

const FAILURE = { code: 'cache.unavailable', message: 'the local cache cannot be read' };

const screens: Array<[string, Component, string[]]> = [
	['cases', CasesPage as Component, [zhCN['empty.noData']]],
	['projects', ProjectsPage as Component, [zhCN['empty.noData']]],
	['inbox', InboxPage as Component, [zhCN['inbox.empty'], zhCN['inbox.notRegistered']]]
];

describe('a failing IPC call', () => {
	for (const [name, page, emptyTexts] of screens) {
		it(`shows an error, not the empty state, on ${name}`, async () => {
			setTransport(core({ fail: FAILURE }));
			const el = await render(page);
			const alert = el.querySelector('[role=alert]');
			expect(alert, el.innerHTML).not.toBeNull();
			expect(alert?.getAttribute('data-testid')).toBe('load-error');
			expect(alert?.querySelector('code')?.textContent).toBe('cache.unavailable');
			expect(alert?.textContent).toContain('the local cache cannot be read');
			expect(alert?.textContent).toContain(zhCN['load.next.default']);
			for (const text of emptyTexts) expect(el.textContent).not.toContain(text);
			expect(el.querySelector('.empty')).toBeNull();
			expect(el.querySelector('table')).toBeNull();
			expect(el.querySelector('a.csv')).toBeNull();
		});
	}
});

describe('the error state', () => {
	it('says to open the desktop app outside it, and retries on demand', async () => {
		let fail = true;
		setTransport({
			invoke<T>(): Promise<T> {
				return fail
					? Promise.reject({ code: 'ui.no_desktop', message: 'This page must run inside the govchain desktop app.' })
					: Promise.resolve([] as T);
			},
			listen: () => Promise.resolve(() => {})
		});
		const el = await render(ProjectsPage as Component);
		expect(el.querySelector('[data-testid=load-error]')?.textContent).toContain(zhCN['load.next.noDesktop']);
		fail = false;
		el.querySelector<HTMLButtonElement>('[data-testid=load-error] button')!.click();
		flushSync();
		await new Promise((r) => setTimeout(r, 0));
		flushSync();
		expect(el.querySelector('[data-testid=load-error]')).toBeNull();
		expect(el.textContent).toContain(zhCN['empty.noData']);
	});
});

describe('a successful IPC call', () => {
	it('shows the empty state only when the list is empty', async () => {
		setTransport(core({ cases: casePage([]), projects: [] }));
		for (const page of [CasesPage, ProjectsPage]) {
			const el = await render(page as Component);
			expect(el.querySelector('[role=alert]')).toBeNull();
			expect(el.textContent).toContain(zhCN['empty.noData']);
		}
	});

	it('says "nothing here yet" only when connected and verified, else why there is nothing', async () => {
		setTransport(core({ cases: casePage([]), projects: [], inbox: [] }));
		app.status = syncStatus({ state: 'verified' });
		try {
			for (const page of [CasesPage, ProjectsPage]) {
				const el = await render(page as Component);
				expect(el.textContent).toContain(zhCN['empty.verified']);
				expect(el.textContent).not.toContain(zhCN['empty.noData']);
			}
			app.status = syncStatus({ state: 'alarm', alarms: [alarm()] });
			let el = await render(CasesPage as Component);
			expect(el.textContent).toContain(zhCN['empty.alarm']);
			expect(el.textContent).not.toContain(zhCN['empty.verified']);
			// Inbox: "nothing waiting for you" only on a verified chain.
			el = await render(InboxPage as Component);
			expect(el.textContent).toContain(zhCN['empty.alarm']);
			expect(el.textContent).not.toContain(zhCN['inbox.empty']);
			expect(el.textContent).not.toContain(zhCN['inbox.notRegistered']);
		} finally {
			app.status = null;
		}
	});

	it('shows the loading state until the core answers', async () => {
		setTransport({ invoke: () => new Promise(() => {}), listen: () => Promise.resolve(() => {}) });
		const el = await render(CasesPage as Component);
		expect(el.querySelector('[data-testid=load-loading]')?.textContent).toBe(zhCN['load.loading']);
		expect(el.textContent).not.toContain(zhCN['empty.noData']);
	});

	it('renders the case table and its CSV link from one column list', async () => {
		setTransport(
			core({
				cases: casePage([
					{
						case_id: 'HZ-2026-0042',
						title: '北山街 12 号装修',
						template: 'renovation',
						status: 'open',
						current_stage: 1,
						current_stage_name: '消防审查',
						scope: 'hz',
						opened_at: '2026-03-01T08:00:00Z',
						updated_at: '2026-03-02T08:00:00Z',
						waiting_for_me: true
					}
				])
			})
		);
		const el = await render(CasesPage as Component);
		const table = el.querySelector(`table.list[aria-label="${zhCN['nav.cases']}"]`);
		expect(table).not.toBeNull();
		expect([...table!.querySelectorAll('th')].map((th) => th.textContent)).toEqual([
			zhCN['inbox.case'],
			zhCN['case.status'],
			zhCN['inbox.stage'],
			zhCN['case.updated']
		]);
		const cells = [...table!.querySelectorAll('tbody td')].map((td) => td.textContent?.trim());
		expect(cells[0]).toContain('北山街 12 号装修');
		expect(cells[1]).toContain(zhCN['case.state.open']);
		expect(cells[2]).toBe('消防审查');
		// The core pages the list; the export reads every page.
		expect(el.querySelector('[data-testid=cases-export]')?.textContent?.trim()).toBe(format(zhCN['export.all'], { total: '1' }));
	});
});

describe('CSV exports built from the table columns', () => {
	/** The blobs the page turned into download links, by URL. */
	const blobs = new Map<string, Blob>();
	const realCreate = URL.createObjectURL;
	beforeEach(() => {
		blobs.clear();
		URL.createObjectURL = (b: Blob | MediaSource) => {
			const url = `blob:test/${blobs.size}`;
			blobs.set(url, b as Blob);
			return url;
		};
	});
	afterEach(() => {
		URL.createObjectURL = realCreate;
	});

	async function csvOf(el: HTMLElement, file: string): Promise<string> {
		const link = [...el.querySelectorAll('a.csv')].find((a) => a.getAttribute('download') === file);
		expect(link, `${file} link`).toBeDefined();
		return blobs.get(link!.getAttribute('href')!)!.text();
	}

	const zh = (k: keyof typeof zhCN) => zhCN[k];

	it('cases: same header, values and order as before', async () => {
		const c: CaseSummary = {
			case_id: 'HZ-2026-0042',
			title: '北山街, 12 号装修',
			template: 'renovation',
			status: 'approved',
			current_stage: null,
			current_stage_name: null,
			scope: 'hz',
			opened_at: '2026-03-01T08:00:00Z',
			updated_at: '2026-03-02T08:00:00Z',
			waiting_for_me: false
		};
		setTransport(core({ cases: casePage([c]) }));
		const el = await render(CasesPage as Component);
		el.querySelector<HTMLButtonElement>('[data-testid=cases-export]')!.click();
		await new Promise((r) => setTimeout(r, 0));
		expect(await [...blobs.values()].at(-1)!.text()).toBe(
			toCsv(
				[zh('csv.caseId'), zh('inbox.case'), zh('csv.template'), zh('case.status'), zh('inbox.stage'), zh('csv.opened'), zh('case.updated')],
				[[c.case_id, c.title, c.template, c.status, c.current_stage_name, c.opened_at, c.updated_at]]
			)
		);
	});

	it('inbox: same header, values and order as before', async () => {
		const i: InboxEntry = {
			case_id: 'HZ-2026-0042',
			title: '北山街 12 号装修',
			template: 'renovation',
			stage: 1,
			stage_name: '消防审查',
			department: 'fire',
			department_name: '',
			waiting_since: '2026-03-01T08:00:00Z',
			deadline: null
		};
		setTransport(core({ inbox: [i] }));
		const el = await render(InboxPage as Component);
		expect(el.querySelectorAll('[data-testid=inbox-row]')).toHaveLength(1);
		expect(el.querySelector('[data-testid=inbox-row]')?.classList.contains('selected')).toBe(true);
		expect(await csvOf(el, 'inbox.csv')).toBe(
			toCsv(
				[zh('csv.caseId'), zh('inbox.case'), zh('inbox.stage'), zh('inbox.department'), zh('csv.waitingSince'), zh('inbox.deadline')],
				[[i.case_id, i.title, i.stage_name, i.department, i.waiting_since, i.deadline]]
			)
		);
	});

	it('access log: same header, values and order as before', async () => {
		const r: AccessRow = {
			at: '2026-03-01T08:00:00Z',
			official: { official_id: 'o1', fingerprint: 'ff', name: '李明', department: 'housing', department_name: '住建局' },
			department: 'housing',
			department_name: '住建局',
			dataset: 'housing-fund/accounts',
			operation: 'read',
			purpose: '核对房屋产权',
			subject: null,
			height: 7,
			tx_id: 'ab'.repeat(32)
		};
		setTransport(core({ access_log: [r] }));
		const el = await render(AccessPage as Component);
		expect(el.querySelector('table.heat')).not.toBeNull();
		expect(el.querySelector(`table.list[aria-label="${zh('nav.access')}"]`)?.textContent).toContain('核对房屋产权');
		expect(await csvOf(el, 'access-log.csv')).toBe(
			toCsv(
				['at', 'official', 'department', 'dataset', 'operation', 'purpose', 'subject', 'height', 'tx_id'],
				[[r.at, r.official.name, r.department, r.dataset, r.operation, r.purpose, r.subject, r.height, r.tx_id]]
			)
		);
	});
});
