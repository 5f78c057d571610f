//! Proofs checked in the app, step by step, against what this workstation
//! verified itself: a transaction's inclusion in a signed checkpoint, the
//! consistency of two checkpoints (the log only grew), and either of those
//! pasted in as text by an auditor. Each step says what was computed here
//! and passes or fails; the first failure ends the report.

use govchain_ledger::block::Block;
use govchain_ledger::merkle::{self, ConsistencyProof, InclusionProof};
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode;
use serde_json::Value;

use crate::dto::{ProofKind, ProofReport, ProofStep, ProofStepId};
use crate::error::WsError;
use crate::verify::{verify_department_checkpoint, LocalChain};

/// Collects steps; stops at the first failure.
struct Steps {
    kind: ProofKind,
    list: Vec<ProofStep>,
    note: String,
    proof: String,
}

impl Steps {
    fn new(kind: ProofKind, note: &str, proof: &str) -> Self {
        Self {
            kind,
            list: Vec::new(),
            note: note.to_owned(),
            proof: proof.to_owned(),
        }
    }

    /// Records a step; returns whether it passed.
    fn push(
        &mut self,
        step: ProofStepId,
        value: impl Into<String>,
        ok: bool,
        detail: impl Into<String>,
    ) -> bool {
        self.list.push(ProofStep {
            step,
            value: value.into(),
            ok,
            detail: detail.into(),
        });
        ok
    }

    fn report(self) -> ProofReport {
        ProofReport {
            kind: self.kind,
            ok: !self.list.is_empty() && self.list.iter().all(|s| s.ok),
            steps: self.list,
            note: self.note,
            proof: self.proof,
        }
    }

    /// Verifies a checkpoint note as step `step`: a department node's
    /// signature, witnesses' cosignatures, its state line against this
    /// copy's verified blocks. Returns its size and root.
    fn checkpoint(
        &mut self,
        chain: &LocalChain,
        step: ProofStepId,
        note: &str,
    ) -> Option<(u64, Hash32)> {
        let verified = verify_department_checkpoint(&chain.state, note)
            .and_then(|r| chain.check_state_line(&r.0.checkpoint).map(|()| r));
        match verified {
            Ok((v, key, dept)) => {
                let witnesses = if v.cosigners.is_empty() {
                    "0".to_owned()
                } else {
                    chain.department_names(v.cosigners.keys()).join(", ")
                };
                self.push(
                    step,
                    format!(
                        "size {} · {}",
                        v.checkpoint.size,
                        v.checkpoint.root.to_hex()
                    ),
                    true,
                    format!("{} · {dept} · {witnesses}", key.name),
                );
                Some((v.checkpoint.size, v.checkpoint.root))
            }
            Err(e) => {
                self.push(step, "", false, e.to_string());
                None
            }
        }
    }

    /// Compares a checkpoint with this copy's own root at its size.
    fn local(&mut self, chain: &LocalChain, size: u64, root: &Hash32) -> bool {
        match chain.root_at(size) {
            Some(ours) if ours == *root => self.push(
                ProofStepId::Local,
                ours.to_hex(),
                true,
                "the root this workstation computed at that size is the same",
            ),
            Some(ours) => self.push(
                ProofStepId::Local,
                ours.to_hex(),
                false,
                "checkpoint.split_view: a signed root that differs from the verified chain's at the same size",
            ),
            None if size > chain.log_size() => self.push(
                ProofStepId::Local,
                "",
                true,
                format!(
                    "beyond this copy's verified log ({} transactions): sync to compare",
                    chain.log_size()
                ),
            ),
            None => self.push(
                ProofStepId::Local,
                "",
                false,
                format!("checkpoint.not_a_block_boundary: no block ends at log size {size}"),
            ),
        }
    }

    /// Checks an inclusion proof of `leaf` against `(size, root)`.
    fn inclusion(
        &mut self,
        proof: &Value,
        leaf: &Hash32,
        expected_index: Option<u64>,
        (size, root): (u64, Hash32),
    ) {
        let proof = match parse(proof, InclusionProof::from_json) {
            Ok(p) => p,
            Err(e) => {
                self.push(ProofStepId::Path, "", false, detail_of(&e));
                return;
            }
        };
        let ok = proof.tree_size == size && expected_index.is_none_or(|i| i == proof.leaf_index);
        if !self.push(
            ProofStepId::Path,
            format!(
                "{} hashes, leaf {} of {}",
                proof.path.len(),
                proof.leaf_index,
                proof.tree_size
            ),
            ok,
            if proof.tree_size == size {
                "RFC 9162 audit path; the leaf position is the one recorded here".to_owned()
            } else {
                format!(
                    "the proof is for size {}, the checkpoint's is {size}",
                    proof.tree_size
                )
            },
        ) {
            return;
        }
        let r = merkle::verify_inclusion(
            proof.leaf_index,
            proof.tree_size,
            &leaf.0,
            &proof.path.iter().map(|h| h.0).collect::<Vec<_>>(),
            &root.0,
        );
        self.push(
            ProofStepId::Root,
            root.to_hex(),
            r.is_ok(),
            r.map_or_else(
                |e| format!("{}: {e}", e.code()),
                |()| "leaf + path give the checkpoint's root".into(),
            ),
        );
    }

    /// Checks a consistency proof between `(size1, root1)` and `(size2, root2)`.
    fn consistency(&mut self, proof: &Value, one: (u64, Hash32), two: (u64, Hash32)) {
        let proof = match parse(proof, ConsistencyProof::from_json) {
            Ok(p) => p,
            Err(e) => {
                self.push(ProofStepId::Path, "", false, detail_of(&e));
                return;
            }
        };
        if !self.push(
            ProofStepId::Path,
            format!(
                "{} hashes, {} → {}",
                proof.path.len(),
                proof.size1,
                proof.size2
            ),
            proof.size1 == one.0 && proof.size2 == two.0,
            format!(
                "RFC 9162 consistency path; the checkpoints are of sizes {} and {}",
                one.0, two.0
            ),
        ) {
            return;
        }
        let r = merkle::verify_consistency(
            proof.size1,
            proof.size2,
            &proof.path.iter().map(|h| h.0).collect::<Vec<_>>(),
            &one.1 .0,
            &two.1 .0,
        );
        self.push(
            ProofStepId::Consistency,
            format!("{} → {}", one.1.to_hex(), two.1.to_hex()),
            r.is_ok(),
            r.map_or_else(
                |e| format!("{}: {e}", e.code()),
                |()| "the older log is a prefix of the newer one".into(),
            ),
        );
    }
}

fn parse<T>(
    v: &Value,
    from_json: impl Fn(&[u8]) -> Result<T, merkle::ProofError>,
) -> Result<T, WsError> {
    let bytes =
        serde_json::to_vec(v).map_err(|e| WsError::verification("proof.shape", e.to_string()))?;
    Ok(from_json(&bytes)?)
}

/// A failed step's detail: `code: message`.
fn detail_of(e: &WsError) -> String {
    match e {
        WsError::Verification { code, detail } => format!("{code}: {detail}"),
        e => format!("{}: {e}", e.code()),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Checks the node's inclusion proof `answer` (JSON of `/v1/proof/inclusion`)
/// for transaction `index` of block `b`, against the verified checkpoint
/// `note`: the leaf recomputed here, the path, the checkpoint's signatures,
/// the root.
pub fn check_inclusion(
    chain: &LocalChain,
    b: &Block,
    index: usize,
    answer: &Value,
    note: &str,
) -> ProofReport {
    let mut s = Steps::new(ProofKind::Inclusion, note, &pretty(answer));
    let Some(tx) = b.txs.get(index) else {
        s.push(ProofStepId::Leaf, "", false, "no such transaction");
        return s.report();
    };
    let Ok(leaf) = tx.leaf_bytes() else {
        s.push(
            ProofStepId::Leaf,
            "",
            false,
            "the transaction cannot be encoded",
        );
        return s.report();
    };
    let leaf_hash = merkle::leaf_hash(&leaf);
    let theirs = answer["leaf_hash"].as_str().unwrap_or_default();
    if !s.push(
        ProofStepId::Leaf,
        leaf_hash.to_hex(),
        theirs == leaf_hash.to_hex(),
        "SHA-256(0x00 || JCS(envelope)), computed here; the node's value must be the same",
    ) {
        return s.report();
    }
    let Some(cp) = s.checkpoint(chain, ProofStepId::Checkpoint, note) else {
        return s.report();
    };
    let expected = b.header.log_size - b.header.tx_count + index as u64;
    s.inclusion(&answer["proof"], &leaf_hash, Some(expected), cp);
    s.report()
}

/// Checks the node's consistency proof `answer` between two checkpoints
/// (`older` and `newer` notes, both verified here before).
pub fn check_consistency(
    chain: &LocalChain,
    older: &str,
    newer: &str,
    answer: &Value,
) -> ProofReport {
    let mut s = Steps::new(ProofKind::Consistency, newer, &pretty(answer));
    let Some(one) = s.checkpoint(chain, ProofStepId::Checkpoint, older) else {
        return s.report();
    };
    let Some(two) = s.checkpoint(chain, ProofStepId::Checkpoint2, newer) else {
        return s.report();
    };
    s.consistency(answer, one, two);
    if s.list.iter().all(|x| x.ok) {
        s.local(chain, two.0, &two.1);
    }
    s.report()
}

/// Checks what an auditor pasted: a checkpoint note and, optionally, a
/// proof as JSON: a node's inclusion answer (`{"tx_id", "leaf_hash",
/// "proof"}`) or a consistency proof (`{"size1", "size2", "path"}`) whose
/// other end is a size this copy verified. `leaf_of` recomputes a cached
/// transaction's leaf hash from its id.
pub fn check_pasted(
    chain: &LocalChain,
    note: &str,
    proof: &str,
    leaf_of: impl Fn(&str) -> Option<Hash32>,
) -> ProofReport {
    let proof_text = proof.trim();
    let mut s = Steps::new(ProofKind::Checkpoint, note, proof_text);
    let Some(cp) = s.checkpoint(chain, ProofStepId::Checkpoint, note.trim_start()) else {
        return s.report();
    };
    if !s.local(chain, cp.0, &cp.1) || proof_text.is_empty() {
        return s.report();
    }
    let v: Value = match serde_json::from_str(proof_text) {
        Ok(v) => v,
        Err(e) => {
            s.push(
                ProofStepId::Path,
                "",
                false,
                format!("proof.shape: not JSON: {e}"),
            );
            return s.report();
        }
    };
    if v.get("size1").is_some() {
        s.kind = ProofKind::Consistency;
        let size1 = v["size1"].as_u64().unwrap_or(0);
        let Some(root1) = chain.root_at(size1) else {
            s.push(
                ProofStepId::Checkpoint2,
                "",
                false,
                format!("this copy has no verified root at size {size1}"),
            );
            return s.report();
        };
        s.push(
            ProofStepId::Checkpoint2,
            format!("size {size1} · {}", root1.to_hex()),
            true,
            "the older root, from this workstation's verified chain",
        );
        s.consistency(&v, (size1, root1), cp);
        return s.report();
    }
    s.kind = ProofKind::Inclusion;
    let id = v["tx_id"].as_str().unwrap_or_default();
    let given = v["leaf_hash"]
        .as_str()
        .and_then(|h| Hash32::from_hex(h).ok());
    let leaf = match (leaf_of(id), given) {
        (Some(ours), Some(theirs)) => {
            let ok = s.push(
                ProofStepId::Leaf,
                ours.to_hex(),
                ours == theirs,
                "recomputed here from the cached transaction; the proof's value must be the same",
            );
            ok.then_some(ours)
        }
        (None, Some(theirs)) => {
            s.push(
                ProofStepId::Leaf,
                theirs.to_hex(),
                true,
                "as given: the transaction is not in this copy, so the leaf was not recomputed",
            );
            Some(theirs)
        }
        (Some(ours), None) => {
            s.push(
                ProofStepId::Leaf,
                ours.to_hex(),
                true,
                "recomputed here from the cached transaction",
            );
            Some(ours)
        }
        (None, None) => {
            s.push(
                ProofStepId::Leaf,
                "",
                false,
                "the proof names neither a known tx_id nor a leaf_hash",
            );
            None
        }
    };
    if let Some(leaf) = leaf {
        let inner = v.get("proof").unwrap_or(&v);
        s.inclusion(inner, &leaf, None, cp);
    }
    s.report()
}
