//! Interoperability with other implementations of the C2SP formats, using
//! published data: the golang.org/x/mod/sumdb/note example (key, text and
//! signature) and a real Certificate Transparency staging checkpoint with a
//! real `cosignature/v1` from a public witness. If these pass, Go-ecosystem
//! witnesses and verifiers can read our checkpoints and we can read theirs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::note::{self, NoteError, NoteKey, SignedNote, ALG_ED25519};
use zeroize::Zeroizing;

const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn go_secret_key() -> SecretKey {
    // PRIVATE+KEY+<name>+<id>+base64(0x01 || 32-byte seed)
    let b64 = GO_SKEY.splitn(5, '+').nth(4).unwrap();
    let raw = B64.decode(b64).unwrap();
    assert_eq!(raw[0], ALG_ED25519);
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&raw[1..]);
    SecretKey::from_seed(&seed)
}

#[test]
fn reproduces_the_go_sumdb_note_signature() {
    let key = go_secret_key();
    let vkey = NoteKey::new("PeterNeumann", ALG_ED25519, key.public_key()).unwrap();
    assert_eq!(vkey.vkey(), GO_VKEY);
    assert_eq!(NoteKey::parse_vkey(GO_VKEY).unwrap(), vkey);

    let sig = note::sign_note(GO_TEXT, "PeterNeumann", &key).unwrap();
    let signed = SignedNote {
        text: GO_TEXT.into(),
        signatures: vec![sig],
    };
    let want = format!("{GO_TEXT}\n{GO_NOTE_SIG}");
    assert_eq!(signed.to_string(), want);

    let parsed = SignedNote::parse(&want).unwrap();
    note::verify_signature(&parsed.text, &vkey, &parsed.signatures[0]).unwrap();
    let tampered = want.replace("cryptography", "cryptographY");
    let parsed = SignedNote::parse(&tampered).unwrap();
    assert!(matches!(
        note::verify_signature(&parsed.text, &vkey, &parsed.signatures[0]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

/// A checkpoint of the arche2025h1 CT staging log, with its Ed25519 log
/// signature, an ECDSA signature we do not know, and witness cosignatures.
const CT_CHECKPOINT: &str = "arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
";
const CT_LOG_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
const CT_WITNESS_VKEY: &str =
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
const CT_ORIGIN: &str = "arche2025h1.staging.ct.transparency.dev";

#[test]
fn verifies_a_real_cosigned_ct_checkpoint() {
    let log = NoteKey::parse_vkey(CT_LOG_VKEY).unwrap();
    let witnesses = [NoteKey::parse_vkey(CT_WITNESS_VKEY).unwrap()];
    let v = note::verify_checkpoint(CT_CHECKPOINT, CT_ORIGIN, &log, &witnesses, 1).unwrap();
    assert_eq!(v.checkpoint.size, 1_432_088_532);
    assert_eq!(v.cosigners.len(), 1);
    assert!(v.cosigners.contains_key("remora.n621.de"));

    // Wrong origin, tampered size, or a quorum the note does not have.
    assert!(matches!(
        note::verify_checkpoint(CT_CHECKPOINT, "other.log", &log, &witnesses, 1),
        Err(NoteError::WrongOrigin { .. })
    ));
    let tampered = CT_CHECKPOINT.replace("1432088532", "1432088533");
    assert!(matches!(
        note::verify_checkpoint(&tampered, CT_ORIGIN, &log, &witnesses, 1),
        Err(NoteError::InvalidSignature { .. })
    ));
    assert!(matches!(
        note::verify_checkpoint(CT_CHECKPOINT, CT_ORIGIN, &log, &witnesses, 2),
        Err(NoteError::QuorumNotMet { got: 1, want: 2 })
    ));
}
