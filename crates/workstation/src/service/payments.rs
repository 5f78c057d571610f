//! Engineering projects from the desk: the project's payroll key in the
//! keychain (made by the developer, handed to the other parties), payroll
//! files imported and hashed for a payment request, and the officials a
//! project's parties are chosen from.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use govchain_ledger::identity::IdentityKey;
use govchain_ledger::state::funds::PAYROLL_CHUNK_LINES;
use govchain_ledger::state::kinds::PayrollLine;
use zeroize::Zeroizing;

use crate::dto::{OfficialRef, PayrollImport, PayrollLineView};
use crate::error::WsError;
use crate::signing::INLINE_PAYROLL_LINES;
use crate::views::official_ref;

use super::Workstation;

/// The most payroll imports held at once (each until signed or replaced).
const MAX_IMPORTS: usize = 8;
/// The largest payroll file accepted (bytes).
const MAX_PAYROLL_FILE: usize = 32 * 1024 * 1024;

impl Workstation {
    /// Project `project`'s payroll key from the keychain, or what to do.
    fn payroll_key_of(&self, project: &str) -> Result<IdentityKey, WsError> {
        let chain = self.key_scope()?;
        self.keychain
            .payroll_key(&chain, project)?
            .ok_or_else(|| WsError::NoPayrollKey(project.to_owned()))
    }

    /// Makes project `project`'s payroll key if this keychain has none (its
    /// developer creating it).
    pub(super) fn ensure_payroll_key(&self, project: &str) -> Result<(), WsError> {
        let chain = self.key_scope()?;
        if self.keychain.payroll_key(&chain, project)?.is_none() {
            let mut raw = Zeroizing::new([0u8; 32]);
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, raw.as_mut_slice());
            self.keychain
                .store_payroll_key(&chain, project, &IdentityKey::from_bytes(*raw))?;
        }
        Ok(())
    }

    /// The key id of project `project`'s payroll key, if held here.
    pub fn payroll_key_id(&self, project: &str) -> Result<Option<String>, WsError> {
        let chain = self.key_scope()?;
        Ok(self
            .keychain
            .payroll_key(&chain, project)?
            .map(|k| k.key_id()))
    }

    /// Stores project `project`'s payroll key (64 hex, from its developer).
    pub fn import_payroll_key(&self, project: &str, hex: &str) -> Result<String, WsError> {
        let key = IdentityKey::from_hex(hex)?;
        let chain = self.key_scope()?;
        self.keychain.store_payroll_key(&chain, project, &key)?;
        Ok(key.key_id())
    }

    /// Project `project`'s payroll key as 64 hex, for its developer to hand
    /// to the contractor, supervisor and operator off-chain.
    pub fn export_payroll_key(&self, project: &str) -> Result<String, WsError> {
        Ok(hex::encode(self.payroll_key_of(project)?.as_bytes()))
    }

    /// Reads a payroll file (`name` ends in `.csv` or `.xlsx`; `base64` its
    /// bytes) for project `project`: workers hashed with its payroll key,
    /// each bad row reported. The lines are held here for a payment request.
    pub fn import_payroll(
        &self,
        project: &str,
        name: &str,
        base64: &str,
    ) -> Result<PayrollImport, WsError> {
        let key = self.payroll_key_of(project)?;
        if base64.len() / 4 * 3 > MAX_PAYROLL_FILE {
            return Err(WsError::BadRequest(format!(
                "a payroll file may have at most {} MiB",
                MAX_PAYROLL_FILE / (1024 * 1024)
            )));
        }
        let bytes = Zeroizing::new(
            B64.decode(base64)
                .map_err(|e| WsError::BadRequest(format!("payroll file: {e}")))?,
        );
        let imported = crate::payroll::import(name, &bytes, &key)?;
        let mut r = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
        let import_id = hex::encode(r);
        let view = PayrollImport {
            import_id: import_id.clone(),
            project_id: project.to_owned(),
            lines: imported.lines.len() as u64,
            total_fen: imported.total,
            refused: imported.refused,
            errors: imported.errors.clone(),
            chunks: if imported.lines.len() <= INLINE_PAYROLL_LINES {
                0
            } else {
                u32::try_from(imported.lines.len().div_ceil(PAYROLL_CHUNK_LINES))
                    .unwrap_or(u32::MAX)
            },
            payroll_key: key.key_id(),
            sample: imported
                .lines
                .iter()
                .take(20)
                .map(|l| PayrollLineView {
                    worker: l.worker.to_hex(),
                    amount: l.amount.get(),
                })
                .collect(),
        };
        let mut held = self.payrolls()?;
        held.retain(|_, (p, _)| p != project);
        if held.len() >= MAX_IMPORTS {
            held.clear();
        }
        held.insert(import_id, (project.to_owned(), imported));
        Ok(view)
    }

    fn payrolls(&self) -> Result<std::sync::MutexGuard<'_, super::Imports>, WsError> {
        self.payrolls
            .lock()
            .map_err(|_| WsError::Storage("payroll lock poisoned".into()))
    }

    /// The lines of import `id`, which must be for `project` and have no
    /// refused row.
    pub(super) fn imported_payroll(
        &self,
        id: &str,
        project: &str,
    ) -> Result<Vec<PayrollLine>, WsError> {
        let held = self.payrolls()?;
        let (p, imported) = held.get(id).ok_or_else(|| {
            WsError::NotFound(format!("payroll import {id}; import the file again"))
        })?;
        if p != project {
            return Err(WsError::BadRequest(format!(
                "that payroll was imported for project {p}, not {project}"
            )));
        }
        if imported.refused > 0 {
            return Err(WsError::BadRequest(format!(
                "the payroll has {} refused rows; correct the file and import it again",
                imported.refused
            )));
        }
        Ok(imported.lines.clone())
    }

    /// Every registered, unrevoked official (to choose a project's parties).
    pub fn officials(&self) -> Result<Vec<OfficialRef>, WsError> {
        let inner = self.lock()?;
        let Some(c) = inner.chain.as_ref() else {
            return Ok(Vec::new());
        };
        Ok(c.state
            .officials
            .iter()
            .filter(|(_, o)| o.revoked_at.is_none())
            .map(|(id, _)| official_ref(&c.state, id))
            .collect())
    }
}
