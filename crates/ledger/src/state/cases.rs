//! The cases of a state, the one collection that grows with every year of
//! service (hundreds of thousands of cases a year): either all held in
//! memory (a workstation, a replay), or backed by a store a node supplies
//! ([`CaseSource`]), with only the cases changed since the state was stored
//! in memory.
//!
//! A backed state trusts nothing it reads: the state tree it holds is the
//! one its block's signed `state_root` commits to, and a case read from the
//! source is used only if its bytes hash to that case's leaf
//! (`state.stored_mismatch` otherwise). Whether a case exists is answered by
//! the tree alone, without reading the source.
//!
//! The store moves on while states live: a source names the height it was
//! attached at (its base), and each stored row the height of the block that
//! wrote it. A state holds every case changed since its base, so a row it
//! reads must be from its base or before; a newer row means the state is
//! older than the store (a reader that kept a state while the next block
//! was stored), and the read fails with `state.superseded` instead of
//! mixing two blocks' states: read again from the newer state.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use imbl::OrdMap;

use super::kinds::RefId;
use super::workflow::Case;
use super::{State, StoredStateError, Tracked};
use crate::smt;
use crate::types::Hash32;

/// One stored case entry: its canonical value and the height of the block
/// that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCase {
    pub value: Vec<u8>,
    pub height: u64,
}

/// Where a backed state reads the cases it does not hold: a node's stored
/// state entries.
pub trait CaseSource: Send + Sync + fmt::Debug {
    /// The height of the stored state this source was attached at.
    fn base_height(&self) -> u64;

    /// The stored entry `case/<id>` as the store holds it now.
    fn case_value(&self, id: &RefId) -> Result<Option<StoredCase>, StoredStateError>;

    /// Every stored case entry, in any order.
    fn each_case(
        &self,
        f: &mut dyn FnMut(RefId, StoredCase) -> Result<(), StoredStateError>,
    ) -> Result<(), StoredStateError>;
}

/// The cases: a [`Tracked`] map of every case (no source), or of the cases
/// changed since the source's state (with one).
#[derive(Debug, Clone, Default)]
pub struct Cases {
    /// Each case behind an `Arc`: a block's copy of the map copies a
    /// touched node's cases as pointers, not as whole cases.
    map: Tracked<RefId, Arc<Case>>,
    source: Option<Arc<dyn CaseSource>>,
}

impl PartialEq for Cases {
    /// Equal held cases and the same source (two backed states compare
    /// equal only if they read the same store; compare roots instead).
    fn eq(&self, other: &Self) -> bool {
        let same_source = match (&self.source, &other.source) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_source && self.map == other.map
    }
}

impl Eq for Cases {}

impl Cases {
    /// The cases held in memory: every case of a state without a source
    /// (a workstation's, a replay's); only the recently changed ones of a
    /// backed state. Use [`State::case`] and [`State::each_case`] for reads
    /// that must see every case.
    pub fn resident(&self) -> &OrdMap<RefId, Arc<Case>> {
        &self.map
    }

    /// Whether the cases are read from a store.
    pub fn is_backed(&self) -> bool {
        self.source.is_some()
    }

    /// Adds or replaces a case (the rules; tests building states by hand).
    pub fn insert(&mut self, id: RefId, case: Case) -> Option<Arc<Case>> {
        self.map.insert(id, Arc::new(case))
    }

    /// A held case, mutably (the key counts as changed).
    pub fn get_mut_resident(&mut self, id: &RefId) -> Option<&mut Case> {
        self.map.get_mut(id).map(Arc::make_mut)
    }

    pub(super) fn resident_keys(&self) -> impl Iterator<Item = RefId> + '_ {
        self.map.resident_keys()
    }

    pub(super) fn take_changed(&mut self) -> Vec<RefId> {
        self.map.take_changed()
    }

    pub(super) fn forget_changes(&mut self) {
        self.map.forget_changes();
    }

    pub(super) fn has_changes(&self) -> bool {
        self.map.has_changes()
    }
}

fn case_key_hash(id: &RefId) -> Hash32 {
    smt::key_hash(format!("case/{id}").as_bytes())
}

impl State {
    /// Whether case `id` exists, without reading any store.
    pub fn has_case(&self, id: &RefId) -> bool {
        self.cases.map.contains_key(id)
            || (self.cases.is_backed() && self.tree.get(&case_key_hash(id)).is_some())
    }

    /// Case `id`: held, or read from the source and checked against the
    /// committed tree.
    pub fn case(&self, id: &RefId) -> Result<Option<Cow<'_, Case>>, StoredStateError> {
        if let Some(c) = self.cases.map.get(id) {
            return Ok(Some(Cow::Borrowed(&**c)));
        }
        Ok(self.read_case(id)?.map(Cow::Owned))
    }

    /// Case `id`, mutably: a backed state first takes it into memory.
    pub(crate) fn case_mut(&mut self, id: &RefId) -> Result<Option<&mut Case>, StoredStateError> {
        if !self.cases.map.contains_key(id) {
            match self.read_case(id)? {
                Some(c) => {
                    self.cases.map.insert(id.clone(), Arc::new(c));
                }
                None => return Ok(None),
            }
        }
        Ok(self.cases.map.get_mut(id).map(Arc::make_mut))
    }

    /// Calls `f` with every case, held ones and stored ones, in no
    /// particular order.
    pub fn each_case(&self, mut f: impl FnMut(&Case)) -> Result<(), StoredStateError> {
        self.cases.map.values().for_each(|c| f(c));
        let Some(source) = &self.cases.source else {
            return Ok(());
        };
        let base = source.base_height();
        source.each_case(&mut |id, row| {
            if self.cases.map.contains_key(&id) {
                return Ok(());
            }
            if let Some(c) = self.checked_case(&id, Some(row), base)? {
                f(&c);
            }
            Ok(())
        })
    }

    /// Reads cases not held from `source`: for a state whose committed
    /// tree is exactly what `source` stores (the state a node just stored
    /// or loaded, with no pending change). Held cases are dropped.
    pub fn attach_case_source(&mut self, source: Arc<dyn CaseSource>) {
        self.cases.map = Tracked::default();
        self.cases.source = Some(source);
    }

    fn read_case(&self, id: &RefId) -> Result<Option<Case>, StoredStateError> {
        match self.read_case_value(id)? {
            Some(v) => decode_case(id, &v).map(Some),
            None => Ok(None),
        }
    }

    /// The canonical value of a case not held, read from the source and
    /// checked against the committed tree (`None`: no such case).
    pub(super) fn read_case_value(&self, id: &RefId) -> Result<Option<Vec<u8>>, StoredStateError> {
        let Some(source) = &self.cases.source else {
            return Ok(None);
        };
        if self.tree.get(&case_key_hash(id)).is_none() {
            return Ok(None);
        }
        self.checked_value(id, source.case_value(id)?, source.base_height())
    }

    fn checked_case(
        &self,
        id: &RefId,
        row: Option<StoredCase>,
        base: u64,
    ) -> Result<Option<Case>, StoredStateError> {
        match self.checked_value(id, row, base)? {
            Some(v) => decode_case(id, &v).map(Some),
            None => Ok(None),
        }
    }

    /// A stored case's value if it is the committed one: written at or
    /// before the source's base, its bytes hash to the tree's leaf, or both
    /// are absent.
    fn checked_value(
        &self,
        id: &RefId,
        row: Option<StoredCase>,
        base: u64,
    ) -> Result<Option<Vec<u8>>, StoredStateError> {
        if let Some(r) = row.as_ref().filter(|r| r.height > base) {
            return Err(StoredStateError::Superseded(format!(
                "case/{id} was stored by block {}, after this state's block {base}",
                r.height
            )));
        }
        let value = row.map(|r| r.value);
        let leaf = self.tree.get(&case_key_hash(id));
        let mismatch = |what: &str| StoredStateError::Mismatch(format!("case/{id} {what}"));
        match (value, leaf) {
            (None, None) => Ok(None),
            (Some(v), Some(h)) if smt::value_hash(&v) == h => Ok(Some(v)),
            (Some(_), Some(_)) => Err(mismatch(
                "is stored with a value the state root does not commit to",
            )),
            (Some(_), None) => Err(mismatch(
                "is stored but the state root commits to no such entry",
            )),
            (None, Some(_)) => Err(mismatch("is missing from the stored state")),
        }
    }
}

fn decode_case(id: &RefId, value: &[u8]) -> Result<Case, StoredStateError> {
    serde_json::from_slice(value).map_err(|e| StoredStateError::BadRow {
        key: format!("case/{id}"),
        reason: e.to_string(),
    })
}
