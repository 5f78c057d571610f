//! Data sharing between departments and the sensitive-data audit trail:
//! certificates as salted commitments (documents stay off-chain), citizen
//! consent signed with the citizen's own key, recorded verifications, the
//! shared blacklist (keyed identity hashes, PROTOCOL.md §12.9) and `access.record` batches.

use serde::{Deserialize, Serialize};

use super::kinds::{
    AccessEntry, BlacklistAdd, BlacklistRemove, DeptId, GrantConsent, IssueCertificate,
    RecordAccess, RefId, RevokeConsent, Role, VerifyCertificate,
};
use super::{bad_payload, star, Ctx, Rejection, State};
use crate::crypto::{KeyId, PublicKey};
use crate::types::{Hash32, Timestamp};

/// Role an official needs (in their department) to issue certificates.
pub const ISSUER_ROLE: &str = "certificate-issuer";
/// Role an official needs (in their department) to change the blacklist.
pub const BLACKLIST_ROLE: &str = "blacklist-officer";
/// Most entries in one `access.record` batch.
pub const MAX_ACCESS_BATCH: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub height: u64,
    pub time: Timestamp,
    pub tx_id: Hash32,
    pub official: KeyId,
    pub department: DeptId,
    pub consent_id: RefId,
    /// Whether the presented document matched the commitment.
    pub matches: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub id: RefId,
    pub cert_type: Role,
    pub commitment: Hash32,
    pub subject: Hash32,
    pub holder_key: PublicKey,
    pub issuer: KeyId,
    pub department: DeptId,
    pub issued_at: u64,
    pub expires_at: Option<Timestamp>,
    pub verifications: Vec<Verification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub id: RefId,
    pub cert_id: RefId,
    pub grantee: DeptId,
    pub until: Timestamp,
    pub purpose: String,
    pub granted_at: u64,
    pub revoked_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlacklistEntry {
    pub subject: Hash32,
    pub department: DeptId,
    pub reason: Role,
    pub added_by: KeyId,
    pub added_at: u64,
}

impl BlacklistEntry {
    pub fn key(subject: &Hash32, department: &DeptId, reason: &Role) -> String {
        format!("{subject}/{department}/{reason}")
    }
}

/// One recorded access to sensitive data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    pub official: KeyId,
    pub department: DeptId,
    pub entry: AccessEntry,
    pub height: u64,
    pub tx_id: Hash32,
}

impl AccessRecord {
    /// `JCS(record)`, the hash chain's input, written member by member in
    /// RFC 8785 order (department, entry{at, dataset, operation, purpose,
    /// subject?}, height, official, tx_id).
    pub fn canonical_json(&self) -> Vec<u8> {
        let str_ = |out: &mut Vec<u8>, s: &str| crate::jcs::write_canonical_str(out, s);
        let e = &self.entry;
        let mut out = Vec::with_capacity(320);
        out.extend_from_slice(b"{\"department\":");
        str_(&mut out, self.department.as_str());
        out.extend_from_slice(b",\"entry\":{\"at\":");
        str_(&mut out, &e.at.to_string());
        out.extend_from_slice(b",\"dataset\":");
        str_(&mut out, &e.dataset);
        out.extend_from_slice(b",\"operation\":");
        str_(&mut out, e.operation.as_str());
        out.extend_from_slice(b",\"purpose\":");
        str_(&mut out, &e.purpose);
        if let Some(subject) = &e.subject {
            out.extend_from_slice(b",\"subject\":\"");
            out.extend_from_slice(subject.to_hex().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b"},\"height\":");
        out.extend_from_slice(self.height.to_string().as_bytes());
        out.extend_from_slice(b",\"official\":\"");
        out.extend_from_slice(self.official.to_hex().as_bytes());
        out.extend_from_slice(b"\",\"tx_id\":\"");
        out.extend_from_slice(self.tx_id.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        out
    }
}

/// The signing official's department, and whether they hold `role` there.
fn home_with_role(
    s: &State,
    ctx: &Ctx<'_>,
    role: &'static str,
) -> Result<(KeyId, DeptId), Rejection> {
    let (official, dept) = s.signer_home(ctx)?;
    let role = Role::from_static(role);
    if !s.has_role(&official, &dept, &role, &star(), ctx.time) {
        return Err(Rejection::RoleMissing {
            role: role.to_string(),
            department: dept.to_string(),
            scope: "*".into(),
        });
    }
    Ok((official, dept))
}

pub(super) fn issue(s: &mut State, ctx: &Ctx<'_>, c: &IssueCertificate) -> Result<(), Rejection> {
    let (official, dept) = home_with_role(s, ctx, ISSUER_ROLE)?;
    if s.certificates.contains_key(&c.cert_id) {
        return Err(Rejection::CertificateExists(c.cert_id.to_string()));
    }
    PublicKey::parse_registrable(*c.holder_key.as_bytes())
        .map_err(|e| Rejection::WeakKey(e.to_string()))?;
    if s.key_index.contains_key(&c.holder_key.key_id()) {
        return Err(Rejection::KeyInUse(c.holder_key.key_id().to_string()));
    }
    s.holders.insert(c.holder_key.key_id(), c.holder_key);
    s.certificates.insert(
        c.cert_id.clone(),
        Certificate {
            id: c.cert_id.clone(),
            cert_type: c.cert_type.clone(),
            commitment: c.commitment,
            subject: c.subject,
            holder_key: c.holder_key,
            issuer: official,
            department: dept,
            issued_at: ctx.height,
            expires_at: c.expires_at,
            verifications: Vec::new(),
        },
    );
    Ok(())
}

fn holder_of<'a>(
    s: &'a State,
    ctx: &Ctx<'_>,
    cert_id: &RefId,
) -> Result<&'a Certificate, Rejection> {
    let cert = s
        .certificates
        .get(cert_id)
        .ok_or_else(|| Rejection::UnknownCertificate(cert_id.to_string()))?;
    if ctx.citizen != Some(cert.holder_key.key_id()) {
        return Err(Rejection::NotHolder);
    }
    Ok(cert)
}

pub(super) fn grant_consent(
    s: &mut State,
    ctx: &Ctx<'_>,
    g: &GrantConsent,
) -> Result<(), Rejection> {
    holder_of(s, ctx, &g.cert_id)?;
    if s.consents.contains_key(&g.consent_id) {
        return Err(Rejection::ConsentExists(g.consent_id.to_string()));
    }
    if !s.departments.contains_key(&g.grantee) {
        return Err(Rejection::UnknownDepartment(g.grantee.to_string()));
    }
    if g.until <= ctx.time {
        return Err(bad_payload(
            ctx.kind,
            "until must be after the current ledger time",
        ));
    }
    s.consents.insert(
        g.consent_id.clone(),
        Consent {
            id: g.consent_id.clone(),
            cert_id: g.cert_id.clone(),
            grantee: g.grantee.clone(),
            until: g.until,
            purpose: g.purpose.clone(),
            granted_at: ctx.height,
            revoked_at: None,
        },
    );
    Ok(())
}

pub(super) fn revoke_consent(
    s: &mut State,
    ctx: &Ctx<'_>,
    r: &RevokeConsent,
) -> Result<(), Rejection> {
    let consent = s
        .consents
        .get(&r.consent_id)
        .ok_or_else(|| Rejection::UnknownConsent(r.consent_id.to_string()))?;
    holder_of(s, ctx, &consent.cert_id)?;
    if consent.revoked_at.is_some() {
        return Err(Rejection::ConsentInvalid(format!(
            "consent {} is already revoked",
            r.consent_id
        )));
    }
    if let Some(c) = s.consents.get_mut(&r.consent_id) {
        c.revoked_at = Some(ctx.height);
    }
    Ok(())
}

pub(super) fn verify(s: &mut State, ctx: &Ctx<'_>, v: &VerifyCertificate) -> Result<(), Rejection> {
    let (official, dept) = s.signer_home(ctx)?;
    let cert = s
        .certificates
        .get(&v.cert_id)
        .ok_or_else(|| Rejection::UnknownCertificate(v.cert_id.to_string()))?;
    if cert.expires_at.is_some_and(|t| ctx.time >= t) {
        return Err(Rejection::CertificateExpired(v.cert_id.to_string()));
    }
    let consent = s
        .consents
        .get(&v.consent_id)
        .ok_or_else(|| Rejection::UnknownConsent(v.consent_id.to_string()))?;
    let invalid = |why: String| Err(Rejection::ConsentInvalid(why));
    if consent.cert_id != v.cert_id {
        return invalid(format!(
            "consent {} is for another certificate",
            v.consent_id
        ));
    }
    if consent.grantee != dept {
        return invalid(format!(
            "consent {} was granted to {}, not {dept}",
            v.consent_id, consent.grantee
        ));
    }
    if consent.revoked_at.is_some() {
        return invalid(format!("consent {} was revoked", v.consent_id));
    }
    if ctx.time >= consent.until {
        return invalid(format!(
            "consent {} expired at {}",
            v.consent_id, consent.until
        ));
    }
    let matches = cert.commitment == v.commitment;
    if let Some(cert) = s.certificates.get_mut(&v.cert_id) {
        cert.verifications.push(Verification {
            height: ctx.height,
            time: ctx.time,
            tx_id: ctx.tx_id,
            official,
            department: dept,
            consent_id: v.consent_id.clone(),
            matches,
        });
    }
    Ok(())
}

pub(super) fn blacklist_add(
    s: &mut State,
    ctx: &Ctx<'_>,
    b: &BlacklistAdd,
) -> Result<(), Rejection> {
    let (official, dept) = home_with_role(s, ctx, BLACKLIST_ROLE)?;
    let key = BlacklistEntry::key(&b.subject, &dept, &b.reason);
    if s.blacklist.contains_key(&key) {
        return Err(Rejection::BlacklistExists(b.reason.to_string()));
    }
    s.blacklist.insert(
        key,
        BlacklistEntry {
            subject: b.subject,
            department: dept,
            reason: b.reason.clone(),
            added_by: official,
            added_at: ctx.height,
        },
    );
    Ok(())
}

pub(super) fn blacklist_remove(
    s: &mut State,
    ctx: &Ctx<'_>,
    b: &BlacklistRemove,
) -> Result<(), Rejection> {
    let (_, dept) = home_with_role(s, ctx, BLACKLIST_ROLE)?;
    let key = BlacklistEntry::key(&b.subject, &dept, &b.reason);
    if s.blacklist.remove(&key).is_none() {
        return Err(Rejection::BlacklistUnknown);
    }
    Ok(())
}

pub(super) fn record_access(
    s: &mut State,
    ctx: &Ctx<'_>,
    r: &RecordAccess,
) -> Result<(), Rejection> {
    let (official, dept) = s.signer_home(ctx)?;
    if r.entries.is_empty() || r.entries.len() > MAX_ACCESS_BATCH {
        return Err(bad_payload(
            ctx.kind,
            &format!("a batch has 1 to {MAX_ACCESS_BATCH} entries"),
        ));
    }
    let records: Vec<AccessRecord> = r
        .entries
        .iter()
        .map(|entry| AccessRecord {
            official,
            department: dept.clone(),
            entry: entry.clone(),
            height: ctx.height,
            tx_id: ctx.tx_id,
        })
        .collect();
    let mut head = s.access_log_head;
    for rec in &records {
        if rec.height > crate::jcs::MAX_SAFE_INTEGER {
            return Err(bad_payload(ctx.kind, "height out of range"));
        }
        let mut chained = head.0.to_vec();
        chained.extend_from_slice(&rec.canonical_json());
        head = Hash32::sha256(&chained);
    }
    s.access_log_head = head;
    s.access_log
        .extend(records.into_iter().map(std::sync::Arc::new));
    Ok(())
}

#[cfg(test)]
mod canonical_tests {
    use super::*;

    #[test]
    fn direct_access_record_encoding_is_rfc8785() {
        for (subject, purpose) in [
            (None, "复核"),
            (Some(Hash32::sha256(b"p")), "quote \" backslash \\ \u{1}"),
        ] {
            let rec = AccessRecord {
                official: KeyId::from_bytes([7; 32]),
                department: DeptId::from_static("housing-fund"),
                entry: AccessEntry {
                    dataset: "housing-fund/accounts".into(),
                    operation: Role::from_static("read"),
                    subject,
                    purpose: purpose.into(),
                    at: "2026-11-24T08:00:00.000Z".parse().unwrap(),
                },
                height: 42,
                tx_id: Hash32::sha256(b"tx"),
            };
            assert_eq!(
                rec.canonical_json(),
                crate::jcs::canonicalize_serialize(&rec).unwrap()
            );
        }
    }
}
