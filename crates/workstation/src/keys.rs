//! The official's signing keys: kept only in the OS keychain (Secret Service
//! on Linux, Keychain on macOS, Credential Manager on Windows, through the
//! `keyring` crate), loaded into zeroizing memory just to sign, and moved
//! between machines only as a passphrase-encrypted backup.
//!
//! Nothing here writes a secret anywhere else: no file, no SQLite, no log, no
//! IPC value. Without a keychain the workstation says what to install; it
//! never falls back to a file.

use govchain_ledger::crypto::{KeyId, PublicKey, SecretKey};
use govchain_ledger::identity::IdentityKey;
use zeroize::Zeroizing;

use crate::error::WsError;

/// The keychain entries of one workstation profile: service `service`, one
/// entry per key, named by the key id.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
}

fn classify(e: keyring::Error) -> WsError {
    match e {
        keyring::Error::NoStorageAccess(inner) => WsError::KeychainLocked(inner.to_string()),
        keyring::Error::NoDefaultStore => {
            WsError::NoKeychain(keyring::Entry::store_status().as_ref().err().map_or_else(
                || "no default credential store".to_owned(),
                ToString::to_string,
            ))
        }
        other => WsError::Keychain(other.to_string()),
    }
}

impl Keychain {
    /// `service` separates profiles (the app uses `govchain`; tests their own).
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    /// Whether the OS keychain answers; the error says what to install.
    pub fn check(&self) -> Result<(), WsError> {
        keyring::Entry::store_status()
            .as_ref()
            .map_err(|e| WsError::NoKeychain(e.to_string()))?;
        Ok(())
    }

    fn entry(&self, id: &KeyId) -> Result<keyring::Entry, WsError> {
        self.check()?;
        keyring::Entry::new(&self.service, &format!("official-key:{}", id.to_hex()))
            .map_err(classify)
    }

    /// Stores `key` (its 32-byte seed) under its key id.
    pub fn store(&self, key: &SecretKey) -> Result<(), WsError> {
        let seed = key.to_seed();
        self.entry(&key.key_id())?
            .set_secret(seed.as_slice())
            .map_err(classify)
    }

    /// Creates a new key from the OS random generator and stores it.
    pub fn generate(&self) -> Result<PublicKey, WsError> {
        let key = SecretKey::generate(&mut rand_core::OsRng);
        self.store(&key)?;
        Ok(key.public_key())
    }

    /// Loads the key for `id` into zeroizing memory. The stored seed must
    /// produce that very key (a swapped entry is refused).
    pub fn load(&self, id: &KeyId) -> Result<SecretKey, WsError> {
        let bytes = Zeroizing::new(self.entry(id)?.get_secret().map_err(|e| match e {
            keyring::Error::NoEntry => WsError::KeyNotInKeychain(id.fingerprint()),
            other => classify(other),
        })?);
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| WsError::Keychain("the stored key is not 32 bytes".into()))?,
        );
        let key = SecretKey::from_seed(&seed);
        if key.key_id() != *id {
            return Err(WsError::Keychain(
                "the keychain entry holds a different key than its name says".into(),
            ));
        }
        Ok(key)
    }

    /// Whether the keychain holds the key for `id`.
    pub fn contains(&self, id: &KeyId) -> Result<bool, WsError> {
        match self.load(id) {
            Ok(_) => Ok(true),
            Err(WsError::KeyNotInKeychain(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes the key for `id` (absent is not an error).
    pub fn delete(&self, id: &KeyId) -> Result<(), WsError> {
        match self.entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    /// An entry holding a 32-byte identity key (PROTOCOL.md §12.9).
    fn key_entry(&self, name: &str) -> Result<keyring::Entry, WsError> {
        self.check()?;
        keyring::Entry::new(&self.service, name).map_err(classify)
    }

    fn store_key(&self, name: &str, key: &IdentityKey) -> Result<(), WsError> {
        self.key_entry(name)?
            .set_secret(key.as_bytes())
            .map_err(classify)
    }

    fn load_key(&self, name: &str) -> Result<Option<IdentityKey>, WsError> {
        let bytes = match self.key_entry(name)?.get_secret() {
            Ok(b) => Zeroizing::new(b),
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        let raw: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.as_slice().try_into().map_err(|_| {
                WsError::Keychain(format!("the stored key {name} is not 32 bytes"))
            })?);
        Ok(Some(IdentityKey::from_bytes(*raw)))
    }

    /// Stores `key` as the consortium identity key of the chain `chain`
    /// names (its directory name: `<chain_id>-<genesis>`, or `demo`), one
    /// per chain, given to the department by its admins; replaces any.
    pub fn store_identity_key(&self, chain: &str, key: &IdentityKey) -> Result<(), WsError> {
        self.store_key(&format!("identity-key:{chain}"), key)
    }

    /// Chain `chain`'s consortium identity key, if this keychain holds one.
    pub fn identity_key(&self, chain: &str) -> Result<Option<IdentityKey>, WsError> {
        self.load_key(&format!("identity-key:{chain}"))
    }

    /// Stores `key` as project `project`'s payroll key on chain `chain`
    /// (made by its developer, given to its other parties).
    pub fn store_payroll_key(
        &self,
        chain: &str,
        project: &str,
        key: &IdentityKey,
    ) -> Result<(), WsError> {
        self.store_key(&format!("payroll-key:{chain}:{project}"), key)
    }

    /// Project `project`'s payroll key, if this keychain holds it.
    pub fn payroll_key(&self, chain: &str, project: &str) -> Result<Option<IdentityKey>, WsError> {
        self.load_key(&format!("payroll-key:{chain}:{project}"))
    }
}

/// Passphrase-protected key backups: Argon2id (RFC 9106) derives a key from
/// the passphrase, XChaCha20-Poly1305 seals the seed, and the public key id is
/// bound as associated data. The file is JSON and names its parameters, so
/// an import fails loudly on anything unexpected.
pub mod backup {
    use argon2::{Algorithm, Argon2, Params, Version};
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use govchain_ledger::crypto::{KeyId, PublicKey, SecretKey};
    use rand_core::RngCore;
    use serde::{Deserialize, Serialize};
    use zeroize::Zeroizing;

    use crate::error::WsError;

    /// The shortest passphrase accepted for a backup.
    pub const MIN_PASSPHRASE_CHARS: usize = 12;
    const FORMAT: &str = "govchain-key-backup/v1";

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kdf {
        alg: String,
        m_cost_kib: u32,
        t_cost: u32,
        p_cost: u32,
        salt: String,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        format: String,
        key_id: KeyId,
        public_key: PublicKey,
        kdf: Kdf,
        cipher: String,
        nonce: String,
        ciphertext: String,
    }

    /// Argon2id cost: 64 MiB, 3 passes (RFC 9106's second recommendation).
    const M_COST_KIB: u32 = 64 * 1024;
    const T_COST: u32 = 3;
    /// The largest costs an import accepts (a hostile file cannot make us
    /// allocate more).
    const MAX_M_COST_KIB: u32 = 1024 * 1024;
    const MAX_T_COST: u32 = 16;

    fn derive(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, WsError> {
        let bad = |e: &dyn std::fmt::Display| WsError::BackupFormat(e.to_string());
        if kdf.alg != "argon2id" || kdf.m_cost_kib > MAX_M_COST_KIB || kdf.t_cost > MAX_T_COST {
            return Err(WsError::BackupFormat(format!(
                "unsupported key derivation {} (m={} KiB, t={})",
                kdf.alg, kdf.m_cost_kib, kdf.t_cost
            )));
        }
        let salt = B64.decode(&kdf.salt).map_err(|e| bad(&e))?;
        let params =
            Params::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost, Some(32)).map_err(|e| bad(&e))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, out.as_mut_slice())
            .map_err(|e| bad(&e))?;
        Ok(out)
    }

    /// The backup file's text for `key`, sealed with `passphrase`.
    pub fn export(key: &SecretKey, passphrase: &str) -> Result<String, WsError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(WsError::WeakPassphrase(MIN_PASSPHRASE_CHARS));
        }
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rand_core::OsRng.fill_bytes(&mut salt);
        rand_core::OsRng.fill_bytes(&mut nonce);
        let kdf = Kdf {
            alg: "argon2id".into(),
            m_cost_kib: M_COST_KIB,
            t_cost: T_COST,
            p_cost: 1,
            salt: B64.encode(salt),
        };
        let k = derive(passphrase, &kdf)?;
        let cipher = XChaCha20Poly1305::new(k.as_slice().into());
        let id = key.key_id();
        let seed = key.to_seed();
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: seed.as_slice(),
                    aad: id.to_hex().as_bytes(),
                },
            )
            .map_err(|_| WsError::BackupFormat("encryption failed".into()))?;
        let file = File {
            format: FORMAT.into(),
            key_id: id,
            public_key: key.public_key(),
            kdf,
            cipher: "xchacha20poly1305".into(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(sealed),
        };
        serde_json::to_string_pretty(&file).map_err(|e| WsError::BackupFormat(e.to_string()))
    }

    /// The public key a backup holds, without the passphrase (to show before
    /// importing).
    pub fn peek(text: &str) -> Result<PublicKey, WsError> {
        Ok(parse(text)?.public_key)
    }

    fn parse(text: &str) -> Result<File, WsError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| WsError::BackupFormat(e.to_string()))?;
        if file.format != FORMAT || file.cipher != "xchacha20poly1305" {
            return Err(WsError::BackupFormat(format!(
                "unknown format {} / {}",
                file.format, file.cipher
            )));
        }
        if file.public_key.key_id() != file.key_id {
            return Err(WsError::BackupFormat(
                "key id does not match public key".into(),
            ));
        }
        Ok(file)
    }

    /// Opens a backup: the key, checked against the public key the file names.
    pub fn import(text: &str, passphrase: &str) -> Result<SecretKey, WsError> {
        let file = parse(text)?;
        let nonce = B64
            .decode(&file.nonce)
            .map_err(|e| WsError::BackupFormat(e.to_string()))?;
        if nonce.len() != 24 {
            return Err(WsError::BackupFormat("nonce must be 24 bytes".into()));
        }
        let sealed = B64
            .decode(&file.ciphertext)
            .map_err(|e| WsError::BackupFormat(e.to_string()))?;
        let k = derive(passphrase, &file.kdf)?;
        let cipher = XChaCha20Poly1305::new(k.as_slice().into());
        let opened = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: file.key_id.to_hex().as_bytes(),
                    },
                )
                .map_err(|_| WsError::BackupDecrypt)?,
        );
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            opened
                .as_slice()
                .try_into()
                .map_err(|_| WsError::BackupFormat("the sealed key is not 32 bytes".into()))?,
        );
        let key = SecretKey::from_seed(&seed);
        if key.key_id() != file.key_id {
            return Err(WsError::BackupFormat(
                "the sealed key does not match the file's public key".into(),
            ));
        }
        Ok(key)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use govchain_ledger::ErrorCode;

        #[test]
        fn round_trip_wrong_passphrase_and_tampering() {
            let key = SecretKey::generate(&mut rand_core::OsRng);
            let text = export(&key, "correct horse battery").unwrap();
            assert!(!text.contains(&hex::encode(key.to_seed().as_slice())));
            assert_eq!(peek(&text).unwrap(), key.public_key());
            let back = import(&text, "correct horse battery").unwrap();
            assert_eq!(back.key_id(), key.key_id());
            assert_eq!(
                import(&text, "wrong horse battery").unwrap_err().code(),
                "backup.decrypt"
            );
            // Swap in another key's public key: the binding refuses it.
            let other = SecretKey::generate(&mut rand_core::OsRng);
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["public_key"] = serde_json::json!(other.public_key());
            v["key_id"] = serde_json::json!(other.key_id());
            assert_eq!(
                import(&v.to_string(), "correct horse battery")
                    .unwrap_err()
                    .code(),
                "backup.decrypt"
            );
            v["kdf"]["m_cost_kib"] = serde_json::json!(u32::MAX);
            assert_eq!(
                import(&v.to_string(), "x").unwrap_err().code(),
                "backup.format"
            );
            assert_eq!(
                export(&key, "short").unwrap_err().code(),
                "backup.weak_passphrase"
            );
            assert_eq!(import("{}", "x").unwrap_err().code(), "backup.format");
        }
    }
}
