/**
 * Simplified Chinese — the default locale and the reference catalog: its keys define `MessageKey`,
 * and every other catalog must have exactly the same keys (checked by the type system and by i18n.test.ts).
 *
 * Placeholders are written `{name}` and filled by `t(key, { name })`.
 */
export const zhCN = {
	'app.title': '政务链工作台',
	'app.documentTitle': '{screen} · {app}',
	'app.skipToContent': '跳到主要内容',

	'status.label': '连接状态',
	'status.disconnected': '未连接节点',

	'language.label': '界面语言',

	'nav.label': '主导航',
	'nav.inbox': '收件箱',
	'nav.cases': '案件',
	'nav.projects': '项目与支付',
	'nav.explorer': '区块浏览',
	'nav.funds': '资金流向',
	'nav.proofs': '证明校验',
	'nav.access': '访问日志',
	'nav.settings': '设置',

	'screen.inbox.intro': '等待您所在岗位签署或处理的案件。',
	'screen.cases.intro': '全部审批案件及其办理时间线。',
	'screen.projects.intro': '工程项目的预算、里程碑与支付申请。',
	'screen.explorer.intro': '账本中的区块与交易。',
	'screen.funds.intro': '每个项目的资金去向，逐笔可追溯。',
	'screen.proofs.intro': '校验包含证明、一致性证明与签名检查点。',
	'screen.access.intro': '敏感数据的访问记录，用于精准问责。',
	'screen.settings.intro': '节点地址、签名密钥与界面语言。',

	'empty.noData': '尚无数据 — 连接节点后显示',

	'settings.language.heading': '界面',
	'settings.language.hint': '选择保存在本机，下次启动时沿用。',
	'settings.node.heading': '节点与密钥',

	'error.title': '出错了',
	'error.notFound': '找不到这个页面。',
	'error.backToInbox': '返回收件箱'
} as const satisfies Record<string, string>;

export type MessageKey = keyof typeof zhCN;
export type Catalog = Record<MessageKey, string>;
