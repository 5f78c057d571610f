//! Checkpoints: C2SP `tlog-checkpoint` bodies in C2SP `signed-note`s, signed
//! by the log (Ed25519, key type 0x01) and cosigned by witnesses
//! (C2SP `tlog-cosignature`, `cosignature/v1`, key type 0x04).
//!
//! Owns parsing and formatting of notes, checkpoint bodies and verifier keys
//! (vkeys), signing, cosigning and quorum verification. Formats follow the
//! current C2SP specs exactly, so outside transparency-log tools can verify a
//! govchain log.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::crypto::{PublicKey, Signature, Signer, SignerError, SIG_LEN};
use crate::types::Hash32;
use crate::ErrorCode;

/// Signature algorithm byte of an Ed25519 note signature (signed-note).
pub const ALG_ED25519: u8 = 0x01;
/// Signature algorithm byte of an Ed25519 `cosignature/v1` (tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Largest note accepted by [`SignedNote::parse`].
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Most signature lines accepted by [`SignedNote::parse`].
pub const MAX_SIGNATURES: usize = 100;

const DASH: &str = "\u{2014} ";

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum NoteError {
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("malformed signature line {line}: {reason}")]
    BadSignatureLine { line: usize, reason: String },
    #[error("key name {0:?} must be non-empty, without spaces or '+'")]
    BadKeyName(String),
    #[error("malformed verifier key: {0}")]
    BadVkey(String),
    #[error("malformed checkpoint line {line}: {reason}")]
    BadCheckpoint { line: usize, reason: String },
    #[error("signature by {name} does not verify")]
    InvalidSignature { name: String },
    #[error("no signature by the log key {name}")]
    MissingLogSignature { name: String },
    #[error("{got} of {want} required witness cosignatures")]
    QuorumNotMet { got: usize, want: usize },
    #[error("checkpoint origin {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error(transparent)]
    Signer(#[from] SignerError),
}

impl ErrorCode for NoteError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "note.too_large",
            Self::Malformed(_) => "note.malformed",
            Self::BadSignatureLine { .. } => "note.bad_signature_line",
            Self::BadKeyName(_) => "note.bad_key_name",
            Self::BadVkey(_) => "note.bad_vkey",
            Self::BadCheckpoint { .. } => "checkpoint.malformed",
            Self::InvalidSignature { .. } => "note.invalid_signature",
            Self::MissingLogSignature { .. } => "checkpoint.missing_log_signature",
            Self::QuorumNotMet { .. } => "checkpoint.quorum_not_met",
            Self::WrongOrigin { .. } => "checkpoint.wrong_origin",
            Self::Signer(e) => e.code(),
        }
    }
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// One signature line: `— <name> base64(key_id || signature)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    pub sig: Vec<u8>,
}

/// A signed note: text (one or more lines, each ending in `\n`), a blank
/// line, and one or more signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        if note
            .chars()
            .any(|c| (c.is_ascii_control() && c != '\n') || c == '\u{feff}')
        {
            return Err(NoteError::Malformed(
                "contains a control character other than newline".into(),
            ));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| NoteError::Malformed("no blank line before signatures".into()))?;
        let text = &note[..=split];
        let sigs = &note[split + 2..];
        check_text(text)?;
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature block must end with a newline".into(),
            ));
        }
        let text_lines = text.lines().count();
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            let line_no = text_lines + 2 + i;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed(format!(
                    "more than {MAX_SIGNATURES} signatures"
                )));
            }
            signatures.push(parse_signature_line(line, line_no)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signatures".into()));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end with a newline".into()));
    }
    if text.contains("\n\n") || text.starts_with('\n') {
        return Err(NoteError::Malformed(
            "text must not contain blank lines".into(),
        ));
    }
    Ok(())
}

fn parse_signature_line(line: &str, line_no: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason: &str| NoteError::BadSignatureLine {
        line: line_no,
        reason: reason.to_owned(),
    };
    let rest = line
        .strip_prefix(DASH)
        .ok_or_else(|| bad("must start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("expected '<name> <base64>'"))?;
    check_key_name(name).map_err(|_| bad("invalid key name"))?;
    let raw = B64.decode(b64).map_err(|_| bad("invalid base64"))?;
    if raw.len() < 5 {
        return Err(bad("signature too short"));
    }
    let mut key_id = [0u8; 4];
    key_id.copy_from_slice(&raw[..4]);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id,
        sig: raw[4..].to_vec(),
    })
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_char('\n')?;
        for s in &self.signatures {
            let mut raw = s.key_id.to_vec();
            raw.extend_from_slice(&s.sig);
            writeln!(f, "{DASH}{} {}", s.name, B64.encode(raw))?;
        }
        Ok(())
    }
}

/// A named Ed25519 key as used in notes: the log's key (alg 0x01) or a
/// witness's cosigning key (alg 0x04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteKey {
    pub name: String,
    pub alg: u8,
    pub key: PublicKey,
}

impl NoteKey {
    pub fn new(name: &str, alg: u8, key: PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::BadVkey(format!(
                "unsupported algorithm 0x{alg:02x}"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            alg,
            key,
        })
    }

    /// `SHA-256(name || 0x0A || alg || pubkey)[:4]`.
    pub fn key_id(&self) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update([b'\n', self.alg]);
        h.update(self.key.as_bytes());
        let d = h.finalize();
        [d[0], d[1], d[2], d[3]]
    }

    /// The C2SP vkey: `<name>+<hex key id>+<base64(alg || pubkey)>`.
    pub fn vkey(&self) -> String {
        let mut material = vec![self.alg];
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(material)
        )
    }

    /// Parses a vkey; every malformation is `note.bad_vkey`.
    pub fn parse_vkey(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadVkey("expected name+keyid+key".into()));
        };
        let material = B64
            .decode(b64)
            .map_err(|_| NoteError::BadVkey("invalid base64".into()))?;
        let (alg, key) = match material.as_slice() {
            [alg, key @ ..] if key.len() == 32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(key);
                (*alg, PublicKey::from_bytes(k))
            }
            _ => return Err(NoteError::BadVkey("key must be 1 + 32 bytes".into())),
        };
        let nk = Self::new(name, alg, key).map_err(|e| NoteError::BadVkey(e.to_string()))?;
        if hex::encode(nk.key_id()) != id_hex {
            return Err(NoteError::BadVkey(
                "key id does not match name and key".into(),
            ));
        }
        Ok(nk)
    }

    fn matches(&self, s: &NoteSignature) -> bool {
        s.name == self.name && s.key_id == self.key_id()
    }
}

/// The message a `cosignature/v1` signs: header line, time line, then the
/// whole checkpoint text including extension lines.
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// Signs note `text` as the log (alg 0x01).
pub fn sign_note(
    text: &str,
    name: &str,
    key: &(impl Signer + ?Sized),
) -> Result<NoteSignature, NoteError> {
    check_text(text)?;
    let nk = NoteKey::new(name, ALG_ED25519, key.public_key())?;
    Ok(NoteSignature {
        name: nk.name.clone(),
        key_id: nk.key_id(),
        sig: key.try_sign(text.as_bytes())?.as_bytes().to_vec(),
    })
}

/// Cosigns note `text` as a witness at POSIX time `timestamp` (alg 0x04).
pub fn cosign_note(
    text: &str,
    name: &str,
    key: &(impl Signer + ?Sized),
    timestamp: u64,
) -> Result<NoteSignature, NoteError> {
    check_text(text)?;
    if timestamp > i64::MAX as u64 {
        return Err(NoteError::Malformed("timestamp exceeds 2^63-1".into()));
    }
    let nk = NoteKey::new(name, ALG_COSIGNATURE_V1, key.public_key())?;
    let mut sig = timestamp.to_be_bytes().to_vec();
    sig.extend_from_slice(
        key.try_sign(cosignature_message(text, timestamp).as_bytes())?
            .as_bytes(),
    );
    Ok(NoteSignature {
        name: nk.name.clone(),
        key_id: nk.key_id(),
        sig,
    })
}

/// Verifies one signature line against `key` (which it must match by name
/// and key id). Returns the cosignature timestamp for witness keys.
pub fn verify_signature(
    text: &str,
    key: &NoteKey,
    s: &NoteSignature,
) -> Result<Option<u64>, NoteError> {
    let invalid = || NoteError::InvalidSignature {
        name: key.name.clone(),
    };
    if !key.matches(s) {
        return Err(invalid());
    }
    if key.alg == ALG_ED25519 {
        let sig: [u8; SIG_LEN] = s.sig.as_slice().try_into().map_err(|_| invalid())?;
        key.key
            .verify(text.as_bytes(), &Signature::from_bytes(sig))
            .map_err(|_| invalid())?;
        return Ok(None);
    }
    // cosignature/v1: u64 big-endian timestamp || Ed25519 signature.
    if s.sig.len() != 8 + SIG_LEN {
        return Err(invalid());
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&s.sig[..8]);
    let ts = u64::from_be_bytes(ts);
    if ts > i64::MAX as u64 {
        return Err(invalid());
    }
    let mut sig = [0u8; SIG_LEN];
    sig.copy_from_slice(&s.sig[8..]);
    key.key
        .verify(
            cosignature_message(text, ts).as_bytes(),
            &Signature::from_bytes(sig),
        )
        .map_err(|_| invalid())?;
    Ok(Some(ts))
}

/// A decimal without leading zeros, at most 2^53−1 (sizes and heights).
fn parse_size(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    s.parse::<u64>()
        .ok()
        .filter(|n| ok && *n <= crate::jcs::MAX_SAFE_INTEGER)
}

const STATE_LINE_PREFIX: &str = "state ";

/// The `state <height> <base64 state root>` extension line a govchain node
/// puts in every checkpoint it signs (PROTOCOL.md §8.3): the block whose
/// `log_size` and `log_root` the checkpoint's size and root are, and that
/// block's `state_root`. Witnesses cosign it with the rest of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLine {
    pub height: u64,
    pub state_root: Hash32,
}

impl StateLine {
    pub fn to_line(&self) -> String {
        format!(
            "{STATE_LINE_PREFIX}{} {}",
            self.height,
            B64.encode(self.state_root.0)
        )
    }
}

/// A tlog-checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash32,
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint note text (lines ending in `\n`).
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        check_text(text).map_err(|e| NoteError::BadCheckpoint {
            line: 0,
            reason: e.to_string(),
        })?;
        let bad = |line: usize, reason: &str| NoteError::BadCheckpoint {
            line,
            reason: reason.to_owned(),
        };
        let lines: Vec<&str> = text[..text.len() - 1].split('\n').collect();
        if lines.len() < 3 {
            return Err(bad(lines.len() + 1, "a checkpoint has at least 3 lines"));
        }
        let origin = lines[0];
        if origin.is_empty() {
            return Err(bad(1, "origin is empty"));
        }
        let size = parse_size(lines[1]).ok_or_else(|| {
            bad(
                2,
                "tree size must be a decimal without leading zeros, at most 2^53-1",
            )
        })?;
        let root_raw = B64
            .decode(lines[2])
            .map_err(|_| bad(3, "root hash must be standard base64"))?;
        let root: [u8; 32] = root_raw
            .as_slice()
            .try_into()
            .map_err(|_| bad(3, "root hash must be 32 bytes"))?;
        let cp = Self {
            origin: origin.to_owned(),
            size,
            root: Hash32(root),
            extensions: lines[3..].iter().map(|s| (*s).to_owned()).collect(),
        };
        cp.state_line()?;
        Ok(cp)
    }

    /// The `state` extension line (PROTOCOL.md §8.3), if the checkpoint has
    /// one: the block that closes the log at this size, and its state root.
    /// A line starting `state ` that is not exactly one well-formed state
    /// line is `checkpoint.malformed`.
    pub fn state_line(&self) -> Result<Option<StateLine>, NoteError> {
        let mut found = None;
        for (i, line) in self.extensions.iter().enumerate() {
            let Some(rest) = line.strip_prefix(STATE_LINE_PREFIX) else {
                continue;
            };
            let bad = |reason: &str| NoteError::BadCheckpoint {
                line: i + 4,
                reason: reason.to_owned(),
            };
            if found.is_some() {
                return Err(bad("a second state line"));
            }
            let (height, root) = rest
                .split_once(' ')
                .ok_or_else(|| bad("a state line is 'state <height> <base64 root>'"))?;
            let height = parse_size(height)
                .ok_or_else(|| bad("height must be a decimal without leading zeros"))?;
            let root: [u8; 32] = B64
                .decode(root)
                .ok()
                .and_then(|r| r.as_slice().try_into().ok())
                .ok_or_else(|| bad("state root must be 32 bytes in standard base64"))?;
            found = Some(StateLine {
                height,
                state_root: Hash32(root),
            });
        }
        Ok(found)
    }

    pub fn to_body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs this checkpoint as the log: a complete signed note.
    pub fn sign(
        &self,
        log_name: &str,
        key: &(impl Signer + ?Sized),
    ) -> Result<SignedNote, NoteError> {
        let text = self.to_body();
        Checkpoint::parse_body(&text)?;
        let sig = sign_note(&text, log_name, key)?;
        Ok(SignedNote {
            text,
            signatures: vec![sig],
        })
    }
}

/// A checkpoint whose log signature and witness quorum have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Witnesses whose cosignature verified, with their timestamps.
    pub cosigners: BTreeMap<String, u64>,
}

/// Verifies a checkpoint note: the origin, the log's signature (required), and
/// at least `quorum` valid cosignatures from distinct `witnesses`. Signature
/// lines from unknown keys are ignored (as the spec says); a line that claims
/// a known key but does not verify rejects the whole note.
pub fn verify_checkpoint(
    note: &str,
    origin: &str,
    log_key: &NoteKey,
    witnesses: &[NoteKey],
    quorum: usize,
) -> Result<VerifiedCheckpoint, NoteError> {
    if log_key.alg != ALG_ED25519 {
        return Err(NoteError::BadVkey(
            "a log key must be an Ed25519 note key (type 0x01)".into(),
        ));
    }
    let parsed = SignedNote::parse(note)?;
    let checkpoint = Checkpoint::parse_body(&parsed.text)?;
    if checkpoint.origin != origin {
        return Err(NoteError::WrongOrigin {
            expected: origin.to_owned(),
            found: checkpoint.origin,
        });
    }
    let mut log_signed = false;
    let mut cosigners = BTreeMap::new();
    for s in &parsed.signatures {
        if log_key.matches(s) {
            verify_signature(&parsed.text, log_key, s)?;
            log_signed = true;
        } else if let Some(w) = witnesses.iter().find(|w| w.matches(s)) {
            if let Some(ts) = verify_signature(&parsed.text, w, s)? {
                cosigners.insert(w.name.clone(), ts);
            }
        }
    }
    if !log_signed {
        return Err(NoteError::MissingLogSignature {
            name: log_key.name.clone(),
        });
    }
    if cosigners.len() < quorum {
        return Err(NoteError::QuorumNotMet {
            got: cosigners.len(),
            want: quorum,
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        cosigners,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use zeroize::Zeroizing;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed(&Zeroizing::new([n; 32]))
    }

    fn cp() -> Checkpoint {
        Checkpoint {
            origin: "govchain.example/gov-demo".into(),
            size: 42,
            root: Hash32::sha256(b"root"),
            extensions: vec!["ext line one".into()],
        }
    }

    #[test]
    fn round_trips_and_rejects_malformed_notes() {
        let note = cp().sign("log.example", &key(1)).unwrap().to_string();
        let parsed = SignedNote::parse(&note).unwrap();
        assert_eq!(parsed.to_string(), note);
        assert_eq!(Checkpoint::parse_body(&parsed.text).unwrap(), cp());

        let bad = |n: &str| SignedNote::parse(n).unwrap_err().code();
        assert_eq!(bad("a\nb\n"), "note.malformed"); // no blank line
        assert_eq!(bad("a\n\n"), "note.malformed"); // no signatures
        assert_eq!(bad("a\n\n— k AAAAAA==\n"), "note.bad_signature_line"); // too short
        assert_eq!(bad("a\n\n- k AAAAAAAAAA==\n"), "note.bad_signature_line"); // hyphen, not em dash
        assert_eq!(bad("a\n\n— k !!!\n"), "note.bad_signature_line"); // bad base64
        assert_eq!(bad("a\n\n— k+x AAAAAAAAAA==\n"), "note.bad_signature_line"); // '+' in name
        assert_eq!(bad("a\u{7}\n\n— k AAAAAAAAAA==\n"), "note.malformed"); // control char
        assert_eq!(bad("a\n\n— k AAAAAAAAAA=="), "note.malformed"); // no final newline
        assert_eq!(bad(&"x".repeat(MAX_NOTE_BYTES + 1)), "note.too_large");
    }

    #[test]
    fn rejects_malformed_checkpoints() {
        let root = B64.encode([7u8; 32]);
        let bad = |t: &str| Checkpoint::parse_body(t).unwrap_err().to_string();
        assert!(bad("origin\n12\n").contains("at least 3 lines"));
        assert!(bad(&format!("origin\n012\n{root}\n")).contains("leading zeros"));
        assert!(bad(&format!("origin\n-1\n{root}\n")).contains("decimal"));
        assert!(bad(&format!("origin\n1\n{}\n", B64.encode([7u8; 31]))).contains("32 bytes"));
        assert!(bad("origin\n1\nnot base64!\n").contains("base64"));
        assert!(bad(&format!("\n1\n{root}\n")).contains("blank lines"));
        assert!(Checkpoint::parse_body(&format!("o\n0\n{root}\n")).is_ok());

        // The state line: at most one, well formed; other extension lines are opaque.
        let line = StateLine {
            height: 9,
            state_root: Hash32([7u8; 32]),
        };
        let ok = Checkpoint::parse_body(&format!("o\n1\n{root}\nx y\n{}\n", line.to_line()));
        assert_eq!(ok.unwrap().state_line().unwrap(), Some(line));
        assert_eq!(line.to_line(), format!("state 9 {root}"));
        let none = Checkpoint::parse_body(&format!("o\n1\n{root}\nstatement\n")).unwrap();
        assert_eq!(none.state_line().unwrap(), None);
        assert!(bad(&format!("o\n1\n{root}\nstate 09 {root}\n")).contains("leading zeros"));
        assert!(bad(&format!("o\n1\n{root}\nstate 9\n")).contains("state <height>"));
        assert!(bad(&format!("o\n1\n{root}\nstate 9 AAAA\n")).contains("32 bytes"));
        let twice = format!("o\n1\n{root}\n{0}\n{0}\n", line.to_line());
        assert!(bad(&twice).contains("second state line"));
        assert_eq!(
            Checkpoint::parse_body(&twice).unwrap_err().code(),
            "checkpoint.malformed"
        );
    }

    #[test]
    fn cosignature_covers_extension_lines_and_timestamp() {
        let log = key(1);
        let wit = key(2);
        let mut signed = cp().sign("log.example", &log).unwrap();
        signed
            .signatures
            .push(cosign_note(&signed.text, "w.example", &wit, 1_700_000_000).unwrap());
        let note = signed.to_string();
        let log_key = NoteKey::new("log.example", ALG_ED25519, log.public_key()).unwrap();
        let w = NoteKey::new("w.example", ALG_COSIGNATURE_V1, wit.public_key()).unwrap();
        let ok =
            verify_checkpoint(&note, &cp().origin, &log_key, std::slice::from_ref(&w), 1).unwrap();
        assert_eq!(ok.cosigners["w.example"], 1_700_000_000);

        // Change an extension line: the log's signature and the cosignature both cover it.
        let tampered = note.replace("ext line one", "ext line two");
        assert_eq!(
            verify_checkpoint(&tampered, &cp().origin, &log_key, &[], 0)
                .unwrap_err()
                .code(),
            "note.invalid_signature"
        );
        // Change the cosignature's timestamp bytes.
        let mut parsed = SignedNote::parse(&note).unwrap();
        parsed.signatures[1].sig[7] ^= 1;
        assert!(verify_signature(&parsed.text, &w, &parsed.signatures[1]).is_err());
        // A witness key of the wrong algorithm type has a different key id: ignored.
        let w_as_log = NoteKey::new("w.example", ALG_ED25519, wit.public_key()).unwrap();
        assert_eq!(
            verify_checkpoint(&note, &cp().origin, &log_key, &[w_as_log], 1)
                .unwrap_err()
                .code(),
            "checkpoint.quorum_not_met"
        );
        // Without the log's signature nothing is accepted, whatever the witnesses say.
        let other_log = NoteKey::new("log.example", ALG_ED25519, key(9).public_key()).unwrap();
        assert_eq!(
            verify_checkpoint(&note, &cp().origin, &other_log, &[w], 1)
                .unwrap_err()
                .code(),
            "checkpoint.missing_log_signature"
        );
    }

    #[test]
    fn vkeys_parse_and_reject_mismatches() {
        let k = NoteKey::new("log.example", ALG_ED25519, key(3).public_key()).unwrap();
        assert_eq!(NoteKey::parse_vkey(&k.vkey()).unwrap(), k);
        let v = k.vkey();
        assert!(NoteKey::parse_vkey(&v.replacen("log", "lag", 1)).is_err()); // id no longer matches
        assert!(NoteKey::parse_vkey("log.example+00000000").is_err());
        assert!(NoteKey::new("has space", ALG_ED25519, key(3).public_key()).is_err());
        assert!(NoteKey::new("x", 0x02, key(3).public_key()).is_err());
    }
}
