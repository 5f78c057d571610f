//! Domain-separated signing: every govchain signature is over
//! `tag || 0x00 || JCS(body)`, where the tag names the purpose and the chain.
//!
//! A signature made for one purpose or one chain never verifies for another:
//! the tags differ, and the 0x00 separator cannot occur inside a tag or in a
//! C2SP note text (the checkpoint format), so no message of one kind is a
//! message of another.

use serde::Serialize;

use crate::crypto::{CryptoError, PublicKey, SecretKey, Signature};
use crate::jcs::{self, JcsError};
use crate::types::{ChainId, Hash32};
use crate::ErrorCode;

/// What a signature is for. Checkpoints are signed as C2SP notes instead (see
/// [`crate::note`]); their text never contains 0x00, so they cannot collide
/// with any tagged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A transaction body signed by an official: `govchain/v1/tx/<chain>`.
    Tx,
    /// A block header signed by its proposer: `govchain/v2/block/<chain>`
    /// (v2: the header commits to the state tree's root, PROTOCOL.md §11).
    Block,
    /// A signed read request (sensitive queries): `govchain/v1/read/<chain>`.
    SignedRead,
}

impl Domain {
    pub const ALL: [Domain; 3] = [Domain::Tx, Domain::Block, Domain::SignedRead];

    pub fn tag(self, chain: &ChainId) -> String {
        // Each tag keeps the version in which its signed bytes last changed.
        let (version, purpose) = match self {
            Domain::Tx => ("v1", "tx"),
            Domain::Block => ("v2", "block"),
            Domain::SignedRead => ("v1", "read"),
        };
        format!("govchain/{version}/{purpose}/{chain}")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error(transparent)]
    Jcs(#[from] JcsError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl ErrorCode for SignError {
    fn code(&self) -> &'static str {
        match self {
            Self::Jcs(e) => e.code(),
            Self::Crypto(e) => e.code(),
        }
    }
}

/// The exact bytes that are signed: `tag || 0x00 || JCS(body)`.
pub fn signed_message<T: Serialize>(
    domain: Domain,
    chain: &ChainId,
    body: &T,
) -> Result<Vec<u8>, JcsError> {
    let canonical = jcs::canonicalize_serialize(body)?;
    Ok(tagged(domain, chain, &canonical))
}

/// `tag || 0x00 || canonical` for bytes already in canonical form.
pub fn tagged(domain: Domain, chain: &ChainId, canonical: &[u8]) -> Vec<u8> {
    let tag = domain.tag(chain);
    let mut msg = Vec::with_capacity(tag.len() + 1 + canonical.len());
    msg.extend_from_slice(tag.as_bytes());
    msg.push(0);
    msg.extend_from_slice(canonical);
    msg
}

/// Signs `body` for `domain` on `chain`; returns the signature and the digest
/// (SHA-256) of the signed message, which is the object's id.
pub fn sign<T: Serialize>(
    key: &SecretKey,
    domain: Domain,
    chain: &ChainId,
    body: &T,
) -> Result<(Signature, Hash32), SignError> {
    let msg = signed_message(domain, chain, body)?;
    Ok((key.sign_raw(&msg), Hash32::sha256(&msg)))
}

/// Verifies a signature made by [`sign`].
pub fn verify<T: Serialize>(
    key: &PublicKey,
    domain: Domain,
    chain: &ChainId,
    body: &T,
    sig: &Signature,
) -> Result<(), SignError> {
    let msg = signed_message(domain, chain, body)?;
    key.verify(&msg, sig)?;
    Ok(())
}
