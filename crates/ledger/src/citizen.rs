//! What a department hands a citizen to sign, and the citizen's signed
//! answer (PROTOCOL.md §12.10): a consent request carries the exact
//! `consent.grant` or `consent.revoke` body the citizen's key signs, plus
//! names for display; both travel as short text (a file, a pasted line or
//! a QR code): `GCR1:` / `GCA1:` and the base64url (no padding) of the
//! object's canonical JSON.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::jcs;
use crate::state::kinds::{Action, GrantConsent, RevokeConsent};
use crate::tx::{Envelope, TxBody};
use crate::ErrorCode;

/// The text form of a [`ConsentRequest`] starts with this.
pub const REQUEST_PREFIX: &str = "GCR1:";
/// The text form of the citizen's signed answer starts with this.
pub const ANSWER_PREFIX: &str = "GCA1:";
/// Longest text accepted (a request is a few hundred bytes).
pub const MAX_TEXT: usize = 16 * 1024;
/// Longest name in a request's context.
pub const MAX_NAME: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum CitizenError {
    #[error("not a govchain consent request or answer: {0}")]
    Malformed(String),
    #[error("a citizen signs only consent.grant and consent.revoke, not {0}")]
    NotConsent(String),
    #[error("the request is for key {want}, not this citizen's key {have}")]
    OtherKey { want: String, have: String },
    #[error("the answer's signature does not verify: {0}")]
    BadSignature(String),
}

impl ErrorCode for CitizenError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "citizen.malformed",
            Self::NotConsent(_) => "citizen.not_consent",
            Self::OtherKey { .. } => "citizen.other_key",
            Self::BadSignature(_) => "citizen.bad_signature",
        }
    }
}

/// Names shown to the citizen beside the body. They are the requesting
/// department's words, not signed: a signer shows the body's own ids too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestContext {
    /// The department asking (its name).
    pub requested_by: String,
    /// The certificate's type, e.g. `housing-fund-deposit`.
    pub cert_type: String,
    /// The issuing department's name.
    pub issuer: String,
    /// The grantee department's name (a grant only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_name: Option<String>,
}

/// An unsigned consent transaction for a certificate holder's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub body: TxBody,
    pub context: RequestContext,
}

/// What a consent request asks the citizen to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentAction {
    Grant(GrantConsent),
    Revoke(RevokeConsent),
}

fn to_text<T: Serialize>(prefix: &str, v: &T) -> Result<String, CitizenError> {
    let bytes =
        jcs::canonicalize_serialize(v).map_err(|e| CitizenError::Malformed(e.to_string()))?;
    Ok(format!("{prefix}{}", B64URL.encode(bytes)))
}

/// The JSON inside `text`: the prefixed form (whitespace and line breaks
/// anywhere ignored, as a QR scanner or mail client may add them) or the
/// JSON object itself.
fn from_text<T: serde::de::DeserializeOwned>(prefix: &str, text: &str) -> Result<T, CitizenError> {
    if text.len() > MAX_TEXT {
        return Err(CitizenError::Malformed(format!(
            "{} bytes; at most {MAX_TEXT}",
            text.len()
        )));
    }
    let text = text.trim();
    let json = if text.starts_with('{') {
        text.as_bytes().to_vec()
    } else {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let b64 = compact
            .strip_prefix(prefix)
            .ok_or_else(|| CitizenError::Malformed(format!("it does not start with {prefix}")))?;
        B64URL
            .decode(b64)
            .map_err(|e| CitizenError::Malformed(e.to_string()))?
    };
    serde_json::from_slice(&json).map_err(|e| CitizenError::Malformed(e.to_string()))
}

impl ConsentRequest {
    /// `GCR1:` + base64url(JCS(request)).
    pub fn to_text(&self) -> Result<String, CitizenError> {
        to_text(REQUEST_PREFIX, self)
    }

    /// Reads a request ([`ConsentRequest::to_text`] or its JSON) and checks
    /// that it asks for a consent transaction the ledger can parse.
    pub fn from_text(text: &str) -> Result<Self, CitizenError> {
        let r: Self = from_text(REQUEST_PREFIX, text)?;
        let c = &r.context;
        for name in [&c.requested_by, &c.cert_type, &c.issuer]
            .into_iter()
            .chain(c.grantee_name.as_ref())
        {
            if !displayable(name) {
                return Err(CitizenError::Malformed(format!(
                    "a name in the request is over {MAX_NAME} characters or holds control or direction characters"
                )));
            }
        }
        r.action()?;
        r.body
            .canonical_json()
            .map_err(|e| CitizenError::Malformed(e.to_string()))?;
        Ok(r)
    }

    /// The consent the body grants or revokes; any other kind is refused.
    pub fn action(&self) -> Result<ConsentAction, CitizenError> {
        match Action::parse(&self.body.kind, &self.body.payload) {
            Ok(Action::GrantConsent(g)) => Ok(ConsentAction::Grant(g)),
            Ok(Action::RevokeConsent(r)) => Ok(ConsentAction::Revoke(r)),
            Ok(_) => Err(CitizenError::NotConsent(self.body.kind.clone())),
            Err(e) => Err(CitizenError::Malformed(e.to_string())),
        }
    }

    /// Refuses a request for another key than `key`.
    pub fn check_key(&self, key: &PublicKey) -> Result<(), CitizenError> {
        if self.body.signer != key.key_id() {
            return Err(CitizenError::OtherKey {
                want: self.body.signer.fingerprint(),
                have: key.key_id().fingerprint(),
            });
        }
        Ok(())
    }
}

/// Whether `s` can be shown as it is: at most [`MAX_NAME`] characters, none
/// of them a control character (a terminal escape, a line break) or a
/// bidirectional override that could reorder what the citizen reads.
fn displayable(s: &str) -> bool {
    s.chars().count() <= MAX_NAME
        && !s.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
}

/// `GCA1:` + base64url(JCS(envelope)): the citizen's signed answer.
pub fn answer_text(env: &Envelope) -> Result<String, CitizenError> {
    to_text(ANSWER_PREFIX, env)
}

/// Reads a signed answer ([`answer_text`] or the envelope's JSON), checks
/// that it is a consent transaction and that `holder`'s key signed it.
pub fn read_answer(text: &str, holder: &PublicKey) -> Result<Envelope, CitizenError> {
    let env: Envelope = from_text(ANSWER_PREFIX, text)?;
    ConsentRequest {
        body: env.body.clone(),
        context: RequestContext {
            requested_by: String::new(),
            cert_type: String::new(),
            issuer: String::new(),
            grantee_name: None,
        },
    }
    .action()?;
    env.verify(holder)
        .map_err(|e| CitizenError::BadSignature(e.to_string()))?;
    Ok(env)
}

/// The signer named in an answer, before its key is looked up.
pub fn answer_signer(text: &str) -> Result<crate::crypto::KeyId, CitizenError> {
    from_text::<Envelope>(ANSWER_PREFIX, text).map(|e| e.body.signer)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::types::Timestamp;
    use serde_json::json;

    fn request(key: &SecretKey, kind: &str, payload: serde_json::Value) -> ConsentRequest {
        ConsentRequest {
            body: TxBody {
                chain_id: "gov-test".parse().unwrap(),
                signer: key.key_id(),
                seq: 1,
                kind: kind.into(),
                payload,
                created_at: Timestamp::from_unix_millis(1_780_000_000_000).unwrap(),
            },
            context: RequestContext {
                requested_by: "三亚市住房公积金管理中心".into(),
                cert_type: "housing-fund-deposit".into(),
                issuer: "海口市住房公积金管理中心".into(),
                grantee_name: Some("三亚市住房公积金管理中心".into()),
            },
        }
    }

    fn grant() -> serde_json::Value {
        json!({"consent_id": "CS-1", "cert_id": "HPF-1", "grantee": "hpf-sanya",
               "until": "2027-01-01T00:00:00.000Z", "purpose": "异地贷款审核"})
    }

    #[test]
    fn a_request_and_its_answer_survive_their_text_forms() {
        let key = SecretKey::from_seed(&zeroize::Zeroizing::new([7; 32]));
        let r = request(&key, "consent.grant", grant());
        let text = r.to_text().unwrap();
        assert!(text.starts_with(REQUEST_PREFIX));
        // Line breaks a mail client adds are ignored; the JSON form is read too.
        let wrapped: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i % 60 == 59).then_some('\n').into_iter().chain([c]))
            .collect();
        assert_eq!(ConsentRequest::from_text(&wrapped).unwrap(), r);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(ConsentRequest::from_text(&json).unwrap(), r);
        assert!(
            matches!(r.action().unwrap(), ConsentAction::Grant(g) if g.grantee.as_str() == "hpf-sanya")
        );
        r.check_key(&key.public_key()).unwrap();
        let other = SecretKey::from_seed(&zeroize::Zeroizing::new([8; 32]));
        assert_eq!(
            r.check_key(&other.public_key()).unwrap_err().code(),
            "citizen.other_key"
        );

        let env = Envelope::sign(&key, r.body.clone()).unwrap();
        let answer = answer_text(&env).unwrap();
        assert_eq!(read_answer(&answer, &key.public_key()).unwrap(), env);
        assert_eq!(answer_signer(&answer).unwrap(), key.key_id());
        assert_eq!(
            read_answer(&answer, &other.public_key())
                .unwrap_err()
                .code(),
            "citizen.bad_signature"
        );
    }

    #[test]
    fn anything_but_a_consent_is_refused() {
        let key = SecretKey::from_seed(&zeroize::Zeroizing::new([7; 32]));
        let r = request(
            &key,
            "blacklist.add",
            json!({"subject": "00".repeat(32), "reason": "loan-default"}),
        );
        let text = r.to_text().unwrap();
        assert_eq!(
            ConsentRequest::from_text(&text).unwrap_err().code(),
            "citizen.not_consent"
        );
        let env = Envelope::sign(&key, r.body).unwrap();
        assert_eq!(
            read_answer(&answer_text(&env).unwrap(), &key.public_key())
                .unwrap_err()
                .code(),
            "citizen.not_consent"
        );
        for bad in ["", "GCR1:!!", "GCA1:e30", "hello"] {
            assert_eq!(
                ConsentRequest::from_text(bad).unwrap_err().code(),
                "citizen.malformed",
                "{bad}"
            );
        }
        // Names that would rewrite what the citizen reads are refused.
        for bad in ["三亚\u{1b}[2K", "a\nb", "\u{202E}亚三"] {
            let mut r = request(&key, "consent.grant", grant());
            r.context.requested_by = bad.into();
            assert_eq!(
                ConsentRequest::from_text(&r.to_text().unwrap())
                    .unwrap_err()
                    .code(),
                "citizen.malformed",
                "{bad:?}"
            );
        }
        // A grant missing a member is not a consent the ledger can parse.
        let mut g = grant();
        g.as_object_mut().unwrap().remove("purpose");
        let text = request(&key, "consent.grant", g).to_text().unwrap();
        assert_eq!(
            ConsentRequest::from_text(&text).unwrap_err().code(),
            "citizen.malformed"
        );
    }
}
