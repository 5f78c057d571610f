//! The chains this workstation knows (the demo and real consortia), which
//! one is active, and what first run needs to know.

use serde::Serialize;
use ts_rs::TS;

/// One chain with its own cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ChainInfo {
    /// `demo`, or `<chain_id>-<first 16 hex of the genesis hash>`.
    pub id: String,
    /// Empty while the nodes have not said.
    pub chain_id: String,
    pub genesis_hash: String,
    pub nodes: Vec<String>,
    pub demo: bool,
    pub active: bool,
}

/// The chain switcher and the first-run choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ChainsView {
    /// The active chain's id; none before first run chose one.
    pub active: Option<String>,
    /// First run has not chosen between the demo and real nodes yet.
    pub needs_choice: bool,
    /// Node URLs set by the install (`GOVCHAIN_NODES`, `workstation.toml`):
    /// first run offers no demo then.
    pub managed_nodes: Vec<String>,
    pub chains: Vec<ChainInfo>,
}
