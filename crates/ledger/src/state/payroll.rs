//! Committed payrolls: the payroll line's canonical encoding and Merkle
//! leaf, the payroll root a `payment.request` commits to, the split into
//! `payment.payroll_chunk` payloads, the [`PayrollCommitment`] a payment
//! carries, and the `payment.payroll_chunk` rule that delivers the lines in
//! order until they match the commitment (PROTOCOL.md §12.5). The payments
//! themselves are [`super::funds`]'; its public paths re-export this module.

use serde::{Deserialize, Serialize};

use super::funds::{overflow, project, require_party, PaymentStatus};
use super::kinds::{Party, PayrollChunk, PayrollLine, RefId};
use super::{bad_payload, Ctx, Rejection, State};
use crate::merkle::{self, Frontier};
use crate::types::{Fen, Hash32};

/// At most this many lines inline in `payment.request` (the 64 KiB envelope
/// limit allows about 685 lines of 7-digit amounts; see [`PAYROLL_CHUNK_LINES`]).
pub const MAX_INLINE_PAYROLL_LINES: usize = 1000;
/// At most this many lines in a committed payroll.
pub const MAX_PAYROLL_LINES: u64 = 100_000;
/// Lines per `payment.payroll_chunk` a client should send: 500 lines with
/// amounts below 2^53 fen are at most 500 × 104 bytes, well under 64 KiB.
pub const PAYROLL_CHUNK_LINES: usize = 500;
/// The prefix of a payroll line's Merkle leaf: `"govchain/v1/payroll" ‖ 0x00`.
pub const PAYROLL_LEAF_PREFIX: &[u8] = b"govchain/v1/payroll\0";

/// `JCS(line)`: `{"amount":<fen>,"worker":"<hex>"}` (members already in
/// canonical order, no other member).
pub fn payroll_line_jcs(line: &PayrollLine) -> Vec<u8> {
    format!(
        "{{\"amount\":{},\"worker\":\"{}\"}}",
        line.amount.get(),
        line.worker.to_hex()
    )
    .into_bytes()
}

/// The RFC 6962 leaf hash of a payroll line:
/// `SHA-256(0x00 ‖ "govchain/v1/payroll" ‖ 0x00 ‖ JCS(line))`.
pub fn payroll_leaf_hash(line: &PayrollLine) -> Hash32 {
    let mut leaf = PAYROLL_LEAF_PREFIX.to_vec();
    leaf.extend_from_slice(&payroll_line_jcs(line));
    merkle::leaf_hash(&leaf)
}

/// The RFC 6962 Merkle tree hash over `lines`' leaf hashes, in order: the
/// `payroll_root` a `payment.request` commits to.
pub fn payroll_root(lines: &[PayrollLine]) -> Hash32 {
    let mut f = Frontier::default();
    for l in lines {
        f.push_hash(payroll_leaf_hash(l));
    }
    f.root()
}

/// Splits `lines` into the `payment.payroll_chunk` payloads that deliver
/// them, [`PAYROLL_CHUNK_LINES`] at a time.
pub fn payroll_chunks(
    project: &RefId,
    payment: &RefId,
    lines: &[PayrollLine],
) -> Vec<PayrollChunk> {
    lines
        .chunks(PAYROLL_CHUNK_LINES)
        .enumerate()
        .map(|(i, c)| PayrollChunk {
            project_id: project.clone(),
            payment_id: payment.clone(),
            offset: (i * PAYROLL_CHUNK_LINES) as u64,
            lines: c.to_vec(),
        })
        .collect()
}

/// What a `payment.request` committed to, and how much has arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayrollCommitment {
    pub root: Hash32,
    pub total: Fen,
    pub lines: u64,
    /// Sum of the lines received so far (never above `total`).
    pub received_total: Fen,
    /// The Merkle frontier of the lines received so far (`size` = count).
    pub received: Frontier,
}

impl PayrollCommitment {
    pub fn received_lines(&self) -> u64 {
        self.received.size
    }

    pub fn is_complete(&self) -> bool {
        self.received.size == self.lines
    }
}

/// `payment.payroll_chunk`: the next lines of a committed payroll, by the
/// contractor, while the payment is `requested`. Running total never above
/// the committed total; the last chunk must complete the committed root.
/// Mutates the project in place (no clone of its payments).
pub(super) fn payroll_chunk(
    s: &mut State,
    ctx: &Ctx<'_>,
    c: &PayrollChunk,
) -> Result<(), Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    if c.lines.is_empty() {
        return Err(bad_payload(ctx.kind, "a chunk has at least one line"));
    }
    let p = project(s, &c.project_id)?;
    require_party(p, official, Party::Contractor)?;
    let pay = p
        .payments
        .get(&c.payment_id)
        .ok_or_else(|| Rejection::UnknownPayment(c.payment_id.to_string()))?;
    let out_of_order = |next: &str| Rejection::PaymentOutOfOrder {
        payment: c.payment_id.to_string(),
        status: pay.status.as_str().into(),
        next: next.into(),
    };
    let Some(commit) = pay.payroll_commitment.as_ref() else {
        return Err(out_of_order(
            "payment.confirm by the supervisor (its payroll is inline)",
        ));
    };
    if pay.status != PaymentStatus::Requested || commit.is_complete() {
        let next = p.next_step(pay).map_or(
            "none (the payment is closed)".to_owned(),
            |(step, party)| format!("{step} by the {}", party.as_str()),
        );
        return Err(out_of_order(&next));
    }
    let received = commit.received_lines();
    if c.offset != received {
        return Err(Rejection::PayrollOffset {
            payment: c.payment_id.to_string(),
            received,
            offset: c.offset,
        });
    }
    let mismatch = |detail: String| Rejection::PayrollMismatch {
        payment: c.payment_id.to_string(),
        detail,
    };
    let count = received + c.lines.len() as u64;
    if count > commit.lines {
        return Err(mismatch(format!(
            "{count} lines sent, {} committed",
            commit.lines
        )));
    }
    let total = c
        .lines
        .iter()
        .try_fold(commit.received_total, |acc, l| acc.checked_add(l.amount))
        .map_err(|e| overflow(&e))?;
    if total > commit.total {
        return Err(mismatch(format!(
            "the lines so far total {total}, more than the committed {}",
            commit.total
        )));
    }
    let mut frontier = commit.received.clone();
    for l in &c.lines {
        frontier.push_hash(payroll_leaf_hash(l));
    }
    if count == commit.lines {
        if total != commit.total {
            return Err(mismatch(format!(
                "the lines total {total}, not the committed {}",
                commit.total
            )));
        }
        let root = frontier.root();
        if root != commit.root {
            return Err(mismatch(format!(
                "the lines' root is {root}, not the committed {}",
                commit.root
            )));
        }
    }
    // Validated: now mutate in place.
    let Some(pay) = s
        .projects
        .get_mut(&c.project_id)
        .and_then(|p| p.payment_mut(&c.payment_id))
    else {
        return Err(Rejection::UnknownPayment(c.payment_id.to_string()));
    };
    pay.payroll.extend_from_slice(&c.lines);
    if let Some(commit) = pay.payroll_commitment.as_mut() {
        commit.received = frontier;
        commit.received_total = total;
    }
    s.payment_changes
        .push((c.project_id.clone(), c.payment_id.clone()));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(i: u64) -> PayrollLine {
        PayrollLine {
            worker: Hash32::sha256(&i.to_be_bytes()),
            amount: Fen::new(1_000_000 + i).unwrap(),
        }
    }

    #[test]
    fn line_encoding_is_jcs() {
        for l in [
            line(0),
            line(7),
            PayrollLine {
                worker: Hash32::ZERO,
                amount: Fen::MAX,
            },
        ] {
            assert_eq!(
                payroll_line_jcs(&l),
                crate::jcs::canonicalize_serialize(&l).unwrap()
            );
        }
    }

    #[test]
    fn root_is_rfc6962_over_prefixed_leaves() {
        let lines: Vec<_> = (0..13).map(line).collect();
        let leaves: Vec<Hash32> = lines.iter().map(payroll_leaf_hash).collect();
        assert_eq!(payroll_root(&lines), merkle::root_of(&leaves));
        let mut data = b"govchain/v1/payroll\0".to_vec();
        data.extend_from_slice(&crate::jcs::canonicalize_serialize(&lines[0]).unwrap());
        assert_eq!(leaves[0], merkle::leaf_hash(&data));
        assert_eq!(payroll_root(&[]), merkle::empty_root());
    }

    #[test]
    fn chunks_cover_the_lines_in_order() {
        let lines: Vec<_> = (0..1201).map(line).collect();
        let id = RefId::try_from("p".to_owned()).unwrap();
        let chunks = payroll_chunks(&id, &id, &lines);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].offset, 1000);
        let back: Vec<_> = chunks.iter().flat_map(|c| c.lines.clone()).collect();
        assert_eq!(back, lines);
    }
}
