//! The ledger's state machine: the rules every node and every workstation
//! apply, deterministically, to reach the same state and state root.
//!
//! Owns the [`State`] (departments, officials and keys, role grants, pending
//! admin approvals, workflow templates and cases, projects and payments,
//! certificates, consents, the blacklist and the access log),
//! [`State::apply_block`] / [`State::apply_tx`] and the [`Rejection`] codes.
//! Collections are persistent maps (`imbl`), so cloning a state to apply a
//! block atomically costs O(1), and iteration order is by key everywhere.

mod cases;
mod commitment;
mod consortium;
pub mod entitlement;
pub mod fixtures;
pub mod funds;
mod ids;
pub mod kinds;
pub mod payroll;
mod rejection;
pub mod sharing;
mod stored;
mod tracked;
pub mod views;
pub mod workflow;

use imbl::{OrdMap, OrdSet, Vector};
use serde::{Deserialize, Serialize};

use crate::block::Block;
use crate::crypto::{BatchItem, KeyId, PublicKey};
use crate::jcs;
use crate::tx::{Envelope, TxDigests};
use crate::types::{ChainId, Hash32, Timestamp};
pub use cases::{CaseSource, Cases, StoredCase};
pub use commitment::{BadEntryKey, EntryError, EntryKey};
pub use kinds::Action;
pub use rejection::Rejection;
pub use stored::{StateLoader, StoredStateError};
pub use tracked::{Changes, Tracked};

use kinds::{DeptId, Role, Scope};

/// One department of the consortium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: DeptId,
    pub name: String,
    pub parent: Option<DeptId>,
    pub node_key: PublicKey,
    pub admin_threshold: u32,
    /// The height from which the department runs no node
    /// (`department.retire_node`): its node key proposes no block and signs
    /// or cosigns no checkpoint that counts. Absent from the state's JSON
    /// while the node is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_retired_at: Option<u64>,
}

impl Department {
    /// Whether the department's node key still proposes and signs.
    pub fn node_active(&self) -> bool {
        self.node_retired_at.is_none()
    }
}

/// A key of an official and the heights it signs for: `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEpoch {
    pub key: PublicKey,
    pub from_height: u64,
    pub until_height: Option<u64>,
}

/// A registered official. Identified by the key id of their first key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Official {
    pub id: KeyId,
    pub name: String,
    pub department: DeptId,
    pub keys: Vec<KeyEpoch>,
    pub revoked_at: Option<u64>,
    pub registered_at: u64,
}

/// A role granted to an official in a department for a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: Hash32,
    pub official: KeyId,
    pub department: DeptId,
    pub role: Role,
    pub scope: Scope,
    pub granted_at: u64,
    pub expires_at: Option<Timestamp>,
    /// A grant made in advance counts from this time on. Absent from the
    /// entry's JSON when the grant counts at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
}

impl Grant {
    /// Whether the grant counts at `time`: from `valid_from` (if any) up
    /// to, not including, `expires_at` (if any).
    pub fn counts_at(&self, time: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| time >= f) && self.expires_at.is_none_or(|t| time < t)
    }
}

/// An admin action waiting for more admins' signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kind: String,
    /// Departments whose admins count, and how many distinct approvals are needed.
    pub approvals: OrdSet<KeyId>,
    pub needed: usize,
    pub first_height: u64,
}

/// The whole ledger state after some block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub chain_id: Option<ChainId>,
    pub origin: Option<String>,
    pub consortium_threshold: u32,
    /// Height of the next block to apply.
    pub next_height: u64,
    /// Time of the last applied block.
    pub time: Option<Timestamp>,
    pub departments: Tracked<DeptId, Department>,
    pub officials: Tracked<KeyId, Official>,
    /// Every key id ever registered → the official it belongs to.
    pub key_index: Tracked<KeyId, KeyId>,
    /// Last committed `seq` per official.
    pub seqs: Tracked<KeyId, u64>,
    pub grants: Tracked<Hash32, Grant>,
    /// Index of `grants` by official (kept in step by `add_grant`/`remove_grant`).
    pub grants_by_official: OrdMap<KeyId, OrdSet<Hash32>>,
    /// Pending multi-admin actions, by action digest.
    pub proposals: Tracked<Hash32, Proposal>,
    pub templates: Tracked<String, workflow::Template>,
    /// Every case, or (a node's state) the recently changed ones with the
    /// rest read from its store: see [`Cases`].
    pub cases: Cases,
    pub projects: Tracked<kinds::RefId, funds::Project>,
    /// Citizens' keys named in certificates (they sign consents only).
    pub holders: Tracked<KeyId, PublicKey>,
    pub certificates: Tracked<kinds::RefId, sharing::Certificate>,
    pub consents: Tracked<kinds::RefId, sharing::Consent>,
    /// Active blacklist entries by `subject/department/reason`.
    pub blacklist: Tracked<String, sharing::BlacklistEntry>,
    /// Every recorded access to sensitive data, in ledger order. Committed to
    /// through `access_log_head` rather than re-serialized into every digest.
    /// Records are shared (`Arc`): a copy-on-write of the log's tail chunk
    /// then copies pointers, not records.
    pub access_log: Vector<std::sync::Arc<sharing::AccessRecord>>,
    /// Hash chain over the access log: `head' = SHA-256(head || JCS(record))`,
    /// starting from 32 zero bytes.
    pub access_log_head: Hash32,
    /// Committed transaction count (log size).
    pub tx_count: u64,
    /// Payments changed since the last commit (a payment is its own state
    /// entry, inside its project's map).
    pub(crate) payment_changes: Changes<(kinds::RefId, kinds::RefId)>,
    /// The state tree as of the last [`State::commit`] (PROTOCOL.md §12.7).
    tree: commitment::CommittedTree,
    /// The entries the last commit wrote.
    last_commit: commitment::LastCommit,
}

/// Whether [`State::apply_block`] checks transaction signatures (a node that
/// checked them on admission may skip; a syncing client never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigCheck {
    Verify,
    Skip,
}

/// Everything a rule may know about the transaction being applied.
#[derive(Debug, Clone)]
pub(crate) struct Ctx<'a> {
    pub height: u64,
    pub time: Timestamp,
    pub tx_id: Hash32,
    pub kind: &'a str,
    /// SHA-256 of `JCS({"kind", "payload"})`: identifies an admin action so
    /// that several admins signing the same action count toward its threshold.
    pub action_digest: Hash32,
    /// The signing official (None for genesis and citizens' transactions).
    pub official: Option<KeyId>,
    /// The signing citizen's key id, for `consent.*`.
    pub citizen: Option<KeyId>,
}

impl State {
    pub fn new() -> Self {
        Self::default()
    }

    /// The state root (PROTOCOL.md §12.7) with every pending change
    /// committed, computed on a copy: O(pending changes × log n). A state
    /// returned by [`State::apply_block`] has none pending.
    pub fn digest(&self) -> Result<Hash32, jcs::JcsError> {
        self.clone().commit()
    }

    /// The official a key id signs for, and the public key, if the key is
    /// valid at `height`.
    pub fn signer(&self, key_id: &KeyId, height: u64) -> Result<(KeyId, PublicKey), Rejection> {
        let official_id = self.key_index.get(key_id).ok_or(Rejection::UnknownSigner)?;
        let official = self
            .officials
            .get(official_id)
            .ok_or(Rejection::UnknownSigner)?;
        if let Some(h) = official.revoked_at {
            if height >= h {
                return Err(Rejection::KeyRevoked(h));
            }
        }
        let epoch = official
            .keys
            .iter()
            .find(|e| e.key.key_id() == *key_id)
            .ok_or(Rejection::UnknownSigner)?;
        if height < epoch.from_height {
            return Err(Rejection::UnknownSigner);
        }
        if let Some(until) = epoch.until_height {
            if height >= until {
                return Err(Rejection::KeyRotated(until));
            }
        }
        Ok((*official_id, epoch.key))
    }

    /// The public key a key id signs with at `height`: an official's valid
    /// key, or a certificate holder's key.
    pub fn key_for(&self, key_id: &KeyId, height: u64) -> Result<PublicKey, Rejection> {
        match self.signer(key_id, height) {
            Ok((_, key)) => Ok(key),
            Err(Rejection::UnknownSigner) => self
                .holders
                .get(key_id)
                .copied()
                .ok_or(Rejection::UnknownSigner),
            Err(e) => Err(e),
        }
    }

    /// Whether `official` holds `role` in `department` covering `scope` at `time`.
    pub fn has_role(
        &self,
        official: &KeyId,
        department: &DeptId,
        role: &Role,
        scope: &Scope,
        time: Timestamp,
    ) -> bool {
        let Some(ids) = self.grants_by_official.get(official) else {
            return false;
        };
        ids.iter().filter_map(|id| self.grants.get(id)).any(|g| {
            g.official == *official
                && g.department == *department
                && g.role == *role
                && g.scope.covers(scope)
                && g.counts_at(time)
        })
    }

    /// The signing official and their home department.
    pub(crate) fn signer_home(&self, ctx: &Ctx<'_>) -> Result<(KeyId, DeptId), Rejection> {
        let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
        let dept = self
            .officials
            .get(&official)
            .map(|o| o.department.clone())
            .ok_or(Rejection::UnknownSigner)?;
        Ok((official, dept))
    }

    /// The signing official, who must be an admin of their home department.
    pub(crate) fn signer_home_admin(&self, ctx: &Ctx<'_>) -> Result<(KeyId, DeptId), Rejection> {
        let (official, dept) = self.signer_home(ctx)?;
        if !self.is_admin(&official, &dept, ctx.time) {
            return Err(Rejection::NotAdmin(dept.to_string()));
        }
        Ok((official, dept))
    }

    pub(crate) fn add_grant(&mut self, g: Grant) {
        self.grants_by_official
            .entry(g.official)
            .or_default()
            .insert(g.id);
        self.grants.insert(g.id, g);
    }

    pub(crate) fn remove_grant(&mut self, id: &Hash32) -> Option<Grant> {
        let g = self.grants.remove(id)?;
        if let Some(set) = self.grants_by_official.get_mut(&g.official) {
            set.remove(id);
            if set.is_empty() {
                self.grants_by_official.remove(&g.official);
            }
        }
        Some(g)
    }

    pub fn is_admin(&self, official: &KeyId, department: &DeptId, time: Timestamp) -> bool {
        self.has_role(official, department, &admin_role(), &star(), time)
    }

    /// Applies one block atomically: all of its transactions or none. The
    /// returned state has `next_height` advanced and `time` set to the block's.
    pub fn apply_block(&self, block: &Block, sigs: SigCheck) -> Result<State, (usize, Rejection)> {
        self.apply_block_digests(block, sigs).map(|(next, _)| next)
    }

    /// [`State::apply_block`], also returning each transaction's digests
    /// (ids, signed messages, leaf hashes), computed once.
    pub fn apply_block_digests(
        &self,
        block: &Block,
        sigs: SigCheck,
    ) -> Result<(State, Vec<TxDigests>), (usize, Rejection)> {
        let digests = block
            .txs
            .iter()
            .enumerate()
            .map(|(i, env)| {
                env.digests()
                    .map_err(|e| (i, bad_payload(&env.body.kind, &e.to_string())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let verified = if sigs == SigCheck::Verify {
            let keys = self.block_keys(block);
            let items = signature_batch(block, &digests, &keys);
            let batch: Vec<BatchItem<'_>> = items.iter().map(|(_, b)| *b).collect();
            crate::crypto::verify_batch(&batch).map_err(|e| match e {
                crate::crypto::CryptoError::BatchBadSignature { index } => {
                    (items[index].0, Rejection::BadSignature)
                }
                _ => (items.first().map_or(0, |x| x.0), Rejection::BadSignature),
            })?;
            keys.iter().map(Option::is_some).collect()
        } else {
            vec![true; block.txs.len()]
        };
        let next = self.apply_block_prepared(block, &digests, &verified)?;
        Ok((next, digests))
    }

    /// The node key with key id `id` among the departments' (block
    /// proposers and checkpoint signers).
    pub fn node_key(&self, id: &KeyId) -> Option<PublicKey> {
        self.departments
            .values()
            .find(|d| d.node_active() && d.node_key.key_id() == *id)
            .map(|d| d.node_key)
    }

    /// The key each transaction of `block` must be signed with, from this
    /// (pre-block) state; `None` for signers the block itself registers
    /// (their signatures are checked one by one as the block applies).
    pub fn block_keys(&self, block: &Block) -> Vec<Option<PublicKey>> {
        let height = block.header.height;
        block
            .txs
            .iter()
            .map(|env| self.key_for(&env.body.signer, height).ok())
            .collect()
    }

    /// Applies `block` given each transaction's digests (`digests[i]` from
    /// [`Envelope::digests`] of `block.txs[i]`) and which signatures the
    /// caller verified (`verified[i]`: checked against
    /// [`State::block_keys`]`[i]`, in any batches or threads it likes). The
    /// other transactions' signatures are checked one by one here.
    pub fn apply_block_prepared(
        &self,
        block: &Block,
        digests: &[TxDigests],
        verified: &[bool],
    ) -> Result<State, (usize, Rejection)> {
        let n = block.txs.len();
        if digests.len() != n || verified.len() != n {
            return Err((
                0,
                bad_payload("block", "digests and checks must match the transactions"),
            ));
        }
        let mut next = self.clone();
        let h = &block.header;
        for (i, env) in block.txs.iter().enumerate() {
            let r = if verified[i] {
                next.apply_tx_at(env, Some(digests[i].id), h.height, h.time)
            } else {
                // Signed by a key this block registers: check it one by one
                // now that the key is known.
                next.apply_tx(env, h.height, h.time)
            };
            r.map_err(|r| (i, r))?;
        }
        next.next_height = h.height + 1;
        next.time = Some(h.time);
        next.commit()
            .map_err(|e| (n.saturating_sub(1), bad_payload("block", &e.to_string())))?;
        Ok(next)
    }

    /// Applies one transaction at `height`/`time` (the block's), verifying its
    /// signature. On error the state is unchanged.
    pub fn apply_tx(
        &mut self,
        env: &Envelope,
        height: u64,
        time: Timestamp,
    ) -> Result<(), Rejection> {
        if let Ok(key) = self.key_for(&env.body.signer, height) {
            env.verify(&key).map_err(|_| Rejection::BadSignature)?;
        }
        self.apply_tx_at(env, None, height, time)
    }

    /// Applies a transaction whose signature the caller has already verified
    /// against this state's keys (a node's admitted mempool); `id` must be
    /// `env.id()`, computed once by the caller. On error the state is unchanged.
    pub fn apply_admitted(
        &mut self,
        env: &Envelope,
        id: Hash32,
        height: u64,
        time: Timestamp,
    ) -> Result<(), Rejection> {
        self.apply_tx_at(env, Some(id), height, time)
    }

    /// Checks a transaction against the current state without changing it
    /// (mempool admission): as if it were applied in the next block at `time`.
    pub fn check_tx(&self, env: &Envelope, time: Timestamp) -> Result<(), Rejection> {
        let mut scratch = self.clone();
        scratch.apply_tx(env, self.next_height, time)
    }

    /// Like [`State::check_tx`] for a transaction whose signature the caller
    /// already verified (for example in a batch) with [`State::key_for`].
    /// `id` must be `env.id()`.
    pub fn check_admitted(
        &self,
        env: &Envelope,
        id: Hash32,
        time: Timestamp,
    ) -> Result<(), Rejection> {
        let mut scratch = self.clone();
        scratch.apply_tx_at(env, Some(id), self.next_height, time)
    }

    fn apply_tx_at(
        &mut self,
        env: &Envelope,
        known_id: Option<Hash32>,
        height: u64,
        time: Timestamp,
    ) -> Result<(), Rejection> {
        let body = &env.body;
        let action = Action::parse(&body.kind, &body.payload)?;
        let tx_id = match known_id {
            Some(id) => id,
            None => env
                .id()
                .map_err(|e| bad_payload(&body.kind, &e.to_string()))?,
        };
        if let Action::Genesis(g) = &action {
            return consortium::genesis(self, env, g, height, tx_id);
        }
        let chain = self.chain_id.clone().ok_or(Rejection::NoGenesis)?;
        if body.chain_id != chain {
            return Err(Rejection::WrongChain {
                expected: chain.to_string(),
                found: body.chain_id.to_string(),
            });
        }
        // Citizens sign consents with the key named in their certificate;
        // everything else is signed by a registered official.
        let by_citizen = matches!(action, Action::GrantConsent(_) | Action::RevokeConsent(_));
        let principal = if by_citizen {
            if !self.holders.contains_key(&body.signer) {
                return Err(Rejection::NotHolder);
            }
            body.signer
        } else {
            self.signer(&body.signer, height)?.0
        };
        let last = self.seqs.get(&principal).copied().unwrap_or(0);
        if body.seq <= last {
            return Err(Rejection::Replayed {
                seq: body.seq,
                last,
            });
        }
        let action_digest = action_digest(&body.kind, &body.payload)
            .map_err(|e| bad_payload(&body.kind, &e.to_string()))?;
        let ctx = Ctx {
            height,
            time,
            tx_id,
            kind: &body.kind,
            action_digest,
            official: (!by_citizen).then_some(principal),
            citizen: by_citizen.then_some(principal),
        };
        // Rules validate fully before they mutate, so an error leaves the
        // state as it was; only then is the sequence number consumed.
        match &action {
            Action::Genesis(_) => {} // applied above
            Action::AddDepartment(d) => consortium::add_department(self, &ctx, d)?,
            Action::RetireNode(r) => consortium::retire_node(self, &ctx, r)?,
            Action::RegisterOfficial(r) => consortium::register_official(self, &ctx, r)?,
            Action::RevokeOfficial(r) => consortium::revoke_official(self, &ctx, r)?,
            Action::RotateKey(r) => consortium::rotate_key(self, &ctx, r)?,
            Action::GrantRole(g) => consortium::grant_role(self, &ctx, g)?,
            Action::RevokeRole(r) => consortium::revoke_role(self, &ctx, r)?,
            Action::DefineWorkflow(w) => workflow::define(self, &ctx, w)?,
            Action::OpenCase(o) => workflow::open(self, &ctx, o)?,
            Action::SignStep(s) => workflow::sign_step(self, &ctx, s)?,
            Action::WithdrawCase(w) => workflow::withdraw(self, &ctx, w)?,
            Action::CreateProject(p) => funds::create_project(self, &ctx, p)?,
            Action::RequestPayment(p) => funds::request(self, &ctx, p)?,
            Action::PayrollChunk(c) => funds::payroll_chunk(self, &ctx, c)?,
            Action::ConfirmPayment(r) => funds::confirm(self, &ctx, r)?,
            Action::ApprovePayment(r) => funds::approve(self, &ctx, r)?,
            Action::ExecutePayment(e) => funds::execute(self, &ctx, e)?,
            Action::IssueCertificate(c) => sharing::issue(self, &ctx, c)?,
            Action::GrantConsent(g) => sharing::grant_consent(self, &ctx, g)?,
            Action::RevokeConsent(r) => sharing::revoke_consent(self, &ctx, r)?,
            Action::VerifyCertificate(v) => sharing::verify(self, &ctx, v)?,
            Action::BlacklistAdd(b) => sharing::blacklist_add(self, &ctx, b)?,
            Action::BlacklistRemove(b) => sharing::blacklist_remove(self, &ctx, b)?,
            Action::RecordAccess(r) => sharing::record_access(self, &ctx, r)?,
        }
        self.seqs.insert(principal, body.seq);
        self.tx_count += 1;
        Ok(())
    }
}

/// The digest that identifies an admin action (PROTOCOL.md §12.4):
/// SHA-256 of `JCS({"kind", "payload"})`, written without copying the
/// payload. Admins signing the same action count toward one proposal.
pub fn action_digest(kind: &str, payload: &serde_json::Value) -> Result<Hash32, jcs::JcsError> {
    let mut digested = Vec::with_capacity(128);
    digested.extend_from_slice(b"{\"kind\":");
    jcs::write_canonical_str(&mut digested, kind);
    digested.extend_from_slice(b",\"payload\":");
    jcs::write_canonical(&mut digested, payload)?;
    digested.push(b'}');
    Ok(Hash32::sha256(&digested))
}

/// The batch items of `block`'s signatures whose keys are known
/// (`keys` from [`State::block_keys`], `digests[i]` of `block.txs[i]`), each
/// with its transaction's index.
pub fn signature_batch<'a>(
    block: &'a Block,
    digests: &'a [TxDigests],
    keys: &'a [Option<PublicKey>],
) -> Vec<(usize, BatchItem<'a>)> {
    keys.iter()
        .zip(digests.iter().zip(&block.txs))
        .enumerate()
        .filter_map(|(i, (k, (d, tx)))| {
            k.as_ref().map(|key| {
                (
                    i,
                    BatchItem {
                        key,
                        msg: &d.msg,
                        sig: &tx.sig,
                    },
                )
            })
        })
        .collect()
}

pub(crate) fn bad_payload(kind: &str, detail: &str) -> Rejection {
    Rejection::BadPayload {
        kind: kind.to_owned(),
        detail: detail.to_owned(),
    }
}

pub(crate) fn admin_role() -> Role {
    Role::from_static("admin")
}

pub(crate) fn star() -> Scope {
    Scope::from_static("*")
}
