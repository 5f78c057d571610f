// @vitest-environment happy-dom
/**
 * The status bar claims "verified" only when the core says the last sync verified and no alarm is
 * open; an open alarm shows the alarm state (red, its count, a link to the alarms), never green.
 * Alarms are shown grouped, translated by code, with what to do and the raw code and node.
 */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { app } from './app.svelte';
import { alarmText } from './alarms';
import { setLocale } from './i18n';
import { zhCN } from './i18n/zh-CN';
import { en } from './i18n/en';
import { emptyReason, statusView, syncingText } from './status';
import { alarm, syncStatus } from './testing/fixtures';
import StatusBar from './components/StatusBar.svelte';
import AlarmBanner from './components/AlarmBanner.svelte';
import EmptyState from './components/EmptyState.svelte';

const mounted: Array<Record<string, unknown>> = [];

function render(component: unknown): HTMLElement {
	const target = document.createElement('div');
	document.body.replaceChildren(target);
	mounted.push(mount(component as Component, { target }));
	flushSync();
	return target;
}

afterEach(() => {
	for (const m of mounted.splice(0)) unmount(m);
	app.status = null;
	app.progress = null;
	setLocale('zh-CN');
});

describe('the status bar', () => {
	it('shows a first sync with its pace and the time left once they are known', () => {
		const p = { height: 12_000, target: 50_652, blocks_per_second: null, seconds_left: null };
		expect(syncingText(p)).toBe('正在同步并验证 12,000/50,652');
		expect(syncingText({ ...p, blocks_per_second: 1450, seconds_left: 27 })).toBe('正在同步并验证 12,000/50,652 · 1,450 块/秒 · 约剩 27 秒');
		setLocale('en');
		expect(syncingText({ ...p, blocks_per_second: 120, seconds_left: 322 })).toBe('Syncing and verifying 12,000/50,652 · 120 blocks/s · about 5 min left');
		app.status = syncStatus({ state: 'syncing' });
		app.progress = { ...p, blocks_per_second: 120, seconds_left: 322 };
		const el = render(StatusBar);
		expect(el.textContent).toContain('120 blocks/s · about 5 min left');
		expect(el.querySelector('progress')?.getAttribute('value')).toBe('12000');
	});

	it('shows the alarm state while an alarm is open, never verified', () => {
		app.status = syncStatus({ state: 'alarm', alarms: [alarm()] });
		const el = render(StatusBar);
		const status = el.querySelector('[data-testid=status]')!;
		expect(status.getAttribute('data-state')).toBe('alarm');
		expect(status.textContent).toContain(zhCN['status.alarm'].replace('{count}', '1'));
		expect(status.textContent).not.toContain(zhCN['status.verified']);
		expect(status.querySelector('.dot.ok')).toBeNull();
		expect(status.querySelector('.dot.bad')).not.toBeNull();
		expect(el.querySelector('a[data-testid=status-alarms]')?.getAttribute('href')).toBe('#alarms');
	});

	it('shows the alarm even if the state said verified (an open alarm always wins)', () => {
		app.status = syncStatus({ state: 'verified', alarms: [alarm(), alarm({ id: 2, node: 'http://b' })] });
		const el = render(StatusBar);
		expect(el.querySelector('[data-testid=status]')?.getAttribute('data-state')).toBe('alarm');
		expect(el.textContent).toContain(zhCN['status.alarm'].replace('{count}', '2'));
	});

	it('says verified only when verified, and goes back once the alarm is acknowledged', () => {
		app.status = syncStatus({ state: 'alarm', alarms: [alarm()] });
		const el = render(StatusBar);
		expect(el.textContent).not.toContain(zhCN['status.verified']);
		app.status = syncStatus({ state: 'verified', alarms: [alarm({ acknowledged: true })] });
		flushSync();
		expect(el.querySelector('[data-testid=status]')?.getAttribute('data-state')).toBe('verified');
		expect(el.textContent).toContain(zhCN['status.verified']);
		expect(el.querySelector('.dot.ok')).not.toBeNull();
		expect(el.querySelector('[data-testid=status-alarms]')).toBeNull();
	});

	it('says what to do when the last sync failed', () => {
		app.status = syncStatus({ state: 'unverified', last_error: { code: 'node.unavailable', message: 'down' } });
		const el = render(StatusBar);
		expect(el.textContent).toContain('node.unavailable');
		expect(el.querySelector('[data-testid=status-next]')?.textContent).toBe(zhCN['status.checkSettings']);
	});

	it('never says verified for the other states', () => {
		for (const state of ['syncing', 'offline', 'unverified', 'not_witnessed'] as const) {
			const v = statusView(syncStatus({ state, last_error: state === 'unverified' ? { code: 'node.unavailable', message: 'x' } : null }), null);
			expect(v.state).toBe(state);
			expect(v.tone, state).not.toBe('ok');
			expect(v.text, state).not.toBe(zhCN['status.verified']);
		}
		expect(statusView(syncStatus({ state: 'unverified', last_error: { code: 'node.unavailable', message: 'x' } }), null).text).toContain(
			'node.unavailable'
		);
		expect(statusView(null, null).text).toBe(zhCN['status.disconnected']);
	});
});

describe('alarms', () => {
	it('are shown once per group with the count, translated, with a next step and the raw code and node', () => {
		app.status = syncStatus({ state: 'alarm', alarms: [alarm({ count: 7 })] });
		const el = render(AlarmBanner);
		const shown = el.querySelectorAll('[data-testid=alarm]');
		expect(shown).toHaveLength(1);
		const a = shown[0]!;
		expect(a.textContent).toContain(zhCN['alarm.checkpoint.missing_log_signature.title']);
		expect(a.textContent).toContain(zhCN['alarm.checkpoint.missing_log_signature.detail']);
		expect(a.textContent).toContain(zhCN['alarm.next.node']);
		expect(a.querySelector('[data-testid=alarm-count]')?.textContent).toBe(zhCN['alarm.count'].replace('{count}', '7'));
		expect(a.querySelector('code')?.textContent).toBe('checkpoint.missing_log_signature');
		expect(a.textContent).toContain('http://node.example:7700');
		expect(el.querySelector('#alarms')).not.toBeNull();
	});

	it('are a short column, not a wall: three groups, then "show all"', () => {
		app.status = syncStatus({ state: 'alarm', alarms: [1, 2, 3, 4, 5].map((id) => alarm({ id, node: `http://n${id}` })) });
		const el = render(AlarmBanner);
		expect(el.querySelectorAll('[data-testid=alarm]')).toHaveLength(3);
		el.querySelector<HTMLButtonElement>('[data-testid=alarm-more]')!.click();
		flushSync();
		expect(el.querySelectorAll('[data-testid=alarm]')).toHaveLength(5);
		expect(el.querySelector('[data-testid=alarm-more]')).toBeNull();
	});

	it('are in English in the English UI', () => {
		setLocale('en');
		app.status = syncStatus({ state: 'alarm', alarms: [alarm()] });
		const el = render(AlarmBanner);
		expect(el.textContent).toContain(en['alarm.checkpoint.missing_log_signature.title']);
		expect(el.textContent).toContain(en['alarm.next.node']);
	});

	it('unknown codes get a family text, never a raw key', () => {
		expect(alarmText({ code: 'workflow.not_your_stage', node: 'n' }).title).toBe('alarm.rules.title');
		expect(alarmText({ code: 'note.something_new', node: 'n' }).title).toBe('alarm.checkpoint.title');
		expect(alarmText({ code: 'cache.corrupt', node: 'local cache' }).next).toBe('alarm.next.cache');
		expect(alarmText({ code: 'checkpoint.split_view', node: 'n' }).next).toBe('alarm.next.fork');
	});
});

describe('the empty state', () => {
	it('says "nothing here yet" only when connected and verified', () => {
		expect(emptyReason(null)).toBe('none');
		expect(emptyReason(syncStatus())).toBe('verified');
		expect(emptyReason(syncStatus({ state: 'syncing', height: null }))).toBe('syncing');
		expect(emptyReason(syncStatus({ state: 'alarm', alarms: [alarm()] }))).toBe('alarm');
		expect(emptyReason(syncStatus({ state: 'unverified', height: null }))).toBe('none');
		expect(emptyReason(syncStatus({ state: 'offline' }))).toBe('cached');

		app.status = syncStatus();
		let el = render(EmptyState);
		expect(el.textContent).toContain(zhCN['empty.verified']);
		app.status = syncStatus({ state: 'alarm', alarms: [alarm()] });
		flushSync();
		expect(el.textContent).toContain(zhCN['empty.alarm']);
		expect(el.textContent).not.toContain(zhCN['empty.verified']);
		app.status = null;
		el = render(EmptyState);
		expect(el.textContent).toContain(zhCN['empty.noData']);
	});
});
