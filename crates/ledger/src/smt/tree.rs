//! The in-memory state tree.
//!
//! [`StateTree`] stores the trie path-compressed (a branch node only where
//! both sides hold entries, each branch remembering its split bit) in
//! reference-counted nodes: cloning a tree is O(1), and an update copies
//! only the nodes on its path that are shared with another clone (nodes
//! owned by one tree alone are changed in place). Node hashes are computed
//! lazily by [`StateTree::root`] and cached in the nodes; an update clears
//! the cache on its path only, so after a batch of `k` updates `root()`
//! hashes each changed node once, O(k × log n), and unchanged subtrees shared
//! between clones are hashed once for all of them. The hashes of the
//! one-sided nodes the compact form skips over, and of leaves, are
//! recomputed when their parent is. The root itself is cached too, so
//! `root()` without a change in between costs nothing.
//!
//! Memory: one heap node per entry and one per branch (n − 1 for n
//! entries), 88 bytes each with the reference counts, about 192 bytes per
//! entry with the allocator's overhead (measured at 1M entries).

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::{bit, first_diff_bit, leaf_hash, node_hash, ProofLeaf, StateProof};
use crate::types::Hash32;

#[derive(Clone)]
pub(super) enum Node {
    Leaf { key: Hash32, value: Hash32 },
    Branch(Branch),
}

/// A node with entries on both sides of bit `bit`; all its keys share bits
/// `0..bit`.
#[derive(Clone)]
pub(super) struct Branch {
    bit: u8,
    children: [Arc<Node>; 2],
    /// `node_hash` of the two children placed at depth `bit + 1`.
    hash: OnceLock<Hash32>,
}

impl Branch {
    fn own_hash(&self) -> Hash32 {
        *self.hash.get_or_init(|| {
            let depth = usize::from(self.bit) + 1;
            node_hash(
                &self.children[0].hash_at(depth),
                &self.children[1].hash_at(depth),
            )
        })
    }
}

impl Node {
    fn leaf(key: Hash32, value: Hash32) -> Arc<Node> {
        Arc::new(Node::Leaf { key, value })
    }

    /// The key of some entry below (all of them share the node's prefix).
    fn any_key(&self) -> &Hash32 {
        let mut n = self;
        loop {
            match n {
                Node::Leaf { key, .. } => return key,
                Node::Branch(b) => n = &b.children[0],
            }
        }
    }

    /// The hash of the subtree at depth `depth` whose entries are this
    /// node's (`depth` ≤ the split bit of a branch).
    fn hash_at(&self, depth: usize) -> Hash32 {
        match self {
            Node::Leaf { key, value } => leaf_hash(key, value),
            Node::Branch(b) => {
                let mut h = b.own_hash();
                let split = usize::from(b.bit);
                if depth < split {
                    let prefix = self.any_key();
                    for d in (depth..split).rev() {
                        h = if bit(prefix, d) == 0 {
                            node_hash(&h, &Hash32::ZERO)
                        } else {
                            node_hash(&Hash32::ZERO, &h)
                        };
                    }
                }
                h
            }
        }
    }
}

/// The entry of the subtree `node` closest to `kh` (following `kh`'s bits).
fn closest_leaf<'a>(mut node: &'a Node, kh: &Hash32) -> (&'a Hash32, &'a Hash32) {
    loop {
        match node {
            Node::Leaf { key, value } => return (key, value),
            Node::Branch(b) => node = &b.children[bit(kh, usize::from(b.bit))],
        }
    }
}

/// Builds the subtree of a sorted, duplicate-free, non-empty slice.
fn build(entries: &[(Hash32, Hash32)]) -> Option<Arc<Node>> {
    match entries {
        [] => None,
        [(k, v)] => Some(Node::leaf(*k, *v)),
        [first, .., last] => {
            let split = first_diff_bit(&first.0, &last.0)?;
            let at = entries.partition_point(|(k, _)| bit(k, usize::from(split)) == 0);
            Some(Arc::new(Node::Branch(Branch {
                bit: split,
                children: [build(&entries[..at])?, build(&entries[at..])?],
                hash: OnceLock::new(),
            })))
        }
    }
}

/// From this many entries on, [`StateTree::from_entries`] hashes the two
/// halves of the tree on two threads.
const PARALLEL_HASHING: usize = 1 << 16;

/// The state tree: a persistent map from key hash to value hash with a
/// Merkle root (see the module documentation for the construction).
#[derive(Clone, Default)]
pub struct StateTree {
    root: Option<Arc<Node>>,
    len: usize,
    /// [`Self::root`]'s value, once computed; cleared by every change.
    root_hash: OnceLock<Hash32>,
}

impl fmt::Debug for StateTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateTree")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl StateTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value hash stored under `key_hash`.
    pub fn get(&self, key_hash: &Hash32) -> Option<Hash32> {
        let (k, v) = closest_leaf(self.root.as_deref()?, key_hash);
        (k == key_hash).then_some(*v)
    }

    /// Sets the value hash of `key_hash` (adding the entry if it is new).
    /// O(log n); no hash is computed here (see [`StateTree::root`]).
    pub fn insert(&mut self, key_hash: Hash32, value_hash: Hash32) {
        let delta = insert_into(&mut self.root, key_hash, value_hash);
        self.changed(delta);
    }

    /// Removes the entry of `key_hash`; false if there was none.
    pub fn remove(&mut self, key_hash: &Hash32) -> bool {
        let delta = remove_from(&mut self.root, key_hash);
        self.changed(delta);
        delta.removed == 1
    }

    fn changed(&mut self, delta: Delta) {
        if delta.touched {
            self.len = self.len + delta.added - delta.removed;
            self.root_hash = OnceLock::new();
        }
    }

    /// Applies a block's changes: each key hash gets the value hash given,
    /// or is removed for `None`; a key changed twice keeps its last change.
    /// The same tree as that many [`Self::insert`]s and [`Self::remove`]s;
    /// from [`PARALLEL_BATCH`] changes on a large tree, the two halves of
    /// the tree are updated and re-hashed on two threads.
    pub fn apply(&mut self, changes: &[(Hash32, Option<Hash32>)]) {
        let Some(root) = self.root.take() else {
            return self.apply_serially(changes);
        };
        let split = match &*root {
            Node::Branch(b)
                if changes.len() >= PARALLEL_BATCH
                    && self.len >= PARALLEL_BATCH
                    && changes.iter().all(|(k, _)| {
                        super::share_prefix(k, root.any_key(), usize::from(b.bit))
                    }) =>
            {
                usize::from(b.bit)
            }
            _ => {
                self.root = Some(root);
                return self.apply_serially(changes);
            }
        };
        let mut root = root;
        let Node::Branch(b) = Arc::make_mut(&mut root) else {
            self.root = Some(root);
            return self.apply_serially(changes);
        };
        let (left, right): (Vec<_>, Vec<_>) = changes.iter().partition(|(k, _)| bit(k, split) == 0);
        let placeholder = Node::leaf(Hash32::ZERO, Hash32::ZERO);
        let mut sides = [
            Some(std::mem::replace(
                &mut b.children[0],
                Arc::clone(&placeholder),
            )),
            Some(std::mem::replace(&mut b.children[1], placeholder)),
        ];
        let [l, r] = &mut sides;
        let update = |side: &mut Option<Arc<Node>>, changes: &[&(Hash32, Option<Hash32>)]| {
            let mut total = Delta::default();
            for (k, v) in changes {
                total.add(match v {
                    Some(v) => insert_into(side, *k, *v),
                    None => remove_from(side, k),
                });
            }
            if let Some(n) = side {
                n.hash_at(split + 1);
            }
            total
        };
        let (dl, dr) = std::thread::scope(|s| {
            let left = s.spawn(|| update(l, &left));
            let dr = update(r, &right);
            (
                left.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                dr,
            )
        });
        let [l, r] = sides;
        self.root = match (l, r) {
            (Some(l), Some(r)) => {
                b.children = [l, r];
                b.hash = OnceLock::new();
                Some(root)
            }
            // A side emptied: the other takes the branch's place.
            (Some(n), None) | (None, Some(n)) => Some(n),
            (None, None) => None,
        };
        let mut total = dl;
        total.add(dr);
        total.touched = true;
        self.changed(total);
    }

    fn apply_serially(&mut self, changes: &[(Hash32, Option<Hash32>)]) {
        for (k, v) in changes {
            match v {
                Some(v) => self.insert(*k, *v),
                None => {
                    self.remove(k);
                }
            }
        }
    }

    /// The Merkle root. Computes the node hashes that updates cleared and
    /// caches them, so it is cheap when nothing changed.
    pub fn root(&self) -> Hash32 {
        *self
            .root_hash
            .get_or_init(|| self.root.as_ref().map_or(Hash32::ZERO, |n| n.hash_at(0)))
    }

    /// A proof of presence or absence of `key_hash` against [`Self::root`].
    pub fn prove(&self, key_hash: &Hash32) -> StateProof {
        let mut siblings = Vec::new();
        let Some(mut n) = self.root.as_deref() else {
            return StateProof {
                leaf: None,
                siblings,
            };
        };
        loop {
            match n {
                Node::Leaf { key, value } => {
                    return StateProof {
                        leaf: Some(ProofLeaf {
                            key: *key,
                            value: *value,
                        }),
                        siblings,
                    }
                }
                Node::Branch(b) => {
                    let split = usize::from(b.bit);
                    let depth = siblings.len();
                    if depth < split {
                        let prefix = n.any_key();
                        for d in depth..split {
                            if bit(key_hash, d) == bit(prefix, d) {
                                siblings.push(Hash32::ZERO);
                            } else {
                                // `key_hash` leaves the node's prefix here:
                                // its side is empty.
                                siblings.push(n.hash_at(d + 1));
                                return StateProof {
                                    leaf: None,
                                    siblings,
                                };
                            }
                        }
                    }
                    let side = bit(key_hash, split);
                    siblings.push(b.children[1 - side].hash_at(split + 1));
                    n = &b.children[side];
                }
            }
        }
    }

    /// Builds a tree from entries in any order (a repeated key keeps its
    /// last value, as repeated inserts would). O(n log n).
    pub fn from_entries(iter: impl IntoIterator<Item = (Hash32, Hash32)>) -> Self {
        let mut entries: Vec<(Hash32, Hash32)> = iter.into_iter().collect();
        entries.sort_by_key(|e| e.0); // stable: equal keys stay in order
        let mut unique: Vec<(Hash32, Hash32)> = Vec::with_capacity(entries.len());
        for e in entries {
            match unique.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => unique.push(e),
            }
        }
        let root = build(&unique);
        if unique.len() >= PARALLEL_HASHING {
            if let Some(Node::Branch(b)) = root.as_deref() {
                // The two halves' hashes on two threads (a node's start).
                std::thread::scope(|scope| {
                    scope.spawn(|| b.children[0].hash_at(usize::from(b.bit) + 1));
                    b.children[1].hash_at(usize::from(b.bit) + 1);
                });
            }
        }
        Self {
            root,
            len: unique.len(),
            root_hash: OnceLock::new(),
        }
    }

    /// The entries `(key_hash, value_hash)` in increasing key-hash order.
    pub fn iter(&self) -> impl Iterator<Item = (Hash32, Hash32)> + '_ {
        let mut stack: Vec<&Node> = self.root.as_deref().into_iter().collect();
        std::iter::from_fn(move || {
            while let Some(n) = stack.pop() {
                match n {
                    Node::Leaf { key, value } => return Some((*key, *value)),
                    Node::Branch(b) => {
                        stack.push(&b.children[1]);
                        stack.push(&b.children[0]);
                    }
                }
            }
            None
        })
    }
}

/// What an update did to a (sub)tree: entries added and removed, and
/// whether anything changed at all.
#[derive(Default, Clone, Copy)]
struct Delta {
    added: usize,
    removed: usize,
    touched: bool,
}

impl Delta {
    const SAME: Delta = Delta {
        added: 0,
        removed: 0,
        touched: false,
    };
    const CHANGED: Delta = Delta {
        added: 0,
        removed: 0,
        touched: true,
    };
    const ADDED: Delta = Delta {
        added: 1,
        removed: 0,
        touched: true,
    };
    const REMOVED: Delta = Delta {
        added: 0,
        removed: 1,
        touched: true,
    };

    fn add(&mut self, other: Delta) {
        self.added += other.added;
        self.removed += other.removed;
        self.touched |= other.touched;
    }
}

/// From this many changes on a tree of at least as many entries,
/// [`StateTree::apply`] works on two threads.
pub const PARALLEL_BATCH: usize = 512;

/// Sets the value hash of `key_hash` in the subtree at `slot`.
fn insert_into(slot: &mut Option<Arc<Node>>, key_hash: Hash32, value_hash: Hash32) -> Delta {
    let Some(root) = slot.as_mut() else {
        *slot = Some(Node::leaf(key_hash, value_hash));
        return Delta::ADDED;
    };
    let (near_key, near_value) = closest_leaf(root, &key_hash);
    let Some(crit) = first_diff_bit(near_key, &key_hash) else {
        if *near_value == value_hash {
            return Delta::SAME;
        }
        set_value(root, &key_hash, value_hash);
        return Delta::CHANGED;
    };
    // Go down to the first node below bit `crit` (or a leaf), and put a
    // branch on bit `crit` in its place with the new leaf beside it.
    let mut n = root;
    loop {
        if let Node::Branch(b) = &**n {
            if b.bit < crit {
                let Node::Branch(b) = Arc::make_mut(n) else {
                    return Delta::SAME;
                };
                b.hash = OnceLock::new();
                n = &mut b.children[bit(&key_hash, usize::from(b.bit))];
                continue;
            }
        }
        let old = Arc::clone(n);
        let leaf = Node::leaf(key_hash, value_hash);
        let children = if bit(&key_hash, usize::from(crit)) == 0 {
            [leaf, old]
        } else {
            [old, leaf]
        };
        *n = Arc::new(Node::Branch(Branch {
            bit: crit,
            children,
            hash: OnceLock::new(),
        }));
        return Delta::ADDED;
    }
}

/// Removes the entry of `key_hash` from the subtree at `slot`. The other
/// side of the removed leaf's parent takes the parent's place, so a lone
/// sibling leaf moves up to where it is alone.
fn remove_from(slot: &mut Option<Arc<Node>>, key_hash: &Hash32) -> Delta {
    let Some(root) = slot.as_mut() else {
        return Delta::SAME;
    };
    if closest_leaf(root, key_hash).0 != key_hash {
        return Delta::SAME;
    }
    if let Node::Leaf { .. } = **root {
        *slot = None;
        return Delta::REMOVED;
    }
    let mut n = root;
    loop {
        let Node::Branch(b) = &**n else {
            return Delta::SAME;
        };
        let side = bit(key_hash, usize::from(b.bit));
        if matches!(&*b.children[side], Node::Leaf { key, .. } if key == key_hash) {
            let other = Arc::clone(&b.children[1 - side]);
            *n = other;
            return Delta::REMOVED;
        }
        let Node::Branch(b) = Arc::make_mut(n) else {
            return Delta::SAME;
        };
        b.hash = OnceLock::new();
        n = &mut b.children[side];
    }
}

/// Sets the value of an existing key, clearing cached hashes on its path.
fn set_value(mut n: &mut Arc<Node>, kh: &Hash32, vh: Hash32) {
    loop {
        match Arc::make_mut(n) {
            Node::Leaf { value, .. } => {
                *value = vh;
                return;
            }
            Node::Branch(b) => {
                b.hash = OnceLock::new();
                n = &mut b.children[bit(kh, usize::from(b.bit))];
            }
        }
    }
}
