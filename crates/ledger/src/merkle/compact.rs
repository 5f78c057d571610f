//! [`CompactTree`]: the log's Merkle tree as a node keeps it. The same
//! roots and proofs as [`MerkleTree`](super::MerkleTree), holding only the
//! levels from a `floor` up (one hash per `2^floor` leaves and their
//! parents) and, below it, the nodes of the unfinished last `2^floor`
//! leaves. What lies below the floor in finished chunks is read back from a
//! [`LeafSource`] (the node's store) a chunk at a time, and each chunk read
//! must hash to the node the tree kept for it. At `floor` 8 a million
//! leaves hold about 8,000 hashes (256 KB) instead of two million (64 MB).

use super::paths::{consistency_proof, inclusion_proof, root_at, Levels, Perfect};
use super::{node_hash, ConsistencyProof, Frontier, InclusionProof, MerkleTree, ProofError};
use crate::types::Hash32;

/// Where a [`CompactTree`] reads back the leaf hashes it no longer holds.
pub trait LeafSource {
    type Error: std::fmt::Display;
    /// The leaf hashes `[from, to)`, in order.
    fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash32>, Self::Error>;
}

/// A proof or root the tree could not make.
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E: std::fmt::Display> {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("reading the log's leaves {from}..{to}: {error}")]
    Source { from: u64, to: u64, error: E },
    #[error("the log's stored leaves {from}..{to} do not hash to the tree's node for them")]
    Mismatch { from: u64, to: u64 },
}

/// The log's tree without its lower levels (module docs).
#[derive(Debug, Clone, Default)]
pub struct CompactTree {
    /// `levels[h]`: from `floor` up, every node (index i at `[i]`); below,
    /// the nodes from leaf `kept_from` on (index i at `[i - kept_from >> h]`).
    levels: Vec<Vec<Hash32>>,
    floor: u32,
    /// The first leaf of the unfinished chunk (a multiple of `2^floor`).
    kept_from: u64,
    len: u64,
}

impl CompactTree {
    /// An empty tree that keeps the levels from `floor` up.
    pub fn new(floor: u32) -> Self {
        Self {
            floor,
            ..Self::default()
        }
    }

    /// Every level of a whole tree (`levels[h][i]` as in `MerkleTree`).
    pub(super) fn from_levels(mut levels: Vec<Vec<Hash32>>, floor: u32) -> Self {
        let len = levels.first().map_or(0, |l| l.len() as u64);
        let kept_from = (len >> floor) << floor;
        for (h, level) in levels.iter_mut().enumerate().take(floor as usize) {
            let skip = usize::try_from(kept_from >> h).unwrap_or(usize::MAX);
            level.drain(..skip.min(level.len()));
            level.shrink_to_fit();
        }
        Self {
            levels,
            floor,
            kept_from,
            len,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many hashes the tree holds in memory.
    pub fn held(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    /// The node at `level` h and `index` i, if the tree holds it.
    fn node(&self, h: u32, i: u64) -> Option<Hash32> {
        let level = self.levels.get(h as usize)?;
        let at = if h >= self.floor {
            i
        } else {
            i.checked_sub(self.kept_from >> h)?
        };
        level.get(usize::try_from(at).ok()?).copied()
    }

    pub fn push_hash(&mut self, hash: Hash32) {
        let (mut node, mut h, mut pos) = (hash, 0u32, self.len);
        self.len += 1;
        loop {
            if self.levels.len() <= h as usize {
                self.levels.push(Vec::new());
            }
            self.levels[h as usize].push(node);
            if pos.is_multiple_of(2) {
                break;
            }
            // The left sibling is held: below the floor it is in the same
            // unfinished chunk, from the floor up every node is.
            let Some(left) = self.node(h, pos - 1) else {
                break;
            };
            node = node_hash(&left, &node);
            h += 1;
            pos /= 2;
        }
        if self.floor > 0 && self.len.is_multiple_of(1 << self.floor) {
            for level in self.levels.iter_mut().take(self.floor as usize) {
                level.clear();
            }
            self.kept_from = self.len;
        }
    }

    /// The frontier of the whole tree: its peaks are all held.
    pub fn frontier(&self) -> Frontier {
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for h in (0..64u32).rev() {
            if (self.len >> h) & 1 == 1 {
                if let Some(p) = self.node(h, start >> h) {
                    peaks.push(p);
                }
                start += 1 << h;
            }
        }
        Frontier {
            size: self.len,
            peaks,
        }
    }

    /// Root of the current tree (from held nodes only).
    pub fn root(&self) -> Hash32 {
        self.frontier().root()
    }

    /// Root of the tree as it was with `size` leaves.
    pub fn root_at<S: LeafSource>(
        &self,
        size: u64,
        source: &S,
    ) -> Result<Hash32, TreeError<S::Error>> {
        root_at(&mut self.reading(source), self.len, size)
    }

    /// RFC 9162 §2.1.3.1 audit path for `index` in the tree of `size` leaves.
    pub fn inclusion_proof<S: LeafSource>(
        &self,
        index: u64,
        size: u64,
        source: &S,
    ) -> Result<InclusionProof, TreeError<S::Error>> {
        inclusion_proof(&mut self.reading(source), self.len, index, size)
    }

    /// Leaf `index`'s hash and its audit path in the tree of `size`
    /// leaves, from one reading (the leaf's chunk is read once).
    pub fn leaf_and_inclusion_proof<S: LeafSource>(
        &self,
        index: u64,
        size: u64,
        source: &S,
    ) -> Result<(Hash32, InclusionProof), TreeError<S::Error>> {
        let mut r = self.reading(source);
        let proof = inclusion_proof(&mut r, self.len, index, size)?;
        Ok((r.perfect(0, index)?, proof))
    }

    /// RFC 9162 §2.1.4.1 consistency proof between sizes `size1 ≤ size2`.
    pub fn consistency_proof<S: LeafSource>(
        &self,
        size1: u64,
        size2: u64,
        source: &S,
    ) -> Result<ConsistencyProof, TreeError<S::Error>> {
        consistency_proof(&mut self.reading(source), self.len, size1, size2)
    }

    /// The leaf hashes `[from, to)`, each checked against the tree.
    pub fn leaf_hashes<S: LeafSource>(
        &self,
        from: u64,
        to: u64,
        source: &S,
    ) -> Result<Vec<Hash32>, TreeError<S::Error>> {
        if from > to || to > self.len {
            return Err(ProofError::SizeOutOfRange {
                size: to,
                len: self.len,
            }
            .into());
        }
        let mut r = self.reading(source);
        (from..to).map(|i| r.perfect(0, i)).collect()
    }

    fn reading<'a, S: LeafSource>(&'a self, source: &'a S) -> Reading<'a, S> {
        Reading {
            tree: self,
            source,
            chunks: Vec::new(),
        }
    }
}

/// One computation's view of a tree and its source, with the chunks of
/// leaves it has read (each as the whole subtree over them).
struct Reading<'a, S> {
    tree: &'a CompactTree,
    source: &'a S,
    chunks: Vec<(u64, MerkleTree)>,
}

impl<S: LeafSource> Reading<'_, S> {
    /// The subtree over the leaves of finished chunk `c`, read once and
    /// checked against the node the tree holds for it.
    fn chunk(&mut self, c: u64) -> Result<&MerkleTree, TreeError<S::Error>> {
        let floor = self.tree.floor;
        if let Some(at) = self.chunks.iter().position(|(k, _)| *k == c) {
            return Ok(&self.chunks[at].1);
        }
        let (from, to) = (c << floor, (c + 1) << floor);
        let leaves = self
            .source
            .leaf_hashes(from, to)
            .map_err(|error| TreeError::Source { from, to, error })?;
        let sub = MerkleTree::from_leaf_hashes(&leaves);
        if sub.len() != to - from || self.tree.node(floor, c) != Some(sub.root()) {
            return Err(TreeError::Mismatch { from, to });
        }
        self.chunks.push((c, sub));
        Ok(&self.chunks[self.chunks.len() - 1].1)
    }
}

impl<S: LeafSource> Perfect for Reading<'_, S> {
    type Error = TreeError<S::Error>;

    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash32, Self::Error> {
        if let Some(n) = self.tree.node(level, index) {
            return Ok(n);
        }
        let (lo, width) = (index << level, 1u64 << level);
        if level >= self.tree.floor || lo + width > self.tree.kept_from {
            return Err(ProofError::SizeOutOfRange {
                size: lo + width,
                len: self.tree.len,
            }
            .into());
        }
        let floor = self.tree.floor;
        let c = lo >> floor;
        let sub = self.chunk(c)?;
        // Within the chunk: the same level, the index from its start.
        Ok(Levels(&sub.levels).perfect(level, index - ((c << floor) >> level))?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;
    use std::cell::Cell;

    /// Leaves from a whole tree, counting reads; `bad` alters one leaf.
    struct Store<'a> {
        whole: &'a MerkleTree,
        reads: Cell<u32>,
        bad: Option<u64>,
    }

    impl LeafSource for Store<'_> {
        type Error = String;
        fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash32>, String> {
            self.reads.set(self.reads.get() + 1);
            Ok((from..to)
                .map(|i| {
                    let mut h = self.whole.leaf_hash_at(i).unwrap();
                    if Some(i) == self.bad {
                        h.0[0] ^= 1;
                    }
                    h
                })
                .collect())
        }
    }

    fn leaves(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Every root and proof of a compact tree, built by appending or from
    /// a whole tree, is the whole tree's, at sizes around chunk edges.
    #[test]
    fn a_compact_tree_proves_what_the_whole_tree_proves() {
        for floor in [0, 1, 3] {
            for n in [0u64, 1, 7, 8, 9, 16, 23, 33] {
                let all = leaves(n);
                let whole = MerkleTree::from_leaf_hashes(&all);
                let mut grown = CompactTree::new(floor);
                for h in &all {
                    grown.push_hash(*h);
                }
                let moved = whole.clone().into_compact(floor);
                let src = Store {
                    whole: &whole,
                    reads: Cell::new(0),
                    bad: None,
                };
                for t in [&grown, &moved] {
                    assert_eq!(t.len(), n);
                    assert_eq!(t.root(), whole.root(), "floor {floor}, n {n}");
                    assert_eq!(t.frontier(), whole.frontier());
                    if floor > 0 && n >= 16 {
                        assert!(t.held() < all.len() * 2 - 1);
                    }
                    for size in 0..=n {
                        assert_eq!(t.root_at(size, &src).unwrap(), whole.root_at(size).unwrap());
                        for i in 0..size {
                            assert_eq!(
                                t.inclusion_proof(i, size, &src).unwrap(),
                                whole.inclusion_proof(i, size).unwrap()
                            );
                            assert_eq!(
                                t.leaf_and_inclusion_proof(i, size, &src).unwrap(),
                                (
                                    whole.leaf_hash_at(i).unwrap(),
                                    whole.inclusion_proof(i, size).unwrap()
                                )
                            );
                        }
                        for s1 in 0..=size {
                            assert_eq!(
                                t.consistency_proof(s1, size, &src).unwrap(),
                                whole.consistency_proof(s1, size).unwrap()
                            );
                        }
                    }
                    assert_eq!(t.leaf_hashes(0, n, &src).unwrap(), all);
                    assert!(t.inclusion_proof(0, n + 1, &src).is_err());
                }
            }
        }
    }

    /// A proof reads at most a few chunks, and a stored leaf that does not
    /// hash to the kept node is refused, not served.
    #[test]
    fn chunks_read_back_are_checked() {
        let all = leaves(100);
        let whole = MerkleTree::from_leaf_hashes(&all);
        let tree = whole.clone().into_compact(3);
        let src = Store {
            whole: &whole,
            reads: Cell::new(0),
            bad: None,
        };
        tree.inclusion_proof(5, 100, &src).unwrap();
        assert_eq!(src.reads.get(), 1);
        let bad = Store {
            whole: &whole,
            reads: Cell::new(0),
            bad: Some(5),
        };
        let e = tree.inclusion_proof(4, 100, &bad).unwrap_err();
        assert!(matches!(e, TreeError::Mismatch { from: 0, to: 8 }), "{e}");
        // Leaves of the unfinished chunk are held: no read.
        tree.inclusion_proof(99, 100, &bad).unwrap();
        assert_eq!(bad.reads.get(), 1);
    }
}
