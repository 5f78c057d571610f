//! The IPC commands: thin wrappers that call the workstation core and return
//! its DTOs (TypeScript types in `ui/src/lib/bindings/`) or `{code, message}`.
//! No command takes a file path (but the path of a PKCS#11 driver, which the
//! core loads only as an absolute, owner-writable shared library), SQL or a
//! key to use: backups travel as text
//! the UI reads or saves itself, keys never leave the keychain (the
//! consortium identity key arrives once as text and goes straight into it),
//! and attached files arrive as chunks the UI reads from the file the
//! official picked. Commands that hash files or read the keychain run off
//! the main thread (`async`), so the window never waits on them.

// Tauri hands commands owned arguments and `State` by value.
#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;

use govchain_workstation::dto::{
    AccessRow, AdminView, BlacklistEntryView, BlacklistLookup, BlockDetail, BlockSummary,
    BpmnGroup, BpmnImport, Capabilities, CaseDetail, CasePage, CaseQuery, CertificateView,
    ChainsView, CheckpointInfo, ConsentRequestView, Dashboard, DocumentCheck, FundFlow, Graph,
    InboxEntry, KeyInfo, NodeProbe, OfficialRef, OutboxItem, PayrollImport, PayrollPage, PersonRef,
    ProjectDetail, ProjectSummary, ProofReport, RegistrationCheck, RegistrationRequest,
    SavedReport, SearchHit, SignPreview, SignRequest, SpendPoint, StoredDocument, SyncStatus,
    TemplateOption, TokenOverview, TxDetail,
};
use govchain_workstation::{Workstation, WsError};
use tauri::{Manager, State};
use zeroize::Zeroizing;

type Ws<'a> = State<'a, Arc<Workstation>>;

include!("list.rs");

#[tauri::command]
pub fn status(ws: Ws<'_>) -> Result<SyncStatus, WsError> {
    ws.status()
}

#[tauri::command]
pub async fn sync_now(ws: Ws<'_>) -> Result<SyncStatus, WsError> {
    ws.sync().await
}

#[tauri::command]
pub fn keys(ws: Ws<'_>) -> Result<Vec<KeyInfo>, WsError> {
    ws.keys()
}

#[tauri::command]
pub async fn create_key(ws: Ws<'_>, label: String) -> Result<KeyInfo, WsError> {
    ws.create_key(&label).await
}

#[tauri::command]
pub async fn import_key(
    ws: Ws<'_>,
    backup: String,
    passphrase: String,
    label: String,
) -> Result<KeyInfo, WsError> {
    ws.import_key(&backup, &passphrase, &label).await
}

#[tauri::command]
pub fn export_backup(ws: Ws<'_>, passphrase: String) -> Result<String, WsError> {
    ws.export_backup(&passphrase)
}

#[tauri::command]
pub fn delete_key(ws: Ws<'_>, key_id: String) -> Result<(), WsError> {
    ws.delete_key(&key_id)
}

/// Makes one of this workstation's keys the one it signs with.
#[tauri::command]
pub fn set_active_key(ws: Ws<'_>, key_id: String) -> Result<KeyInfo, WsError> {
    ws.set_active_key(&key_id)
}

#[tauri::command]
pub fn rotate_key(ws: Ws<'_>) -> Result<OutboxItem, WsError> {
    ws.rotate_key()
}

#[tauri::command]
pub fn registration_request(
    ws: Ws<'_>,
    name: String,
    department: String,
) -> Result<RegistrationRequest, WsError> {
    ws.registration_request(&name, &department)
}

#[tauri::command]
pub fn prepare_signature(ws: Ws<'_>, request: SignRequest) -> Result<SignPreview, WsError> {
    ws.prepare(&request)
}

#[tauri::command]
pub async fn confirm_signature(ws: Ws<'_>, preview_id: String) -> Result<OutboxItem, WsError> {
    let item = ws.confirm(&preview_id)?;
    // Deliver at once when online; the background loop retries otherwise.
    if ws.flush_outbox().await.is_ok() {
        let _ = ws.sync().await;
    }
    Ok(ws
        .outbox()?
        .into_iter()
        .find(|o| o.id == item.id)
        .unwrap_or(item))
}

#[tauri::command]
pub fn outbox(ws: Ws<'_>) -> Result<Vec<OutboxItem>, WsError> {
    ws.outbox()
}

#[tauri::command]
pub fn inbox(ws: Ws<'_>) -> Result<Vec<InboxEntry>, WsError> {
    ws.inbox()
}

#[tauri::command]
pub async fn set_nodes(ws: Ws<'_>, urls: Vec<String>) -> Result<SyncStatus, WsError> {
    ws.set_nodes(urls).await?;
    ws.status()
}

/// The known chains (demo and real), the active one, and whether first run
/// has yet to choose.
#[tauri::command]
pub fn chains(ws: Ws<'_>) -> Result<ChainsView, WsError> {
    ws.chains()
}

/// First run (or the switcher): the embedded demo chain.
#[tauri::command]
pub async fn use_demo(ws: Ws<'_>) -> Result<ChainsView, WsError> {
    ws.use_demo().await?;
    ws.chains()
}

/// Connects to a department's nodes: checks which chain they serve against
/// the chain id and genesis hash the administrator gave (optional), pins it
/// and makes it active with its own cache.
#[tauri::command]
pub async fn connect_nodes(
    ws: Ws<'_>,
    urls: Vec<String>,
    chain_id: Option<String>,
    genesis_hash: Option<String>,
) -> Result<NodeProbe, WsError> {
    let expect = match (chain_id, genesis_hash) {
        (None, None) => None,
        (c, g) => Some((c.unwrap_or_default(), g.unwrap_or_default())),
    };
    ws.connect_nodes(urls, expect, true).await
}

/// Switches to a known chain (`demo` or one connected before).
#[tauri::command]
pub async fn switch_chain(ws: Ws<'_>, id: String) -> Result<ChainsView, WsError> {
    ws.switch_chain(&id).await?;
    ws.chains()
}

/// Checks a node (`/healthz`), with the certificate pinned for it if any.
/// An HTTPS node whose certificate is not trusted answers
/// `network.untrusted_certificate` with the fingerprint in the message.
#[tauri::command]
pub async fn test_node(ws: Ws<'_>, url: String) -> Result<NodeProbe, WsError> {
    ws.test_node(&url).await
}

#[tauri::command]
pub fn acknowledge_alarm(ws: Ws<'_>, id: i64) -> Result<(), WsError> {
    ws.acknowledge_alarm(id)
}

#[tauri::command]
pub fn cases(ws: Ws<'_>, query: CaseQuery) -> Result<CasePage, WsError> {
    ws.case_page(&query)
}

#[tauri::command]
pub fn case_detail(ws: Ws<'_>, case_id: String) -> Result<CaseDetail, WsError> {
    ws.case_detail(&case_id)
}

#[tauri::command]
pub fn projects(ws: Ws<'_>) -> Result<Vec<ProjectSummary>, WsError> {
    ws.projects()
}

#[tauri::command]
pub fn project_detail(ws: Ws<'_>, project_id: String) -> Result<ProjectDetail, WsError> {
    ws.project_detail(&project_id)
}

#[tauri::command]
pub fn payroll_page(
    ws: Ws<'_>,
    project_id: String,
    payment_id: String,
    offset: u32,
    limit: u32,
) -> Result<PayrollPage, WsError> {
    ws.payroll_page(&project_id, &payment_id, offset, limit)
}

#[tauri::command]
pub fn explorer_blocks(
    ws: Ws<'_>,
    before: Option<u64>,
    limit: u64,
) -> Result<Vec<BlockSummary>, WsError> {
    ws.explorer_blocks(before, limit)
}

#[tauri::command]
pub fn block_detail(ws: Ws<'_>, height: u64) -> Result<BlockDetail, WsError> {
    ws.block_detail(height)
}

#[tauri::command]
pub fn tx_detail(ws: Ws<'_>, height: u64, index: u32) -> Result<TxDetail, WsError> {
    ws.tx_detail(height, index)
}

#[tauri::command]
pub async fn verify_inclusion(ws: Ws<'_>, height: u64, index: u32) -> Result<ProofReport, WsError> {
    ws.verify_inclusion(height, index).await
}

#[tauri::command]
pub fn access_log(
    ws: Ws<'_>,
    department: Option<String>,
    dataset: Option<String>,
    limit: u32,
) -> Result<Vec<AccessRow>, WsError> {
    ws.access_log(department.as_deref(), dataset.as_deref(), limit)
}

#[tauri::command]
pub fn fund_trace(ws: Ws<'_>, project_id: String) -> Result<Vec<FundFlow>, WsError> {
    ws.fund_trace(&project_id)
}

#[tauri::command]
pub fn search(ws: Ws<'_>, query: String) -> Result<Vec<SearchHit>, WsError> {
    ws.search(&query)
}

#[tauri::command]
pub fn graph(ws: Ws<'_>, focus: String) -> Result<Graph, WsError> {
    ws.graph(&focus)
}

#[tauri::command]
pub fn dashboard(ws: Ws<'_>) -> Result<Dashboard, WsError> {
    ws.dashboard()
}

#[tauri::command]
pub fn spending(ws: Ws<'_>, project_id: String) -> Result<Vec<SpendPoint>, WsError> {
    ws.spending(&project_id)
}

#[tauri::command]
pub fn checkpoints(ws: Ws<'_>) -> Result<Vec<CheckpointInfo>, WsError> {
    ws.checkpoints()
}

#[tauri::command]
pub async fn verify_consistency(
    ws: Ws<'_>,
    size1: u64,
    size2: Option<u64>,
) -> Result<ProofReport, WsError> {
    ws.verify_consistency(size1, size2).await
}

#[tauri::command]
pub fn verify_pasted(ws: Ws<'_>, note: String, proof: String) -> Result<ProofReport, WsError> {
    ws.verify_pasted(&note, &proof)
}

/// Writes a case's or project's PDF audit report into the user's download
/// folder (chosen here, never by the page) and says where.
#[tauri::command]
pub async fn save_report(
    app: tauri::AppHandle,
    ws: Ws<'_>,
    kind: String,
    id: String,
) -> Result<SavedReport, WsError> {
    let dir = std::env::var_os("GOVCHAIN_REPORT_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| app.path().download_dir().ok())
        .or_else(|| app.path().home_dir().ok().map(|h| h.join("Downloads")))
        .unwrap_or_else(|| ws.data_dir().join("reports"));
    ws.save_report(&kind, &id, &dir).await
}

/// Pins the accepted chain (id and genesis hash); empty values unpin.
#[tauri::command]
pub fn pin_chain(
    ws: Ws<'_>,
    chain_id: String,
    genesis_hash: String,
) -> Result<SyncStatus, WsError> {
    ws.pin_chain(&chain_id, &genesis_hash)?;
    ws.status()
}

/// Trusts exactly the TLS certificate with SHA-256 `fingerprint` for the
/// node at `url` (as shown by a `network.untrusted_certificate` or
/// `network.certificate_changed` error); an empty fingerprint unpins.
#[tauri::command]
pub fn pin_node_certificate(
    ws: Ws<'_>,
    url: String,
    fingerprint: String,
) -> Result<SyncStatus, WsError> {
    ws.pin_node_certificate(&url, &fingerprint)?;
    ws.status()
}

/// How many other departments must cosign a checkpoint before it is
/// accepted (0: none); applies from the next sync.
#[tauri::command]
pub fn set_witness_quorum(ws: Ws<'_>, quorum: u32) -> Result<SyncStatus, WsError> {
    ws.set_witness_quorum(quorum)?;
    ws.status()
}

/// What the active key may do on the verified chain (navigation follows it).
#[tauri::command(async)]
pub fn capabilities(ws: Ws<'_>) -> Result<Capabilities, WsError> {
    ws.capabilities()
}

/// Published workflow templates a case can be opened from.
#[tauri::command]
pub fn templates(ws: Ws<'_>) -> Result<Vec<TemplateOption>, WsError> {
    ws.templates()
}

/// Stores the chain's consortium identity key (64 hex) in the keychain.
#[tauri::command]
pub fn import_identity_key(ws: Ws<'_>, key: String) -> Result<Capabilities, WsError> {
    ws.import_identity_key(&key)
}

/// Starts receiving a document the official attached.
#[tauri::command]
pub fn document_begin(ws: Ws<'_>) -> Result<String, WsError> {
    ws.document_begin()
}

/// The next piece (base64) of a document being received.
#[tauri::command(async)]
pub fn document_chunk(ws: Ws<'_>, upload_id: String, data: String) -> Result<(), WsError> {
    ws.document_chunk(&upload_id, &data)
}

/// Completes a document: stored here under its SHA-256.
#[tauri::command(async)]
pub fn document_finish(
    ws: Ws<'_>,
    upload_id: String,
    name: String,
) -> Result<StoredDocument, WsError> {
    ws.document_finish(&upload_id, &name)
}

#[tauri::command]
pub fn document_cancel(ws: Ws<'_>, upload_id: String) -> Result<(), WsError> {
    ws.document_cancel(&upload_id)
}

/// Whether each document hash is in the local store and still matches.
#[tauri::command(async)]
pub fn check_documents(ws: Ws<'_>, hashes: Vec<String>) -> Result<Vec<DocumentCheck>, WsError> {
    ws.check_documents(&hashes)
}

/// The blacklist entries of the official's department.
#[tauri::command(async)]
pub fn blacklist_entries(ws: Ws<'_>) -> Result<Vec<BlacklistEntryView>, WsError> {
    ws.blacklist_entries()
}

/// A blacklist lookup: a signed read, recorded on the ledger.
#[tauri::command]
pub async fn blacklist_lookup(
    ws: Ws<'_>,
    subject: PersonRef,
    purpose: String,
) -> Result<BlacklistLookup, WsError> {
    ws.blacklist_lookup(subject, &purpose).await
}

/// Reads a payroll file (CSV or XLSX, base64) for a project: workers hashed
/// with its payroll key, every bad row reported by its row number.
#[tauri::command(async)]
pub fn import_payroll(
    ws: Ws<'_>,
    project_id: String,
    name: String,
    data: String,
) -> Result<PayrollImport, WsError> {
    ws.import_payroll(&project_id, &name, &data)
}

/// Stores a project's payroll key (64 hex, from its developer) in the keychain.
#[tauri::command]
pub fn import_payroll_key(ws: Ws<'_>, project_id: String, key: String) -> Result<String, WsError> {
    ws.import_payroll_key(&project_id, &key)
}

/// A project's payroll key as 64 hex, for its developer to hand to the other parties.
#[tauri::command]
pub fn export_payroll_key(ws: Ws<'_>, project_id: String) -> Result<String, WsError> {
    ws.export_payroll_key(&project_id)
}

/// The key id of a project's payroll key, if this computer holds it.
#[tauri::command]
pub fn payroll_key_id(ws: Ws<'_>, project_id: String) -> Result<Option<String>, WsError> {
    ws.payroll_key_id(&project_id)
}

/// Registered officials, to choose a new project's parties from.
#[tauri::command]
pub fn officials(ws: Ws<'_>) -> Result<Vec<OfficialRef>, WsError> {
    ws.officials()
}

/// The certificates the official's department issued or may verify.
#[tauri::command(async)]
pub fn certificates(ws: Ws<'_>) -> Result<Vec<CertificateView>, WsError> {
    ws.certificates()
}

/// A consent request (`consent.grant`) for the certificate's holder to sign
/// with their own signer.
#[tauri::command(async)]
pub fn consent_request(
    ws: Ws<'_>,
    cert_id: String,
    grantee: String,
    purpose: String,
    days: u32,
) -> Result<ConsentRequestView, WsError> {
    ws.consent_request(&cert_id, &grantee, &purpose, days)
}

/// A request for the holder to revoke a consent (`consent.revoke`).
#[tauri::command(async)]
pub fn revoke_request(ws: Ws<'_>, consent_id: String) -> Result<ConsentRequestView, WsError> {
    ws.revoke_request(&consent_id)
}

/// The citizen's signed answer (`GCA1:…`), checked and queued for delivery.
#[tauri::command(async)]
pub fn submit_consent(ws: Ws<'_>, answer: String) -> Result<OutboxItem, WsError> {
    ws.submit_consent(&answer)
}

/// The QR code text of a certificate issued here (chain, id, salt).
#[tauri::command(async)]
pub fn certificate_code(ws: Ws<'_>, cert_id: String) -> Result<String, WsError> {
    ws.certificate_code(&cert_id)
}

/// The PKCS#11 modules found here and, for `module`, its tokens and keys.
#[tauri::command(async)]
pub fn token_overview(ws: Ws<'_>, module: Option<String>) -> Result<TokenOverview, WsError> {
    ws.token_overview(module.as_deref())
}

/// Creates an Ed25519 key on a token. The PIN goes straight into
/// zeroizing memory and the token's login; it is never stored.
#[tauri::command]
pub async fn token_create_key(
    ws: Ws<'_>,
    module: String,
    token: String,
    pin: String,
    label: String,
) -> Result<KeyInfo, WsError> {
    ws.token_create_key(&module, &token, Zeroizing::new(pin), &label)
        .await
}

/// Adds an Ed25519 key already on a token (no PIN: its public half).
#[tauri::command]
pub async fn token_add_key(
    ws: Ws<'_>,
    module: String,
    token: String,
    key_id: String,
    label: String,
) -> Result<KeyInfo, WsError> {
    ws.token_add_key(&module, &token, &key_id, &label).await
}

/// Unlocks the active key's token with its PIN (zeroized, never stored).
#[tauri::command(async)]
pub fn token_unlock(ws: Ws<'_>, pin: String) -> Result<(), WsError> {
    let pin = Zeroizing::new(pin);
    ws.token_unlock(&pin)
}

/// Logs out of the token now.
#[tauri::command(async)]
pub fn token_lock(ws: Ws<'_>) -> Result<(), WsError> {
    ws.token_lock()
}

/// The administration screen: departments, officials and roles, pending
/// threshold actions, templates (from the verified chain).
#[tauri::command(async)]
pub fn admin_view(ws: Ws<'_>) -> Result<AdminView, WsError> {
    ws.admin_view()
}

/// What a registration request's text says, checked against the chain.
#[tauri::command]
pub fn check_registration(ws: Ws<'_>, text: String) -> Result<RegistrationCheck, WsError> {
    ws.check_registration(&text)
}

/// Imports a BPMN 2.0 document's text with the admin's group mapping.
#[tauri::command(async)]
pub fn import_bpmn(
    ws: Ws<'_>,
    xml: String,
    groups: Vec<BpmnGroup>,
    id: Option<String>,
) -> Result<BpmnImport, WsError> {
    ws.import_bpmn(&xml, &groups, id.as_deref())
}

/// A published template version as BPMN 2.0 text (the UI saves it).
#[tauri::command]
pub fn export_bpmn(ws: Ws<'_>, id: String, version: u32) -> Result<String, WsError> {
    ws.export_bpmn(&id, version)
}
