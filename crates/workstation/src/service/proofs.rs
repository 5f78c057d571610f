//! Proofs fetched from a node and checked here step by step: inclusion,
//! consistency between verified checkpoints, and pasted notes and proofs.

use crate::error::WsError;

use super::Workstation;

impl Workstation {
    /// Fetches the inclusion proof of a cached transaction for the last
    /// verified checkpoint and checks it here, step by step.
    pub async fn verify_inclusion(
        &self,
        height: u64,
        index: u32,
    ) -> Result<crate::dto::ProofReport, WsError> {
        let (block, _) = self.cached_block(height)?;
        let tx = block
            .txs
            .get(index as usize)
            .ok_or_else(|| WsError::NotFound(format!("transaction {index} of block {height}")))?;
        let id = tx.id()?.to_hex();
        let cp =
            self.lock()?.cache.checkpoint()?.ok_or_else(|| {
                WsError::NotFound("no verified checkpoint yet; sync first".into())
            })?;
        if block.header.log_size > cp.size {
            return Err(WsError::NotFound(format!(
                "block {height} is newer than the last verified checkpoint (size {}); sync first",
                cp.size
            )));
        }
        let answer = self.client()?.inclusion_proof(&id, cp.size).await?;
        let inner = self.lock()?;
        let chain = inner.verified()?;
        Ok(crate::proofs::check_inclusion(
            chain,
            &block,
            index as usize,
            &answer,
            &cp.note,
        ))
    }

    /// The checkpoints this workstation verified, largest first.
    pub fn checkpoints(&self) -> Result<Vec<crate::dto::CheckpointInfo>, WsError> {
        Ok(self
            .lock()?
            .cache
            .checkpoints(200)?
            .into_iter()
            .map(|c| crate::dto::CheckpointInfo {
                size: c.size,
                root: c.root,
                signer: c.signer,
                node: c.node,
                at: c.at,
            })
            .collect())
    }

    /// Fetches the node's consistency proof between two verified
    /// checkpoints (`size2` = the latest if `None`) and checks it here.
    pub async fn verify_consistency(
        &self,
        size1: u64,
        size2: Option<u64>,
    ) -> Result<crate::dto::ProofReport, WsError> {
        let (older, newer) = {
            let inner = self.lock()?;
            let newer = match size2 {
                Some(s) => inner.cache.checkpoint_at(s)?,
                None => inner.cache.checkpoint()?,
            }
            .ok_or_else(|| WsError::NotFound("no verified checkpoint of that size".into()))?;
            let older = inner.cache.checkpoint_at(size1)?.ok_or_else(|| {
                WsError::NotFound(format!("no verified checkpoint of size {size1}"))
            })?;
            (older, newer)
        };
        if older.size > newer.size {
            return Err(WsError::BadRequest(format!(
                "the first checkpoint ({}) must not be larger than the second ({})",
                older.size, newer.size
            )));
        }
        let answer = self
            .client()?
            .consistency_proof(older.size, newer.size)
            .await?;
        let inner = self.lock()?;
        let chain = inner.verified()?;
        Ok(crate::proofs::check_consistency(
            chain,
            &older.note,
            &newer.note,
            &answer,
        ))
    }

    /// Checks a checkpoint note and optional proof pasted in as text.
    pub fn verify_pasted(
        &self,
        note: &str,
        proof: &str,
    ) -> Result<crate::dto::ProofReport, WsError> {
        if note.len() > govchain_ledger::note::MAX_NOTE_BYTES || proof.len() > 256 * 1024 {
            return Err(WsError::BadRequest("the pasted text is too long".into()));
        }
        self.audit(|chain, _, block_at| {
            let leaf_of = |id: &str| {
                if id.len() != 64 {
                    return None; // a full id, not a prefix
                }
                let found = crate::audit::find_txs(chain, id, block_at)
                    .into_iter()
                    .next()?;
                found
                    .tx
                    .leaf_bytes()
                    .ok()
                    .map(|l| govchain_ledger::merkle::leaf_hash(&l))
            };
            crate::proofs::check_pasted(chain, note, proof, leaf_of)
        })?
        .ok_or_else(|| WsError::NotFound("no verified chain yet; sync first".into()))
    }
}
