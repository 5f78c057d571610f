//! Signed read requests (PROTOCOL.md §13): an official signs an HTTP request
//! for a sensitive query with an RFC 9421 HTTP Message Signature, so the node
//! can authorize it per official and department, and the request names the
//! `access.record` transaction that puts the read on the ledger.
//!
//! Profile: one signature labelled `govchain`, covering exactly
//! `("@method" "@authority" "@path" "@query" "govchain-access-record")` with
//! the parameters `created` and `keyid` (the signer's key id, hex). The
//! signature is Ed25519 over `govchain/v1/read/<chain_id> || 0x00 ||
//! signature base` (RFC 9421 §2.5), i.e. the same domain separation as every
//! other govchain signature.

use base64::Engine as _;

use crate::crypto::{KeyId, PublicKey, SecretKey, Signature, SIG_LEN};
use crate::domain::{tagged, Domain};
use crate::types::ChainId;
use crate::ErrorCode;

/// The signature's label in `Signature-Input` and `Signature`.
pub const LABEL: &str = "govchain";
/// The header carrying the `access.record` envelope (base64url of its JSON).
pub const ACCESS_RECORD_HEADER: &str = "govchain-access-record";
/// The covered components, in this order.
pub const COMPONENTS: [&str; 5] = [
    "@method",
    "@authority",
    "@path",
    "@query",
    ACCESS_RECORD_HEADER,
];
/// How far `created` may be from the verifier's clock, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("this query needs a signed request (Signature-Input, Signature and {ACCESS_RECORD_HEADER} headers; PROTOCOL.md §13)")]
    Unsigned,
    #[error("malformed signed request: {0}")]
    Malformed(String),
    #[error("the request was signed at {created}, more than {MAX_SKEW_SECS} s from now ({now})")]
    Stale { created: i64, now: i64 },
    #[error("the request signature does not verify")]
    BadSignature,
}

impl ErrorCode for ReadError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unsigned => "read.unsigned",
            Self::Malformed(_) => "read.malformed",
            Self::Stale { .. } => "read.stale",
            Self::BadSignature => "read.bad_signature",
        }
    }
}

/// What a signed read covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// `GET`.
    pub method: String,
    /// `host[:port]`, lowercase.
    pub authority: String,
    /// The path, e.g. `/v1/access`.
    pub path: String,
    /// The query with its leading `?`, or `?` alone when there is none.
    pub query: String,
    /// The `govchain-access-record` header value.
    pub access_record: String,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub key_id: KeyId,
}

fn check_value(name: &str, v: &str) -> Result<(), ReadError> {
    if v.chars().any(char::is_control) {
        return Err(ReadError::Malformed(format!(
            "{name} contains a control character"
        )));
    }
    Ok(())
}

impl ReadRequest {
    /// `Signature-Input`'s value after the label: the covered components and
    /// parameters (RFC 9421 §4.1).
    pub fn signature_params(&self) -> String {
        let list: Vec<String> = COMPONENTS.iter().map(|c| format!("\"{c}\"")).collect();
        format!(
            "({});created={};keyid=\"{}\"",
            list.join(" "),
            self.created,
            self.key_id.to_hex()
        )
    }

    /// The RFC 9421 §2.5 signature base.
    pub fn signature_base(&self) -> Result<String, ReadError> {
        let values = [
            &self.method,
            &self.authority,
            &self.path,
            &self.query,
            &self.access_record,
        ];
        let mut lines: Vec<String> = Vec::with_capacity(COMPONENTS.len() + 1);
        for (name, value) in COMPONENTS.iter().zip(values) {
            check_value(name, value)?;
            lines.push(format!("\"{name}\": {value}"));
        }
        lines.push(format!(
            "\"@signature-params\": {}",
            self.signature_params()
        ));
        let base = lines.join("\n");
        Ok(base)
    }

    /// The bytes signed: `govchain/v1/read/<chain> || 0x00 || base`.
    pub fn signed_message(&self, chain: &ChainId) -> Result<Vec<u8>, ReadError> {
        Ok(tagged(
            Domain::SignedRead,
            chain,
            self.signature_base()?.as_bytes(),
        ))
    }

    /// Signs: the `Signature-Input` and `Signature` header values.
    pub fn sign(&self, key: &SecretKey, chain: &ChainId) -> Result<(String, String), ReadError> {
        Ok(self.headers(&key.sign_raw(&self.signed_message(chain)?)))
    }

    /// The `Signature-Input` and `Signature` header values for a signature
    /// made elsewhere (a hardware token) over [`Self::signed_message`].
    pub fn headers(&self, sig: &Signature) -> (String, String) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(sig.as_bytes());
        (
            format!("{LABEL}={}", self.signature_params()),
            format!("{LABEL}=:{b64}:"),
        )
    }

    /// Verifies with the signer's key at verifier time `now` (seconds).
    pub fn verify(
        &self,
        key: &PublicKey,
        sig: &Signature,
        chain: &ChainId,
        now: i64,
    ) -> Result<(), ReadError> {
        if (self.created - now).abs() > MAX_SKEW_SECS {
            return Err(ReadError::Stale {
                created: self.created,
                now,
            });
        }
        key.verify(&self.signed_message(chain)?, sig)
            .map_err(|_| ReadError::BadSignature)
    }
}

/// Parses the `Signature-Input` and `Signature` header values of this
/// profile: `(created, keyid, signature)`.
pub fn parse_headers(input: &str, signature: &str) -> Result<(i64, KeyId, Signature), ReadError> {
    let bad = |m: &str| ReadError::Malformed(m.to_owned());
    let params = input
        .trim()
        .strip_prefix(&format!("{LABEL}="))
        .ok_or_else(|| bad("Signature-Input must have one signature labelled govchain"))?;
    let list: Vec<String> = COMPONENTS.iter().map(|c| format!("\"{c}\"")).collect();
    let rest = params
        .strip_prefix(&format!("({})", list.join(" ")))
        .ok_or_else(|| bad("the covered components must be exactly (\"@method\" \"@authority\" \"@path\" \"@query\" \"govchain-access-record\")"))?;
    let mut created = None;
    let mut key_id = None;
    for p in rest.split(';').skip(1) {
        let (name, value) = p
            .split_once('=')
            .ok_or_else(|| bad("a parameter without a value"))?;
        match name {
            "created" => {
                created = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| bad("created must be an integer"))?,
                );
            }
            "keyid" => {
                let hex = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| bad("keyid must be a quoted string"))?;
                key_id = Some(KeyId::from_hex(hex).map_err(|e| bad(&e.to_string()))?);
            }
            _ => return Err(bad(&format!("unexpected parameter {name}"))),
        }
    }
    if !rest.is_empty() && !rest.starts_with(';') {
        return Err(bad("unexpected text after the component list"));
    }
    let (Some(created), Some(key_id)) = (created, key_id) else {
        return Err(bad("created and keyid are required"));
    };
    let b64 = signature
        .trim()
        .strip_prefix(&format!("{LABEL}=:"))
        .and_then(|s| s.strip_suffix(':'))
        .ok_or_else(|| bad("Signature must be govchain=:<base64>:"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad("the signature is not base64"))?;
    let bytes: [u8; SIG_LEN] = bytes
        .try_into()
        .map_err(|_| bad("an Ed25519 signature is 64 bytes"))?;
    Ok((created, key_id, Signature::from_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn req(key: &SecretKey) -> ReadRequest {
        ReadRequest {
            method: "GET".into(),
            authority: "node.example:7700".into(),
            path: "/v1/blacklist/ab".into(),
            query: "?".into(),
            access_record: "eyJ9".into(),
            created: 1_795_000_000,
            key_id: key.key_id(),
        }
    }

    #[test]
    fn signs_parses_verifies_and_refuses_changes() {
        let key = SecretKey::from_seed(&Zeroizing::new([7u8; 32]));
        let chain: ChainId = "c".parse().unwrap();
        let r = req(&key);
        let base = r.signature_base().unwrap();
        assert!(base.starts_with("\"@method\": GET\n\"@authority\": node.example:7700\n"));
        assert!(base.ends_with(&format!(
            "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" \"govchain-access-record\");created=1795000000;keyid=\"{}\"",
            key.key_id().to_hex()
        )));
        let (input, sig) = r.sign(&key, &chain).unwrap();
        let (created, key_id, s) = parse_headers(&input, &sig).unwrap();
        assert_eq!((created, key_id), (r.created, r.key_id));
        let pk = key.public_key();
        assert_eq!(r.verify(&pk, &s, &chain, r.created + 10), Ok(()));
        // Another path, another chain, too old: refused.
        let mut other = r.clone();
        other.path = "/v1/blacklist/cd".into();
        assert_eq!(
            other.verify(&pk, &s, &chain, r.created),
            Err(ReadError::BadSignature)
        );
        let other_chain: ChainId = "d".parse().unwrap();
        assert_eq!(
            r.verify(&pk, &s, &other_chain, r.created),
            Err(ReadError::BadSignature)
        );
        assert!(matches!(
            r.verify(&pk, &s, &chain, r.created + 301),
            Err(ReadError::Stale { .. })
        ));
        // Only this profile's exact component list.
        assert!(parse_headers(&input.replace("\"@query\" ", ""), &sig).is_err());
        assert!(parse_headers(&input, "govchain=:AAAA:").is_err());
        let mut nl = r.clone();
        nl.path = "/v1/x\n\"@method\": POST".into();
        assert!(nl.signature_base().is_err());
    }
}
