//! Certificates and consent (Hainan's deposit certificates, PROTOCOL.md
//! §12.6, §12.10): the certificates this department issued or may verify,
//! consent requests for the citizen's own signer, and the citizen's signed
//! answers, checked and queued in the outbox like the official's own.

use std::fmt::Write as _;

use govchain_ledger::citizen::{self, ConsentRequest, RequestContext};
use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::kinds::{DeptId, RefId};
use govchain_ledger::state::sharing::Certificate;
use govchain_ledger::state::State;
use govchain_ledger::types::Timestamp;
use serde_json::json;

use crate::dto::{
    CertificateView, ConsentRequestView, ConsentView, OutboxItem, OutboxStatus, TxKind,
    VerificationView,
};
use crate::error::WsError;
use crate::signing;
use crate::verify::LocalChain;
use crate::views::official_ref;

use super::{now, Workstation};

/// Longest consent a request asks for (the citizen may sign a shorter one
/// only by asking again).
pub const MAX_CONSENT_DAYS: u32 = 366;

fn dept_name(s: &State, d: &DeptId) -> String {
    s.departments
        .get(d)
        .map(|d| d.name.clone())
        .unwrap_or_default()
}

fn certificate_view(s: &State, c: &Certificate, issued_here: bool) -> CertificateView {
    let time = s.time.unwrap_or(Timestamp::UNIX_EPOCH);
    let mut consents: Vec<ConsentView> = s
        .consents
        .values()
        .filter(|k| k.cert_id == c.id)
        .map(|k| ConsentView {
            id: k.id.to_string(),
            grantee: k.grantee.to_string(),
            grantee_name: dept_name(s, &k.grantee),
            until: k.until.to_string(),
            purpose: k.purpose.clone(),
            granted_at: k.granted_at,
            revoked_at: k.revoked_at,
            active: k.revoked_at.is_none() && time < k.until,
        })
        .collect();
    consents.sort_by_key(|k| std::cmp::Reverse(k.granted_at));
    CertificateView {
        id: c.id.to_string(),
        cert_type: c.cert_type.to_string(),
        department: c.department.to_string(),
        department_name: dept_name(s, &c.department),
        issuer: official_ref(s, &c.issuer),
        issued_at: c.issued_at,
        expires_at: c.expires_at.map(|t| t.to_string()),
        expired: c.expires_at.is_some_and(|t| time >= t),
        commitment: c.commitment.to_hex(),
        holder_fingerprint: c.holder_key.key_id().fingerprint(),
        issued_here,
        consents,
        verifications: c
            .verifications
            .iter()
            .rev()
            .map(|v| VerificationView {
                height: v.height,
                time: v.time.to_string(),
                tx_id: v.tx_id.to_hex(),
                official: official_ref(s, &v.official),
                consent_id: v.consent_id.to_string(),
                matches: v.matches,
            })
            .collect(),
    }
}

/// A QR code of `text` as an SVG image (one square per dark module, a
/// four-module quiet zone).
pub fn qr_svg(text: &str) -> Result<String, WsError> {
    let (w, dark) = crate::report::qr_modules(text)?;
    let side = w + 8;
    let mut path = String::new();
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let _ = write!(path, "M{} {}h1v1h-1z", i % w + 4, i / w + 4);
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

impl Workstation {
    /// The department of official key `signer` on `chain`.
    fn home(chain: &LocalChain, signer: Option<KeyId>) -> Result<DeptId, WsError> {
        let signer = signer.ok_or(WsError::NoKey)?;
        chain
            .state
            .key_index
            .get(&signer)
            .and_then(|o| chain.state.officials.get(o))
            .map(|o| o.department.clone())
            .ok_or_else(|| {
                WsError::NotFound(
                    "this key is not a registered official on the verified chain".into(),
                )
            })
    }

    /// The certificates the official's department issued, and those a
    /// holder let it verify, newest first.
    pub fn certificates(&self) -> Result<Vec<CertificateView>, WsError> {
        let signer = self.active_key_id()?;
        let inner = self.lock()?;
        let Some(c) = inner.chain.as_ref() else {
            return Ok(Vec::new());
        };
        let home = Self::home(c, signer)?;
        let s = &c.state;
        let mut out = Vec::new();
        for cert in s.certificates.values() {
            let shared = || {
                s.consents
                    .values()
                    .any(|k| k.cert_id == cert.id && k.grantee == home)
            };
            if cert.department == home || shared() {
                let here = inner
                    .cache
                    .certificate_salt(cert.id.as_str(), &cert.commitment.to_hex())?
                    .is_some();
                out.push(certificate_view(s, cert, here));
            }
        }
        out.sort_by_key(|v| std::cmp::Reverse(v.issued_at));
        Ok(out)
    }

    /// A request for the holder of `cert_id` to consent that `grantee`
    /// verifies it for `purpose` during `days` days: the `consent.grant`
    /// body the citizen's key signs, with the next sequence number of that
    /// key.
    pub fn consent_request(
        &self,
        cert_id: &str,
        grantee: &str,
        purpose: &str,
        days: u32,
    ) -> Result<ConsentRequestView, WsError> {
        if !(1..=MAX_CONSENT_DAYS).contains(&days) {
            return Err(WsError::BadRequest(format!(
                "a consent lasts 1 to {MAX_CONSENT_DAYS} days"
            )));
        }
        if signing::holds_resident_id(purpose) {
            return Err(WsError::BadRequest(
                "the purpose holds what reads as a resident ID number; it goes on the ledger for good"
                    .into(),
            ));
        }
        let at = now();
        let until = Timestamp::from_unix_millis(at.unix_millis() + i64::from(days) * 86_400_000)
            .ok_or_else(|| WsError::BadRequest("the date is out of range".into()))?;
        let consent_id = signing::new_consent_id(at);
        let payload = json!({"consent_id": consent_id, "cert_id": cert_id, "grantee": grantee,
                             "until": until, "purpose": purpose.trim()});
        self.citizen_request(cert_id, "consent.grant", payload, Some(grantee))
    }

    /// A request for the holder to revoke consent `consent_id`.
    pub fn revoke_request(&self, consent_id: &str) -> Result<ConsentRequestView, WsError> {
        let cert_id = {
            let inner = self.lock()?;
            let c = inner
                .chain
                .as_ref()
                .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
            let k = RefId::try_from(consent_id.to_owned())
                .ok()
                .and_then(|id| c.state.consents.get(&id))
                .ok_or_else(|| {
                    WsError::NotFound(format!("consent {consent_id} on the verified chain"))
                })?;
            if k.revoked_at.is_some() {
                return Err(WsError::BadRequest(format!(
                    "consent {consent_id} is already revoked"
                )));
            }
            k.cert_id.to_string()
        };
        self.citizen_request(
            &cert_id,
            "consent.revoke",
            json!({"consent_id": consent_id}),
            None,
        )
    }

    /// The request for the holder of `cert_id` to sign `kind` with
    /// `payload`, judged by the rules first (a request the ledger would
    /// refuse is not made).
    fn citizen_request(
        &self,
        cert_id: &str,
        kind: &str,
        payload: serde_json::Value,
        grantee: Option<&str>,
    ) -> Result<ConsentRequestView, WsError> {
        let signer = self.active_key_id()?;
        let mut guard = self.lock()?;
        let inner = &mut *guard;
        let c = inner
            .chain
            .as_ref()
            .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
        let s = &c.state;
        let cert = RefId::try_from(cert_id.to_owned())
            .ok()
            .and_then(|id| s.certificates.get(&id))
            .ok_or_else(|| {
                WsError::NotFound(format!("certificate {cert_id} on the verified chain"))
            })?;
        let holder = cert.holder_key.key_id();
        // Above what is committed, relayed, and asked in an open request:
        // the citizen may answer any of them, in any order (seq needs only
        // to grow, PROTOCOL §12.2).
        let last = inner.cache.max_seq(&holder.to_hex())?;
        let asked = inner.requested.get(&holder).copied().unwrap_or(0);
        let seq = signing::next_seq(s, &holder, last.max(asked));
        let d = signing::draft_payload(s, holder, seq, kind, payload, now())?;
        if let Some(r) = d.would_reject {
            return Err(WsError::WouldReject(r));
        }
        let department = |id: &str| {
            DeptId::try_from(id.to_owned())
                .map(|d| dept_name(s, &d))
                .unwrap_or_default()
        };
        let request = ConsentRequest {
            body: d.body,
            context: RequestContext {
                requested_by: dept_name(s, &Self::home(c, signer)?),
                cert_type: cert.cert_type.to_string(),
                issuer: dept_name(s, &cert.department),
                grantee_name: grantee.map(department),
            },
        };
        let text = request.to_text()?;
        inner.requested.insert(holder, seq);
        let consent_id = request.body.payload["consent_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(ConsentRequestView {
            qr_svg: qr_svg(&text).ok(),
            text,
            tx_id: d.tx_id.to_hex(),
            consent_id,
            kind: TxKind::of(kind)?,
            holder_fingerprint: holder.fingerprint(),
        })
    }

    /// Takes the citizen's signed answer (`GCA1:…` or the envelope's
    /// JSON): it must be a consent signed by a certificate holder's key for
    /// this chain, and one the rules admit on the verified state; then it
    /// waits in the outbox and is delivered like the official's own
    /// transactions. The same answer twice is queued once.
    pub fn submit_consent(&self, text: &str) -> Result<OutboxItem, WsError> {
        let signer: KeyId = citizen::answer_signer(text)?;
        let env = {
            let inner = self.lock()?;
            let c = inner
                .chain
                .as_ref()
                .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
            let holder = c.state.holders.get(&signer).copied().ok_or_else(|| {
                WsError::NotFound(format!(
                    "no certificate on the verified chain is held by key {}",
                    signer.fingerprint()
                ))
            })?;
            let env = citizen::read_answer(text, &holder)?;
            if c.state.chain_id.as_ref() != Some(&env.body.chain_id) {
                return Err(WsError::BadRequest(format!(
                    "the answer was signed for chain {}, not this one",
                    env.body.chain_id
                )));
            }
            let id = env.id()?;
            if let Some(row) = inner.cache.outbox_item(&id.to_hex())? {
                return Ok(super::outbox::outbox_item(&row));
            }
            // Another answer of this citizen with this sequence number (or a
            // later one) waits here: one of them would be a replay.
            let waiting = inner.cache.max_seq(&signer.to_hex())?;
            if waiting >= env.body.seq {
                return Err(WsError::BadRequest(format!(
                    "another answer of this citizen (sequence number {waiting}) waits to be delivered; \
                     once it is on the ledger, make a new request for them to sign"
                )));
            }
            let time = c.state.time.map_or(now(), |t| t.max(now()));
            c.state.check_admitted(&env, id, time)?;
            env
        };
        self.queue_signed(&env, OutboxStatus::Queued)
    }

    /// The text of the QR code on the citizen's copy of a certificate issued
    /// here: chain, id and salt (what a verifying centre types or scans).
    pub fn certificate_code(&self, cert_id: &str) -> Result<String, WsError> {
        let (salt, _) = self.certificate_salt(cert_id)?;
        Ok(signing::certificate_link(
            &self.verified_chain_id()?,
            cert_id,
            &salt,
        ))
    }

    /// `(salt hex, document hex)` of certificate `cert_id` on the verified
    /// chain, if this workstation issued it.
    pub(super) fn certificate_salt(&self, cert_id: &str) -> Result<(String, String), WsError> {
        let inner = self.lock()?;
        let commitment = RefId::try_from(cert_id.to_owned())
            .ok()
            .and_then(|id| {
                inner
                    .chain
                    .as_ref()?
                    .state
                    .certificates
                    .get(&id)
                    .map(|c| c.commitment)
            })
            .ok_or_else(|| {
                WsError::NotFound(format!("certificate {cert_id} on the verified chain"))
            })?;
        inner
            .cache
            .certificate_salt(cert_id, &commitment.to_hex())?
            .ok_or_else(|| {
                WsError::NotFound(format!(
                    "the salt of certificate {cert_id}: it was not issued on this workstation"
                ))
            })
    }
}
