//! The official's keys on this workstation: creating, importing, exporting,
//! deleting and rotating them, and what the verified chain says of each.

use govchain_ledger::crypto::{KeyId, PublicKey};
use govchain_ledger::registration::{KeyStorage, RegistrationRequest as Request};
use govchain_ledger::state::kinds::{DeptId, RegisterOfficial};
use govchain_ledger::tx::TxBody;
use serde_json::json;

use crate::cache::MetaKey;
use crate::dto::{KeyInfo, OfficialInfo, OutboxItem, RegistrationRequest};
use crate::error::WsError;
use crate::keys::backup;
use crate::signing;
use crate::verify::LocalChain;

use super::{now, parse_key_id, principal_hex, Workstation};

impl Workstation {
    pub(super) fn active_key_id(&self) -> Result<Option<KeyId>, WsError> {
        self.lock()?
            .cache
            .meta(MetaKey::ActiveKey)?
            .map(|s| parse_key_id(&s))
            .transpose()
    }

    pub(super) fn active_public_key(&self) -> Result<Option<PublicKey>, WsError> {
        let Some(id) = self.active_key_id()? else {
            return Ok(None);
        };
        let inner = self.lock()?;
        let Some(row) = inner
            .cache
            .keys()?
            .into_iter()
            .find(|k| k.key_id == id.to_hex())
        else {
            return Ok(None);
        };
        Ok(Some(PublicKey::from_hex(&row.public_key)?))
    }

    pub(super) fn key_label(&self, key: &PublicKey) -> Result<String, WsError> {
        let id = key.key_id().to_hex();
        Ok(self
            .lock()?
            .cache
            .keys()?
            .into_iter()
            .find(|k| k.key_id == id)
            .map_or_else(|| "official".to_owned(), |k| k.label))
    }

    pub(super) fn remember_key(&self, key: &PublicKey, label: &str) -> Result<(), WsError> {
        let inner = self.lock()?;
        inner.cache.add_key(
            &key.key_id().to_hex(),
            &key.to_hex(),
            label,
            &now().to_string(),
        )?;
        if inner.cache.meta(MetaKey::ActiveKey)?.is_none() {
            inner
                .cache
                .set_meta(MetaKey::ActiveKey, &key.key_id().to_hex())?;
        }
        Ok(())
    }

    /// In embedded mode, the demo consortium registers the new key.
    pub(super) async fn register_with_demo(
        &self,
        key: &PublicKey,
        label: &str,
    ) -> Result<(), WsError> {
        if let Some(d) = self.demo.lock().await.as_ref() {
            self.enrol_in_demo(d, key, label)?;
        }
        Ok(())
    }

    /// The demo consortium registers `key`, and its identity key and its
    /// projects' payroll key go into this keychain (demo material, like
    /// every demo key).
    pub(super) fn enrol_in_demo(
        &self,
        d: &crate::demo::DemoNode,
        key: &PublicKey,
        label: &str,
    ) -> Result<(), WsError> {
        d.register_user(key, label)?;
        // Under the demo's own scope, never a real chain's. A keychain that
        // fails here leaves the demo usable; hashing then says what is missing.
        let scope = crate::chains::DEMO;
        let stored = (|| -> Result<(), WsError> {
            if self.keychain.identity_key(scope)?.is_none() {
                let k = crate::demo::demo_identity_key();
                self.keychain.store_identity_key(scope, &k)?;
                self.remember_identity_key(scope, Some(&k));
            }
            for project in [crate::demo::DEMO_PROJECT, crate::demo::DEMO_CONTRACT] {
                if self.keychain.payroll_key(scope, project)?.is_none() {
                    self.keychain.store_payroll_key(
                        scope,
                        project,
                        &crate::demo::demo_payroll_key(),
                    )?;
                }
            }
            Ok(())
        })();
        if let Err(e) = stored {
            tracing::warn!("the demo's identity keys were not stored: {e}");
        }
        Ok(())
    }

    /// Creates a key in the OS keychain; the first key becomes active.
    pub async fn create_key(&self, label: &str) -> Result<KeyInfo, WsError> {
        let label = checked_label(label)?;
        let pk = self.keychain.generate()?;
        self.remember_key(&pk, &label)?;
        self.register_with_demo(&pk, &label).await?;
        self.key_info(&pk.key_id())
    }

    /// Imports a key from a passphrase-protected backup into the keychain.
    pub async fn import_key(
        &self,
        backup_text: &str,
        passphrase: &str,
        label: &str,
    ) -> Result<KeyInfo, WsError> {
        let key = backup::import(backup_text, passphrase)?;
        self.keychain.store(&key)?;
        let pk = key.public_key();
        drop(key);
        self.remember_key(&pk, label.trim())?;
        self.register_with_demo(&pk, label.trim()).await?;
        self.key_info(&pk.key_id())
    }

    /// A backup of the active key sealed with `passphrase` (the text of the
    /// file; it holds the key only encrypted).
    pub fn export_backup(&self, passphrase: &str) -> Result<String, WsError> {
        let id = self.active_key_id()?.ok_or(WsError::NoKey)?;
        if self.token_of(&id)?.is_some() {
            return Err(WsError::KeyOnToken);
        }
        let key = self.keychain.load(&id)?;
        backup::export(&key, passphrase)
    }

    /// Removes a key from the keychain and from this workstation (a token
    /// key stays on its token).
    pub fn delete_key(&self, key_id: &str) -> Result<(), WsError> {
        let id = parse_key_id(key_id)?;
        if self.token_of(&id)?.is_none() {
            self.keychain.delete(&id)?;
        }
        let inner = self.lock()?;
        inner.cache.remove_key(&id.to_hex())?;
        if inner.cache.meta(MetaKey::ActiveKey)?.as_deref() == Some(id.to_hex().as_str()) {
            inner.cache.delete_meta(MetaKey::ActiveKey)?;
        }
        Ok(())
    }

    /// Makes key `key_id`, one of this workstation's, the one it signs with.
    pub fn set_active_key(&self, key_id: &str) -> Result<KeyInfo, WsError> {
        let id = parse_key_id(key_id)?;
        {
            let inner = self.lock()?;
            if !inner.cache.keys()?.iter().any(|k| k.key_id == id.to_hex()) {
                return Err(WsError::NotFound(format!("key {}", id.fingerprint())));
            }
            inner.cache.set_meta(MetaKey::ActiveKey, &id.to_hex())?;
        }
        self.key_info(&id)
    }

    pub(super) fn key_info(&self, id: &KeyId) -> Result<KeyInfo, WsError> {
        self.keys()?
            .into_iter()
            .find(|k| k.key_id == id.to_hex())
            .ok_or_else(|| WsError::NotFound(format!("key {}", id.fingerprint())))
    }

    /// The keys of this workstation, with what the verified chain says.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, WsError> {
        self.promote_rotated_key()?;
        let active = self.active_key_id()?;
        let inner = self.lock()?;
        let rows = inner.cache.keys()?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = parse_key_id(&row.key_id)?;
            out.push(KeyInfo {
                fingerprint: id.fingerprint(),
                active: active == Some(id),
                in_keychain: row.token.is_none() && self.keychain.contains(&id)?,
                token: row.token,
                official: inner.chain.as_ref().and_then(|c| official_info(c, &id)),
                key_id: row.key_id,
                public_key: row.public_key,
                label: row.label,
                created_at: row.created_at,
            });
        }
        Ok(out)
    }

    /// A registration request for the active key, for an admin.
    pub fn registration_request(
        &self,
        name: &str,
        department: &str,
    ) -> Result<RegistrationRequest, WsError> {
        let pk = self.active_public_key()?.ok_or(WsError::NoKey)?;
        let official = RegisterOfficial {
            department: DeptId::try_from(department.to_owned())?,
            name: name.to_owned(),
            public_key: pk,
        };
        // Where the key lives, for the admin to see (not part of the
        // transaction).
        let key_storage = match self.token_of(&pk.key_id())? {
            Some(t) => KeyStorage::Pkcs11 {
                token_label: t.token_label,
                token_serial: t.token_serial,
            },
            None => KeyStorage::Keychain,
        };
        let text = Request {
            official,
            key_storage,
        }
        .to_text();
        Ok(RegistrationRequest {
            public_key: pk.to_hex(),
            fingerprint: pk.key_id().fingerprint(),
            name: name.to_owned(),
            department: department.to_owned(),
            qr_svg: super::certificates::qr_svg(&text).ok(),
            text,
        })
    }

    /// Signs a `key.rotate` with the active key naming a new keychain key
    /// effective from the next block; the new key becomes active once the
    /// verified chain makes it valid.
    pub fn rotate_key(&self) -> Result<OutboxItem, WsError> {
        let old = self.active_key_id()?.ok_or(WsError::NoKey)?;
        let label = {
            let inner = self.lock()?;
            inner
                .cache
                .keys()?
                .into_iter()
                .find(|k| k.key_id == old.to_hex())
                .map_or_else(String::new, |k| k.label)
        };
        let new = self.keychain.generate()?;
        let (effective, body) = {
            let inner = self.lock()?;
            let chain = inner
                .chain
                .as_ref()
                .ok_or_else(|| WsError::Offline("no verified chain yet; sync first".into()))?;
            let effective = chain.cursor.next_height + 1;
            let seq = signing::next_seq(
                &chain.state,
                &old,
                inner.cache.max_seq(&principal_hex(chain, &old))?,
            );
            let body = TxBody {
                chain_id: chain.cursor.chain_id.clone(),
                signer: old,
                seq,
                kind: "key.rotate".into(),
                payload: json!({"new_public_key": new, "effective_height": effective}),
                created_at: now(),
            };
            (effective, body)
        };
        let item = self.sign_and_queue(body)?;
        let inner = self.lock()?;
        inner.cache.add_key(
            &new.key_id().to_hex(),
            &new.to_hex(),
            &format!("{label} (rotated)"),
            &now().to_string(),
        )?;
        inner.cache.set_meta(
            MetaKey::PendingKey,
            &format!("{}@{effective}", new.key_id().to_hex()),
        )?;
        Ok(item)
    }

    /// Makes a rotated key active once the verified chain accepts it.
    pub(super) fn promote_rotated_key(&self) -> Result<(), WsError> {
        let inner = self.lock()?;
        let Some(pending) = inner.cache.meta(MetaKey::PendingKey)? else {
            return Ok(());
        };
        let Some(chain) = inner.chain.as_ref() else {
            return Ok(());
        };
        let id = parse_key_id(pending.split('@').next().unwrap_or_default())?;
        if chain.state.signer(&id, chain.cursor.next_height).is_ok() {
            inner.cache.set_meta(MetaKey::ActiveKey, &id.to_hex())?;
            inner.cache.delete_meta(MetaKey::PendingKey)?;
        }
        Ok(())
    }
}

fn official_info(chain: &LocalChain, key: &KeyId) -> Option<OfficialInfo> {
    let s = &chain.state;
    let id = s.key_index.get(key)?;
    let o = s.officials.get(id)?;
    let roles = s
        .grants_by_official
        .get(id)
        .map(|set| {
            set.iter()
                .filter_map(|g| s.grants.get(g))
                .map(|g| format!("{}@{}/{}", g.role, g.department, g.scope))
                .collect()
        })
        .unwrap_or_default();
    Some(OfficialInfo {
        official_id: id.to_hex(),
        name: o.name.clone(),
        department: o.department.to_string(),
        department_name: s
            .departments
            .get(&o.department)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        roles,
        revoked: o.revoked_at.is_some(),
    })
}

/// A key's name: 1 to 64 characters after trimming.
pub(super) fn checked_label(label: &str) -> Result<String, WsError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 64 {
        return Err(WsError::BadRequest("a name of 1 to 64 characters".into()));
    }
    Ok(label.to_owned())
}
