//! A state rebuilt from stored rows instead of by replaying blocks: a node
//! stores every state entry's canonical value (PROTOCOL.md §12.7) with
//! each block, the lines of committed payrolls and the access log apart,
//! and at start-up [`StateLoader`] decodes them back into a [`State`].
//!
//! Nothing stored is trusted: [`StateLoader::finish`] rebuilds the state
//! tree from the values' hashes and requires its root to be the head
//! block's signed `state_root`, each committed payroll's lines to match its
//! frontier, and the access log to hash to the chained head. Decoding is
//! the inverse of [`State::entry`] (a test checks the round trip), so equal
//! bytes give an equal state.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::funds::{Payment, Project};
use super::kinds::{Parties, Party, PayrollLine, RefId};
use super::sharing::AccessRecord;
use super::{EntryKey, State};
use crate::block::BlockHeader;
use crate::merkle::Frontier;
use crate::smt::{self, StateTree};
use crate::types::{ChainId, Fen, Hash32, Timestamp};
use crate::ErrorCode;

/// Stored rows that do not make the state the head block commits to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredStateError {
    /// A row that does not decode as what its key says.
    #[error("stored state entry {key}: {reason}")]
    BadRow { key: String, reason: String },
    /// Rows that decode but do not match the signed commitments.
    #[error("{0}")]
    Mismatch(String),
    /// The store could not be read.
    #[error("reading the stored state: {0}")]
    Unreadable(String),
    /// The store holds a newer block's state than the state reading it.
    #[error("{0}; read it again from the newer state")]
    Superseded(String),
}

impl ErrorCode for StoredStateError {
    fn code(&self) -> &'static str {
        match self {
            StoredStateError::BadRow { .. } => "state.stored_bad_row",
            StoredStateError::Mismatch(_) => "state.stored_mismatch",
            StoredStateError::Unreadable(_) => "state.stored_unreadable",
            StoredStateError::Superseded(_) => "state.superseded",
        }
    }
}

/// The `meta` entry, decoded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaRow {
    chain_id: Option<ChainId>,
    origin: Option<String>,
    consortium_threshold: u32,
    next_height: u64,
    time: Option<Timestamp>,
    access_log_head: Hash32,
    tx_count: u64,
}

/// A project's entry, decoded (its payments are entries of their own).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectRow {
    id: RefId,
    name: String,
    budget: Fen,
    parties: Parties,
    approvers: Vec<Party>,
    created_at: u64,
    paid: Fen,
    pending: Fen,
}

/// Builds a [`State`] from stored rows, in any order.
#[derive(Debug, Default)]
pub struct StateLoader {
    state: State,
    leaves: Vec<(Hash32, Hash32)>,
    meta: Option<MetaRow>,
    projects: Vec<ProjectRow>,
    payments: Vec<(RefId, Payment)>,
    payroll: HashMap<(RefId, RefId), Vec<PayrollLine>>,
    access: Vec<AccessRecord>,
    access_head: Hash32,
    case_source: Option<std::sync::Arc<dyn super::CaseSource>>,
}

impl State {
    /// The lines of every committed payroll, which payment entries leave
    /// out (a node stores them apart): `(project, payment, lines)`.
    pub fn committed_payrolls(&self) -> impl Iterator<Item = (&RefId, &RefId, &[PayrollLine])> {
        self.projects.iter().flat_map(|(p, project)| {
            project
                .payments
                .iter()
                .filter(|(_, pay)| pay.payroll_commitment.is_some())
                .map(move |(q, pay)| (p, q, pay.payroll.as_slice()))
        })
    }
}

fn decode<T: DeserializeOwned>(key: &str, value: &[u8]) -> Result<T, StoredStateError> {
    serde_json::from_slice(value).map_err(|e| StoredStateError::BadRow {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

impl StateLoader {
    pub fn new() -> Self {
        Self::default()
    }

    /// One entry: its key (`case/RC-1`) and canonical value.
    pub fn entry(&mut self, key: &str, value: &[u8]) -> Result<(), StoredStateError> {
        self.decode_entry(key, value)?;
        self.leaves
            .push((smt::key_hash(key.as_bytes()), smt::value_hash(value)));
        Ok(())
    }

    /// Makes the state read its cases from `source` (see
    /// [`super::cases`]): their rows are then given as leaves
    /// ([`StateLoader::case_leaves`]), not decoded.
    #[must_use]
    pub fn with_case_source(mut self, source: std::sync::Arc<dyn super::CaseSource>) -> Self {
        self.case_source = Some(source);
        self
    }

    /// Case entries by key and stored value hash, for a loader with a case
    /// source: they count in the root the state must have, and each value
    /// is checked against its hash when the state reads it.
    pub fn case_leaves(&mut self, rows: &[(String, Hash32)]) -> Result<(), StoredStateError> {
        if self.case_source.is_none() {
            return Err(StoredStateError::Mismatch(
                "case leaves given to a loader without a case source".into(),
            ));
        }
        // A case key's one spelling: `case/` and a valid id.
        let leaf = |(key, value_hash): &(String, Hash32)| {
            key.strip_prefix("case/")
                .filter(|id| RefId::try_from((*id).to_owned()).is_ok())
                .map(|_| (smt::key_hash(key.as_bytes()), *value_hash))
                .ok_or_else(|| StoredStateError::BadRow {
                    key: key.clone(),
                    reason: "not a case entry key".into(),
                })
        };
        // Hashed on two threads.
        let (first, second) = rows.split_at(rows.len() / 2);
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| second.iter().map(leaf).collect::<Result<Vec<_>, _>>());
            (
                first.iter().map(leaf).collect::<Result<Vec<_>, _>>(),
                other.join(),
            )
        });
        let b = b.map_err(|_| StoredStateError::Mismatch("the hashing thread failed".into()))?;
        self.leaves.reserve(rows.len());
        self.leaves.extend(a?);
        self.leaves.extend(b?);
        Ok(())
    }

    /// Entries as [`StateLoader::entry`] takes them, decoded on this thread
    /// while their tree leaves are hashed on another.
    pub fn entries(&mut self, rows: &[(String, Vec<u8>)]) -> Result<(), StoredStateError> {
        let (leaves, decoded) = std::thread::scope(|scope| {
            let hashing = scope.spawn(|| {
                rows.iter()
                    .map(|(k, v)| (smt::key_hash(k.as_bytes()), smt::value_hash(v)))
                    .collect::<Vec<_>>()
            });
            let decoded = rows.iter().try_for_each(|(k, v)| self.decode_entry(k, v));
            (hashing.join(), decoded)
        });
        decoded?;
        let leaves =
            leaves.map_err(|_| StoredStateError::Mismatch("the hashing thread failed".into()))?;
        self.leaves.extend(leaves);
        Ok(())
    }

    fn decode_entry(&mut self, key: &str, value: &[u8]) -> Result<(), StoredStateError> {
        let parsed: EntryKey = key.parse().map_err(|_| StoredStateError::BadRow {
            key: key.to_owned(),
            reason: "not an entry key".into(),
        })?;
        let s = &mut self.state;
        match parsed {
            EntryKey::Meta => self.meta = Some(decode(key, value)?),
            EntryKey::Department(d) => {
                s.departments.insert(d, decode(key, value)?);
            }
            EntryKey::Official(k) => {
                s.officials.insert(k, decode(key, value)?);
            }
            EntryKey::Key(k) => {
                s.key_index.insert(k, decode(key, value)?);
            }
            EntryKey::Seq(k) => {
                s.seqs.insert(k, decode(key, value)?);
            }
            EntryKey::Grant(_) => s.add_grant(decode(key, value)?),
            EntryKey::Proposal(h) => {
                s.proposals.insert(h, decode(key, value)?);
            }
            EntryKey::Template(t) => {
                s.templates.insert(t, decode(key, value)?);
            }
            EntryKey::Case(c) => {
                s.cases.insert(c, decode(key, value)?);
            }
            EntryKey::Project(_) => self.projects.push(decode(key, value)?),
            EntryKey::Payment(p, _) => self.payments.push((p, decode(key, value)?)),
            EntryKey::Holder(k) => {
                s.holders.insert(k, decode(key, value)?);
            }
            EntryKey::Certificate(c) => {
                s.certificates.insert(c, decode(key, value)?);
            }
            EntryKey::Consent(c) => {
                s.consents.insert(c, decode(key, value)?);
            }
            EntryKey::Blacklist(b) => {
                s.blacklist.insert(b, decode(key, value)?);
            }
        }
        Ok(())
    }

    /// The next line (`index`, from 0) of a committed payroll, as
    /// [`super::payroll::payroll_line_jcs`] encodes it.
    pub fn payroll_line(
        &mut self,
        project: &RefId,
        payment: &RefId,
        index: u64,
        line: &[u8],
    ) -> Result<(), StoredStateError> {
        let key = || format!("payroll line {index} of payment/{project}/{payment}");
        let lines = self
            .payroll
            .entry((project.clone(), payment.clone()))
            .or_default();
        if index != lines.len() as u64 {
            return Err(StoredStateError::BadRow {
                key: key(),
                reason: format!("expected line {}", lines.len()),
            });
        }
        lines.push(decode(&key(), line)?);
        Ok(())
    }

    /// The next access record (`JCS(record)`), in ledger order.
    pub fn access_record(&mut self, canonical: &[u8]) -> Result<(), StoredStateError> {
        let index = self.access.len();
        let record: AccessRecord = decode(&format!("access record {index}"), canonical)?;
        let mut chained = self.access_head.0.to_vec();
        chained.extend_from_slice(canonical);
        self.access_head = Hash32::sha256(&chained);
        self.access.push(record);
        Ok(())
    }

    /// The state, if the rows are exactly the state `head` commits to: the
    /// state root, the height, time and log size, every committed
    /// payroll's lines and the access log's head all match.
    pub fn finish(mut self, head: &BlockHeader) -> Result<State, StoredStateError> {
        let mismatch = |what: String| StoredStateError::Mismatch(what);
        // Two rows of one key would hash as one leaf but decode as two
        // objects (a project, payment or grant takes its id from its value).
        self.leaves.sort_unstable_by_key(|l| l.0);
        if self.leaves.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(mismatch(
                "the stored state has two rows of one entry".into(),
            ));
        }
        let tree = StateTree::from_entries(std::mem::take(&mut self.leaves));
        if tree.root() != head.state_root {
            return Err(mismatch(format!(
                "the stored state's root {} is not block {}'s state_root {}",
                tree.root(),
                head.height,
                head.state_root
            )));
        }
        let meta = self
            .meta
            .ok_or_else(|| mismatch("the stored state has no meta entry".into()))?;
        if meta.next_height != head.height + 1
            || meta.time != Some(head.time)
            || meta.tx_count != head.log_size
        {
            return Err(mismatch(format!(
                "the stored state is not of block {} (next height {}, {} transactions)",
                head.height, meta.next_height, meta.tx_count
            )));
        }
        let mut s = self.state;
        s.chain_id = meta.chain_id;
        s.origin = meta.origin;
        s.consortium_threshold = meta.consortium_threshold;
        s.next_height = meta.next_height;
        s.time = meta.time;
        s.access_log_head = meta.access_log_head;
        s.tx_count = meta.tx_count;
        if self.access_head != meta.access_log_head {
            return Err(mismatch(format!(
                "the stored access log ({} records) does not hash to the committed head",
                self.access.len()
            )));
        }
        s.access_log = self.access.into_iter().map(std::sync::Arc::new).collect();
        let mut projects: BTreeMap<RefId, Project> = self
            .projects
            .into_iter()
            .map(|p| {
                let project = Project {
                    id: p.id.clone(),
                    name: p.name,
                    budget: p.budget,
                    parties: p.parties,
                    approvers: p.approvers,
                    created_at: p.created_at,
                    paid: p.paid,
                    pending: p.pending,
                    payments: imbl::OrdMap::new(),
                };
                (p.id, project)
            })
            .collect();
        for (project, mut pay) in self.payments {
            let key = (project.clone(), pay.id.clone());
            if let Some(c) = &pay.payroll_commitment {
                let lines = self.payroll.remove(&key).unwrap_or_default();
                let mut f = Frontier::default();
                for l in &lines {
                    f.push_hash(super::payroll::payroll_leaf_hash(l));
                }
                if f != c.received {
                    return Err(mismatch(format!(
                        "the stored payroll of payment/{}/{} does not match its commitment",
                        key.0, key.1
                    )));
                }
                pay.payroll = lines;
            }
            let p = projects
                .get_mut(&project)
                .ok_or_else(|| mismatch(format!("payment/{}/{} has no project", key.0, key.1)))?;
            p.payments.insert(pay.id.clone(), std::sync::Arc::new(pay));
        }
        if let Some(((p, q), _)) = self.payroll.into_iter().next() {
            return Err(mismatch(format!(
                "stored payroll lines for payment/{p}/{q}, which has no committed payroll"
            )));
        }
        for (id, p) in projects {
            s.projects.insert(id, p);
        }
        s.set_committed(tree);
        if let Some(source) = self.case_source {
            s.attach_case_source(source);
        }
        Ok(s)
    }
}
