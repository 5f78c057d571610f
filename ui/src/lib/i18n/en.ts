import type { Catalog } from './zh-CN';

/** English. Must have exactly the keys of the zh-CN catalog (see i18n.test.ts). */
export const en: Catalog = {
	'app.title': 'govchain workstation',
	'app.documentTitle': '{screen} · {app}',
	'app.skipToContent': 'Skip to main content',

	'status.label': 'Connection status',
	'status.disconnected': 'No node connected',

	'language.label': 'Language',

	'nav.label': 'Main navigation',
	'nav.inbox': 'Inbox',
	'nav.cases': 'Cases',
	'nav.projects': 'Projects & payments',
	'nav.explorer': 'Explorer',
	'nav.funds': 'Fund flow',
	'nav.proofs': 'Proofs',
	'nav.access': 'Access log',
	'nav.settings': 'Settings',

	'screen.inbox.intro': 'Cases waiting for your role to sign or act on.',
	'screen.cases.intro': 'All approval cases and their timelines.',
	'screen.projects.intro': 'Engineering projects: budgets, milestones and payment requests.',
	'screen.explorer.intro': 'Blocks and transactions on the ledger.',
	'screen.funds.intro': "Where each project's money went, traceable payment by payment.",
	'screen.proofs.intro': 'Verify inclusion proofs, consistency proofs and signed checkpoints.',
	'screen.access.intro': 'Records of access to sensitive data, for precise accountability.',
	'screen.settings.intro': 'Node addresses, signing key and interface language.',

	'empty.noData': 'No data yet — appears once a node is connected',

	'settings.language.heading': 'Interface',
	'settings.language.hint': 'Saved on this computer and used the next time the app starts.',
	'settings.node.heading': 'Nodes and key',

	'error.title': 'Something went wrong',
	'error.notFound': 'This page does not exist.',
	'error.backToInbox': 'Back to the inbox'
};
