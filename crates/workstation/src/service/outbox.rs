//! Signing and delivery: previews of what would be signed, signing with the
//! keychain key into the durable outbox, and delivering the outbox.

use govchain_ledger::state::kinds::RefId;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode;

use crate::cache::OutboxRow;
use crate::client::Submitted;
use crate::dto::{OutboxItem, OutboxStatus, SignPreview, SignRequest, TxKind};
use crate::error::WsError;
use crate::signing;

use super::{now, principal_hex, Event, Workstation};

/// Longest wait between two delivery attempts of an outbox item.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;
/// Longest wait after a node answered `node.busy` (it asks for at most
/// 30 s, usually 1 s; PROTOCOL.md §15 *Back-pressure*).
const BUSY_RETRY_MS: i64 = 5_000;

/// How long to wait before the next delivery attempt of an item tried
/// `attempts` times: doubling from 1 s, capped at 5 s after a busy node's
/// answer and at 5 minutes otherwise.
fn retry_backoff(attempts: u32, busy: bool) -> i64 {
    let cap = if busy { BUSY_RETRY_MS } else { MAX_BACKOFF_MS };
    (1_000_i64 << attempts.min(20)).min(cap)
}

/// How long an accepted transaction may stay out of every verified block
/// before it is sent again (the node may have lost its mempool).
const RESEND_AFTER_MS: i64 = 30_000;

pub(super) fn outbox_item(r: &OutboxRow) -> OutboxItem {
    OutboxItem {
        id: r.id.clone(),
        kind: r.kind,
        seq: r.seq,
        status: r.status,
        code: r.code.clone(),
        message: r.message.clone(),
        height: r.height,
        attempts: r.attempts,
        created_at: r.created_at.clone(),
    }
}

impl Workstation {
    /// Builds the transaction for `req`, signed by the active key, and shows
    /// exactly what would be signed — and whether the ledger would refuse it
    /// on the verified cache. Nothing is signed yet.
    pub fn prepare(&self, req: &SignRequest) -> Result<SignPreview, WsError> {
        let d = self.draft(req)?;
        let preview = SignPreview {
            preview_id: d.tx_id.to_hex(),
            kind: TxKind::of(&d.body.kind)?,
            canonical_json: d.canonical_json.clone(),
            sha256: d.sha256.to_hex(),
            tx_id: d.tx_id.to_hex(),
            signer_fingerprint: d.body.signer.fingerprint(),
            seq: d.body.seq,
            would_reject: d.would_reject.as_ref().map(signing::rejection_body),
            follow_ups: u32::try_from(d.follow_ups.len()).unwrap_or(u32::MAX),
            commitment_matches: d.commitment_matches,
            token: self.token_signing(&d.body.signer)?,
        };
        self.lock()?.previews.insert(preview.preview_id.clone(), d);
        Ok(preview)
    }

    /// The body `req` becomes for the active key, judged on the verified
    /// cache: identity numbers hashed (with the keychain's consortium
    /// identity key), new case and payment ids made, attached files found
    /// in the local store, an imported payroll added.
    pub(super) fn draft(&self, req: &SignRequest) -> Result<signing::Draft, WsError> {
        self.promote_rotated_key()?;
        let signer = self.active_key_id()?.ok_or(WsError::NoKey)?;
        signing::refuse_identity_numbers(req)?;
        let mut req = req.clone();
        signing::hash_people(&mut req, || self.consortium_identity_key())?;
        let mut payroll = None;
        let mut certificate = None;
        let mut cosigned = None;
        match &mut req {
            SignRequest::CoSign { digest } => cosigned = Some(self.pending_action(digest)?),
            SignRequest::OpenCase {
                case_id, documents, ..
            } => {
                if case_id.is_empty() {
                    *case_id = signing::new_case_id(now());
                }
                self.check_stored(documents)?;
            }
            SignRequest::RequestPayment {
                project_id,
                payment_id,
                invoices,
                payroll: import,
                ..
            } => {
                if payment_id.is_empty() {
                    *payment_id = signing::new_payment_id(now());
                }
                self.check_stored(invoices)?;
                if let Some(id) = import.take() {
                    payroll = Some(self.imported_payroll(&id, project_id)?);
                }
            }
            SignRequest::CreateProject { project_id, .. } => {
                self.ensure_payroll_key(project_id)?;
            }
            SignRequest::IssueCertificate {
                cert_id, document, ..
            } => {
                if cert_id.is_empty() {
                    *cert_id = signing::new_certificate_id(now());
                }
                let salt = signing::new_salt();
                let commitment = self
                    .documents()
                    .commitment(&Hash32::from_hex(document)?, &salt)?;
                let issued = crate::cache::IssuedSalt {
                    cert_id: cert_id.clone(),
                    commitment: commitment.to_hex(),
                    salt: hex::encode(salt),
                    document: document.clone(),
                };
                certificate = Some((commitment, Some(issued)));
            }
            SignRequest::VerifyCertificate {
                cert_id,
                document,
                salt,
                ..
            } => {
                let salt = signing::read_salt(salt, cert_id, &self.verified_chain_id()?)?;
                let commitment = self
                    .documents()
                    .commitment(&Hash32::from_hex(document)?, &salt)?;
                certificate = Some((commitment, None));
            }
            _ => {}
        }
        let inner = self.lock()?;
        let chain = inner
            .chain
            .as_ref()
            .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
        let last = inner.cache.max_seq(&principal_hex(chain, &signer))?;
        let seq = signing::next_seq(&chain.state, &signer, last);
        if let Some((kind, payload)) = cosigned {
            return signing::draft_payload(&chain.state, signer, seq, &kind, payload, now());
        }
        match (payroll, certificate) {
            (Some(lines), _) => {
                signing::draft_payment(&chain.state, signer, seq, &req, &lines, now())
            }
            (None, Some((commitment, issued))) => {
                let (kind, payload) = signing::certificate_payload(&req, commitment)?;
                let mut d =
                    signing::draft_payload(&chain.state, signer, seq, kind, payload, now())?;
                if let SignRequest::VerifyCertificate { cert_id, .. } = &req {
                    d.commitment_matches = RefId::try_from(cert_id.clone())
                        .ok()
                        .and_then(|id| chain.state.certificates.get(&id))
                        .map(|c| c.commitment == commitment);
                }
                d.issued = issued;
                Ok(d)
            }
            (None, None) => signing::draft(&chain.state, signer, seq, &req, now()),
        }
    }

    /// Refuses hashes (hex) of files this computer's store does not hold.
    fn check_stored(&self, hashes: &[String]) -> Result<(), WsError> {
        let store = self.documents();
        for d in hashes {
            if !store.contains(&Hash32::from_hex(d)?) {
                return Err(WsError::NotFound(format!(
                    "document {d} is not in this computer's document store; add the file again"
                )));
            }
        }
        Ok(())
    }

    /// Signs a previewed body (and its follow-ups) with the signer's key —
    /// from the keychain or on its token — and queues the envelopes durably;
    /// delivery happens in the background. Everything is signed before
    /// anything is queued: a locked or pulled token signs nothing, queues
    /// nothing, and the preview can be confirmed again.
    pub fn confirm(&self, preview_id: &str) -> Result<OutboxItem, WsError> {
        let draft = {
            let mut inner = self.lock()?;
            let draft = inner
                .previews
                .remove(preview_id)
                .ok_or(WsError::UnknownPreview)?;
            // Something else (a signed read, another preview) took its
            // sequence number meanwhile: it must be prepared again.
            let me = inner.chain.as_ref().map_or_else(
                || draft.body.signer.to_hex(),
                |c| principal_hex(c, &draft.body.signer),
            );
            if inner.cache.max_seq(&me)? >= draft.body.seq {
                return Err(WsError::UnknownPreview);
            }
            draft
        };
        let signed: Result<Vec<Envelope>, WsError> = std::iter::once(&draft.body)
            .chain(&draft.follow_ups)
            .map(|body| self.sign_envelope(body.clone()))
            .collect();
        let envelopes = match signed {
            Ok(envelopes) => envelopes,
            Err(e) => {
                self.lock()?.previews.insert(preview_id.to_owned(), draft);
                return Err(e);
            }
        };
        // The salt is kept before the certificate is queued: a queued
        // certificate always has it.
        if let Some(issued) = &draft.issued {
            self.lock()?
                .cache
                .store_certificate_salt(issued, &now().to_string())?;
        }
        let mut first = None;
        for env in &envelopes {
            let item = self.queue_signed(env, OutboxStatus::Queued)?;
            first.get_or_insert(item);
        }
        first.ok_or(WsError::UnknownPreview)
    }

    pub(super) fn sign_and_queue(&self, body: TxBody) -> Result<OutboxItem, WsError> {
        let env = self.sign_envelope(body)?;
        self.queue_signed(&env, OutboxStatus::Queued)
    }

    /// Records a signed envelope in the durable outbox: `Queued` to be
    /// delivered, or `Submitted` when a node already took it (a signed
    /// read's access record).
    pub(super) fn queue_signed(
        &self,
        env: &Envelope,
        status: OutboxStatus,
    ) -> Result<OutboxItem, WsError> {
        let id = env.id()?;
        let text = serde_json::to_string(&env).map_err(|e| WsError::BadRequest(e.to_string()))?;
        let inner = self.lock()?;
        let official = inner.chain.as_ref().map_or_else(
            || env.body.signer.to_hex(),
            |c| principal_hex(c, &env.body.signer),
        );
        let row = OutboxRow {
            id: id.to_hex(),
            signer: official,
            seq: env.body.seq,
            kind: TxKind::of(&env.body.kind)?,
            envelope: text,
            status,
            code: None,
            message: None,
            height: None,
            attempts: 0,
            next_try_ms: if status == OutboxStatus::Submitted {
                now().unix_millis() + RESEND_AFTER_MS
            } else {
                0
            },
            created_at: now().to_string(),
        };
        inner.cache.queue(&row)?;
        let item = outbox_item(&row);
        drop(inner);
        (self.notify)(Event::Outbox(item.clone()));
        Ok(item)
    }

    pub fn outbox(&self) -> Result<Vec<OutboxItem>, WsError> {
        Ok(self
            .lock()?
            .cache
            .outbox()?
            .iter()
            .map(outbox_item)
            .collect())
    }

    /// Delivers due outbox items (idempotent by id: a resubmission of a
    /// transaction the node already has is harmless). Stops at the first
    /// transport failure and backs off.
    pub async fn flush_outbox(&self) -> Result<(), WsError> {
        let client = self.client()?;
        let due: Vec<OutboxRow> = {
            let inner = self.lock()?;
            let t = now().unix_millis();
            inner
                .cache
                .unsettled()?
                .into_iter()
                // Queued, or accepted long ago and still in no verified block.
                .filter(|r| r.next_try_ms <= t)
                .collect()
        };
        if due.is_empty() {
            return Ok(());
        }
        let envelopes: Vec<&str> = due.iter().map(|r| r.envelope.as_str()).collect();
        if let Err(e) = self.check_delivery_chain(&client, &envelopes).await {
            if !matches!(e, WsError::Offline(_)) {
                let inner = self.lock()?;
                inner.cache.raise_alarm(
                    &now().to_string(),
                    e.code(),
                    client.current().unwrap_or("?"),
                    &e.to_string(),
                )?;
            }
            return Err(e);
        }
        for row in due {
            let result = client.submit(&row.envelope).await;
            let at = now().to_string();
            let inner = self.lock()?;
            match result {
                Ok(Submitted::Accepted) => {
                    inner.cache.mark_submitted(
                        &row.id,
                        now().unix_millis() + RESEND_AFTER_MS,
                        &at,
                    )?;
                }
                Ok(Submitted::Rejected { code, message }) => {
                    inner.cache.set_status(
                        &row.id,
                        OutboxStatus::Rejected,
                        Some(&code),
                        Some(&message),
                        None,
                        &at,
                    )?;
                }
                Err(e) => {
                    // A busy node (429 `node.busy`, PROTOCOL §15) asks for
                    // seconds, not minutes: a short wait, and no more
                    // submissions into it this round.
                    let busy = matches!(&e, WsError::Node { code, .. } if code == "node.busy");
                    let backoff = retry_backoff(row.attempts, busy);
                    inner.cache.retry_later(
                        &row.id,
                        now().unix_millis() + backoff,
                        &e.to_string(),
                        &at,
                    )?;
                    if busy || matches!(e, WsError::Offline(_)) {
                        if let Some(r) = inner.cache.outbox_item(&row.id)? {
                            (self.notify)(Event::Outbox(outbox_item(&r)));
                        }
                        return Err(e);
                    }
                }
            }
            if let Some(r) = inner.cache.outbox_item(&row.id)? {
                (self.notify)(Event::Outbox(outbox_item(&r)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_node_is_tried_again_within_seconds_others_back_off_to_minutes() {
        assert_eq!(retry_backoff(0, false), 1_000);
        assert_eq!(retry_backoff(3, false), 8_000);
        assert_eq!(retry_backoff(30, false), MAX_BACKOFF_MS);
        assert_eq!(retry_backoff(0, true), 1_000);
        assert_eq!(retry_backoff(3, true), BUSY_RETRY_MS);
        assert_eq!(retry_backoff(30, true), BUSY_RETRY_MS);
    }
}
