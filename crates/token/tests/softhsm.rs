//! The PKCS#11 conversation against a real module (SoftHSM2), in one test
//! because finalising a module ends it for the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use govchain_ledger::ErrorCode;
use govchain_token::softhsm::SoftHsm;
use govchain_token::{Module, TokenError};

fn code<T: std::fmt::Debug>(r: Result<T, TokenError>) -> &'static str {
    r.expect_err("should fail").code()
}

#[test]
fn keys_on_a_softhsm_token() {
    let dir = std::env::temp_dir().join(format!("govchain-token-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let hsm = SoftHsm::in_dir(&dir).unwrap();
    hsm.init_token("GovKey", "123456").unwrap();
    hsm.init_token("Other", "654321").unwrap();

    let module = Module::load(&hsm.module).unwrap();
    let tokens = module.tokens().unwrap();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let serial = tokens
        .iter()
        .find(|t| t.label == "GovKey")
        .unwrap()
        .serial
        .clone();
    assert_eq!(code(module.open("NoSuchToken")), "token.not_present");

    let token = module.open(&serial).unwrap();
    assert_eq!(token.info().label, "GovKey");
    assert!(token.keys().unwrap().is_empty());
    assert!(!token.logged_in().unwrap());
    assert_eq!(code(token.generate("official")), "token.pin_required");
    assert_eq!(code(token.login("000000")), "token.pin_incorrect");
    token.login("123456").unwrap();
    assert!(token.logged_in().unwrap());

    let key = token.generate("official").unwrap();
    assert_eq!(token.keys().unwrap(), vec![key.clone()]);
    assert_eq!(token.find(&key.public_key.key_id()).unwrap(), key);
    let sig = token.sign(&key, b"govchain").unwrap();
    key.public_key.verify(b"govchain", &sig).unwrap();
    assert!(key.public_key.verify(b"govchain!", &sig).is_err());

    // The other token's session does not see it, and a wrong key id is named.
    let other = module.open("Other").unwrap();
    assert!(other.keys().unwrap().is_empty());
    assert_eq!(
        code(other.find(&key.public_key.key_id())),
        "token.key_not_found"
    );

    // A key made by OpenSC's pkcs11-tool (curve named "edwards25519") is found.
    let made = Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &hsm.conf)
        .arg("--module")
        .arg(&hsm.module)
        .args(["--token-label", "GovKey", "--login", "--pin", "123456"])
        .args([
            "--keypairgen",
            "--key-type",
            "EC:edwards25519",
            "--label",
            "ukey",
            "--id",
            "0a",
        ])
        .output()
        .expect("pkcs11-tool (Debian package opensc; scripts/setup.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let keys = token.keys().unwrap();
    let ukey = keys
        .iter()
        .find(|k| k.label == "ukey")
        .expect("pkcs11-tool's key");
    assert_eq!(ukey.id, vec![0x0a]);
    let sig = token.sign(ukey, b"made elsewhere").unwrap();
    ukey.public_key.verify(b"made elsewhere", &sig).unwrap();

    // Logged out: the private half is out of reach.
    token.logout().unwrap();
    assert_eq!(code(token.sign(&key, b"x")), "token.pin_required");

    // Pulled out: the module is finalised under the session.
    token.login("123456").unwrap();
    Module::load(&hsm.module).unwrap().finalize().unwrap();
    assert_eq!(code(token.sign(&key, b"x")), "token.removed");
    drop(token);
    drop(other);

    // Plugged back in: a fresh load finds the same key.
    let module = Module::load(&hsm.module).unwrap();
    let token = module.open("GovKey").unwrap();
    token.login("123456").unwrap();
    let again = token.find(&key.public_key.key_id()).unwrap();
    token.sign(&again, b"back").unwrap();

    assert_eq!(
        code(Module::load(std::path::Path::new(
            "/nonexistent/libpkcs11.so"
        ))),
        "token.module"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
