//! Finds a verified transaction by id: its block height and index.
//!
//! The index keeps the first 8 bytes of every transaction id in a few
//! sorted runs of geometrically falling size (a logarithmic merge: each new
//! block adds a small run, and a run is merged into the one before it while
//! that one is less than twice its size). A lookup is a binary search in
//! each of the O(log n) runs, so it costs the same on a chain of a million
//! transactions as on the demo chain; appending is amortised O(log n) per
//! transaction; cloning (a snapshot of the verified chain) copies a few
//! `Arc`s.
//!
//! Invariant: runs hold entries of consecutive block ranges, oldest first,
//! each sorted by (key, height, index); so the matches of one key, taken
//! run by run, come in chain order.

use std::sync::Arc;

/// One transaction: the first 8 bytes of its id, where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    key: u64,
    height: u64,
    index: u32,
}

/// Transaction ids' first 8 bytes → (height, index).
#[derive(Debug, Clone, Default)]
pub struct TxIndex {
    runs: Vec<Arc<Vec<Entry>>>,
}

impl TxIndex {
    /// Adds the transactions of block `height` (after every earlier block):
    /// each its id's first 8 bytes and its index in the block.
    pub fn add_block(&mut self, height: u64, keys: impl IntoIterator<Item = (u64, u32)>) {
        let mut run: Vec<Entry> = keys
            .into_iter()
            .map(|(key, index)| Entry { key, height, index })
            .collect();
        if run.is_empty() {
            return;
        }
        run.sort_unstable();
        self.runs.push(Arc::new(run));
        while let [.., older, newer] = self.runs.as_slice() {
            if older.len() >= 2 * newer.len() {
                break;
            }
            let merged = merge(older, newer);
            self.runs.pop();
            self.runs.pop();
            self.runs.push(Arc::new(merged));
        }
    }

    /// `(height, index)` of every transaction whose id starts with the 8
    /// bytes `key`, in chain order; callers compare the full id (8 bytes can
    /// collide).
    pub fn locate(&self, key: u64) -> Vec<(u64, u32)> {
        self.runs
            .iter()
            .flat_map(|run| {
                let from = run.partition_point(|e| e.key < key);
                run[from..]
                    .iter()
                    .take_while(move |e| e.key == key)
                    .map(|e| (e.height, e.index))
            })
            .collect()
    }

    /// How many transactions are indexed.
    pub fn len(&self) -> usize {
        self.runs.iter().map(|r| r.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// How many sorted runs a lookup searches.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

fn merge(a: &[Entry], b: &[Entry]) -> Vec<Entry> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        if x <= y {
            out.push(*x);
            i += 1;
        } else {
            out.push(*y);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every lookup equals a scan of all blocks, in chain order, while
    /// the runs stay logarithmic in number.
    #[test]
    fn lookups_equal_a_scan_of_every_block() {
        let mut index = TxIndex::default();
        let mut all: Vec<(u64, u64, u32)> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for height in 0..3_000u64 {
            let n = (x >> 59) as u32; // 0..=31 transactions
            let mut keys = Vec::new();
            for i in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // A small key space, so that keys repeat across blocks.
                let key = x % 5_000;
                keys.push((key, i));
                all.push((key, height, i));
            }
            index.add_block(height, keys);
        }
        assert_eq!(index.len(), all.len());
        assert!(
            index.runs() < 40,
            "{} runs for {} entries",
            index.runs(),
            all.len()
        );
        for key in 0..5_001u64 {
            let want: Vec<(u64, u32)> = all
                .iter()
                .filter(|e| e.0 == key)
                .map(|e| (e.1, e.2))
                .collect();
            assert_eq!(index.locate(key), want, "key {key}");
        }
    }

    #[test]
    fn a_clone_is_a_snapshot() {
        let mut a = TxIndex::default();
        a.add_block(0, [(7, 0)]);
        let b = a.clone();
        a.add_block(1, [(7, 0), (9, 1)]);
        assert_eq!(b.locate(7), vec![(0, 0)]);
        assert_eq!(a.locate(7), vec![(0, 0), (1, 0)]);
        assert!(a.locate(8).is_empty());
    }
}
