//! Local signing: a typed request becomes a transaction body; the official
//! sees its exact canonical JSON and SHA-256 (and whether the ledger would
//! refuse it, judged on the verified cache) before confirming; only then is
//! the key loaded from the keychain, the body signed and the envelope queued.

use govchain_ledger::crypto::{KeyId, Signature};
use govchain_ledger::identity::{cn_rid_check_char, identity_hash, DocumentType, IdentityKey};
use govchain_ledger::state::funds::{payroll_chunks, payroll_root, PAYROLL_CHUNK_LINES};
use govchain_ledger::state::kinds::{Action, PayrollLine, RefId};
use govchain_ledger::state::State;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{Hash32, Timestamp};
use govchain_ledger::ErrorCode;
use serde_json::{json, Value};

use crate::dto::{PersonRef, ReviewStep, SignRequest};
use crate::error::WsError;

/// `(kind, payload)` of a request at `now` (checked by the ledger's own
/// payload parser in [`draft_payload`]).
pub fn to_payload(req: &SignRequest, now: Timestamp) -> Result<(&'static str, Value), WsError> {
    let (kind, payload) = match req {
        SignRequest::SignStep {
            case_id,
            stage,
            decision,
            comment,
            attachments,
        } => (
            "case.sign_step",
            json!({"case_id": case_id, "stage": stage, "decision": decision, "comment": comment, "attachments": attachments}),
        ),
        SignRequest::WithdrawCase { case_id, reason } => (
            "case.withdraw",
            json!({"case_id": case_id, "reason": reason}),
        ),
        SignRequest::ReviewPayment {
            step,
            project_id,
            payment_id,
            verdict,
            comment,
        } => (
            match step {
                ReviewStep::Confirm => "payment.confirm",
                ReviewStep::Approve => "payment.approve",
            },
            json!({"project_id": project_id, "payment_id": payment_id, "verdict": verdict, "comment": comment}),
        ),
        SignRequest::RecordAccess {
            dataset,
            operation,
            subject,
            purpose,
        } => {
            let mut entry =
                json!({"dataset": dataset, "operation": operation, "purpose": purpose, "at": now});
            if let Some(s) = subject {
                entry["subject"] = json!(s);
            }
            ("access.record", json!({"entries": [entry]}))
        }
        SignRequest::ExecutePayment {
            project_id,
            payment_id,
            transfer_ref,
        } => (
            "payment.execute",
            json!({"project_id": project_id, "payment_id": payment_id, "transfer_ref": transfer_ref}),
        ),
        SignRequest::OpenCase {
            case_id,
            template,
            version,
            scope,
            title,
            applicant,
            documents,
        } => {
            let mut p = json!({"case_id": case_id, "template": template, "version": version,
                               "scope": scope, "title": title, "documents": documents});
            if let Some(a) = applicant {
                p["applicant"] = json!(hashed(a)?);
            }
            ("case.open", p)
        }
        SignRequest::BlacklistAdd { subject, reason } => (
            "blacklist.add",
            json!({"subject": hashed(subject)?, "reason": reason}),
        ),
        SignRequest::BlacklistRemove { subject, reason } => (
            "blacklist.remove",
            json!({"subject": hashed(subject)?, "reason": reason}),
        ),
        SignRequest::CreateProject { .. } | SignRequest::RequestPayment { .. } => {
            funds_payload(req)?
        }
        SignRequest::IssueCertificate { .. } | SignRequest::VerifyCertificate { .. } => {
            return Err(WsError::BadRequest(
                "a certificate's commitment is made by the workstation, not here".into(),
            ))
        }
        SignRequest::CoSign { .. } => {
            return Err(WsError::BadRequest(
                "a co-signature's payload is the proposal's, found by the workstation".into(),
            ))
        }
        _ => crate::admin::payload(req)?,
    };
    Ok((kind, payload))
}

/// `(kind, payload)` of the engineering-fund requests.
fn funds_payload(req: &SignRequest) -> Result<(&'static str, Value), WsError> {
    Ok(match req {
        SignRequest::CreateProject {
            project_id,
            name,
            budget_fen,
            developer,
            contractor,
            supervisor,
            operator,
            approvers,
        } => (
            "project.create",
            json!({"project_id": project_id, "name": name, "budget": budget_fen,
                   "parties": {"developer": developer, "contractor": contractor,
                               "supervisor": supervisor, "operator": operator},
                   "approvers": approvers}),
        ),
        SignRequest::RequestPayment {
            project_id,
            payment_id,
            amount_fen,
            purpose,
            milestone,
            invoices,
            payroll,
        } => {
            if payroll.is_some() {
                return Err(WsError::BadRequest(
                    "an imported payroll is added by the workstation, not here".into(),
                ));
            }
            (
                "payment.request",
                json!({"project_id": project_id, "payment_id": payment_id, "amount": amount_fen,
                       "purpose": purpose, "milestone": milestone, "invoices": invoices,
                       "payroll": []}),
            )
        }
        _ => {
            return Err(WsError::BadRequest(
                "not an engineering-fund request".into(),
            ))
        }
    })
}

/// `(kind, payload)` of a certificate request, with the `commitment`
/// (`SHA-256(salt ‖ document)`) the workstation made.
pub fn certificate_payload(
    req: &SignRequest,
    commitment: Hash32,
) -> Result<(&'static str, Value), WsError> {
    Ok(match req {
        SignRequest::IssueCertificate {
            cert_id,
            cert_type,
            subject,
            holder_key,
            expires_at,
            ..
        } => {
            let mut p = json!({"cert_id": cert_id, "cert_type": cert_type, "commitment": commitment,
                               "subject": hashed(subject)?, "holder_key": holder_key});
            if let Some(t) = expires_at {
                p["expires_at"] = json!(t);
            }
            ("certificate.issue", p)
        }
        SignRequest::VerifyCertificate {
            cert_id,
            consent_id,
            ..
        } => (
            "certificate.verify",
            json!({"cert_id": cert_id, "consent_id": consent_id, "commitment": commitment}),
        ),
        _ => return Err(WsError::BadRequest("not a certificate request".into())),
    })
}

/// The salt of a certificate: its 64 hex, or the text of the certificate's
/// QR code ([`certificate_link`]), which must name `cert_id` on `chain`.
pub fn read_salt(text: &str, cert_id: &str, chain: &str) -> Result<[u8; 32], WsError> {
    let text = text.trim();
    let hex_salt = match text.strip_prefix("govchain:certificate?") {
        Some(query) => {
            let field = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            };
            if field("id") != Some(cert_id) {
                return Err(WsError::BadRequest(format!(
                    "this certificate code is for {}, not {cert_id}",
                    field("id").unwrap_or("another certificate")
                )));
            }
            if let Some(other) = field("chain").filter(|c| *c != chain) {
                return Err(WsError::BadRequest(format!(
                    "this certificate code is for chain {other}, not {chain}"
                )));
            }
            field("salt").unwrap_or_default()
        }
        None => text,
    };
    let mut salt = [0u8; 32];
    hex::decode_to_slice(hex_salt, &mut salt).map_err(|_| {
        WsError::BadRequest(
            "the salt is the 64 hex digits printed on the citizen's certificate, or the text of its QR code"
                .into(),
        )
    })?;
    Ok(salt)
}

/// The text of a certificate's QR code:
/// `govchain:certificate?chain=<chain>&id=<cert id>&salt=<64 hex>`.
pub fn certificate_link(chain: &str, cert_id: &str, salt: &str) -> String {
    format!("govchain:certificate?chain={chain}&id={cert_id}&salt={salt}")
}

/// A fresh 32-byte salt from the OS generator.
pub fn new_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
    salt
}

/// The identity hash of an already resolved person ([`hash_people`]).
fn hashed(p: &PersonRef) -> Result<&str, WsError> {
    match p {
        PersonRef::Hash { hash } => Ok(hash),
        PersonRef::Number { .. } => Err(WsError::BadRequest(
            "an identity number must be hashed before the transaction is built".into(),
        )),
    }
}

/// The identity hash of `p`; a number is hashed under the key `key()`
/// gives (asked only then) and replaced by its hash in `p`.
pub fn resolve_person(
    p: &mut PersonRef,
    key: impl FnOnce() -> Result<IdentityKey, WsError>,
) -> Result<Hash32, WsError> {
    match p {
        PersonRef::Hash { hash } => Ok(Hash32::from_hex(hash)?),
        PersonRef::Number { doc_type, number } => {
            let t: DocumentType = doc_type.parse()?;
            let h = identity_hash(&key()?, t, number)?;
            *p = PersonRef::Hash { hash: h.to_hex() };
            Ok(h)
        }
    }
}

/// Replaces every identity number in `req` by its identity hash
/// ([`resolve_person`]), so that no number reaches a payload, a preview or
/// the outbox.
pub fn hash_people(
    req: &mut SignRequest,
    key: impl FnOnce() -> Result<IdentityKey, WsError>,
) -> Result<(), WsError> {
    match req {
        SignRequest::OpenCase {
            applicant: Some(p), ..
        }
        | SignRequest::BlacklistAdd { subject: p, .. }
        | SignRequest::BlacklistRemove { subject: p, .. }
        | SignRequest::IssueCertificate { subject: p, .. } => resolve_person(p, key).map(|_| ()),
        _ => Ok(()),
    }
}

/// Whether `text` holds what reads as a resident ID number: 17 digits and
/// a digit or `X` with a valid GB 11643 check character, full-width forms
/// and spaces or hyphens inside counted, not part of a longer run of
/// digits.
pub fn holds_resident_id(text: &str) -> bool {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => {
                char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')).unwrap_or(c)
            }
            'x' | '\u{FF38}' | '\u{FF58}' => 'X',
            _ => c,
        })
        .collect();
    (0..chars.len().saturating_sub(17)).any(|i| {
        let w = &chars[i..i + 18];
        let bounded = (i == 0 || !chars[i - 1].is_ascii_digit())
            && chars.get(i + 18).is_none_or(|c| !c.is_ascii_digit());
        let mut first = [0u8; 17];
        bounded
            && w[..17].iter().zip(first.iter_mut()).all(|(c, b)| {
                *b = u8::try_from(*c).unwrap_or(0);
                c.is_ascii_digit()
            })
            && cn_rid_check_char(&first) == w[17]
    })
}

/// Refuses a request whose free text (a title, comment, purpose, reason…)
/// holds a resident ID number: such text goes on the ledger for good, and
/// identity numbers never do (PROTOCOL.md §12.9).
pub fn refuse_identity_numbers(req: &SignRequest) -> Result<(), WsError> {
    let texts: Vec<&str> = match req {
        SignRequest::SignStep { comment, .. } | SignRequest::ReviewPayment { comment, .. } => {
            vec![comment]
        }
        SignRequest::WithdrawCase { reason, .. }
        | SignRequest::RevokeOfficial { reason, .. }
        | SignRequest::BlacklistAdd { reason, .. }
        | SignRequest::BlacklistRemove { reason, .. } => vec![reason],
        SignRequest::RecordAccess { purpose, .. } => vec![purpose],
        SignRequest::ExecutePayment { transfer_ref, .. } => vec![transfer_ref],
        SignRequest::OpenCase { title, .. } => vec![title],
        SignRequest::CreateProject { name, .. } | SignRequest::RegisterOfficial { name, .. } => {
            vec![name]
        }
        SignRequest::RequestPayment {
            purpose, milestone, ..
        } => vec![purpose, milestone],
        SignRequest::IssueCertificate {
            cert_id, cert_type, ..
        } => vec![cert_id, cert_type],
        SignRequest::AddDepartment { name, admins, .. } => std::iter::once(name.as_str())
            .chain(admins.iter().map(|a| a.name.as_str()))
            .collect(),
        SignRequest::DefineWorkflow { template } => std::iter::once(template.name.as_str())
            .chain(template.stages.iter().map(|s| s.name.as_str()))
            .collect(),
        SignRequest::VerifyCertificate { .. }
        | SignRequest::GrantRole { .. }
        | SignRequest::RevokeRole { .. }
        | SignRequest::CoSign { .. } => vec![],
    };
    if texts.iter().any(|t| holds_resident_id(t)) {
        return Err(WsError::BadRequest(
            "the text holds what reads as a resident ID number, and text goes on the ledger for \
             good; name the person in the applicant or subject field (it is hashed) instead. If it \
             is not an ID number, separate its digits with other characters"
                .into(),
        ));
    }
    Ok(())
}

/// A new id `<prefix>-<YYYYMMDD>-<hex>` of `random` random bytes (random,
/// so two officials making one the same day offline do not collide).
fn new_id(prefix: &str, now: Timestamp, random: usize) -> String {
    let mut r = vec![0u8; random];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
    let day = now.to_string();
    let date: String = day.chars().take(10).filter(char::is_ascii_digit).collect();
    format!("{prefix}-{date}-{}", hex::encode_upper(r))
}

/// A new case id: `C-<YYYYMMDD>-<8 hex>`.
pub fn new_case_id(now: Timestamp) -> String {
    new_id("C", now, 4)
}

/// A new certificate id: `CERT-<YYYYMMDD>-<8 hex>`.
pub fn new_certificate_id(now: Timestamp) -> String {
    new_id("CERT", now, 4)
}

/// A new consent id: `CS-<YYYYMMDD>-<8 hex>`.
pub fn new_consent_id(now: Timestamp) -> String {
    new_id("CS", now, 4)
}

/// A new payment id: `P-<YYYYMMDD>-<4 hex>`.
pub fn new_payment_id(now: Timestamp) -> String {
    new_id("P", now, 2)
}

/// Payrolls up to this many lines go inside the `payment.request` (the
/// envelope stays well under 64 KiB); longer ones are committed to by their
/// root and delivered in `payment.payroll_chunk`s (PROTOCOL.md §12.5).
pub const INLINE_PAYROLL_LINES: usize = PAYROLL_CHUNK_LINES;

/// The `payment.request` of `req` (a [`SignRequest::RequestPayment`]) with
/// the payroll `lines`: inline if short, else committed to, its chunks as
/// follow-up bodies with the next sequence numbers.
pub fn draft_payment(
    state: &State,
    signer: KeyId,
    seq: u64,
    req: &SignRequest,
    lines: &[PayrollLine],
    now: Timestamp,
) -> Result<Draft, WsError> {
    let mut plain = req.clone();
    let SignRequest::RequestPayment { payroll, .. } = &mut plain else {
        return Err(WsError::BadRequest("not a payment request".into()));
    };
    *payroll = None;
    let (kind, mut payload) = funds_payload(&plain)?;
    if lines.len() <= INLINE_PAYROLL_LINES {
        payload["payroll"] =
            serde_json::to_value(lines).map_err(|e| WsError::BadRequest(e.to_string()))?;
        return draft_payload(state, signer, seq, kind, payload, now);
    }
    let total: u64 = lines.iter().map(|l| l.amount.get()).sum();
    payload["payroll_root"] = json!(payroll_root(lines));
    payload["payroll_total"] = json!(total);
    payload["payroll_lines"] = json!(lines.len());
    let id = |k: &str| ref_id(payload[k].as_str().unwrap_or_default());
    let (project, payment) = (id("project_id")?, id("payment_id")?);
    let mut d = draft_payload(state, signer, seq, kind, payload, now)?;
    for (i, chunk) in payroll_chunks(&project, &payment, lines).iter().enumerate() {
        let payload =
            serde_json::to_value(chunk).map_err(|e| WsError::BadRequest(e.to_string()))?;
        d.follow_ups.push(body(
            state,
            signer,
            seq + 1 + i as u64,
            "payment.payroll_chunk",
            payload,
            now,
        )?);
    }
    Ok(d)
}

fn ref_id(s: &str) -> Result<RefId, WsError> {
    s.to_owned()
        .try_into()
        .map_err(|e: govchain_ledger::state::kinds::InvalidId| WsError::BadRequest(e.to_string()))
}

/// The next sequence number for `signer`: above both the last one the
/// verified chain committed for its official and the last one this
/// workstation signed (so offline signatures never collide).
pub fn next_seq(state: &State, signer: &KeyId, last_signed: u64) -> u64 {
    let principal = state.key_index.get(signer).copied().unwrap_or(*signer);
    let committed = state.seqs.get(&principal).copied().unwrap_or(0);
    committed.max(last_signed) + 1
}

/// A body ready to show and sign.
#[derive(Debug, Clone)]
pub struct Draft {
    pub body: TxBody,
    /// Bodies signed right after it (a committed payroll's chunks).
    pub follow_ups: Vec<TxBody>,
    pub canonical_json: String,
    pub sha256: Hash32,
    pub tx_id: Hash32,
    /// The rejection the ledger would give on the cached state.
    pub would_reject: Option<govchain_ledger::state::Rejection>,
    /// A certificate issued by it, whose salt is kept once it is signed.
    pub issued: Option<crate::cache::IssuedSalt>,
    /// For a `certificate.verify`: whether the presented document and salt
    /// match the certificate's commitment on the verified chain.
    pub commitment_matches: Option<bool>,
}

/// Builds the body and judges it against `state` at `now` (all rules; the
/// signature itself is not checked, there is none yet).
pub fn draft(
    state: &State,
    signer: KeyId,
    seq: u64,
    req: &SignRequest,
    now: Timestamp,
) -> Result<Draft, WsError> {
    let (kind, payload) = to_payload(req, now)?;
    draft_payload(state, signer, seq, kind, payload, now)
}

/// The body of `signer`'s transaction `seq` of `kind` with `payload`.
pub fn body(
    state: &State,
    signer: KeyId,
    seq: u64,
    kind: &str,
    payload: Value,
    now: Timestamp,
) -> Result<TxBody, WsError> {
    let chain_id = state
        .chain_id
        .clone()
        .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
    Ok(TxBody {
        chain_id,
        signer,
        seq,
        kind: kind.into(),
        payload,
        created_at: now,
    })
}

/// [`draft`] of a payload already built (checked by the ledger's parser).
pub fn draft_payload(
    state: &State,
    signer: KeyId,
    seq: u64,
    kind: &str,
    payload: Value,
    now: Timestamp,
) -> Result<Draft, WsError> {
    Action::parse(kind, &payload)?;
    let body = body(state, signer, seq, kind, payload, now)?;
    let canonical = body.canonical_json()?;
    let tx_id = body.id()?;
    let unsigned = Envelope {
        body: body.clone(),
        sig: Signature::from_bytes([0; 64]),
    };
    let time = state.time.map_or(now, |t| t.max(now));
    let would_reject = state.check_admitted(&unsigned, tx_id, time).err();
    Ok(Draft {
        follow_ups: Vec::new(),
        issued: None,
        commitment_matches: None,
        sha256: Hash32::sha256(&canonical),
        canonical_json: String::from_utf8(canonical)
            .map_err(|e| WsError::BadRequest(e.to_string()))?,
        body,
        tx_id,
        would_reject,
    })
}

/// The error body shown for a would-be rejection.
pub fn rejection_body(r: &govchain_ledger::state::Rejection) -> crate::dto::ErrorBody {
    crate::dto::ErrorBody {
        code: r.code().to_owned(),
        message: r.to_string(),
        node: None,
        fingerprint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::{certificate_link, holds_resident_id, read_salt};

    #[test]
    fn a_salt_is_read_from_hex_or_from_the_certificates_code() {
        let hex = "ab".repeat(32);
        assert_eq!(read_salt(&hex, "CERT-1", "gov-demo").unwrap(), [0xab; 32]);
        let link = certificate_link("gov-demo", "CERT-1", &hex);
        let padded = format!(" {link}\n");
        assert_eq!(
            read_salt(&padded, "CERT-1", "gov-demo").unwrap(),
            [0xab; 32]
        );
        let other = read_salt(&link, "CERT-2", "gov-demo").unwrap_err();
        assert!(other.to_string().contains("CERT-1"), "{other}");
        assert!(read_salt(&link, "CERT-1", "gov-other").is_err());
        assert!(read_salt("abcd", "CERT-1", "gov-demo").is_err());
        assert!(read_salt("govchain:certificate?id=CERT-1", "CERT-1", "gov-demo").is_err());
    }

    #[test]
    fn resident_ids_in_free_text_are_found_and_other_numbers_are_not() {
        for text in [
            "申请人 11010519491231002X 的材料",
            "张三１１０１０５１９４９１２３１００２ｘ",
            "110105 19491231 002x",
            "11010519491231002X",
        ] {
            assert!(holds_resident_id(text), "{text}");
        }
        for text in [
            // Wrong check character.
            "110105194912310021",
            // Part of a longer number (a bank reference).
            "6222021101051949123100200",
            "HZB-2026-0312",
            "消防通道宽度不足 4 米，请调整总平面布置后重新报审。",
            "",
        ] {
            assert!(!holds_resident_id(text), "{text}");
        }
    }
}
