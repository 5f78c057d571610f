//! Ed25519 keys, key ids and the one signature validity rule.
//!
//! Signing uses ed25519-dalek (RFC 8032). Verification — single and batch —
//! uses the ZIP-215 rules through `ed25519-consensus`, whose batch and single
//! paths accept exactly the same signatures, so every node, the workstation
//! and any outside verifier reach the same verdict on every block. Keys that
//! may be *registered* are stricter still ([`PublicKey::parse_registrable`]):
//! canonical encoding, not of small order, torsion-free.

use std::fmt;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::Signer as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ErrorCode;

/// Length of an Ed25519 public key, secret seed and signature half.
pub const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIG_LEN: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CryptoError {
    #[error("public key is not a valid Ed25519 point encoding")]
    InvalidKey,
    #[error("public key is weak ({0}); it cannot be registered")]
    WeakKey(&'static str),
    #[error("signature does not verify")]
    BadSignature,
    #[error("signature {index} of the batch does not verify")]
    BatchBadSignature { index: usize },
    #[error("key id does not match the public key")]
    KeyIdMismatch,
    #[error("bad hex or length for {what}: {detail}")]
    Encoding { what: &'static str, detail: String },
}

impl ErrorCode for CryptoError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidKey => "crypto.invalid_key",
            Self::WeakKey(_) => "crypto.weak_key",
            Self::BadSignature => "crypto.bad_signature",
            Self::BatchBadSignature { .. } => "crypto.batch_bad_signature",
            Self::KeyIdMismatch => "crypto.key_id_mismatch",
            Self::Encoding { .. } => "crypto.encoding",
        }
    }
}

pub(crate) fn decode_hex_array<const N: usize>(
    what: &'static str,
    s: &str,
) -> Result<[u8; N], CryptoError> {
    // One pass, lowercase only (every id and hash in a block is parsed
    // here, and a node's stored state at start-up).
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    let bad = || CryptoError::Encoding {
        what,
        detail: format!("expected {} lowercase hex digits", 2 * N),
    };
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return Err(bad());
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return Err(bad());
        };
        *o = (hi << 4) | lo;
    }
    Ok(out)
}

/// Lowercase hex of `bytes`, written into `buf` (twice as long), without
/// allocating: hashes and key ids are encoded by the thousand per block.
pub(crate) fn hex_into<'b>(bytes: &[u8], buf: &'b mut [u8]) -> &'b str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xF)];
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// Implements lowercase-hex `Display`/`FromStr`/serde for a fixed-size byte newtype.
macro_rules! hex_newtype {
    ($ty:ident, $len:expr, $what:literal) => {
        impl $ty {
            pub fn from_hex(s: &str) -> Result<Self, $crate::crypto::CryptoError> {
                $crate::crypto::decode_hex_array::<$len>($what, s).map(Self)
            }
            pub fn to_hex(&self) -> String {
                let mut buf = [0u8; 2 * $len];
                $crate::crypto::hex_into(&self.0, &mut buf).to_owned()
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut buf = [0u8; 2 * $len];
                f.write_str($crate::crypto::hex_into(&self.0, &mut buf))
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::crypto::CryptoError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut buf = [0u8; 2 * $len];
                s.serialize_str($crate::crypto::hex_into(&self.0, &mut buf))
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use hex_newtype;

/// An Ed25519 public key (32 bytes, hex on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; KEY_LEN]);
hex_newtype!(PublicKey, KEY_LEN, "public key");

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id().fingerprint())
    }
}

impl PublicKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Accepts only keys that may be registered or rotated to: a canonical
    /// encoding of a point of large prime order (no small-order or mixed-order
    /// keys, no non-canonical y ≥ p encodings).
    pub fn parse_registrable(bytes: [u8; KEY_LEN]) -> Result<Self, CryptoError> {
        let point = CompressedEdwardsY(bytes)
            .decompress()
            .ok_or(CryptoError::InvalidKey)?;
        if point.compress().to_bytes() != bytes {
            return Err(CryptoError::WeakKey("non-canonical encoding"));
        }
        if point.is_small_order() {
            return Err(CryptoError::WeakKey("small-order point"));
        }
        if !point.is_torsion_free() {
            return Err(CryptoError::WeakKey("point has a torsion component"));
        }
        Ok(Self(bytes))
    }

    /// Key id: SHA-256 of the 32 public key bytes.
    pub fn key_id(&self) -> KeyId {
        KeyId(Sha256::digest(self.0).into())
    }

    /// Verifies `sig` over `msg` with the ZIP-215 rule (the protocol's only rule).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let vk = ed25519_consensus::VerificationKey::try_from(self.0)
            .map_err(|_| CryptoError::InvalidKey)?;
        vk.verify(&ed25519_consensus::Signature::from(sig.0), msg)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// SHA-256 of a public key; identifies an official or node key everywhere.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 32]);
hex_newtype!(KeyId, 32, "key id");

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.fingerprint())
    }
}

impl KeyId {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Human form: the first 16 bytes as 8 groups of 4 hex digits, e.g.
    /// `3f2a 91c0 …` — what officials read aloud to an admin.
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode(&self.0[..16]);
        let groups: Vec<&str> = (0..8).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        groups.join(" ")
    }
}

/// An Ed25519 signature (64 bytes, hex on the wire).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; SIG_LEN]);
hex_newtype!(Signature, SIG_LEN, "signature");

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..8]))
    }
}

impl Signature {
    pub fn from_bytes(bytes: [u8; SIG_LEN]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; SIG_LEN] {
        &self.0
    }
}

/// An Ed25519 secret key. Zeroized on drop; has no `Debug`, `Display`,
/// `Clone` or serde implementation, so it cannot be printed, logged or sent.
pub struct SecretKey(ed25519_dalek::SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug is required by our lint policy; print only the public half.
        write!(f, "SecretKey(<redacted>, {})", self.key_id().fingerprint())
    }
}

impl SecretKey {
    /// A fresh key from a cryptographic RNG supplied by the caller (this crate
    /// does no I/O, so it does not read the OS RNG itself).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(ed25519_dalek::SigningKey::generate(rng))
    }

    /// Rebuilds a key from its 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &Zeroizing<[u8; KEY_LEN]>) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed, for the keychain only. Zeroized when dropped.
    pub fn to_seed(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }

    /// Raw Ed25519 signature over `msg`. Protocol code signs through
    /// [`crate::domain`], which adds the domain tag.
    pub fn sign_raw(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

/// A key that signs: a [`SecretKey`] in memory, or a key held where it
/// cannot be read (a hardware token), whose signing can fail.
pub trait Signer: Send + Sync + fmt::Debug {
    fn public_key(&self) -> PublicKey;

    /// A raw Ed25519 signature over `msg` (RFC 8032, pure).
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, SignerError>;

    fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }
}

/// Why a key held elsewhere did not sign, with that store's stable code
/// (`token.removed`, `token.pin_required`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SignerError {
    pub code: &'static str,
    pub message: String,
}

impl ErrorCode for SignerError {
    fn code(&self) -> &'static str {
        self.code
    }
}

impl Signer for SecretKey {
    fn public_key(&self) -> PublicKey {
        SecretKey::public_key(self)
    }

    fn try_sign(&self, msg: &[u8]) -> Result<Signature, SignerError> {
        Ok(self.sign_raw(msg))
    }
}

impl<T: Signer + ?Sized> Signer for std::sync::Arc<T> {
    fn public_key(&self) -> PublicKey {
        (**self).public_key()
    }

    fn try_sign(&self, msg: &[u8]) -> Result<Signature, SignerError> {
        (**self).try_sign(msg)
    }
}

/// One item of a batch: the key, the exact signed message and the signature.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    pub key: &'a PublicKey,
    pub msg: &'a [u8],
    pub sig: &'a Signature,
}

/// Verifies many signatures at once under the same ZIP-215 rule as
/// [`PublicKey::verify`]. On failure it re-checks one by one and names the
/// first bad item, so a caller can reject exactly that transaction.
///
/// The batch coefficients come from a ChaCha20 stream seeded with a hash of
/// the whole batch (keys, messages, signatures): deterministic, no OS RNG, and
/// unpredictable to anyone who cannot find SHA-256 collisions.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), CryptoError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut verifier = ed25519_consensus::batch::Verifier::new();
    let mut seed = Sha256::new();
    seed.update(b"govchain/v1/batch-seed");
    for it in items {
        seed.update(it.key.0);
        seed.update(it.sig.0);
        seed.update((it.msg.len() as u64).to_be_bytes());
        seed.update(it.msg);
        let vkb = ed25519_consensus::VerificationKeyBytes::from(it.key.0);
        verifier.queue((vkb, ed25519_consensus::Signature::from(it.sig.0), &it.msg));
    }
    let mut rng = ChaCha20Rng::from_seed(seed.finalize().into());
    if verifier.verify(&mut rng).is_ok() {
        return Ok(());
    }
    for (index, it) in items.iter().enumerate() {
        if it.key.verify(it.msg, it.sig).is_err() {
            return Err(CryptoError::BatchBadSignature { index });
        }
    }
    // The batch equation failed but every item verifies alone. ZIP-215 makes
    // this impossible except with negligible probability; treat it as a
    // failure without naming an item rather than accept.
    Err(CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_never_prints_its_seed() {
        let seed = Zeroizing::new([0x42u8; KEY_LEN]);
        let k = SecretKey::from_seed(&seed);
        let shown = format!("{k:?}");
        assert!(!shown.contains(&hex::encode(*seed)), "{shown}");
        assert!(!shown.contains("4242"), "{shown}");
        assert!(shown.contains("redacted"));
        assert!(shown.contains(&k.key_id().fingerprint()));
        assert_eq!(*k.to_seed(), *seed);
    }

    #[test]
    fn key_id_and_fingerprint() {
        let k = SecretKey::from_seed(&Zeroizing::new([1u8; KEY_LEN]));
        let id = k.key_id();
        assert_eq!(
            id.as_bytes(),
            &<[u8; 32]>::from(Sha256::digest(k.public_key().as_bytes()))
        );
        let fp = id.fingerprint();
        assert_eq!(fp.len(), 8 * 4 + 7);
        assert_eq!(fp.replace(' ', ""), hex::encode(&id.as_bytes()[..16]));
        assert_eq!(KeyId::from_hex(&id.to_hex()).unwrap(), id);
        assert!(KeyId::from_hex(&id.to_hex().to_uppercase()).is_err());
        assert!(KeyId::from_hex("abcd").is_err());
    }

    #[test]
    fn generated_keys_are_registrable() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        for _ in 0..16 {
            let k = SecretKey::generate(&mut rng);
            PublicKey::parse_registrable(*k.public_key().as_bytes()).unwrap();
        }
        // Not a point at all (no valid x for this y).
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(
            PublicKey::parse_registrable(not_a_point),
            Err(CryptoError::InvalidKey)
        );
    }
}
