/**
 * The only way the UI talks to the Rust core: typed calls to the Tauri commands (src-tauri/commands)
 * and their events. Every type comes from the ts-rs bindings generated from Rust (./bindings); none
 * is written here a second time. Errors arrive as `{code, message}` and are thrown as `IpcError`.
 *
 * The transport is replaceable so that Vitest runs the UI logic against a fake core.
 */
import type { AccessRow } from './bindings/AccessRow';
import type { AdminView } from './bindings/AdminView';
import type { BpmnGroup } from './bindings/BpmnGroup';
import type { BpmnImport } from './bindings/BpmnImport';
import type { RegistrationCheck } from './bindings/RegistrationCheck';
import type { BlacklistEntryView } from './bindings/BlacklistEntryView';
import type { BlacklistLookup } from './bindings/BlacklistLookup';
import type { BlockDetail } from './bindings/BlockDetail';
import type { BlockSummary } from './bindings/BlockSummary';
import type { Capabilities } from './bindings/Capabilities';
import type { CaseDetail } from './bindings/CaseDetail';
import type { CasePage } from './bindings/CasePage';
import type { CaseQuery } from './bindings/CaseQuery';
import type { CertificateView } from './bindings/CertificateView';
import type { ChainsView } from './bindings/ChainsView';
import type { ConsentRequestView } from './bindings/ConsentRequestView';
import type { CheckpointInfo } from './bindings/CheckpointInfo';
import type { Dashboard } from './bindings/Dashboard';
import type { DocumentCheck } from './bindings/DocumentCheck';
import type { ErrorBody } from './bindings/ErrorBody';
import type { FundFlow } from './bindings/FundFlow';
import type { Graph } from './bindings/Graph';
import type { InboxEntry } from './bindings/InboxEntry';
import type { KeyInfo } from './bindings/KeyInfo';
import type { NodeProbe } from './bindings/NodeProbe';
import type { OutboxItem } from './bindings/OutboxItem';
import type { PayrollImport } from './bindings/PayrollImport';
import type { PersonRef } from './bindings/PersonRef';
import type { OfficialRef } from './bindings/OfficialRef';
import type { PayrollPage } from './bindings/PayrollPage';
import type { ProjectDetail } from './bindings/ProjectDetail';
import type { ProofReport } from './bindings/ProofReport';
import type { ProjectSummary } from './bindings/ProjectSummary';
import type { RegistrationRequest } from './bindings/RegistrationRequest';
import type { SavedReport } from './bindings/SavedReport';
import type { SearchHit } from './bindings/SearchHit';
import type { SignPreview } from './bindings/SignPreview';
import type { SignRequest } from './bindings/SignRequest';
import type { SpendPoint } from './bindings/SpendPoint';
import type { StoredDocument } from './bindings/StoredDocument';
import type { SyncProgress } from './bindings/SyncProgress';
import type { SyncStatus } from './bindings/SyncStatus';
import type { TemplateOption } from './bindings/TemplateOption';
import type { TokenOverview } from './bindings/TokenOverview';
import type { TxDetail } from './bindings/TxDetail';

export interface Transport {
	invoke<T>(command: string, args?: Record<string, unknown>): Promise<T>;
	listen<T>(event: string, handler: (payload: T) => void): Promise<() => void>;
}

/**
 * A failed command: the core's stable code and its message. The code is a plain string: the UI adds
 * its own (`ui.ipc`, `ui.no_desktop`, `workflow.comment_required`) to the core's.
 */
export class IpcError extends Error {
	readonly code: string;
	/** `network.untrusted_certificate`, `network.certificate_changed`: the node and the fingerprint it presented. */
	readonly node?: string;
	readonly fingerprint?: string;
	constructor(body: { code: string; message: string; node?: string; fingerprint?: string }) {
		super(body.message);
		this.name = 'IpcError';
		this.code = body.code;
		this.node = body.node;
		this.fingerprint = body.fingerprint;
	}
}

/** Any failure as an `IpcError` (non-core failures get the code `ui.ipc`). */
export function asIpcError(e: unknown): IpcError {
	return e instanceof IpcError ? e : new IpcError({ code: 'ui.ipc', message: String(e) });
}

function isErrorBody(e: unknown): e is ErrorBody {
	return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

/** Whether the page runs inside the desktop app (Tauri injects its internals). */
export function inDesktopApp(): boolean {
	return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

const tauriTransport: Transport = {
	async invoke<T>(command: string, args?: Record<string, unknown>): Promise<T> {
		const { invoke } = await import('@tauri-apps/api/core');
		return invoke<T>(command, args);
	},
	async listen<T>(event: string, handler: (payload: T) => void): Promise<() => void> {
		const { listen } = await import('@tauri-apps/api/event');
		return listen<T>(event, (e) => handler(e.payload));
	}
};

const outsideApp: Transport = {
	invoke() {
		return Promise.reject(
			new IpcError({ code: 'ui.no_desktop', message: 'This page must run inside the govchain desktop app.' })
		);
	},
	listen() {
		return Promise.resolve(() => {});
	}
};

let transport: Transport | null = null;

/** Replaces the transport (tests). */
export function setTransport(t: Transport | null): void {
	transport = t;
}

function current(): Transport {
	return transport ?? (inDesktopApp() ? tauriTransport : outsideApp);
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
	try {
		return await current().invoke<T>(command, args);
	} catch (e) {
		if (e instanceof IpcError) throw e;
		if (isErrorBody(e)) throw new IpcError(e);
		throw new IpcError({ code: 'ui.ipc', message: String(e) });
	}
}

/** The core's events. */
export const events = {
	progress: (h: (p: SyncProgress) => void) => current().listen<SyncProgress>('sync-progress', h),
	status: (h: (s: SyncStatus) => void) => current().listen<SyncStatus>('sync-status', h),
	outbox: (h: (o: OutboxItem) => void) => current().listen<OutboxItem>('outbox', h)
};

/** One function per command (argument names as Tauri expects them: camelCase). */
export const api = {
	status: () => call<SyncStatus>('status'),
	syncNow: () => call<SyncStatus>('sync_now'),
	keys: () => call<KeyInfo[]>('keys'),
	createKey: (label: string) => call<KeyInfo>('create_key', { label }),
	importKey: (backup: string, passphrase: string, label: string) =>
		call<KeyInfo>('import_key', { backup, passphrase, label }),
	exportBackup: (passphrase: string) => call<string>('export_backup', { passphrase }),
	deleteKey: (keyId: string) => call<null>('delete_key', { keyId }),
	rotateKey: () => call<OutboxItem>('rotate_key'),
	setActiveKey: (keyId: string) => call<KeyInfo>('set_active_key', { keyId }),
	tokenOverview: (module: string | null) => call<TokenOverview>('token_overview', { module }),
	tokenCreateKey: (module: string, token: string, pin: string, label: string) =>
		call<KeyInfo>('token_create_key', { module, token, pin, label }),
	tokenAddKey: (module: string, token: string, keyId: string, label: string) =>
		call<KeyInfo>('token_add_key', { module, token, keyId, label }),
	tokenUnlock: (pin: string) => call<null>('token_unlock', { pin }),
	tokenLock: () => call<null>('token_lock'),
	registrationRequest: (name: string, department: string) =>
		call<RegistrationRequest>('registration_request', { name, department }),
	prepareSignature: (request: SignRequest) => call<SignPreview>('prepare_signature', { request }),
	confirmSignature: (previewId: string) => call<OutboxItem>('confirm_signature', { previewId }),
	outbox: () => call<OutboxItem[]>('outbox'),
	inbox: () => call<InboxEntry[]>('inbox'),
	/** The cases that match `query`, a page (≤ 500) at a time, most recently changed first. */
	cases: (query: CaseQuery) => call<CasePage>('cases', { query }),
	caseDetail: (caseId: string) => call<CaseDetail>('case_detail', { caseId }),
	projects: () => call<ProjectSummary[]>('projects'),
	projectDetail: (projectId: string) => call<ProjectDetail>('project_detail', { projectId }),
	/** Up to `limit` (≤ 5,000) payroll lines of a payment from line `offset`. */
	payrollPage: (projectId: string, paymentId: string, offset: number, limit: number) =>
		call<PayrollPage>('payroll_page', { projectId, paymentId, offset, limit }),
	setNodes: (urls: string[]) => call<SyncStatus>('set_nodes', { urls }),
	testNode: (url: string) => call<NodeProbe>('test_node', { url }),
	/** The known chains (demo and real), the active one, whether first run has yet to choose. */
	chains: () => call<ChainsView>('chains'),
	useDemo: () => call<ChainsView>('use_demo'),
	/** Connects to a department's nodes; refused when they serve another chain than the admin's values (optional). */
	connectNodes: (urls: string[], chainId: string | null, genesisHash: string | null) =>
		call<NodeProbe>('connect_nodes', { urls, chainId, genesisHash }),
	switchChain: (id: string) => call<ChainsView>('switch_chain', { id }),
	acknowledgeAlarm: (id: number) => call<null>('acknowledge_alarm', { id }),
	explorerBlocks: (before: number | null, limit: number) =>
		call<BlockSummary[]>('explorer_blocks', { before, limit }),
	blockDetail: (height: number) => call<BlockDetail>('block_detail', { height }),
	txDetail: (height: number, index: number) => call<TxDetail>('tx_detail', { height, index }),
	verifyInclusion: (height: number, index: number) => call<ProofReport>('verify_inclusion', { height, index }),
	accessLog: (department: string | null, dataset: string | null, limit: number) =>
		call<AccessRow[]>('access_log', { department, dataset, limit }),
	fundTrace: (projectId: string) => call<FundFlow[]>('fund_trace', { projectId }),
	search: (query: string) => call<SearchHit[]>('search', { query }),
	graph: (focus: string) => call<Graph>('graph', { focus }),
	dashboard: () => call<Dashboard>('dashboard'),
	spending: (projectId: string) => call<SpendPoint[]>('spending', { projectId }),
	checkpoints: () => call<CheckpointInfo[]>('checkpoints'),
	verifyConsistency: (size1: number, size2: number | null) =>
		call<ProofReport>('verify_consistency', { size1, size2 }),
	verifyPasted: (note: string, proof: string) => call<ProofReport>('verify_pasted', { note, proof }),
	/** Writes the PDF audit report of a case or project, or a case's receipt, where the app chooses; returns where. */
	saveReport: (kind: 'case' | 'project' | 'receipt' | 'certificate', id: string) =>
		call<SavedReport>('save_report', { kind, id }),
	/** Accept only this chain (id and genesis block hash); empty strings unpin. */
	pinChain: (chainId: string, genesisHash: string) => call<SyncStatus>('pin_chain', { chainId, genesisHash }),
	/** Accept exactly this TLS certificate (SHA-256 fingerprint) from the node at `url`; an empty fingerprint unpins. */
	pinNodeCertificate: (url: string, fingerprint: string) =>
		call<SyncStatus>('pin_node_certificate', { url, fingerprint }),
	setWitnessQuorum: (quorum: number) => call<SyncStatus>('set_witness_quorum', { quorum }),
	/** What the active key may do on the verified chain (navigation and actions follow it). */
	capabilities: () => call<Capabilities>('capabilities'),
	/** Published workflow templates a case can be opened from. */
	templates: () => call<TemplateOption[]>('templates'),
	/** Stores the chain's consortium identity key (64 hex digits from the admin) in the OS keychain. */
	importIdentityKey: (key: string) => call<Capabilities>('import_identity_key', { key }),
	documentBegin: () => call<string>('document_begin'),
	/** The next piece of a document, base64. */
	documentChunk: (uploadId: string, data: string) => call<null>('document_chunk', { uploadId, data }),
	documentFinish: (uploadId: string, name: string) => call<StoredDocument>('document_finish', { uploadId, name }),
	documentCancel: (uploadId: string) => call<null>('document_cancel', { uploadId }),
	/** Whether each document hash is in this computer's store and still matches. */
	checkDocuments: (hashes: string[]) => call<DocumentCheck[]>('check_documents', { hashes }),
	/** The blacklist entries of the official's department. */
	blacklistEntries: () => call<BlacklistEntryView[]>('blacklist_entries'),
	/** A lookup: a signed read that the ledger records, with its purpose. */
	blacklistLookup: (subject: PersonRef, purpose: string) =>
		call<BlacklistLookup>('blacklist_lookup', { subject, purpose }),
	/** Reads a payroll file (CSV or XLSX, base64) for a project: workers hashed, bad rows named. */
	importPayroll: (projectId: string, name: string, data: string) =>
		call<PayrollImport>('import_payroll', { projectId, name, data }),
	importPayrollKey: (projectId: string, key: string) => call<string>('import_payroll_key', { projectId, key }),
	exportPayrollKey: (projectId: string) => call<string>('export_payroll_key', { projectId }),
	payrollKeyId: (projectId: string) => call<string | null>('payroll_key_id', { projectId }),
	/** Registered officials, to choose a new project's parties from. */
	officials: () => call<OfficialRef[]>('officials'),
	/** The administration screen's model (departments, officials, proposals, templates). */
	adminView: () => call<AdminView>('admin_view'),
	/** What a registration request's text says, checked against the verified chain. */
	checkRegistration: (text: string) => call<RegistrationCheck>('check_registration', { text }),
	/** Imports a BPMN 2.0 document with the admin's candidate-group mapping. */
	importBpmn: (xml: string, groups: BpmnGroup[], id: string | null) =>
		call<BpmnImport>('import_bpmn', { xml, groups, id }),
	/** A published template version as BPMN 2.0 text. */
	exportBpmn: (id: string, version: number) => call<string>('export_bpmn', { id, version }),
	/** Certificates this department issued or may verify under a holder's consent. */
	certificates: () => call<CertificateView[]>('certificates'),
	/** A consent request for the certificate's holder to sign with govchain-citizen. */
	consentRequest: (certId: string, grantee: string, purpose: string, days: number) =>
		call<ConsentRequestView>('consent_request', { certId, grantee, purpose, days }),
	/** A request for the holder to revoke a consent. */
	revokeRequest: (consentId: string) => call<ConsentRequestView>('revoke_request', { consentId }),
	/** The citizen's signed answer (GCA1:…), checked and queued in the outbox. */
	submitConsent: (answer: string) => call<OutboxItem>('submit_consent', { answer }),
	/** The QR code text of a certificate issued here. */
	certificateCode: (certId: string) => call<string>('certificate_code', { certId })
};
