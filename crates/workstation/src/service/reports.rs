//! PDF audit reports of a case or a project, with the inclusion proofs of
//! their transactions checked when a node answers.

use std::path::Path;

use crate::error::WsError;
use crate::report::ProofOutcome;

use super::{now, Workstation};

impl Workstation {
    /// Writes the PDF audit report of a case (`kind` = `case`) or project
    /// (`project`), or a case's receipt for the citizen (`receipt`), into
    /// `dir` and returns where. Inclusion proofs of its
    /// transactions are fetched and checked when a node answers; offline,
    /// the report says they were not checked.
    pub async fn save_report(
        &self,
        kind: &str,
        id: &str,
        dir: &Path,
    ) -> Result<crate::dto::SavedReport, WsError> {
        let (bytes, name) = match kind {
            "case" => {
                let c = self.case_detail(id)?;
                let txs = c
                    .timeline
                    .iter()
                    .map(|e| (e.tx_id.clone(), e.height))
                    .collect();
                let (p, proofs) = self.report_proofs(txs).await?;
                (
                    crate::report::case_report(&c, &p, &proofs),
                    format!("case-{id}"),
                )
            }
            "project" => {
                // A report lists every payroll line.
                let d = self.project_with_payroll(id, usize::MAX)?;
                let flows = self.fund_trace(id)?;
                let txs = d
                    .payments
                    .iter()
                    .flat_map(|p| p.events.iter().map(|e| (e.tx_id.clone(), e.height)))
                    .collect();
                let (p, proofs) = self.report_proofs(txs).await?;
                (
                    crate::report::project_report(&d, &flows, &p, &proofs),
                    format!("project-{id}"),
                )
            }
            "receipt" => {
                let c = self.case_detail(id)?;
                let chain = self.verified_chain_id()?;
                (
                    crate::report::case_receipt(&c, &chain, &now().to_string())?,
                    format!("receipt-{id}"),
                )
            }
            "certificate" => {
                let c = self
                    .certificates()?
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or_else(|| WsError::NotFound(format!("certificate {id}")))?;
                let (salt, document) = self.certificate_salt(id)?;
                let chain = self.verified_chain_id()?;
                (
                    crate::report::certificate_pdf(
                        &c,
                        &chain,
                        &salt,
                        &document,
                        &now().to_string(),
                    )?,
                    format!("certificate-{id}"),
                )
            }
            _ => return Err(WsError::BadRequest(format!("no report of kind {kind}"))),
        };
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::create_dir_all(dir)
            .map_err(|e| WsError::Storage(format!("{}: {e}", dir.display())))?;
        let path = dir.join(format!("govchain-{safe}.pdf"));
        std::fs::write(&path, &bytes)
            .map_err(|e| WsError::Storage(format!("{}: {e}", path.display())))?;
        Ok(crate::dto::SavedReport {
            path: path.display().to_string(),
            bytes: bytes.len() as u64,
            sha256: govchain_ledger::types::Hash32::sha256(&bytes).to_hex(),
        })
    }

    /// Provenance and checked inclusion proofs of `txs` (`(id, height)`,
    /// at most 100) for a report.
    async fn report_proofs(
        &self,
        txs: Vec<(String, u64)>,
    ) -> Result<(crate::report::Provenance, Vec<crate::report::TxProof>), WsError> {
        let (cp, p) = {
            let inner = self.lock()?;
            let chain = inner.verified()?;
            let cp = inner.cache.checkpoint()?;
            let s = &chain.state;
            let p = crate::report::Provenance {
                chain_id: chain.cursor.chain_id.to_string(),
                generated_at: now().to_string(),
                height: chain.height().unwrap_or(0),
                checkpoint: cp.as_ref().map(|c| c.note.clone()),
                node_keys: s
                    .departments
                    .values()
                    .map(|d| format!("{}  {}", d.id, d.node_key.to_hex()))
                    .collect(),
            };
            (cp, p)
        };
        let client = self.client().ok();
        let mut proofs = Vec::new();
        for (tx_id, height) in txs.into_iter().take(100) {
            // The block is known from the event: parse it once, find the tx.
            let Ok((block, _)) = self.cached_block(height) else {
                continue;
            };
            let Some((index, tx)) = block
                .txs
                .iter()
                .enumerate()
                .find(|(_, t)| t.id().is_ok_and(|id| id.to_hex() == tx_id))
            else {
                continue;
            };
            let leaf_index = block.header.log_size - block.header.tx_count + index as u64;
            let mut proof = crate::report::TxProof {
                tx_id: tx_id.clone(),
                height,
                leaf_index,
                leaf_hash: tx
                    .leaf_bytes()
                    .map(|l| govchain_ledger::merkle::leaf_hash(&l).to_hex())
                    .unwrap_or_default(),
                path: Vec::new(),
                result: ProofOutcome::NotVerified(
                    "not checked: no verified checkpoint covers it yet".into(),
                ),
            };
            match (&cp, &client) {
                (Some(cp), Some(client)) if block.header.log_size <= cp.size => {
                    match client.inclusion_proof(&tx_id, cp.size).await {
                        Ok(answer) => {
                            let inner = self.lock()?;
                            if let Some(chain) = inner.chain.as_ref() {
                                let r = crate::proofs::check_inclusion(
                                    chain, &block, index, &answer, &cp.note,
                                );
                                proof.path = answer["proof"]["path"]
                                    .as_array()
                                    .map(|a| {
                                        a.iter()
                                            .filter_map(|h| h.as_str().map(str::to_owned))
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                proof.result = match r.steps.iter().find(|s| !s.ok) {
                                    None if r.ok => ProofOutcome::Verified,
                                    Some(s) => ProofOutcome::NotVerified(format!(
                                        "{}: {}",
                                        s.step, s.detail
                                    )),
                                    None => ProofOutcome::NotVerified("incomplete".into()),
                                };
                            }
                        }
                        Err(e) => {
                            proof.result = ProofOutcome::NotVerified(format!("not checked: {e}"));
                        }
                    }
                }
                (Some(_), None) => {
                    proof.result = ProofOutcome::NotVerified("not checked: offline".into());
                }
                _ => {}
            }
            proofs.push(proof);
        }
        Ok((p, proofs))
    }
}
