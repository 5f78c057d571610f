//! Signing with whichever store holds a key — the OS keychain or a hardware
//! token — and the token screens: listing a module's tokens and keys,
//! creating or adding a token key, unlocking with the PIN, locking.

use std::path::Path;

use govchain_ledger::crypto::{KeyId, PublicKey, Signature};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_token::{Module, TokenKey};
use zeroize::Zeroizing;

use crate::dto::{KeyInfo, TokenKeyView, TokenOverview, TokenRef, TokenSigning, TokenView};
use crate::error::WsError;

use super::keys::checked_label;
use super::Workstation;

impl Workstation {
    /// The token holding key `key`, if it is a token key.
    pub(super) fn token_of(&self, key: &KeyId) -> Result<Option<TokenRef>, WsError> {
        self.lock()?.cache.token_key(&key.to_hex())
    }

    /// Signs `msg` with key `key`: on its token (which must be unlocked),
    /// or with the keychain's secret, in zeroizing memory just for this.
    pub(super) fn sign_message(&self, key: &KeyId, msg: &[u8]) -> Result<Signature, WsError> {
        match self.token_of(key)? {
            Some(r) => self.tokens.sign(&r, key, msg),
            None => Ok(self.keychain.load(key)?.sign_raw(msg)),
        }
    }

    /// `body` signed by its signer's key, wherever that key lives.
    pub(super) fn sign_envelope(&self, body: TxBody) -> Result<Envelope, WsError> {
        if let Some(r) = self.token_of(&body.signer)? {
            let public = self.public_key_of(&body.signer)?;
            let sig = self
                .tokens
                .sign(&r, &body.signer, &body.signed_message()?)?;
            Ok(Envelope::from_signature(&public, body, sig)?)
        } else {
            let key = self.keychain.load(&body.signer)?;
            Ok(Envelope::sign(&key, body)?)
        }
    }

    fn public_key_of(&self, key: &KeyId) -> Result<PublicKey, WsError> {
        let row = self
            .lock()?
            .cache
            .keys()?
            .into_iter()
            .find(|k| k.key_id == key.to_hex())
            .ok_or(WsError::NoKey)?;
        Ok(PublicKey::from_hex(&row.public_key)?)
    }

    /// For a preview: the token the signer's key is on, and whether it is
    /// unlocked.
    pub(super) fn token_signing(&self, key: &KeyId) -> Result<Option<TokenSigning>, WsError> {
        Ok(self.token_of(key)?.map(|r| TokenSigning {
            unlocked: self.tokens.unlocked(&r),
            token_label: r.token_label,
            token_serial: r.token_serial,
        }))
    }

    /// The known modules on this machine and, for `module` (or the one the
    /// active key uses), its tokens and their Ed25519 keys.
    pub fn token_overview(&self, module: Option<&str>) -> Result<TokenOverview, WsError> {
        let installed: Vec<String> = govchain_token::installed_modules()
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        let in_use = match self.active_key_id()? {
            Some(id) => self.token_of(&id)?.map(|r| r.module),
            None => None,
        };
        let module = module
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .or(in_use);
        let Some(path) = module else {
            return Ok(TokenOverview {
                installed,
                module: None,
                tokens: Vec::new(),
            });
        };
        let known: Vec<String> = self
            .lock()?
            .cache
            .keys()?
            .into_iter()
            .map(|k| k.key_id)
            .collect();
        let loaded = load_module(&path)?;
        let mut tokens = Vec::new();
        for info in loaded.tokens()? {
            let r = TokenRef {
                module: path.clone(),
                token_label: info.label.clone(),
                token_serial: info.serial.clone(),
                key_label: String::new(),
            };
            // A session of its own: the signing session (and its login)
            // stays as it is.
            let keys = loaded.open(&info.serial)?.keys()?;
            tokens.push(TokenView {
                unlocked: self.tokens.unlocked(&r),
                label: info.label,
                serial: info.serial,
                manufacturer: info.manufacturer,
                model: info.model,
                protected_path: info.protected_path,
                keys: keys
                    .into_iter()
                    .map(|k| {
                        let id = k.public_key.key_id();
                        TokenKeyView {
                            added: known.contains(&id.to_hex()),
                            label: k.label,
                            key_id: id.to_hex(),
                            fingerprint: id.fingerprint(),
                            public_key: k.public_key.to_hex(),
                        }
                    })
                    .collect(),
            });
        }
        Ok(TokenOverview {
            installed,
            module: Some(path),
            tokens,
        })
    }

    fn token_ref(module: &str, token: &str) -> Result<TokenRef, WsError> {
        let loaded = load_module(module)?;
        let info = loaded
            .tokens()?
            .into_iter()
            .find(|t| t.matches(token))
            .ok_or_else(|| govchain_token::TokenError::NotPresent(token.to_owned()))?;
        Ok(TokenRef {
            module: module.trim().to_owned(),
            token_label: info.label,
            token_serial: info.serial,
            key_label: String::new(),
        })
    }

    /// Creates an Ed25519 key on `token` (label or serial) of `module`,
    /// logging in with `pin`, and makes it one of this workstation's keys
    /// (the first key becomes active). The token stays unlocked until it
    /// idles.
    pub async fn token_create_key(
        &self,
        module: &str,
        token: &str,
        pin: Zeroizing<String>,
        label: &str,
    ) -> Result<KeyInfo, WsError> {
        let label = checked_label(label)?;
        let mut r = Self::token_ref(module, token)?;
        self.tokens.unlock(&r, &pin)?;
        drop(pin);
        let key = self.tokens.with_token(&r, |t| t.generate(&label))?;
        r.key_label = key.label.clone();
        self.add_token_key(&r, &key, &label).await
    }

    /// Makes the existing token key `key_id` one of this workstation's keys
    /// (its public half is read without the PIN).
    pub async fn token_add_key(
        &self,
        module: &str,
        token: &str,
        key_id: &str,
        label: &str,
    ) -> Result<KeyInfo, WsError> {
        let label = checked_label(label)?;
        let id = super::parse_key_id(key_id)?;
        let mut r = Self::token_ref(module, token)?;
        let key = load_module(&r.module)?.open(&r.token_serial)?.find(&id)?;
        r.key_label = key.label.clone();
        self.add_token_key(&r, &key, &label).await
    }

    async fn add_token_key(
        &self,
        r: &TokenRef,
        key: &TokenKey,
        label: &str,
    ) -> Result<KeyInfo, WsError> {
        let pk = key.public_key;
        {
            let inner = self.lock()?;
            inner.cache.add_token_key(&pk.key_id().to_hex(), r)?;
        }
        self.remember_key(&pk, label)?;
        self.register_with_demo(&pk, label).await?;
        self.key_info(&pk.key_id())
    }

    /// Unlocks the active key's token with `pin`.
    pub fn token_unlock(&self, pin: &str) -> Result<(), WsError> {
        let id = self.active_key_id()?.ok_or(WsError::NoKey)?;
        let r = self.token_of(&id)?.ok_or(WsError::KeyNotOnToken)?;
        self.tokens.unlock(&r, pin)
    }

    /// Logs out of the token now.
    pub fn token_lock(&self) -> Result<(), WsError> {
        self.tokens.lock()
    }
}

/// Loads a PKCS#11 module the UI names. Loading one runs its code in this
/// process, so only a plausible driver is loaded: an absolute path to a
/// shared library file that neither its group nor others may change.
fn load_module(path: &str) -> Result<Module, WsError> {
    let path = Path::new(path.trim());
    let refuse = |why: &str| {
        WsError::from(govchain_token::TokenError::Module {
            path: path.display().to_string(),
            detail: why.to_owned(),
        })
    };
    let library = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["so", "dylib", "dll"].contains(&e));
    if !path.is_absolute() || !library {
        return Err(refuse(
            "give the absolute path of the driver's shared library (.so)",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path).map_err(|e| refuse(&e.to_string()))?;
        if meta.mode() & 0o022 != 0 {
            return Err(refuse(
                "its group or others may change this file; a driver must be writable by its owner only",
            ));
        }
    }
    Ok(Module::load(path)?)
}
