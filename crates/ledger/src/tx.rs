//! Transactions: the signed body, the envelope, the transaction id and the
//! Merkle log leaf.
//!
//! * body = `{chain_id, signer, seq, kind, payload, created_at}`
//! * envelope = `{body, sig}`, `sig` over `govchain/v1/tx/<chain_id> || 0x00 || JCS(body)`
//! * tx id = SHA-256 of that signed message (so re-encoding or re-signing the
//!   same body cannot create a second transaction)
//! * log leaf = `JCS(envelope)`
//!
//! The payload's meaning per `kind` belongs to the state machine; here it is
//! any JSON object.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto::{BatchItem, CryptoError, KeyId, PublicKey, SecretKey, Signature};
use crate::domain::{self, Domain};
use crate::jcs::{self, JcsError};
use crate::types::{ChainId, Hash32, Timestamp};
use crate::ErrorCode;

/// Maximum size of one encoded transaction envelope.
pub const MAX_TX_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    #[error("transaction is {0} bytes; the limit is {MAX_TX_BYTES}")]
    TooLarge(usize),
    #[error(transparent)]
    Json(#[from] JcsError),
    #[error("transaction shape: {0}")]
    Shape(String),
    #[error("kind {0:?} must be dotted lowercase words, e.g. \"case.sign_step\"")]
    Kind(String),
    #[error("payload must be a JSON object")]
    Payload,
    #[error("signer {signer} is not the key that signs ({key})")]
    SignerMismatch { signer: KeyId, key: KeyId },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl ErrorCode for TxError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "tx.too_large",
            Self::Json(e) => e.code(),
            Self::Shape(_) => "tx.shape",
            Self::Kind(_) => "tx.kind",
            Self::Payload => "tx.payload",
            Self::SignerMismatch { .. } => "tx.signer_mismatch",
            Self::Crypto(e) => e.code(),
        }
    }
}

/// What an official signs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxBody {
    pub chain_id: ChainId,
    /// Key id of the signing key.
    pub signer: KeyId,
    /// Per-signer sequence number: must exceed the signer's last committed
    /// one. Offline officials never collide (each has their own counter).
    pub seq: u64,
    pub kind: String,
    pub payload: Value,
    /// The signer's clock, for display only; ledger time is the block's time.
    pub created_at: Timestamp,
}

impl TxBody {
    fn check(&self) -> Result<(), TxError> {
        let kind_ok = !self.kind.is_empty()
            && self.kind.len() <= 64
            && self
                .kind
                .split('.')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        if !kind_ok {
            return Err(TxError::Kind(self.kind.clone()));
        }
        if !self.payload.is_object() {
            return Err(TxError::Payload);
        }
        Ok(())
    }

    /// The canonical JSON of the body: exactly what the officer is shown.
    /// Written member by member in RFC 8785 order (`chain_id`, `created_at`,
    /// `kind`, `payload`, `seq`, `signer`) without an intermediate copy.
    pub fn canonical_json(&self) -> Result<Vec<u8>, TxError> {
        if self.seq > jcs::MAX_SAFE_INTEGER {
            return Err(JcsError::IntegerOutOfRange(self.seq.to_string()).into());
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"chain_id\":");
        jcs::write_canonical_str(&mut out, self.chain_id.as_str());
        out.extend_from_slice(b",\"created_at\":");
        jcs::write_canonical_str(&mut out, &self.created_at.to_string());
        out.extend_from_slice(b",\"kind\":");
        jcs::write_canonical_str(&mut out, &self.kind);
        out.extend_from_slice(b",\"payload\":");
        jcs::write_canonical(&mut out, &self.payload)?;
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.extend_from_slice(b",\"signer\":\"");
        out.extend_from_slice(self.signer.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        Ok(out)
    }

    /// `govchain/v1/tx/<chain_id> || 0x00 || JCS(body)`.
    pub fn signed_message(&self) -> Result<Vec<u8>, TxError> {
        Ok(domain::tagged(
            Domain::Tx,
            &self.chain_id,
            &self.canonical_json()?,
        ))
    }

    /// A body fit to be signed by the key `key`: well formed, naming that
    /// key as its signer.
    fn check_signed_by(&self, key: KeyId) -> Result<(), TxError> {
        self.check()?;
        if self.signer != key {
            return Err(TxError::SignerMismatch {
                signer: self.signer,
                key,
            });
        }
        Ok(())
    }

    /// The transaction id this body will have once signed.
    pub fn id(&self) -> Result<Hash32, TxError> {
        Ok(Hash32::sha256(&self.signed_message()?))
    }
}

/// `JCS(envelope)` from `JCS(body)`: the members sort as `body`, `sig`, and
/// the signature's lowercase hex needs no escaping.
fn envelope_leaf(body_jcs: &[u8], sig: &Signature) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(body_jcs.len() + 150);
    leaf.extend_from_slice(b"{\"body\":");
    leaf.extend_from_slice(body_jcs);
    leaf.extend_from_slice(b",\"sig\":\"");
    leaf.extend_from_slice(sig.to_hex().as_bytes());
    leaf.extend_from_slice(b"\"}");
    leaf
}

/// A transaction's id, signed message and log leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxDigests {
    /// SHA-256 of `msg`.
    pub id: Hash32,
    /// `govchain/v1/tx/<chain_id> || 0x00 || JCS(body)`.
    pub msg: Vec<u8>,
    /// RFC 6962 leaf hash of `JCS(envelope)`.
    pub leaf_hash: Hash32,
}

/// An envelope with its id, signed message and log leaf hash computed once.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub env: Envelope,
    /// SHA-256 of `msg`.
    pub id: Hash32,
    /// `govchain/v1/tx/<chain_id> || 0x00 || JCS(body)`.
    pub msg: Vec<u8>,
    /// RFC 6962 leaf hash of `JCS(envelope)`.
    pub leaf_hash: Hash32,
}

/// A signed transaction as it travels and as it is logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub body: TxBody,
    pub sig: Signature,
}

impl Envelope {
    /// Signs `body`; the key must be the one the body names as signer.
    pub fn sign(key: &SecretKey, body: TxBody) -> Result<Self, TxError> {
        body.check_signed_by(key.key_id())?;
        let sig = key.sign_raw(&body.signed_message()?);
        Ok(Self { body, sig })
    }

    /// An envelope from a signature made elsewhere (a hardware token over
    /// [`TxBody::signed_message`]): the body is checked as by [`Self::sign`],
    /// `key` must be the signer's, and the signature must verify.
    pub fn from_signature(key: &PublicKey, body: TxBody, sig: Signature) -> Result<Self, TxError> {
        body.check_signed_by(key.key_id())?;
        key.verify(&body.signed_message()?, &sig)?;
        Ok(Self { body, sig })
    }

    /// Parses untrusted bytes: size limit, strict I-JSON, exact shape, valid
    /// kind and payload. Does not check the signature (that needs the key).
    pub fn from_json(bytes: &[u8]) -> Result<Self, TxError> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(TxError::TooLarge(bytes.len()));
        }
        let value = jcs::parse_strict(bytes)?;
        Self::from_value(value)
    }

    /// Like [`Envelope::from_json`] for an already strictly parsed value.
    pub fn from_value(value: Value) -> Result<Self, TxError> {
        let env: Envelope =
            serde_json::from_value(value).map_err(|e| TxError::Shape(e.to_string()))?;
        env.body.check()?;
        Ok(env)
    }

    pub fn id(&self) -> Result<Hash32, TxError> {
        self.body.id()
    }

    /// The log leaf: `JCS(envelope)`.
    pub fn leaf_bytes(&self) -> Result<Vec<u8>, TxError> {
        Ok(envelope_leaf(&self.body.canonical_json()?, &self.sig))
    }

    /// The id, signed message and leaf hash, from one canonical encoding of
    /// the body.
    pub fn digests(&self) -> Result<TxDigests, TxError> {
        let body = self.body.canonical_json()?;
        let leaf_hash = crate::merkle::leaf_hash(&envelope_leaf(&body, &self.sig));
        let msg = domain::tagged(Domain::Tx, &self.body.chain_id, &body);
        Ok(TxDigests {
            id: Hash32::sha256(&msg),
            msg,
            leaf_hash,
        })
    }

    /// [`Envelope::digests`] kept with the envelope (what admission and the
    /// log need).
    pub fn prepare(self) -> Result<Prepared, TxError> {
        let TxDigests { id, msg, leaf_hash } = self.digests()?;
        Ok(Prepared {
            id,
            msg,
            leaf_hash,
            env: self,
        })
    }

    /// Verifies the signature with `key`, which must match `body.signer`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), TxError> {
        let key_id = key.key_id();
        if self.body.signer != key_id {
            return Err(TxError::SignerMismatch {
                signer: self.body.signer,
                key: key_id,
            });
        }
        key.verify(&self.body.signed_message()?, &self.sig)?;
        Ok(())
    }
}

/// Verifies many envelopes at once (batch Ed25519, same rule as one by one).
/// `keys[i]` is the public key for `envelopes[i]`. The error names the index
/// of the first bad transaction.
pub fn verify_envelopes(envelopes: &[Envelope], keys: &[PublicKey]) -> Result<(), TxError> {
    if envelopes.len() != keys.len() {
        return Err(TxError::Shape(format!(
            "{} envelopes but {} keys",
            envelopes.len(),
            keys.len()
        )));
    }
    let mut msgs = Vec::with_capacity(envelopes.len());
    for (env, key) in envelopes.iter().zip(keys) {
        let key_id = key.key_id();
        if env.body.signer != key_id {
            return Err(TxError::SignerMismatch {
                signer: env.body.signer,
                key: key_id,
            });
        }
        msgs.push(env.body.signed_message()?);
    }
    let items: Vec<BatchItem<'_>> = envelopes
        .iter()
        .zip(keys)
        .zip(&msgs)
        .map(|((env, key), msg)| BatchItem {
            key,
            msg,
            sig: &env.sig,
        })
        .collect();
    crate::crypto::verify_batch(&items)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use zeroize::Zeroizing;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed(&Zeroizing::new([n; 32]))
    }

    fn signed() -> (SecretKey, Envelope) {
        let k = key(4);
        let body = TxBody {
            chain_id: "gov-demo".parse().unwrap(),
            signer: k.key_id(),
            seq: 1,
            kind: "payment.confirm".into(),
            payload: json!({"payment_id": "p-1", "amount_fen": 1_250_000}),
            created_at: "2026-11-24T08:00:00.000Z".parse().unwrap(),
        };
        let env = Envelope::sign(&k, body).unwrap();
        (k, env)
    }

    #[test]
    fn an_outside_signature_is_checked_before_it_forms_an_envelope() {
        let (k, env) = signed();
        let pk = k.public_key();
        let made = Envelope::from_signature(&pk, env.body.clone(), env.sig).unwrap();
        assert_eq!(made.id().unwrap(), env.id().unwrap());
        let other = key(5).public_key();
        let e = Envelope::from_signature(&other, env.body.clone(), env.sig).unwrap_err();
        assert_eq!(e.code(), "tx.signer_mismatch");
        let mut bad = *env.sig.as_bytes();
        bad[3] ^= 1;
        let e = Envelope::from_signature(&pk, env.body, Signature::from_bytes(bad)).unwrap_err();
        assert_eq!(e.code(), "crypto.bad_signature");
    }

    #[test]
    fn direct_body_encoding_is_rfc8785() {
        let (k, env) = signed();
        for payload in [
            json!({}),
            json!({"z": [1, -2.5, 1e-7, null, true], "a": {"é": "\u{1f600}\n\"\\", "A": 0}}),
            json!({"title": "北山街12号改造", "\u{7f}": "\u{0}"}),
        ] {
            for seq in [0, 1, jcs::MAX_SAFE_INTEGER] {
                let body = TxBody {
                    payload: payload.clone(),
                    seq,
                    ..env.body.clone()
                };
                assert_eq!(
                    body.canonical_json().unwrap(),
                    jcs::canonicalize_serialize(&body).unwrap()
                );
            }
        }
        let too_big = TxBody {
            seq: jcs::MAX_SAFE_INTEGER + 1,
            ..env.body.clone()
        };
        assert_eq!(
            too_big.canonical_json().unwrap_err().code(),
            "jcs.integer_out_of_range"
        );
        assert_eq!(env.body.signer, k.key_id());
    }

    #[test]
    fn prepared_values_match_the_definitions() {
        let (_, env) = signed();
        let full = jcs::canonicalize_serialize(&env).unwrap();
        assert_eq!(env.leaf_bytes().unwrap(), full);
        let p = env.clone().prepare().unwrap();
        assert_eq!(p.id, env.id().unwrap());
        assert_eq!(p.msg, env.body.signed_message().unwrap());
        assert_eq!(p.leaf_hash, crate::merkle::leaf_hash(&full));
    }

    #[test]
    fn parse_rejects_every_malformed_shape() {
        let (k, env) = signed();
        let good = serde_json::to_value(&env).unwrap();
        let code = |v: &Value| {
            Envelope::from_json(&serde_json::to_vec(v).unwrap())
                .unwrap_err()
                .code()
        };
        let with = |path: &[&str], val: Value| {
            let mut v = good.clone();
            let mut cur = &mut v;
            for p in &path[..path.len() - 1] {
                cur = &mut cur[*p];
            }
            cur[path[path.len() - 1]] = val;
            v
        };
        assert_eq!(code(&with(&["extra"], json!(1))), "tx.shape");
        assert_eq!(code(&with(&["body", "extra"], json!(1))), "tx.shape");
        assert_eq!(code(&with(&["body", "seq"], json!(1.5))), "tx.shape");
        assert_eq!(code(&with(&["body", "seq"], json!(-1))), "tx.shape");
        assert_eq!(
            code(&with(&["body", "kind"], json!("Payment.Confirm"))),
            "tx.kind"
        );
        assert_eq!(code(&with(&["body", "kind"], json!("a..b"))), "tx.kind");
        assert_eq!(code(&with(&["body", "payload"], json!([1]))), "tx.payload");
        assert_eq!(
            code(&with(
                &["body", "created_at"],
                json!("2026-11-24T08:00:00Z")
            )),
            "tx.shape"
        );
        assert_eq!(code(&with(&["body", "chain_id"], json!("GOV"))), "tx.shape");
        assert_eq!(code(&with(&["sig"], json!("00"))), "tx.shape");
        let dup = br#"{"body":{},"body":{},"sig":""}"#;
        assert_eq!(
            Envelope::from_json(dup).unwrap_err().code(),
            "jcs.duplicate_key"
        );
        let huge = vec![b' '; MAX_TX_BYTES + 1];
        assert_eq!(
            Envelope::from_json(&huge).unwrap_err().code(),
            "tx.too_large"
        );
        // The untouched envelope parses and verifies; a changed amount does not verify.
        let back = Envelope::from_json(&serde_json::to_vec(&good).unwrap()).unwrap();
        back.verify(&k.public_key()).unwrap();
        let changed = with(&["body", "payload", "amount_fen"], json!(1_250_001));
        let env2 = Envelope::from_json(&serde_json::to_vec(&changed).unwrap()).unwrap();
        assert_eq!(
            env2.verify(&k.public_key()).unwrap_err().code(),
            "crypto.bad_signature"
        );
    }

    #[test]
    fn signer_must_be_the_signing_key() {
        let (_, env) = signed();
        let other = key(5);
        assert_eq!(
            Envelope::sign(&other, env.body.clone()).unwrap_err().code(),
            "tx.signer_mismatch"
        );
        assert_eq!(
            env.verify(&other.public_key()).unwrap_err().code(),
            "tx.signer_mismatch"
        );
        assert!(verify_envelopes(std::slice::from_ref(&env), &[other.public_key()]).is_err());
        assert!(verify_envelopes(&[env], &[]).is_err());
    }

    #[test]
    fn id_ignores_encoding_but_not_content() {
        let (k, env) = signed();
        let pretty = serde_json::to_vec_pretty(&env).unwrap();
        assert_eq!(
            Envelope::from_json(&pretty).unwrap().id().unwrap(),
            env.id().unwrap()
        );
        let mut body = env.body.clone();
        body.seq = 2;
        assert_ne!(
            Envelope::sign(&k, body).unwrap().id().unwrap(),
            env.id().unwrap()
        );
    }
}
