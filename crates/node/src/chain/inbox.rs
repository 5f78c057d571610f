//! An official's inbox from the store's index of waiting cases
//! (`store/waiting.rs`): the cases waiting for the official's roles are
//! read, not every case, and each is judged against the head state as
//! `views::inbox` judges it. The index is built once when a store lacks it.

use govchain_ledger::crypto::KeyId;
use govchain_ledger::state::views::{self, InboxItem};

use super::Core;
use crate::error::NodeError;

impl Core {
    /// The cases waiting for `official`'s signature now, soonest deadline
    /// first (`GET /v1/inbox/{official}`).
    pub fn inbox(&self, official: &KeyId) -> Result<Vec<InboxItem>, NodeError> {
        let now = self.view_time();
        let roles: Vec<(String, String)> = views::roles_of(&self.state, official, now)
            .into_iter()
            .map(|(d, r)| (d.to_string(), r.to_string()))
            .collect();
        let ids = self.reads.waiting_cases(&roles, now)?;
        Ok(views::inbox_among(&self.state, &ids, official, now)?)
    }

    /// Builds the index of waiting cases from every case if the store lacks
    /// it (a database of schema 5, a snapshot just installed).
    pub(super) fn index_waiting(&mut self) -> Result<(), NodeError> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| NodeError::Storage("store lock poisoned".into()))?;
        if store.waiting_built()? {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let cases = store.fill_waiting(&self.state)?;
        tracing::info!(
            cases,
            "indexed the waiting cases in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
