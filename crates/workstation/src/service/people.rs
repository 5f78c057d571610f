//! What the active official may do on the verified chain, the consortium
//! identity key in the keychain, templates a case opens from, and the
//! shared blacklist (entries, and lookups as signed reads, PROTOCOL.md §13).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use govchain_ledger::identity::IdentityKey;
use govchain_ledger::read::ReadRequest;
use govchain_ledger::state::entitlement::AUDITOR_ROLE;
use govchain_ledger::state::kinds::{DeptId, Role, Scope};
use govchain_ledger::state::sharing::{BlacklistEntry, BLACKLIST_ROLE, ISSUER_ROLE};
use govchain_ledger::state::State;
use govchain_ledger::types::Hash32;
use serde::Deserialize;

use crate::dto::{
    BlacklistEntryView, BlacklistLookup, Capabilities, Capability, LookupCheck, OutboxStatus,
    PersonRef, SignRequest, TemplateOption,
};
use crate::error::WsError;
use crate::signing;
use crate::views::official_ref;

use super::{now, principal_hex, Workstation};

/// The dataset a blacklist read is recorded under (PROTOCOL.md §13).
const BLACKLIST_DATASET: &str = "govchain/blacklist";

/// An entry as `GET /v1/blacklist/{subject}` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    subject: Hash32,
    department: DeptId,
    reason: Role,
    added_by: govchain_ledger::crypto::KeyId,
    added_at: u64,
}

impl From<&BlacklistEntry> for NodeEntry {
    fn from(e: &BlacklistEntry) -> Self {
        Self {
            subject: e.subject,
            department: e.department.clone(),
            reason: e.reason.clone(),
            added_by: e.added_by,
            added_at: e.added_at,
        }
    }
}

fn entry_view(s: &State, e: &NodeEntry) -> BlacklistEntryView {
    BlacklistEntryView {
        subject: e.subject.to_hex(),
        department: e.department.to_string(),
        department_name: s
            .departments
            .get(&e.department)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        reason: e.reason.to_string(),
        added_by: official_ref(s, &e.added_by),
        added_at: e.added_at,
    }
}

/// The active entries of `subject` in the verified state, in key order
/// (department, then reason), as a node lists them.
fn entries_of(s: &State, subject: &Hash32) -> Vec<NodeEntry> {
    let prefix = format!("{}/", subject.to_hex());
    s.blacklist
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, e)| NodeEntry::from(e))
        .collect()
}

/// What `official` may do in `s` at its time.
fn capabilities_in(s: &State, official: &govchain_ledger::crypto::KeyId) -> Vec<Capability> {
    let Some(o) = s.officials.get(official).filter(|o| o.revoked_at.is_none()) else {
        return Vec::new();
    };
    let time = s
        .time
        .unwrap_or(govchain_ledger::types::Timestamp::UNIX_EPOCH);
    let everywhere = Scope::try_from("*".to_owned()).ok();
    let holds = |role: &str| match (Role::try_from(role.to_owned()), &everywhere) {
        (Ok(r), Some(all)) => s.has_role(official, &o.department, &r, all, time),
        _ => false,
    };
    let admin = s.is_admin(official, &o.department, time);
    let auditor = s.grants_by_official.get(official).is_some_and(|ids| {
        ids.iter()
            .filter_map(|g| s.grants.get(g))
            .any(|g| g.role.as_str() == AUDITOR_ROLE && g.counts_at(time))
    });
    let mut may = vec![Capability::OpenCase, Capability::BlacklistLookup];
    if holds(BLACKLIST_ROLE) {
        may.push(Capability::BlacklistEdit);
    }
    // Any official verifies under a holder's consent (PROTOCOL §12.6).
    may.push(Capability::VerifyCertificates);
    if holds(ISSUER_ROLE) {
        may.push(Capability::IssueCertificates);
    }
    if auditor || admin {
        may.push(Capability::Audit);
    }
    if admin {
        may.push(Capability::Admin);
    }
    may
}

impl Workstation {
    /// The verified chain's id, or `sync.offline` before the first sync.
    pub(super) fn verified_chain_id(&self) -> Result<String, WsError> {
        self.lock()?
            .chain
            .as_ref()
            .and_then(|c| c.state.chain_id.as_ref().map(ToString::to_string))
            .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))
    }

    /// Whose keys the keychain entries are: the active chain's directory
    /// name (`<chain_id>-<genesis>` of a real chain, `demo` for the embedded
    /// demo), so a real chain never uses the demo's keys, whatever its id.
    pub(super) fn key_scope(&self) -> Result<String, WsError> {
        self.lock()?
            .active
            .clone()
            .ok_or_else(|| WsError::Offline("no chain chosen yet".into()))
    }

    /// The consortium identity key of the active chain from the keychain;
    /// `identity_key.none` (with what to do) if this computer has none.
    pub(super) fn consortium_identity_key(&self) -> Result<IdentityKey, WsError> {
        let scope = self.key_scope()?;
        let key = self.keychain.identity_key(&scope)?;
        self.remember_identity_key(&scope, key.as_ref());
        key.ok_or(WsError::NoIdentityKey(scope))
    }

    /// Stores the active chain's consortium identity key (64 hex digits,
    /// from the department's admin) in the keychain.
    pub fn import_identity_key(&self, hex: &str) -> Result<Capabilities, WsError> {
        let key = IdentityKey::from_hex(hex)?;
        let scope = self.key_scope()?;
        self.keychain.store_identity_key(&scope, &key)?;
        self.remember_identity_key(&scope, Some(&key));
        self.capabilities()
    }

    /// Keeps the key id of `scope`'s identity key, so that showing it does
    /// not ask the keychain on every block.
    pub(super) fn remember_identity_key(&self, scope: &str, key: Option<&IdentityKey>) {
        if let Ok(mut known) = self.known_identity_key.lock() {
            *known = Some((scope.to_owned(), key.map(IdentityKey::key_id)));
        }
    }

    /// The key id of the active chain's identity key: remembered, else
    /// read once from the keychain (one that does not answer shows as none;
    /// the action that needs the key reports the keychain's own error).
    fn identity_key_id(&self) -> Option<String> {
        let scope = self.key_scope().ok()?;
        if let Some((s, id)) = self.known_identity_key.lock().ok()?.as_ref() {
            if *s == scope {
                return id.clone();
            }
        }
        let key = self.keychain.identity_key(&scope).ok()?;
        self.remember_identity_key(&scope, key.as_ref());
        key.map(|k| k.key_id())
    }

    /// What the active key may do on the verified chain now.
    pub fn capabilities(&self) -> Result<Capabilities, WsError> {
        let signer = self.active_key_id()?;
        let (may, department) = {
            let inner = self.lock()?;
            match (inner.chain.as_ref(), signer) {
                (Some(c), Some(k)) => {
                    let official = c.state.key_index.get(&k).copied();
                    (
                        official.map_or_else(Vec::new, |o| capabilities_in(&c.state, &o)),
                        official
                            .and_then(|o| c.state.officials.get(&o))
                            .map(|o| o.department.to_string()),
                    )
                }
                _ => (Vec::new(), None),
            }
        };
        Ok(Capabilities {
            may,
            department,
            identity_key: self.identity_key_id(),
        })
    }

    /// Every published template version, newest version of each first.
    pub fn templates(&self) -> Result<Vec<TemplateOption>, WsError> {
        let inner = self.lock()?;
        let Some(c) = inner.chain.as_ref() else {
            return Ok(Vec::new());
        };
        let mut out: Vec<TemplateOption> = c
            .state
            .templates
            .values()
            .map(|t| TemplateOption {
                id: t.id.to_string(),
                version: t.version,
                name: t.name.clone(),
                stages: t.stages.iter().map(|s| s.name.clone()).collect(),
                latest: false,
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id).then(b.version.cmp(&a.version)));
        let mut last: Option<String> = None;
        for t in &mut out {
            t.latest = last.as_deref() != Some(t.id.as_str());
            last = Some(t.id.clone());
        }
        Ok(out)
    }

    /// The active entries the official's department added (from the
    /// verified chain).
    pub fn blacklist_entries(&self) -> Result<Vec<BlacklistEntryView>, WsError> {
        let signer = self.active_key_id()?;
        let inner = self.lock()?;
        let Some(c) = inner.chain.as_ref() else {
            return Ok(Vec::new());
        };
        let home = signer
            .and_then(|k| c.state.key_index.get(&k))
            .and_then(|o| c.state.officials.get(o));
        let Some(d) = home.map(|o| o.department.to_string()) else {
            return Ok(Vec::new());
        };
        Ok(c.state
            .blacklist
            .values()
            .filter(|e| e.department.as_str() == d)
            .map(|e| entry_view(&c.state, &NodeEntry::from(e)))
            .collect())
    }

    /// Looks `subject` up on the shared blacklist: a signed read whose
    /// `access.record` (signed here, for `purpose`) the node commits, so the
    /// lookup is on the ledger. The node's answer is then compared with the
    /// verified chain after a sync.
    pub async fn blacklist_lookup(
        &self,
        subject: PersonRef,
        purpose: &str,
    ) -> Result<BlacklistLookup, WsError> {
        if purpose.trim().is_empty() {
            return Err(WsError::BadRequest(
                "say why you look this person up: the purpose is recorded on the ledger with the read".into(),
            ));
        }
        let mut subject = subject;
        let hash = signing::resolve_person(&mut subject, || self.consortium_identity_key())?;
        self.nothing_waiting_to_send().await?;
        let draft = self.draft(&SignRequest::RecordAccess {
            dataset: BLACKLIST_DATASET.into(),
            operation: "read".into(),
            subject: Some(hash.to_hex()),
            purpose: purpose.trim().to_owned(),
        })?;
        if let Some(r) = draft.would_reject {
            return Err(WsError::WouldReject(r));
        }
        let client = self.client()?;
        let chain = draft.body.chain_id.clone();
        let env = self.sign_envelope(draft.body)?;
        let record = B64URL
            .encode(serde_json::to_vec(&env).map_err(|e| WsError::BadRequest(e.to_string()))?);
        let created = now().unix_millis() / 1000;
        let key_id = env.body.signer;
        // In the outbox before it is sent: its sequence number is taken
        // even if the answer is lost (a sync then finds it committed).
        let access_tx = self.queue_signed(&env, OutboxStatus::Submitted)?;
        let path = format!("/v1/blacklist/{}", hash.to_hex());
        let answer = client
            .signed_get(&path, &record, |authority| {
                let read = ReadRequest {
                    method: "GET".into(),
                    authority: authority.to_owned(),
                    path: path.clone(),
                    query: "?".into(),
                    access_record: record.clone(),
                    created,
                    key_id,
                };
                let sig = self.sign_message(&key_id, &read.signed_message(&chain)?)?;
                Ok(read.headers(&sig))
            })
            .await;
        let body = match answer {
            Ok(body) => body,
            Err(e) => {
                let (code, message) = match &e {
                    WsError::Node { code, message, .. } => (code.clone(), message.clone()),
                    other => (
                        "read.unanswered".to_owned(),
                        format!("no answer ({other}); if a node recorded the read, a sync shows it committed"),
                    ),
                };
                self.lock()?.cache.set_status(
                    &access_tx.id,
                    OutboxStatus::Rejected,
                    Some(&code),
                    Some(&message),
                    None,
                    &now().to_string(),
                )?;
                return Err(e);
            }
        };
        let answer: Vec<NodeEntry> = serde_json::from_slice(&body)
            .map_err(|e| WsError::verification("blacklist.shape", e.to_string()))?;
        // The answer is the node's word; the verified chain is ours.
        let synced = self.sync().await.is_ok();
        let inner = self.lock()?;
        let c = inner.verified()?;
        let mine = entries_of(&c.state, &hash);
        let height = c.state.next_height.saturating_sub(1);
        let check = match (synced, mine == answer) {
            (false, _) => LookupCheck::Unchecked,
            (true, true) => LookupCheck::Matches,
            (true, false) => {
                inner.cache.raise_alarm(
                    &now().to_string(),
                    "blacklist.differs",
                    client.current().unwrap_or("?"),
                    &format!(
                        "the node listed {} entries for a subject the chain verified here (height {height}) lists {} for",
                        answer.len(),
                        mine.len()
                    ),
                )?;
                LookupCheck::Differs
            }
        };
        Ok(BlacklistLookup {
            subject: hash.to_hex(),
            check,
            entries: answer.iter().map(|e| entry_view(&c.state, e)).collect(),
            access_tx: access_tx.id,
            height,
        })
    }

    /// Refuses while this official's signed transactions wait in the
    /// outbox: a signed read takes the next sequence number and, reaching a
    /// node first, would make the node refuse them as replays.
    async fn nothing_waiting_to_send(&self) -> Result<(), WsError> {
        let _ = self.flush_outbox().await;
        let signer = self.active_key_id()?.ok_or(WsError::NoKey)?;
        let inner = self.lock()?;
        let me = inner
            .chain
            .as_ref()
            .map_or_else(|| signer.to_hex(), |c| principal_hex(c, &signer));
        let waiting = inner
            .cache
            .unsettled()?
            .iter()
            .filter(|r| r.signer == me && r.status == OutboxStatus::Queued)
            .count();
        if waiting > 0 {
            return Err(WsError::BadRequest(format!(
                "{waiting} of your signed transactions are still waiting to be sent; a lookup would \
                 overtake them. Let them be delivered (check the connection), then look up again"
            )));
        }
        Ok(())
    }
}
