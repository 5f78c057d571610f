//! Who may see the sensitive data behind a signed read (PROTOCOL.md §13).
//! Pure functions of the state, the reading official, their department and
//! the time; nodes call them before they answer and before they admit the
//! read's `access.record`.

use super::kinds::{DeptId, RefId};
use super::State;
use crate::crypto::KeyId;
use crate::types::Timestamp;

/// The role that may read every department's access log.
pub const AUDITOR_ROLE: &str = "auditor";

/// The access log: an auditor (an active `auditor` grant in any
/// department) or an admin of the official's own department.
pub fn may_read_access_log(s: &State, official: &KeyId, dept: &DeptId, now: Timestamp) -> bool {
    s.is_admin(official, dept, now)
        || s.grants_by_official.get(official).is_some_and(|ids| {
            ids.iter()
                .filter_map(|id| s.grants.get(id))
                .any(|g| g.role.as_str() == AUDITOR_ROLE && g.counts_at(now))
        })
}

/// Certificate `cert`: its issuing department, or one its holder consented
/// to (consent not revoked, not expired at `now`). A certificate that does
/// not exist may be asked for by anyone (the answer is "not found").
pub fn may_read_certificate(s: &State, cert: &RefId, dept: &DeptId, now: Timestamp) -> bool {
    s.certificates
        .get(cert)
        .is_none_or(|c| &c.department == dept)
        || s.consents.values().any(|k| {
            &k.cert_id == cert && &k.grantee == dept && k.revoked_at.is_none() && k.until > now
        })
}

/// The shared blacklist: any registered official (the signed read already
/// established that the reader is one); every lookup is recorded.
pub fn may_read_blacklist(_s: &State, _official: &KeyId, _dept: &DeptId, _now: Timestamp) -> bool {
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::state::kinds::Role;
    use crate::state::sharing::{Certificate, Consent};
    use crate::state::Grant;
    use crate::types::Hash32;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms).unwrap()
    }

    fn id(label: &str) -> KeyId {
        KeyId::from_hex(&Hash32::sha256(label.as_bytes()).to_hex()).unwrap()
    }

    fn dept(s: &str) -> DeptId {
        DeptId::try_from(s.to_owned()).unwrap()
    }

    fn grant(s: &mut State, official: KeyId, department: &str, role: &str, expires: Option<i64>) {
        let g = Grant {
            id: Hash32::sha256(format!("{official:?}{department}{role}").as_bytes()),
            official,
            department: dept(department),
            role: Role::try_from(role.to_owned()).unwrap(),
            scope: "*".to_owned().try_into().unwrap(),
            granted_at: 1,
            expires_at: expires.map(t),
            valid_from: None,
        };
        s.add_grant(g);
    }

    #[test]
    fn the_access_log_is_for_auditors_and_own_admins() {
        let mut s = State::new();
        let (auditor, admin, clerk, expired) = (id("a"), id("b"), id("c"), id("d"));
        grant(&mut s, auditor, "audit", AUDITOR_ROLE, None);
        grant(&mut s, admin, "city", "admin", None);
        grant(&mut s, clerk, "city", "approver", None);
        grant(&mut s, expired, "audit", AUDITOR_ROLE, Some(1_000));
        let now = t(2_000);
        // An auditor reads it whatever department they ask from.
        assert!(may_read_access_log(&s, &auditor, &dept("city"), now));
        assert!(may_read_access_log(&s, &admin, &dept("city"), now));
        // An admin of another department is not an admin here.
        assert!(!may_read_access_log(&s, &admin, &dept("fire"), now));
        assert!(!may_read_access_log(&s, &clerk, &dept("city"), now));
        assert!(!may_read_access_log(&s, &expired, &dept("audit"), now));
        assert!(may_read_access_log(&s, &expired, &dept("audit"), t(500)));
    }

    #[test]
    fn a_certificate_is_for_its_issuer_and_consented_departments() {
        let mut s = State::new();
        let cert = RefId::try_from("cert-1".to_owned()).unwrap();
        let holder = crate::crypto::SecretKey::from_seed(&zeroize::Zeroizing::new([7; 32]));
        s.certificates.insert(
            cert.clone(),
            Certificate {
                id: cert.clone(),
                cert_type: Role::try_from("residence".to_owned()).unwrap(),
                commitment: Hash32::ZERO,
                subject: Hash32::ZERO,
                holder_key: holder.public_key(),
                issuer: id("issuer"),
                department: dept("city"),
                issued_at: 1,
                expires_at: None,
                verifications: Vec::new(),
            },
        );
        let consent = |id: &str, grantee: &str, until: i64, revoked: Option<u64>| Consent {
            id: RefId::try_from(id.to_owned()).unwrap(),
            cert_id: cert.clone(),
            grantee: dept(grantee),
            until: t(until),
            purpose: "p".into(),
            granted_at: 1,
            revoked_at: revoked,
        };
        for c in [
            consent("k1", "fire", 5_000, None),
            consent("k2", "water", 5_000, Some(2)),
            consent("k3", "tax", 1_000, None),
        ] {
            s.consents.insert(c.id.clone(), c);
        }
        let now = t(2_000);
        assert!(may_read_certificate(&s, &cert, &dept("city"), now));
        assert!(may_read_certificate(&s, &cert, &dept("fire"), now));
        assert!(!may_read_certificate(&s, &cert, &dept("fire"), t(5_000)));
        // Revoked or expired consent, or none at all: refused.
        assert!(!may_read_certificate(&s, &cert, &dept("water"), now));
        assert!(!may_read_certificate(&s, &cert, &dept("tax"), now));
        assert!(!may_read_certificate(&s, &cert, &dept("police"), now));
        // Unknown certificates: anyone may ask (and learn it is not there).
        let other = RefId::try_from("cert-2".to_owned()).unwrap();
        assert!(may_read_certificate(&s, &other, &dept("police"), now));
    }

    #[test]
    fn any_official_may_look_up_the_blacklist() {
        let s = State::new();
        assert!(may_read_blacklist(&s, &id("x"), &dept("city"), t(1)));
    }
}
