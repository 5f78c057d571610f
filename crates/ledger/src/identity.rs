//! Identity hashes for citizens and workers (PROTOCOL.md §12.9).
//!
//! Payloads never carry an identity number: `subject` (blacklist entries,
//! certificates, access records) and payroll `worker` hold a keyed hash of
//! it. Two departments only find the same person if they hash the same
//! number the same way, so this module is the one scheme:
//!
//! 1. **Normalise** the document number ([`normalize`]): full-width forms
//!    (U+FF01–U+FF5E) and the ideographic space (U+3000) become their ASCII
//!    characters — exactly what Unicode NFKC does to them — and any other
//!    non-ASCII or control character is refused; spaces and hyphens are
//!    removed; letters are upper-cased; then each document type applies its
//!    own check (the GB 11643 check character of a resident ID).
//! 2. **Hash** with a key ([`IdentityKey::hash`]): HMAC-SHA256 (RFC 2104)
//!    over `"govchain/v1/identity" ‖ 0x00 ‖ type ‖ 0x00 ‖ number`. An
//!    identity number has little entropy (an 18-digit resident ID is a birth
//!    date, a region and a few digits), so an unkeyed or publicly salted hash
//!    is reversed by trying every plausible number; a 32-byte key that never
//!    goes on chain is what stops that.
//!
//! Keys: the consortium identity key (blacklist, certificates, access
//! records) and one payroll key per project. A key is named by its
//! [`IdentityKey::key_id`], the first 8 bytes of its SHA-256.
//!
//! Pure: no I/O, no randomness; keys come from the caller.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::types::Hash32;
use crate::ErrorCode;

/// The first part of every hashed message.
pub const IDENTITY_TAG: &str = "govchain/v1/identity";

/// Why an identity number or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the identity number is not valid: {0}")]
    BadIdNumber(String),
    #[error("unknown identity document type {0:?}; known: cn-rid, passport")]
    UnknownDocumentType(String),
    #[error("an identity key is 32 bytes (64 hex digits)")]
    BadKey,
}

impl ErrorCode for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadIdNumber(_) => "identity.bad_id_number",
            Self::UnknownDocumentType(_) => "identity.unknown_document_type",
            Self::BadKey => "identity.bad_key",
        }
    }
}

fn bad(detail: impl Into<String>) -> IdentityError {
    IdentityError::BadIdNumber(detail.into())
}

/// The kind of identity document a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentType {
    /// PRC resident identity card (居民身份证), GB 11643-1999: 18 characters.
    CnResidentId,
    /// A passport: issuing state (ICAO 9303 code) and passport number.
    Passport,
}

impl DocumentType {
    pub const ALL: [DocumentType; 2] = [DocumentType::CnResidentId, DocumentType::Passport];

    /// The type string that goes into the hashed message.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::CnResidentId => "cn-rid",
            DocumentType::Passport => "passport",
        }
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DocumentType {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocumentType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| IdentityError::UnknownDocumentType(s.to_owned()))
    }
}

/// A normalised identity number: what is hashed. Its `Debug` hides the
/// number (it is personal data).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct IdentityNumber {
    #[zeroize(skip)]
    doc_type: DocumentType,
    number: String,
}

impl IdentityNumber {
    pub fn doc_type(&self) -> DocumentType {
        self.doc_type
    }

    /// The normalised number (ASCII `A-Z 0-9`, and `:` for a passport).
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The hashed message: `"govchain/v1/identity" ‖ 0x00 ‖ type ‖ 0x00 ‖ number`.
    pub fn message(&self) -> Zeroizing<Vec<u8>> {
        let t = self.doc_type.as_str();
        let mut m = Vec::with_capacity(IDENTITY_TAG.len() + t.len() + self.number.len() + 2);
        m.extend_from_slice(IDENTITY_TAG.as_bytes());
        m.push(0);
        m.extend_from_slice(t.as_bytes());
        m.push(0);
        m.extend_from_slice(self.number.as_bytes());
        Zeroizing::new(m)
    }
}

impl fmt::Debug for IdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityNumber({}, …)", self.doc_type)
    }
}

/// Step 1 of normalisation, common to every type: the characters a clerk or
/// a card reader may produce, mapped to ASCII (this equals NFKC for the
/// accepted characters); then spaces and hyphens removed and letters
/// upper-cased.
fn fold(input: &str) -> Result<String, IdentityError> {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        let u = u32::from(c);
        let ascii = match u {
            0x20..=0x7e => c,
            0x3000 => ' ',
            0xff01..=0xff5e => char::from_u32(u - 0xfee0).unwrap_or('\u{fffd}'),
            _ => {
                return Err(bad(format!(
                    "character U+{u:04X} is not allowed (ASCII or full-width forms only)"
                )))
            }
        };
        if ascii != ' ' && ascii != '-' {
            out.push(ascii.to_ascii_uppercase());
        }
    }
    Ok(out)
}

/// GB 11643-1999 (ISO 7064 MOD 11-2) check character of the first 17 digits.
pub fn cn_rid_check_char(first17: &[u8; 17]) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first17
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    match (12 - s % 11) % 11 {
        10 => 'X',
        v => char::from_digit(v, 10).unwrap_or('?'),
    }
}

fn cn_rid(n: &str) -> Result<(), IdentityError> {
    let b = n.as_bytes();
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) {
        return Err(bad(
            "a 15-digit first-generation number must first be converted to its 18-character form",
        ));
    }
    if b.len() != 18 {
        return Err(bad(format!(
            "a resident ID has 18 characters, not {}",
            b.len()
        )));
    }
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(&b[..17]);
    if !first17.iter().all(u8::is_ascii_digit) {
        return Err(bad("the first 17 characters of a resident ID are digits"));
    }
    let last = char::from(b[17]);
    if !(last.is_ascii_digit() || last == 'X') {
        return Err(bad("the last character of a resident ID is a digit or X"));
    }
    if cn_rid_check_char(&first17) != last {
        return Err(bad(
            "the check character does not match (GB 11643); the number was mistyped",
        ));
    }
    Ok(())
}

fn passport(n: &str) -> Result<(), IdentityError> {
    let (issuer, number) = n
        .split_once(':')
        .ok_or_else(|| bad("a passport is written ISSUER:NUMBER, e.g. CHN:E12345678"))?;
    if issuer.is_empty() || issuer.len() > 3 || !issuer.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(bad(
            "the issuer is the ICAO 9303 code of the issuing state: 1–3 letters",
        ));
    }
    if number.is_empty()
        || number.len() > 20
        || !number
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(bad("a passport number is 1–20 letters and digits"));
    }
    Ok(())
}

/// Normalises `input` as a number of document type `doc_type` (§12.9).
pub fn normalize(doc_type: DocumentType, input: &str) -> Result<IdentityNumber, IdentityError> {
    let number = fold(input)?;
    match doc_type {
        DocumentType::CnResidentId => cn_rid(&number)?,
        DocumentType::Passport => passport(&number)?,
    }
    Ok(IdentityNumber { doc_type, number })
}

/// HMAC-SHA256 (RFC 2104, FIPS 198-1).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const B: usize = 64;
    let mut k = Zeroizing::new([0u8; B]);
    if key.len() > B {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = Zeroizing::new([0u8; B]);
    let mut opad = Zeroizing::new([0u8; B]);
    for i in 0..B {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    let inner = Sha256::new()
        .chain_update(ipad.as_slice())
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad.as_slice())
        .chain_update(inner)
        .finalize()
        .into()
}

/// What an identity key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScope {
    /// One key for the consortium: blacklist, certificates, access records.
    Consortium,
    /// One key per project: payroll `worker` hashes.
    Payroll,
}

/// A 32-byte identity key. Never on chain, never logged (`Debug` shows only
/// its key id).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct IdentityKey([u8; 32]);

impl IdentityKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From 64 hex digits (either case; surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<Self, IdentityError> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut k).map_err(|_| IdentityError::BadKey)?;
        Ok(Self(k))
    }

    /// The key's 32 bytes, to store it (in an OS keychain, never a file
    /// or a log).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key's name: the first 8 bytes of SHA-256(key), 16 hex digits.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.0)[..8])
    }

    /// `HMAC-SHA256(key, message(id))`: the value of a `subject` or `worker`.
    pub fn hash(&self, id: &IdentityNumber) -> Hash32 {
        Hash32(hmac_sha256(&self.0, &id.message()))
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({})", self.key_id())
    }
}

/// Normalises and hashes in one call.
pub fn identity_hash(
    key: &IdentityKey,
    doc_type: DocumentType,
    input: &str,
) -> Result<Hash32, IdentityError> {
    Ok(key.hash(&normalize(doc_type, input)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RID: &str = "11010519491231002X";

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn resident_ids_normalise_to_one_form() {
        for input in [
            RID,
            "11010519491231002x",
            "110105 19491231 002x",
            "110105-19491231-002X",
            "１１０１０５１９４９１２３１００２ｘ",
            "\u{3000}110105１9491231002X ",
        ] {
            let n = normalize(DocumentType::CnResidentId, input).unwrap();
            assert_eq!(n.as_str(), RID, "{input:?}");
        }
    }

    #[test]
    fn bad_resident_ids_are_refused_with_one_code() {
        for input in [
            "11010519491231002",    // 17
            "110105194912310021",   // wrong check character
            "1101051949123100X2",   // X not last
            "110105491231002",      // 15-digit first generation
            "11010519491231002Ｘ①", // circled digit: not a full-width form
            "110105.19491231002X",
            "",
        ] {
            let e = normalize(DocumentType::CnResidentId, input).unwrap_err();
            assert_eq!(e.code(), "identity.bad_id_number", "{input:?}");
        }
    }

    #[test]
    fn check_character_follows_gb_11643() {
        // The standard's published example.
        assert_eq!(cn_rid_check_char(b"11010519491231002"), 'X');
        assert_eq!(cn_rid_check_char(b"44052418800101001"), '4');
    }

    #[test]
    fn passports_carry_their_issuer() {
        let n = normalize(DocumentType::Passport, "chn：e1234-5678").unwrap();
        assert_eq!(n.as_str(), "CHN:E12345678");
        for bad in ["E12345678", "CHNA:E1", "CHN:", "CH1:E1", "CHN:E_1"] {
            assert_eq!(
                normalize(DocumentType::Passport, bad).unwrap_err().code(),
                "identity.bad_id_number",
                "{bad}"
            );
        }
        assert_eq!(
            "drivers-licence"
                .parse::<DocumentType>()
                .unwrap_err()
                .code(),
            "identity.unknown_document_type"
        );
    }

    #[test]
    fn hashes_depend_on_key_type_and_number_only() {
        let k1 = IdentityKey::from_bytes([1; 32]);
        let k2 = IdentityKey::from_bytes([2; 32]);
        let a = identity_hash(&k1, DocumentType::CnResidentId, RID).unwrap();
        let b = identity_hash(&k1, DocumentType::CnResidentId, "11010519491231002x").unwrap();
        assert_eq!(a, b);
        assert_ne!(
            a,
            identity_hash(&k2, DocumentType::CnResidentId, RID).unwrap()
        );
        let n = normalize(DocumentType::CnResidentId, RID).unwrap();
        let mut msg = b"govchain/v1/identity\0cn-rid\0".to_vec();
        msg.extend_from_slice(RID.as_bytes());
        assert_eq!(n.message().as_slice(), msg.as_slice());
        assert_eq!(a.0, hmac_sha256(&[1; 32], &msg));
        assert_eq!(k1.key_id(), hex::encode(&Sha256::digest([1u8; 32])[..8]));
        assert!(!format!("{k1:?}").contains("0101"));
        assert!(!format!("{n:?}").contains("1101"));
        assert_eq!(
            IdentityKey::from_hex("00").unwrap_err().code(),
            "identity.bad_key"
        );
    }
}
