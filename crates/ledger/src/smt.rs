//! The state tree: an authenticated key–value map (a compact sparse Merkle
//! tree over 256-bit key hashes) whose root commits to the ledger state and
//! is updated in O(changed × log n) (issue #19).
//!
//! # Construction
//!
//! * `key_hash(key) = SHA-256(key)`, `value_hash(value) = SHA-256(value)`;
//!   the value bytes are the JCS of the object (the caller's business).
//! * The tree is a binary trie over the 256 bits of the key hash, most
//!   significant bit of byte 0 first; a 0 bit goes left. The root is at
//!   depth 0; a node at depth `d` splits on bit `d`.
//! * `leaf_hash(kh, vh) = SHA-256(0x10 ‖ kh ‖ vh)`,
//!   `node_hash(l, r) = SHA-256(0x11 ‖ l ‖ r)`. (0x10/0x11 keep state hashes
//!   apart from the transaction log's RFC 6962 0x00/0x01.)
//! * Compact form: a subtree holding no entry hashes to 32 zero bytes
//!   ([`Hash32::ZERO`]); one holding exactly one entry hashes to that entry's
//!   leaf hash, whatever its depth (a leaf sits at the shallowest depth where
//!   it is alone); any other is `node_hash(left, right)`. So the root of the
//!   empty map is ZERO and the root of a one-entry map is its leaf hash.
//!
//! # Proofs
//!
//! A [`StateProof`] for key hash `kh` walks from the root along `kh`'s bits
//! down to the first position (depth `d`) whose subtree holds at most one
//! entry. Wire form (JSON):
//! `{"leaf": null | {"key": <hex key hash>, "value": <hex value hash>}, "siblings": [<hex>, …]}`
//! with the siblings top-down: `siblings[0]` is the sibling at depth 1,
//! `siblings[d-1]` the sibling of the proven position at depth `d`. `leaf`
//! is the one entry of that subtree, or null if it is empty. The proof
//! shows `kh` present when `leaf.key == kh`, absent when `leaf` is null or
//! holds another key (which then shares its first `d` bits with `kh`).
//!
//! Verification ([`StateProof::verify`]) recomputes the root:
//! `h = leaf ? leaf_hash(leaf.key, leaf.value) : ZERO`; for `i = d-1` down to
//! 0, `h = node_hash(h, siblings[i])` if bit `i` of `kh` is 0, else
//! `node_hash(siblings[i], h)`; `h` must equal the root. Then the claim is
//! checked: presence of value `V` needs `leaf.key == kh` and
//! `leaf.value == value_hash(V)`; absence needs no leaf or another key.
//!
//! ## Canonical form
//!
//! Before hashing, the verifier rejects as `state_proof.malformed`:
//!
//! 1. more than 256 siblings;
//! 2. a ZERO deepest sibling (`siblings[d-1]`, `d ≥ 1`): the parent would
//!    then hold at most one entry, so the walk should have stopped there;
//! 3. a null leaf at depth 256: a depth-255 subtree holding two or more
//!    entries has one on each side;
//! 4. a leaf whose key is not `kh` and does not share its first `d` bits
//!    with `kh` (it is not on `kh`'s path).
//!
//! An honest proof never trips these rules (the walk stops at the first
//! subtree holding at most one entry, and its parent held at least two).
//! They are not needed for soundness — against the root of a canonical tree
//! such proofs also fail the root check, since leaf hashes, node hashes and
//! ZERO never coincide — but with them a proof for a given root and key is
//! unique (under SHA-256 collision resistance) and a mangled one gets the
//! more telling error.
//!
//! ## Error codes
//!
//! | code | meaning |
//! |---|---|
//! | `state_proof.malformed` | the proof breaks a canonical-form rule above |
//! | `state_proof.root_mismatch` | the proof does not lead to the expected root |
//! | `state_proof.wrong_value` | the key is present with another value than the claimed one |
//! | `state_proof.not_present` | presence was claimed, the proof shows the key absent |
//! | `state_proof.not_absent` | absence was claimed, the proof shows the key present |
//!
//! # The in-memory tree
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

use serde::{Deserialize, Serialize};

use crate::types::Hash32;
use crate::ErrorCode;

/// Key hashes have 256 bits, so no proof is longer than this.
pub const MAX_SIBLINGS: usize = 256;

const LEAF_PREFIX: u8 = 0x10;
const NODE_PREFIX: u8 = 0x11;

/// `SHA-256(key)`: where an entry sits in the tree.
pub fn key_hash(key: &[u8]) -> Hash32 {
    Hash32::sha256(key)
}

/// `SHA-256(value)`: what the tree commits to for an entry (value = JCS of the object).
pub fn value_hash(value: &[u8]) -> Hash32 {
    Hash32::sha256(value)
}

fn hash65(prefix: u8, a: &Hash32, b: &Hash32) -> Hash32 {
    let mut buf = [0u8; 65];
    buf[0] = prefix;
    buf[1..33].copy_from_slice(&a.0);
    buf[33..].copy_from_slice(&b.0);
    Hash32::sha256(&buf)
}

/// `SHA-256(0x10 ‖ key_hash ‖ value_hash)`.
pub fn leaf_hash(key_hash: &Hash32, value_hash: &Hash32) -> Hash32 {
    hash65(LEAF_PREFIX, key_hash, value_hash)
}

/// `SHA-256(0x11 ‖ l ‖ r)`.
pub fn node_hash(l: &Hash32, r: &Hash32) -> Hash32 {
    hash65(NODE_PREFIX, l, r)
}

/// Bit `i` (0 = most significant bit of byte 0) of a key hash, as 0 or 1.
fn bit(h: &Hash32, i: usize) -> usize {
    usize::from((h.0[i / 8] >> (7 - i % 8)) & 1)
}

/// Index of the first bit where `a` and `b` differ, if they do.
fn first_diff_bit(a: &Hash32, b: &Hash32) -> Option<u8> {
    (0u8..)
        .zip(a.0.iter().zip(&b.0))
        .find(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| i * 8 + u8::try_from((x ^ y).leading_zeros()).unwrap_or(0))
}

/// Whether `a` and `b` agree on their first `n` bits.
fn share_prefix(a: &Hash32, b: &Hash32, n: usize) -> bool {
    first_diff_bit(a, b).is_none_or(|i| usize::from(i) >= n)
}

#[derive(Clone)]
enum Node {
    Leaf { key: Hash32, value: Hash32 },
    Branch(Branch),
}

/// A node with entries on both sides of bit `bit`; all its keys share bits
/// `0..bit`.
#[derive(Clone)]
struct Branch {
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
        let Some(root) = self.root.as_mut() else {
            self.root = Some(Node::leaf(key_hash, value_hash));
            self.len = 1;
            self.root_hash = OnceLock::new();
            return;
        };
        let (near_key, near_value) = closest_leaf(root, &key_hash);
        let Some(crit) = first_diff_bit(near_key, &key_hash) else {
            if *near_value != value_hash {
                set_value(root, &key_hash, value_hash);
                self.root_hash = OnceLock::new();
            }
            return;
        };
        // Go down to the first node below bit `crit` (or a leaf), and put a
        // branch on bit `crit` in its place with the new leaf beside it.
        let mut n = root;
        loop {
            if let Node::Branch(b) = &**n {
                if b.bit < crit {
                    let Node::Branch(b) = Arc::make_mut(n) else {
                        return;
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
            self.len += 1;
            self.root_hash = OnceLock::new();
            return;
        }
    }

    /// Removes the entry of `key_hash`; false if there was none. The other
    /// side of the removed leaf's parent takes the parent's place, so a lone
    /// sibling leaf moves up to where it is alone.
    pub fn remove(&mut self, key_hash: &Hash32) -> bool {
        if self.get(key_hash).is_none() {
            return false;
        }
        self.root_hash = OnceLock::new();
        let Some(mut n) = self.root.as_mut() else {
            return false;
        };
        if let Node::Leaf { .. } = **n {
            self.root = None;
            self.len = 0;
            return true;
        }
        loop {
            let Node::Branch(b) = &**n else {
                return false;
            };
            let side = bit(key_hash, usize::from(b.bit));
            if matches!(&*b.children[side], Node::Leaf { key, .. } if key == key_hash) {
                let other = Arc::clone(&b.children[1 - side]);
                *n = other;
                self.len -= 1;
                return true;
            }
            let Node::Branch(b) = Arc::make_mut(n) else {
                return false;
            };
            b.hash = OnceLock::new();
            n = &mut b.children[side];
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

/// Why a [`StateProof`] was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum StateProofError {
    #[error("malformed state proof: {0}")]
    Malformed(&'static str),
    #[error("the state proof does not lead to the expected root")]
    RootMismatch,
    #[error("the state proof shows the key with another value")]
    WrongValue,
    #[error("the state proof shows the key absent")]
    NotPresent,
    #[error("the state proof shows the key present")]
    NotAbsent,
}

impl ErrorCode for StateProofError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "state_proof.malformed",
            Self::RootMismatch => "state_proof.root_mismatch",
            Self::WrongValue => "state_proof.wrong_value",
            Self::NotPresent => "state_proof.not_present",
            Self::NotAbsent => "state_proof.not_absent",
        }
    }
}

/// The one entry of the subtree a [`StateProof`] ends at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofLeaf {
    pub key: Hash32,
    pub value: Hash32,
}

/// A proof of presence or absence of one key (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProof {
    pub leaf: Option<ProofLeaf>,
    /// Top-down: `siblings[0]` is the sibling at depth 1.
    pub siblings: Vec<Hash32>,
}

impl StateProof {
    /// Checks that under `root`, `key` has the value `value` (`Some`) or no
    /// entry (`None`). `key` and `value` are the bytes before hashing.
    pub fn verify(
        &self,
        root: &Hash32,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), StateProofError> {
        self.verify_hashed(root, &key_hash(key), value.map(value_hash).as_ref())
    }

    /// [`Self::verify`] for a key hash and value hash computed by the caller.
    pub fn verify_hashed(
        &self,
        root: &Hash32,
        key_hash: &Hash32,
        value_hash: Option<&Hash32>,
    ) -> Result<(), StateProofError> {
        let d = self.siblings.len();
        if d > MAX_SIBLINGS {
            return Err(StateProofError::Malformed("more than 256 siblings"));
        }
        if self.siblings.last() == Some(&Hash32::ZERO) {
            return Err(StateProofError::Malformed(
                "the deepest sibling is empty: the proof goes deeper than the tree",
            ));
        }
        match &self.leaf {
            None if d == MAX_SIBLINGS => {
                return Err(StateProofError::Malformed("an empty position at depth 256"));
            }
            Some(leaf) if !share_prefix(&leaf.key, key_hash, d) => {
                return Err(StateProofError::Malformed(
                    "the leaf is not on the key's path",
                ));
            }
            _ => {}
        }
        let mut h = self
            .leaf
            .as_ref()
            .map_or(Hash32::ZERO, |l| leaf_hash(&l.key, &l.value));
        for (i, sibling) in self.siblings.iter().enumerate().rev() {
            h = if bit(key_hash, i) == 0 {
                node_hash(&h, sibling)
            } else {
                node_hash(sibling, &h)
            };
        }
        if h != *root {
            return Err(StateProofError::RootMismatch);
        }
        let found = self
            .leaf
            .as_ref()
            .filter(|l| l.key == *key_hash)
            .map(|l| &l.value);
        match (value_hash, found) {
            (Some(want), Some(got)) if want == got => Ok(()),
            (Some(_), Some(_)) => Err(StateProofError::WrongValue),
            (Some(_), None) => Err(StateProofError::NotPresent),
            (None, Some(_)) => Err(StateProofError::NotAbsent),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
