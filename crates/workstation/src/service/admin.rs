//! Department administration for the active official: the screen's model,
//! registration requests, pending threshold actions (the payload a
//! co-signature repeats) and BPMN import and export, all on the verified
//! chain.

use govchain_ledger::block::Block;
use govchain_ledger::types::Hash32;
use serde_json::Value;

use crate::admin;
use crate::dto::{AdminView, BpmnGroup, BpmnImport, RegistrationCheck};
use crate::error::WsError;

use super::Workstation;

impl Workstation {
    /// The `(kind, payload)` of the proposal with `digest`: it is in the
    /// block of its first signature, in the verified cache.
    fn action_at(&self, first_height: u64, digest: &Hash32) -> Option<(String, Value)> {
        let text = self.lock().ok()?.cache.block_at(first_height).ok()??;
        let block: Block = serde_json::from_str(&text.json).ok()?;
        admin::action_in(&block, digest)
    }

    /// Everything the administration screen shows for the active key.
    pub fn admin_view(&self) -> Result<AdminView, WsError> {
        let me = self.active_official()?;
        // A persistent map: the clone shares its nodes, and the lock is
        // released before the cache is read for proposals' payloads.
        let state = {
            let inner = self.lock()?;
            inner.verified()?.state.clone()
        };
        Ok(admin::view(&state, me.as_ref(), |d, p| {
            self.action_at(p.first_height, d)
        }))
    }

    /// What a registration request (its text) says, checked against the
    /// verified chain.
    pub fn check_registration(&self, text: &str) -> Result<RegistrationCheck, WsError> {
        let me = self.active_official()?;
        let inner = self.lock()?;
        admin::check_registration(&inner.verified()?.state, me.as_ref(), text)
    }

    /// Imports a BPMN 2.0 process with the admin's group mapping.
    pub fn import_bpmn(
        &self,
        xml: &str,
        groups: &[BpmnGroup],
        id: Option<&str>,
    ) -> Result<BpmnImport, WsError> {
        let inner = self.lock()?;
        Ok(admin::import_bpmn(
            &inner.verified()?.state,
            xml,
            groups,
            id,
        ))
    }

    /// A published template version as BPMN 2.0 text.
    pub fn export_bpmn(&self, id: &str, version: u32) -> Result<String, WsError> {
        let inner = self.lock()?;
        admin::export_bpmn(&inner.verified()?.state, id, version)
    }

    /// The kind and payload a co-signature of the pending action `digest`
    /// repeats; `not_found` when no such action is pending.
    pub(super) fn pending_action(&self, digest: &str) -> Result<(String, Value), WsError> {
        let d = Hash32::from_hex(digest)?;
        let first = {
            let inner = self.lock()?;
            let p = inner.verified()?.state.proposals.get(&d).cloned();
            p.ok_or_else(|| {
                WsError::NotFound(format!(
                    "no pending admin action {}: it may have taken effect or never been proposed; sync and look again",
                    &digest[..digest.len().min(16)]
                ))
            })?
            .first_height
        };
        self.action_at(first, &d).ok_or_else(|| {
            WsError::NotFound(format!(
                "the proposing transaction of {} is not in block {first} of this workstation's verified cache",
                &digest[..digest.len().min(16)]
            ))
        })
    }

    /// The official the active key belongs to on the verified chain.
    fn active_official(&self) -> Result<Option<govchain_ledger::crypto::KeyId>, WsError> {
        let key = self.active_key_id()?;
        let inner = self.lock()?;
        Ok(key.and_then(|k| {
            inner
                .chain
                .as_ref()
                .and_then(|c| c.state.key_index.get(&k).copied())
        }))
    }
}
