//! A persistent map that remembers which keys changed since the state was
//! last committed, so the state commitment ([`super::commitment`]) re-hashes
//! only those entries: O(changed × log n) per block, not O(state).
//!
//! Reads go through `Deref` to the underlying [`OrdMap`]; every mutation
//! (`insert`, `remove`, `get_mut`) records its key. The change list is an
//! `imbl` vector, so cloning a state (once per admitted transaction, to
//! check it on a scratch copy) stays O(1).

use std::ops::Deref;

use imbl::{OrdMap, Vector};

use serde::Serialize;

/// Keys changed since the last commit, in the order of the changes, with
/// repeats. Pending changes never make two states unequal.
#[derive(Debug, Clone)]
pub struct Changes<K: Clone>(Vector<K>);

impl<K: Clone> Default for Changes<K> {
    fn default() -> Self {
        Self(Vector::new())
    }
}

impl<K: Clone> PartialEq for Changes<K> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K: Clone> Eq for Changes<K> {}

impl<K: Ord + Clone> Changes<K> {
    pub(crate) fn push(&mut self, key: K) {
        self.0.push_back(key);
    }

    /// The keys changed since the last call, each once, in key order.
    pub(crate) fn take(&mut self) -> Vec<K> {
        let mut keys: Vec<K> = std::mem::take(&mut self.0).into_iter().collect();
        keys.sort();
        keys.dedup();
        keys
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An [`OrdMap`] with a list of the keys changed since the last commit.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Tracked<K: Ord + Clone, V: Clone> {
    map: OrdMap<K, V>,
    #[serde(skip)]
    changed: Changes<K>,
}

impl<K: Ord + Clone, V: Clone> Default for Tracked<K, V> {
    fn default() -> Self {
        Self {
            map: OrdMap::new(),
            changed: Changes::default(),
        }
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> PartialEq for Tracked<K, V> {
    /// Equal contents; pending changes do not count.
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Ord + Clone, V: Clone + Eq> Eq for Tracked<K, V> {}

impl<K: Ord + Clone, V: Clone> Deref for Tracked<K, V> {
    type Target = OrdMap<K, V>;
    fn deref(&self) -> &OrdMap<K, V> {
        &self.map
    }
}

impl<K: Ord + Clone, V: Clone> Tracked<K, V> {
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.changed.push(key.clone());
        self.map.insert(key, value)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let old = self.map.remove(key);
        if old.is_some() {
            self.changed.push(key.clone());
        }
        old
    }

    /// Mutable access; the key counts as changed even if the caller then
    /// leaves the value as it was.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        if self.map.contains_key(key) {
            self.changed.push(key.clone());
        }
        self.map.get_mut(key)
    }

    /// The keys changed since the last call, each once, in key order.
    pub(crate) fn take_changed(&mut self) -> Vec<K> {
        self.changed.take()
    }

    /// Forgets the pending changes (a state restored from committed
    /// entries has none).
    pub(crate) fn forget_changes(&mut self) {
        self.changed = Changes::default();
    }

    /// Every key, in key order.
    pub(crate) fn resident_keys(&self) -> impl Iterator<Item = K> + '_ {
        self.map.keys().cloned()
    }

    /// Whether any key changed since the last commit.
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_recorded_once_in_key_order() {
        let mut m: Tracked<u32, &str> = Tracked::default();
        m.insert(3, "c");
        m.insert(1, "a");
        m.insert(3, "cc");
        assert!(m.remove(&7).is_none());
        if let Some(v) = m.get_mut(&1) {
            *v = "aa";
        }
        assert!(m.get_mut(&9).is_none());
        assert_eq!(m.take_changed(), vec![1, 3]);
        assert!(m.take_changed().is_empty());
        m.remove(&1);
        assert_eq!(m.take_changed(), vec![1]);
        assert_eq!(m.get(&3), Some(&"cc"));
    }

    #[test]
    fn a_clone_keeps_its_own_changes() {
        let mut m: Tracked<u32, u32> = Tracked::default();
        m.insert(1, 1);
        let mut c = m.clone();
        c.insert(2, 2);
        assert_eq!(m.take_changed(), vec![1]);
        assert_eq!(c.take_changed(), vec![1, 2]);
    }
}
