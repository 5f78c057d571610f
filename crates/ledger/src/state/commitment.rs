//! The state commitment (PROTOCOL.md §12.7): the ledger state as a map from
//! entry keys (`case/RC-1`, `official/<key id>`, …) to the canonical JSON of
//! each object, committed to by the root of a sparse Merkle tree
//! ([`crate::smt`]). [`State::commit`] re-hashes only the entries changed
//! since the last commit, so a block costs O(changed × log n), whatever the
//! age of the chain.
//!
//! Owns the entry keys ([`EntryKey`]), each entry's value encoding, the
//! incremental commit, the rebuild from scratch that checks it, and proofs.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::kinds::{DeptId, RefId};
use super::State;
use crate::crypto::KeyId;
use crate::jcs::{self, JcsError};
use crate::smt::{self, StateProof, StateTree};
use crate::types::Hash32;
use crate::ErrorCode;

/// The key of one state entry. Its string form (`Display`/`FromStr`) is the
/// key the tree hashes: `<collection>/<id>`, or `meta`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKey {
    /// Chain-wide values: chain id, origin, thresholds, heights, counters.
    Meta,
    Department(DeptId),
    Official(KeyId),
    /// Every key id ever registered (officials' keys, pending rotations
    /// included) → the official it belongs to: a registered key is never
    /// registered again.
    Key(KeyId),
    /// The last committed `seq` of a signer (official or citizen).
    Seq(KeyId),
    Grant(Hash32),
    Proposal(Hash32),
    /// `<template id>@<version>`.
    Template(String),
    Case(RefId),
    Project(RefId),
    Payment(RefId, RefId),
    Holder(KeyId),
    Certificate(RefId),
    Consent(RefId),
    /// `<subject>/<department>/<reason>`.
    Blacklist(String),
}

/// A string that is not an entry key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a state entry key (expected meta or <collection>/<id>, PROTOCOL.md §12.7)")]
pub struct BadEntryKey(pub String);

impl ErrorCode for BadEntryKey {
    fn code(&self) -> &'static str {
        "state.bad_key"
    }
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKey::Meta => f.write_str("meta"),
            EntryKey::Department(d) => write!(f, "department/{d}"),
            EntryKey::Official(k) => write!(f, "official/{k}"),
            EntryKey::Key(k) => write!(f, "key/{k}"),
            EntryKey::Seq(k) => write!(f, "seq/{k}"),
            EntryKey::Grant(h) => write!(f, "grant/{h}"),
            EntryKey::Proposal(h) => write!(f, "proposal/{h}"),
            EntryKey::Template(t) => write!(f, "template/{t}"),
            EntryKey::Case(c) => write!(f, "case/{c}"),
            EntryKey::Project(p) => write!(f, "project/{p}"),
            EntryKey::Payment(p, q) => write!(f, "payment/{p}/{q}"),
            EntryKey::Holder(k) => write!(f, "holder/{k}"),
            EntryKey::Certificate(c) => write!(f, "certificate/{c}"),
            EntryKey::Consent(c) => write!(f, "consent/{c}"),
            EntryKey::Blacklist(b) => write!(f, "blacklist/{b}"),
        }
    }
}

impl FromStr for EntryKey {
    type Err = BadEntryKey;
    /// Parses a key in its one canonical spelling (the one `Display`
    /// writes and the tree hashes); any other spelling is refused.
    fn from_str(s: &str) -> Result<Self, BadEntryKey> {
        let key = parse_key(s)?;
        if key.to_string() != s {
            return Err(BadEntryKey(s.to_owned()));
        }
        Ok(key)
    }
}

fn parse_key(s: &str) -> Result<EntryKey, BadEntryKey> {
    let bad = || BadEntryKey(s.to_owned());
    if s == "meta" {
        return Ok(EntryKey::Meta);
    }
    let (collection, id) = s.split_once('/').ok_or_else(bad)?;
    let key_id = || KeyId::from_hex(id).map_err(|_| bad());
    let hash = || Hash32::from_hex(id).map_err(|_| bad());
    let ref_id = |x: &str| RefId::try_from(x.to_owned()).map_err(|_| bad());
    Ok(match collection {
        "department" => EntryKey::Department(DeptId::try_from(id.to_owned()).map_err(|_| bad())?),
        "official" => EntryKey::Official(key_id()?),
        "key" => EntryKey::Key(key_id()?),
        "seq" => EntryKey::Seq(key_id()?),
        "grant" => EntryKey::Grant(hash()?),
        "proposal" => EntryKey::Proposal(hash()?),
        "template" => {
            let (t, v) = id.split_once('@').ok_or_else(bad)?;
            let version: u32 = v.parse().map_err(|_| bad())?;
            if version.to_string() != v {
                return Err(bad());
            }
            EntryKey::Template(super::workflow::Template::key(&ref_id(t)?, version))
        }
        "case" => EntryKey::Case(ref_id(id)?),
        "project" => EntryKey::Project(ref_id(id)?),
        "payment" => {
            let (p, q) = id.split_once('/').ok_or_else(bad)?;
            EntryKey::Payment(ref_id(p)?, ref_id(q)?)
        }
        "holder" => EntryKey::Holder(key_id()?),
        "certificate" => EntryKey::Certificate(ref_id(id)?),
        "consent" => EntryKey::Consent(ref_id(id)?),
        "blacklist" => {
            let mut parts = id.split('/');
            let (Some(subject), Some(dept), Some(reason), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            Hash32::from_hex(subject).map_err(|_| bad())?;
            DeptId::try_from(dept.to_owned()).map_err(|_| bad())?;
            super::kinds::Role::try_from(reason.to_owned()).map_err(|_| bad())?;
            EntryKey::Blacklist(id.to_owned())
        }
        _ => return Err(bad()),
    })
}

/// Calls `$m!(field, EntryKey variant)` for every [`super::Tracked`]
/// collection of [`State`]: the one list the commitment's key listing,
/// commit and change check share (payments, inside projects, aside).
macro_rules! for_each_collection {
    ($m:ident) => {
        $m!(departments, Department);
        $m!(officials, Official);
        $m!(key_index, Key);
        $m!(seqs, Seq);
        $m!(grants, Grant);
        $m!(proposals, Proposal);
        $m!(templates, Template);
        $m!(cases, Case);
        $m!(projects, Project);
        $m!(holders, Holder);
        $m!(certificates, Certificate);
        $m!(consents, Consent);
        $m!(blacklist, Blacklist);
    };
}

/// The `meta` entry's value.
#[derive(Serialize)]
struct Meta<'a> {
    chain_id: &'a Option<crate::types::ChainId>,
    origin: &'a Option<String>,
    consortium_threshold: u32,
    next_height: u64,
    time: &'a Option<crate::types::Timestamp>,
    access_log_head: Hash32,
    tx_count: u64,
}

/// A project's entry: the project without its payments (each payment is
/// its own entry).
#[derive(Serialize)]
struct ProjectEntry<'a> {
    id: &'a RefId,
    name: &'a str,
    budget: crate::types::Fen,
    parties: &'a super::kinds::Parties,
    approvers: &'a [super::kinds::Party],
    created_at: u64,
    paid: crate::types::Fen,
    pending: crate::types::Fen,
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, JcsError> {
    jcs::canonicalize_serialize(v)
}

/// Why an entry's value could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("encoding the entry: {0}")]
    Encode(#[from] JcsError),
    #[error(transparent)]
    Stored(#[from] super::StoredStateError),
}

impl ErrorCode for EntryError {
    fn code(&self) -> &'static str {
        match self {
            EntryError::Encode(e) => e.code(),
            EntryError::Stored(e) => e.code(),
        }
    }
}

impl State {
    /// The canonical value of one entry (JCS bytes), `None` if absent; a
    /// backed state's stored case is read and checked
    /// ([`super::cases`]).
    pub fn entry(&self, key: &EntryKey) -> Result<Option<Vec<u8>>, EntryError> {
        if let EntryKey::Case(c) = key {
            if !self.cases.resident().contains_key(c) {
                return Ok(self.read_case_value(c)?);
            }
        }
        Ok(self.encode_entry(key)?)
    }

    /// The canonical value of one entry as held in memory.
    fn encode_entry(&self, key: &EntryKey) -> Result<Option<Vec<u8>>, JcsError> {
        fn some<T: Serialize>(v: Option<&T>) -> Result<Option<Vec<u8>>, JcsError> {
            v.map(encode).transpose()
        }
        match key {
            EntryKey::Meta => encode(&Meta {
                chain_id: &self.chain_id,
                origin: &self.origin,
                consortium_threshold: self.consortium_threshold,
                next_height: self.next_height,
                time: &self.time,
                access_log_head: self.access_log_head,
                tx_count: self.tx_count,
            })
            .map(Some),
            EntryKey::Department(d) => some(self.departments.get(d)),
            EntryKey::Official(k) => some(self.officials.get(k)),
            EntryKey::Key(k) => some(self.key_index.get(k)),
            EntryKey::Seq(k) => some(self.seqs.get(k)),
            EntryKey::Grant(h) => some(self.grants.get(h)),
            EntryKey::Proposal(h) => some(self.proposals.get(h)),
            EntryKey::Template(t) => some(self.templates.get(t)),
            EntryKey::Case(c) => some(self.cases.resident().get(c)),
            EntryKey::Project(p) => some(
                self.projects
                    .get(p)
                    .map(|p| ProjectEntry {
                        id: &p.id,
                        name: &p.name,
                        budget: p.budget,
                        parties: &p.parties,
                        approvers: &p.approvers,
                        created_at: p.created_at,
                        paid: p.paid,
                        pending: p.pending,
                    })
                    .as_ref(),
            ),
            EntryKey::Payment(p, q) => {
                // A committed payroll's lines are committed by its frontier.
                let _form = super::funds::DigestForm::enter();
                some(self.projects.get(p).and_then(|p| p.payments.get(q)))
            }
            EntryKey::Holder(k) => some(self.holders.get(k)),
            EntryKey::Certificate(c) => some(self.certificates.get(c)),
            EntryKey::Consent(c) => some(self.consents.get(c)),
            EntryKey::Blacklist(b) => some(self.blacklist.get(b)),
        }
    }

    /// Every entry's key held in memory, in no particular order: every
    /// key of a state without a case source (a backed state lists its
    /// held cases only).
    pub fn entry_keys(&self) -> Vec<EntryKey> {
        let mut keys = vec![EntryKey::Meta];
        macro_rules! keys_of {
            ($c:ident, $v:ident) => {
                keys.extend(self.$c.resident_keys().map(EntryKey::$v));
            };
        }
        for_each_collection!(keys_of);
        for (id, p) in self.projects.iter() {
            keys.extend(
                p.payments
                    .keys()
                    .map(|q| EntryKey::Payment(id.clone(), q.clone())),
            );
        }
        keys
    }

    /// Commits every change since the last commit into the state tree and
    /// returns its root: the block header's `state_root`. Cost: the changed
    /// entries × log n.
    pub fn commit(&mut self) -> Result<Hash32, JcsError> {
        let mut changed = vec![EntryKey::Meta];
        macro_rules! changed_in {
            ($c:ident, $v:ident) => {
                changed.extend(self.$c.take_changed().into_iter().map(EntryKey::$v));
            };
        }
        for_each_collection!(changed_in);
        changed.extend(
            self.payment_changes
                .take()
                .into_iter()
                .map(|(p, q)| EntryKey::Payment(p, q)),
        );
        let encoded = self.encode_all(changed)?;
        let tree_changes: Vec<_> = encoded.iter().map(|e| (e.key_hash, e.value_hash)).collect();
        self.tree.apply(&tree_changes);
        let written = encoded.into_iter().map(|e| (e.key, e.value)).collect();
        self.last_commit = LastCommit(std::sync::Arc::new(written));
        Ok(self.tree.root())
    }

    /// The entries the last [`State::commit`] wrote, with their canonical
    /// values (`None`: removed): what a node stores with the
    /// block (each entry at most once; an entry may be listed although its
    /// value did not change).
    /// Each key's hash, value and value hash: on two threads from
    /// [`smt::PARALLEL_BATCH`] keys on (encoding is most of a commit).
    fn encode_all(&self, keys: Vec<EntryKey>) -> Result<Vec<Encoded>, JcsError> {
        let one = |key: EntryKey| -> Result<Encoded, JcsError> {
            let value = self.encode_entry(&key)?;
            Ok(Encoded {
                key_hash: smt::key_hash(key.to_string().as_bytes()),
                value_hash: value.as_deref().map(smt::value_hash),
                key,
                value,
            })
        };
        let mut left = keys;
        if left.len() < smt::PARALLEL_BATCH {
            return left.into_iter().map(one).collect();
        }
        let right = left.split_off(left.len() / 2);
        std::thread::scope(|s| {
            let left = s.spawn(|| left.into_iter().map(one).collect::<Result<Vec<_>, _>>());
            let right = right.into_iter().map(one).collect::<Result<Vec<_>, _>>();
            let mut all = left
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
            all.extend(right?);
            Ok(all)
        })
    }

    pub fn last_commit(&self) -> &[(EntryKey, Option<Vec<u8>>)] {
        &self.last_commit.0
    }

    /// The root of the committed state (changes not yet committed by
    /// [`State::commit`] are not in it; a state returned by
    /// [`State::apply_block`] has none).
    pub fn state_root(&self) -> Hash32 {
        self.tree.root()
    }

    /// How many entries the committed state has.
    pub fn tree_len(&self) -> usize {
        self.tree.len()
    }

    /// Whether changes wait for [`State::commit`].
    pub fn has_uncommitted_changes(&self) -> bool {
        let mut any = !self.payment_changes.is_empty();
        macro_rules! changes_in {
            ($c:ident, $v:ident) => {
                any |= self.$c.has_changes();
            };
        }
        for_each_collection!(changes_in);
        any
    }

    /// The state tree rebuilt from every entry held in memory, from
    /// scratch: O(state). For a state without a case source its root
    /// equals [`State::state_root`] after a commit, or the incremental
    /// commit has a bug (tests, `verify-chain`).
    pub fn rebuild_tree(&self) -> Result<StateTree, JcsError> {
        let mut leaves = Vec::new();
        for key in self.entry_keys() {
            if let Some(value) = self.encode_entry(&key)? {
                leaves.push((
                    smt::key_hash(key.to_string().as_bytes()),
                    smt::value_hash(&value),
                ));
            }
        }
        Ok(StateTree::from_entries(leaves))
    }

    /// Makes `tree` the committed tree and forgets pending changes: for a
    /// state whose every entry `tree` already commits to.
    pub(super) fn set_committed(&mut self, tree: StateTree) {
        macro_rules! forget {
            ($c:ident, $v:ident) => {
                self.$c.forget_changes();
            };
        }
        for_each_collection!(forget);
        self.payment_changes = super::Changes::default();
        self.tree = CommittedTree(tree);
    }

    /// A proof of `key`'s committed value, or of its absence, against
    /// [`State::state_root`].
    pub fn prove(&self, key: &EntryKey) -> StateProof {
        self.tree.prove(&smt::key_hash(key.to_string().as_bytes()))
    }
}

/// What the last commit wrote ([`State::last_commit`]); never makes two
/// states unequal.
/// One changed entry, encoded for the tree.
struct Encoded {
    key: EntryKey,
    key_hash: Hash32,
    value: Option<Vec<u8>>,
    value_hash: Option<Hash32>,
}

#[derive(Clone, Default)]
pub(super) struct LastCommit(std::sync::Arc<Vec<(EntryKey, Option<Vec<u8>>)>>);

impl fmt::Debug for LastCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LastCommit({} entries)", self.0.len())
    }
}

impl PartialEq for LastCommit {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for LastCommit {}

/// The state tree inside a [`State`]. Two states with the same root are
/// equal as far as the commitment goes.
#[derive(Clone, Default)]
pub(super) struct CommittedTree(StateTree);

impl fmt::Debug for CommittedTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommittedTree({})", self.0.root())
    }
}

impl PartialEq for CommittedTree {
    fn eq(&self, other: &Self) -> bool {
        self.0.root() == other.0.root()
    }
}

impl Eq for CommittedTree {}

impl std::ops::Deref for CommittedTree {
    type Target = StateTree;
    fn deref(&self) -> &StateTree {
        &self.0
    }
}

impl std::ops::DerefMut for CommittedTree {
    fn deref_mut(&mut self) -> &mut StateTree {
        &mut self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_one_spelling() {
        let id = "ab".repeat(32);
        for k in [
            "meta".to_owned(),
            "department/city-management".to_owned(),
            format!("official/{id}"),
            format!("key/{id}"),
            format!("seq/{id}"),
            format!("grant/{id}"),
            format!("proposal/{id}"),
            "template/old-city-renovation@12".to_owned(),
            "case/RN-2026-0042".to_owned(),
            "project/XA-7".to_owned(),
            "payment/XA-7/C1".to_owned(),
            format!("holder/{id}"),
            "certificate/HK-1".to_owned(),
            "consent/K-1".to_owned(),
            format!("blacklist/{id}/city-management/wage-arrears"),
        ] {
            let parsed: EntryKey = k.parse().unwrap();
            assert_eq!(parsed.to_string(), k);
        }
        for bad in [
            "",
            "meta/x",
            "case/",
            "case/a/b",
            "nothing/x",
            "template/t@01",
            "template/t@",
            "template/t",
            "payment/P-1",
            "official/ABAB",
            &format!("official/{}", "AB".repeat(32)),
            &format!("blacklist/{id}/city/Reason"),
            &format!("blacklist/{id}/city"),
        ] {
            assert!(bad.parse::<EntryKey>().is_err(), "{bad}");
        }
    }
}
