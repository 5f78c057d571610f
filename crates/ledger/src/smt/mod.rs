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
//! The in-memory tree is in [`tree`].

use serde::{Deserialize, Serialize};

use crate::types::Hash32;
use crate::ErrorCode;

mod tree;
pub use tree::{StateTree, PARALLEL_BATCH};

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
