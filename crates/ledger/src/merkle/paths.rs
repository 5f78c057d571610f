//! The RFC 9162 proof algorithms (roots, audit paths, consistency proofs
//! at any past size), written once over [`Perfect`]: where a tree finds the
//! root of a perfect subtree. [`MerkleTree`] holds every one
//! ([`Levels`]); a `CompactTree` reads the lower ones back from its source.

use super::{empty_root, node_hash, split_point, ConsistencyProof, InclusionProof, ProofError};
use crate::types::Hash32;

/// Where the proof algorithms get the root of the perfect subtree at
/// `level` h and `index` i: the leaves `[i·2^h, (i+1)·2^h)`.
pub(super) trait Perfect {
    type Error: From<ProofError>;
    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash32, Self::Error>;
}

/// A [`MerkleTree`]'s levels, which hold every perfect subtree.
pub(super) struct Levels<'a>(pub(super) &'a [Vec<Hash32>]);

impl Perfect for Levels<'_> {
    type Error = ProofError;
    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash32, ProofError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.0.get(level as usize)?.get(i).copied())
            .ok_or(ProofError::SizeOutOfRange {
                size: (index + 1) << level,
                len: self.0.first().map_or(0, |l| l.len() as u64),
            })
    }
}

/// Hash of leaves `[lo, hi)`, lo < hi.
fn subtree<P: Perfect>(p: &mut P, lo: u64, hi: u64) -> Result<Hash32, P::Error> {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        let h = n.trailing_zeros();
        return p.perfect(h, lo >> h);
    }
    let k = split_point(n);
    Ok(node_hash(
        &subtree(p, lo, lo + k)?,
        &subtree(p, lo + k, hi)?,
    ))
}

fn check_size(len: u64, size: u64) -> Result<(), ProofError> {
    if size > len {
        return Err(ProofError::SizeOutOfRange { size, len });
    }
    Ok(())
}

/// Root of the tree of the first `size` of `len` leaves.
pub(super) fn root_at<P: Perfect>(p: &mut P, len: u64, size: u64) -> Result<Hash32, P::Error> {
    check_size(len, size)?;
    if size == 0 {
        return Ok(empty_root());
    }
    subtree(p, 0, size)
}

pub(super) fn inclusion_proof<P: Perfect>(
    p: &mut P,
    len: u64,
    index: u64,
    size: u64,
) -> Result<InclusionProof, P::Error> {
    check_size(len, size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut path = Vec::new();
    audit_path(p, index, 0, size, &mut path)?;
    Ok(InclusionProof {
        leaf_index: index,
        tree_size: size,
        path,
    })
}

fn audit_path<P: Perfect>(
    p: &mut P,
    m: u64,
    lo: u64,
    hi: u64,
    out: &mut Vec<Hash32>,
) -> Result<(), P::Error> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        audit_path(p, m, lo, lo + k, out)?;
        out.push(subtree(p, lo + k, hi)?);
    } else {
        audit_path(p, m - k, lo + k, hi, out)?;
        out.push(subtree(p, lo, lo + k)?);
    }
    Ok(())
}

pub(super) fn consistency_proof<P: Perfect>(
    p: &mut P,
    len: u64,
    size1: u64,
    size2: u64,
) -> Result<ConsistencyProof, P::Error> {
    check_size(len, size2)?;
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 }.into());
    }
    let mut path = Vec::new();
    if size1 > 0 && size1 < size2 {
        subproof(p, size1, 0, size2, true, &mut path)?;
    }
    Ok(ConsistencyProof { size1, size2, path })
}

fn subproof<P: Perfect>(
    p: &mut P,
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Hash32>,
) -> Result<(), P::Error> {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(subtree(p, lo, hi)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(p, m, lo, lo + k, whole, out)?;
        out.push(subtree(p, lo + k, hi)?);
    } else {
        subproof(p, m - k, lo + k, hi, false, out)?;
        out.push(subtree(p, lo, lo + k)?);
    }
    Ok(())
}
