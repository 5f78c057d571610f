// @vitest-environment happy-dom
/**
 * Settings keeps what the user types: the status refreshes every few seconds, and a refresh must not
 * overwrite a field the user edited (only a pristine field follows the core; saving makes it pristine).
 */
import { flushSync, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { app } from '$lib/app.svelte';
import { setTransport } from '$lib/ipc';
import { zhCN } from '$lib/i18n/zh-CN';
import { fakeCore, mountAlone, settle, syncStatus, typeInto, unmountAll } from '$lib/testing/fixtures';
import SettingsPage from './+page.svelte';


afterEach(() => {
	unmountAll();
	setTransport(null);
	app.status = null;
});

const render = (): HTMLElement => mountAlone(SettingsPage as Component);
const type = typeInto;

describe('the settings page', () => {
	it('keeps a typed node address through status refreshes, and follows the core again after saving', async () => {
		const saved = ['http://a.example:7700', 'http://b.example:7700'];
		const calls: Array<[string, unknown]> = [];
		setTransport(
			fakeCore(
				{
					set_nodes: (args: { urls: string[] }) => syncStatus({ nodes: args.urls }),
					status: () => syncStatus({ nodes: saved }),
					keys: [],
					outbox: []
				},
				calls
			)
		);
		app.status = syncStatus({ nodes: ['http://old.example:7700'] });
		const el = render();
		const box = el.querySelector<HTMLTextAreaElement>('textarea#nodes')!;
		// Pristine: it shows what the core has.
		expect(box.value).toBe('http://old.example:7700');

		type(box, saved.join('\n'));
		expect(el.querySelector('[data-testid=nodes-unsaved]')?.textContent).toBe(zhCN['settings.nodes.unsaved']);
		// The status refresh (every ~5 s) comes in, several times, with the old list.
		for (let i = 0; i < 3; i++) {
			app.status = syncStatus({ nodes: ['http://old.example:7700'], height: 42 + i });
			flushSync();
		}
		expect(box.value).toBe(saved.join('\n'));

		// Saving sends what was typed; the field is pristine again and follows the core.
		el.querySelector<HTMLButtonElement>(`button.primary`)!.click();
		await settle(flushSync);
		await settle(flushSync);
		expect(calls.find(([c]) => c === 'set_nodes')?.[1]).toEqual({ urls: saved });
		expect(el.querySelector('[data-testid=nodes-unsaved]')).toBeNull();
		app.status = syncStatus({ nodes: ['http://c.example:7700'] });
		flushSync();
		expect(box.value).toBe('http://c.example:7700');
	});

	it('keeps a typed witness quorum through status refreshes', () => {
		setTransport(fakeCore({}));
		app.status = syncStatus({ witness_quorum: 0 });
		const el = render();
		const quorum = el.querySelector<HTMLInputElement>('[data-testid=witness-quorum]')!;
		expect(quorum.value).toBe('0');
		type(quorum, '2');
		app.status = syncStatus({ witness_quorum: 0, height: 43 });
		flushSync();
		expect(quorum.value).toBe('2');
	});
});
