//! The transaction log's Merkle tree (RFC 6962 / RFC 9162, SHA-256).
//!
//! Owns leaf and node hashing, the in-memory [`MerkleTree`] (O(log n) append,
//! roots, inclusion and consistency proofs at any past size), the
//! [`CompactTree`] a node keeps (the same, holding only its upper levels
//! and reading leaves back from a [`LeafSource`]), the compact
//! [`Frontier`] (root of a growing log from O(log n) hashes) and the proof
//! verifiers every client runs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::Hash32;
use crate::ErrorCode;

mod compact;
mod paths;
pub use compact::{CompactTree, LeafSource, TreeError};
use paths::{consistency_proof, inclusion_proof, root_at, Levels};

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is beyond the log's size {len}")]
    SizeOutOfRange { size: u64, len: u64 },
    #[error("second size {size2} is smaller than first size {size1}")]
    SizesReversed { size1: u64, size2: u64 },
    #[error("proof has {got} hashes; {want} expected")]
    WrongLength { got: usize, want: usize },
    #[error("computed root does not match the expected root")]
    RootMismatch,
    #[error("{0} is not a 32-byte SHA-256 hash")]
    MalformedHash(String),
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyTree,
    #[error(transparent)]
    Json(#[from] crate::jcs::JcsError),
    #[error("proof shape: {0}")]
    Shape(String),
}

impl ErrorCode for ProofError {
    fn code(&self) -> &'static str {
        match self {
            Self::IndexOutOfRange { .. } => "proof.index_out_of_range",
            Self::SizeOutOfRange { .. } => "proof.size_out_of_range",
            Self::SizesReversed { .. } => "proof.sizes_reversed",
            Self::WrongLength { .. } => "proof.wrong_length",
            Self::RootMismatch => "proof.root_mismatch",
            Self::MalformedHash(_) => "proof.malformed_hash",
            Self::EmptyTree => "proof.empty_tree",
            Self::Json(e) => e.code(),
            Self::Shape(_) => "proof.shape",
        }
    }
}

/// MTH of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash32 {
    Hash32::sha256(b"")
}

/// `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    Hash32(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash32(h.finalize().into())
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (n - 1).ilog2()
}

/// MTH over a list of leaf hashes (reference definition, O(n)).
pub fn root_of(leaf_hashes: &[Hash32]) -> Hash32 {
    match leaf_hashes.len() {
        0 => empty_root(),
        1 => leaf_hashes[0],
        n => {
            let k = usize::try_from(split_point(n as u64)).unwrap_or(n / 2);
            node_hash(&root_of(&leaf_hashes[..k]), &root_of(&leaf_hashes[k..]))
        }
    }
}

/// A proof that leaf `leaf_index` is in the tree of `tree_size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub path: Vec<Hash32>,
}

/// A proof that the tree of `size1` leaves is a prefix of the one of `size2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    pub size1: u64,
    pub size2: u64,
    pub path: Vec<Hash32>,
}

/// Reads a proof object with exactly the members `names` (integers) and
/// `path` (hex hashes) from untrusted JSON.
fn parse_proof(bytes: &[u8], names: [&str; 2]) -> Result<([u64; 2], Vec<Hash32>), ProofError> {
    let value = crate::jcs::parse_strict(bytes)?;
    let obj = value
        .as_object()
        .ok_or_else(|| ProofError::Shape("a proof is a JSON object".into()))?;
    if obj.len() != 3 || !obj.contains_key("path") || names.iter().any(|n| !obj.contains_key(*n)) {
        return Err(ProofError::Shape(format!(
            "members must be exactly {}, {} and path",
            names[0], names[1]
        )));
    }
    let mut ints = [0u64; 2];
    for (slot, name) in ints.iter_mut().zip(names) {
        *slot = obj[name]
            .as_u64()
            .ok_or_else(|| ProofError::Shape(format!("{name} must be a non-negative integer")))?;
    }
    let path = obj["path"]
        .as_array()
        .ok_or_else(|| ProofError::Shape("path must be an array".into()))?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.as_str()
                .and_then(|s| Hash32::from_hex(s).ok())
                .ok_or_else(|| ProofError::MalformedHash(format!("path[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ints, path))
}

impl InclusionProof {
    /// Parses the wire form `{"leaf_index", "tree_size", "path"}`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProofError> {
        let ([leaf_index, tree_size], path) = parse_proof(bytes, ["leaf_index", "tree_size"])?;
        Ok(Self {
            leaf_index,
            tree_size,
            path,
        })
    }
}

impl ConsistencyProof {
    /// Parses the wire form `{"size1", "size2", "path"}`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProofError> {
        let ([size1, size2], path) = parse_proof(bytes, ["size1", "size2"])?;
        Ok(Self { size1, size2, path })
    }
}

/// All leaf hashes and every complete interior node, level by level.
/// Appends are O(log n); proofs for any past size are O(log² n).
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    /// `levels[h][i]` = root of the perfect subtree of 2^h leaves starting at i·2^h.
    levels: Vec<Vec<Hash32>>,
}

impl MerkleTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree over `leaves` (leaf hashes, in order).
    pub fn from_leaf_hashes(leaves: &[Hash32]) -> Self {
        let mut t = Self::new();
        for h in leaves {
            t.push_hash(*h);
        }
        t
    }

    /// The frontier of the whole tree (what a block verifier keeps), read
    /// off the stored levels: one peak per set bit of the size, largest
    /// first, without hashing anything.
    pub fn frontier(&self) -> Frontier {
        let size = self.len();
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for h in (0..64).rev() {
            if (size >> h) & 1 == 1 {
                let peak = usize::try_from(start >> h)
                    .ok()
                    .and_then(|i| self.levels.get(h)?.get(i));
                // A set bit h means at least 2^h leaves, so level h has
                // the subtree that starts at `start`.
                if let Some(p) = peak {
                    peaks.push(*p);
                }
                start += 1 << h;
            }
        }
        Frontier { size, peaks }
    }

    /// Every leaf hash, in order.
    pub fn leaf_hashes(&self) -> &[Hash32] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push_leaf(&mut self, leaf: &[u8]) {
        self.push_hash(leaf_hash(leaf));
    }

    pub fn push_hash(&mut self, hash: Hash32) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(hash);
        let mut h = 0;
        let mut idx = self.levels[0].len() - 1;
        while idx % 2 == 1 {
            let parent = node_hash(&self.levels[h][idx - 1], &self.levels[h][idx]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
            idx /= 2;
        }
    }

    pub fn leaf_hash_at(&self, index: u64) -> Option<Hash32> {
        let i = usize::try_from(index).ok()?;
        self.levels.first()?.get(i).copied()
    }

    /// Root of the current tree.
    pub fn root(&self) -> Hash32 {
        self.root_at(self.len()).unwrap_or_else(|_| empty_root())
    }

    /// Root of the tree as it was with `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash32, ProofError> {
        root_at(&mut Levels(&self.levels), self.len(), size)
    }

    /// RFC 9162 §2.1.3.1 audit path for `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, ProofError> {
        inclusion_proof(&mut Levels(&self.levels), self.len(), index, size)
    }

    /// RFC 9162 §2.1.4.1 consistency proof between sizes `size1 ≤ size2`.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<ConsistencyProof, ProofError> {
        consistency_proof(&mut Levels(&self.levels), self.len(), size1, size2)
    }

    /// Keeps only what a node needs in memory: the levels from `floor` up
    /// and, below it, the nodes of the unfinished last `2^floor` leaves; the
    /// rest is read back from a [`LeafSource`] when a proof needs it.
    pub fn into_compact(self, floor: u32) -> CompactTree {
        CompactTree::from_levels(self.levels, floor)
    }
}

/// The right edge of a log: one root per set bit of `size`, largest first.
/// Enough to append and to compute the root, in O(log n) space — what a
/// block verifier keeps between blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frontier {
    pub size: u64,
    pub peaks: Vec<Hash32>,
}

impl Frontier {
    pub fn push_hash(&mut self, hash: Hash32) {
        let mut acc = hash;
        let mut s = self.size;
        while s & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => acc = node_hash(&left, &acc),
                None => break, // unreachable while peaks matches size
            }
            s >>= 1;
        }
        self.peaks.push(acc);
        self.size += 1;
    }

    /// True when `peaks` has one hash per set bit of `size` (always so for a
    /// frontier built by `push_hash`; check it for one read from outside).
    pub fn is_well_formed(&self) -> bool {
        self.peaks.len() == self.size.count_ones() as usize
    }

    pub fn root(&self) -> Hash32 {
        let mut it = self.peaks.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// Checks that every hash in `path` is a SHA-256 digest.
fn typed_path<H: AsRef<[u8]>>(path: &[H]) -> Result<Vec<Hash32>, ProofError> {
    path.iter()
        .enumerate()
        .map(|(i, h)| {
            <[u8; 32]>::try_from(h.as_ref())
                .map(Hash32)
                .map_err(|_| ProofError::MalformedHash(format!("proof[{i}]")))
        })
        .collect()
}

/// RFC 9162 §2.1.3.2: checks that `leaf` (a leaf hash) is leaf `index` of the
/// tree of `size` leaves whose root is `root`. Hashes are byte strings as they
/// arrive from outside; any that is not 32 bytes is an error.
pub fn verify_inclusion<H: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf: &[u8],
    path: &[H],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaf = <[u8; 32]>::try_from(leaf)
        .map(Hash32)
        .map_err(|_| ProofError::MalformedHash("leaf hash".into()))?;
    let path = typed_path(path)?;
    let want = inclusion_len(index, size);
    if path.len() != want {
        return Err(ProofError::WrongLength {
            got: path.len(),
            want,
        });
    }
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = leaf;
    for p in &path {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || r.0.as_slice() != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Length of the audit path for `index` in a tree of `size` leaves.
fn inclusion_len(index: u64, size: u64) -> usize {
    let (inner, border) = decompose(index, size);
    inner + border
}

/// Splits an audit path into the part below the point where the paths of
/// `index` and `size - 1` meet (inner) and the part above it (border).
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // `inner` is 64 when the two paths part at the top bit: nothing is left
    // above it (a plain `>>` by 64 would overflow; found by fuzzing).
    let border = index.checked_shr(inner).unwrap_or(0).count_ones() as usize;
    let inner = inner as usize;
    (inner, border)
}

/// RFC 9162 §2.1.4.2: checks that the tree of `size1` leaves with root
/// `root1` is a prefix of the tree of `size2` leaves with root `root2`.
///
/// `size1 == 0` is always an error: the empty tree is a prefix of every tree,
/// so such a "proof" would assure nothing; start from a checkpoint of size ≥ 1.
/// For `size1 == size2` the proof must be empty and the roots equal.
pub fn verify_consistency<H: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    path: &[H],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyTree);
    }
    if size1 == size2 {
        if !path.is_empty() {
            return Err(ProofError::WrongLength {
                got: path.len(),
                want: 0,
            });
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let path = typed_path(path)?;
    let root1 = <[u8; 32]>::try_from(root1)
        .map(Hash32)
        .map_err(|_| ProofError::MalformedHash("root1".into()))?;
    let path = path.as_slice();
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let inner = inner - shift;
    // When size1 is a power of two its root is the proof's implicit first node.
    let (seed, rest) = if size1 == 1 << shift {
        (root1, path)
    } else {
        match path.split_first() {
            Some((first, rest)) => (*first, rest),
            None => {
                return Err(ProofError::WrongLength {
                    got: 0,
                    want: 1 + inner + border,
                })
            }
        }
    };
    if rest.len() != inner + border {
        return Err(ProofError::WrongLength {
            got: path.len(),
            want: path.len() - rest.len() + inner + border,
        });
    }
    let mask = (size1 - 1) >> shift;
    let (inner_path, border_path) = rest.split_at(inner);

    let mut h1 = seed;
    let mut h2 = seed;
    for (i, p) in inner_path.iter().enumerate() {
        if (mask >> i) & 1 == 1 {
            h1 = node_hash(p, &h1);
            h2 = node_hash(p, &h2);
        } else {
            h2 = node_hash(&h2, p);
        }
    }
    for p in border_path {
        h1 = node_hash(p, &h1);
        h2 = node_hash(p, &h2);
    }
    if h1 != root1 || h2.0.as_slice() != root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trees_frontier_is_the_pushed_one() {
        let mut tree = MerkleTree::new();
        let mut pushed = Frontier::default();
        for i in 0u32..70 {
            assert_eq!(tree.frontier(), pushed, "size {i}");
            assert_eq!(tree.frontier().root(), tree.root());
            let h = leaf_hash(&i.to_be_bytes());
            tree.push_hash(h);
            pushed.push_hash(h);
        }
    }

    #[test]
    fn huge_tree_sizes_are_refused_not_overflowed() {
        // The leaf's and the last leaf's paths part at the top bit (found by
        // fuzzing: the path length computation shifted by 64).
        let h = [0u8; 32];
        let none: [[u8; 32]; 0] = [];
        assert!(verify_inclusion(0, u64::MAX, &h, &none, &h).is_err());
        assert!(verify_inclusion(1 << 62, u64::MAX, &h, &none, &h).is_err());
    }

    fn tree(n: u64) -> MerkleTree {
        let mut t = MerkleTree::new();
        for i in 0..n {
            t.push_leaf(&i.to_be_bytes());
        }
        t
    }

    #[test]
    fn tree_frontier_and_reference_agree() {
        let mut f = Frontier::default();
        let mut t = MerkleTree::new();
        let mut leaves = Vec::new();
        for i in 0u64..70 {
            let h = leaf_hash(&i.to_be_bytes());
            leaves.push(h);
            t.push_hash(h);
            f.push_hash(h);
            assert!(f.is_well_formed());
            assert_eq!(t.root(), root_of(&leaves));
            assert_eq!(f.root(), t.root());
        }
    }

    #[test]
    fn all_proofs_verify_small_trees() {
        let t = tree(33);
        for size in 1..=33 {
            let root = t.root_at(size).unwrap();
            for idx in 0..size {
                let p = t.inclusion_proof(idx, size).unwrap();
                let leaf = t.leaf_hash_at(idx).unwrap();
                verify_inclusion(idx, size, &leaf.0, &p.path, &root.0).unwrap();
            }
            for s1 in 1..=size {
                let p = t.consistency_proof(s1, size).unwrap();
                let root1 = t.root_at(s1).unwrap();
                verify_consistency(s1, size, &p.path, &root1.0, &root.0).unwrap();
            }
        }
    }

    #[test]
    fn proofs_parse_from_the_wire_form() {
        let t = tree(5);
        let p = t.inclusion_proof(3, 5).unwrap();
        let json = serde_json::to_vec(&p).unwrap();
        assert_eq!(InclusionProof::from_json(&json).unwrap(), p);
        let c = t.consistency_proof(3, 5).unwrap();
        assert_eq!(
            ConsistencyProof::from_json(&serde_json::to_vec(&c).unwrap()).unwrap(),
            c
        );
        let code = |s: &str| InclusionProof::from_json(s.as_bytes()).unwrap_err().code();
        assert_eq!(
            code(r#"{"leaf_index":3.0,"tree_size":5,"path":[]}"#),
            "proof.shape"
        );
        assert_eq!(code(r#"{"leaf_index":3,"tree_size":5}"#), "proof.shape");
        assert_eq!(
            code(r#"{"leaf_index":3,"tree_size":5,"path":[],"x":1}"#),
            "proof.shape"
        );
        assert_eq!(
            code(r#"{"leaf_index":3,"tree_size":5,"path":["AB"]}"#),
            "proof.malformed_hash"
        );
        assert_eq!(
            code(r#"{"leaf_index":3,"tree_size":5,"path":[], "path":[]}"#),
            "jcs.duplicate_key"
        );
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let t = tree(4);
        assert!(t.inclusion_proof(4, 4).is_err());
        assert!(t.inclusion_proof(0, 5).is_err());
        assert!(t.consistency_proof(3, 2).is_err());
        assert!(t.root_at(5).is_err());
    }
}
