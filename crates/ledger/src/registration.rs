//! The registration request (PROTOCOL.md §18): what a new official's
//! workstation hands to a department admin, as JSON text
//! `{"kind":"official.register","payload":{department,name,public_key},"key_storage":{…}}`.
//! The payload is exactly the `official.register` the admin signs;
//! `key_storage` is the requester's word about where the key lives (§16.5),
//! shown to the admin and never part of a transaction.

use serde_json::{json, Value};

use crate::state::kinds::RegisterOfficial;
use crate::ErrorCode;

/// Where the requester says the private key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStorage {
    /// The OS keychain of the requester's computer.
    Keychain,
    /// A PKCS#11 hardware token.
    Pkcs11 {
        token_label: String,
        token_serial: String,
    },
    /// The request does not say (or says something this version does not know).
    Unstated,
}

impl KeyStorage {
    /// The storage in words for an admin, if stated.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Keychain => Some("OS keychain".to_owned()),
            Self::Pkcs11 {
                token_label,
                token_serial,
            } => Some(format!(
                "hardware token {token_label} (serial {token_serial})"
            )),
            Self::Unstated => None,
        }
    }

    fn to_json(&self) -> Option<Value> {
        match self {
            Self::Keychain => Some(json!({"kind": "keychain"})),
            Self::Pkcs11 {
                token_label,
                token_serial,
            } => Some(
                json!({"kind": "pkcs11", "token_label": token_label, "token_serial": token_serial}),
            ),
            Self::Unstated => None,
        }
    }
}

/// A registration request that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a registration request: {0}")]
pub struct RegistrationError(pub String);

impl ErrorCode for RegistrationError {
    fn code(&self) -> &'static str {
        "registration.malformed"
    }
}

/// A new official's registration request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// The `official.register` payload an admin signs.
    pub official: RegisterOfficial,
    pub key_storage: KeyStorage,
}

impl RegistrationRequest {
    /// Reads the request's JSON text (surrounding white space allowed).
    pub fn from_text(text: &str) -> Result<Self, RegistrationError> {
        let v: Value = serde_json::from_str(text.trim())
            .map_err(|e| RegistrationError(format!("not JSON ({e})")))?;
        if v["kind"] != "official.register" {
            return Err(RegistrationError(
                "expected {\"kind\":\"official.register\",\"payload\":{\"department\",\"name\",\"public_key\"}}".into(),
            ));
        }
        let official: RegisterOfficial = serde_json::from_value(v["payload"].clone())
            .map_err(|e| RegistrationError(format!("payload: {e}")))?;
        if official.name.trim().is_empty() || official.name.chars().any(char::is_control) {
            return Err(RegistrationError(
                "the name is empty or holds control characters".into(),
            ));
        }
        let s = |k: &str| v["key_storage"][k].as_str().unwrap_or_default().to_owned();
        let key_storage = match s("kind").as_str() {
            "keychain" => KeyStorage::Keychain,
            "pkcs11" => KeyStorage::Pkcs11 {
                token_label: s("token_label"),
                token_serial: s("token_serial"),
            },
            _ => KeyStorage::Unstated,
        };
        Ok(Self {
            official,
            key_storage,
        })
    }

    /// The request as pretty JSON text (what a workstation hands over).
    pub fn to_text(&self) -> String {
        let mut v = json!({"kind": "official.register", "payload": self.official});
        if let Some(k) = self.key_storage.to_json() {
            v["key_storage"] = k;
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn a_request_round_trips_and_bad_ones_are_refused() {
        let key = SecretKey::from_seed(&zeroize::Zeroizing::new([7; 32])).public_key();
        let r = RegistrationRequest {
            official: RegisterOfficial {
                department: "fire".to_owned().try_into().unwrap(),
                name: "韩梅".into(),
                public_key: key,
            },
            key_storage: KeyStorage::Pkcs11 {
                token_label: "gov".into(),
                token_serial: "42".into(),
            },
        };
        let text = r.to_text();
        assert_eq!(
            RegistrationRequest::from_text(&format!("\n{text}\n")).unwrap(),
            r
        );
        assert_eq!(
            r.key_storage.describe().unwrap(),
            "hardware token gov (serial 42)"
        );
        for bad in [
            "",
            "{}",
            &text.replace("official.register", "official.revoke"),
            &text.replace("韩梅", "\\u0007"),
            &text.replace("\"fire\"", "\"Fire Dept\""),
            &text.replace(&key.to_hex(), "00"),
        ] {
            let e = RegistrationRequest::from_text(bad).unwrap_err();
            assert_eq!(e.code(), "registration.malformed", "{bad}");
        }
        let plain = text.replace("\"key_storage\"", "\"other\"");
        assert_eq!(
            RegistrationRequest::from_text(&plain).unwrap().key_storage,
            KeyStorage::Unstated
        );
    }
}
