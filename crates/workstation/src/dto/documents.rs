//! Documents kept on this computer by their SHA-256 (the store is
//! [`crate::documents`]).

use serde::Serialize;
use ts_rs::TS;

use crate::closed::closed_set;

/// A document in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StoredDocument {
    /// SHA-256 hex: what a transaction carries.
    pub sha256: String,
    /// The file's name when it was added (kept here only).
    pub name: String,
    pub size: u64,
}

closed_set! {
    /// Whether the store's copy of a document still hashes to its name.
    pub enum DocumentState {
        /// The file is here and its SHA-256 is the one on chain.
        Matches = "matches",
        /// The file is here but its content changed.
        Altered = "altered",
        /// No file with that hash on this computer.
        Missing = "missing",
    }
}

/// One document hash checked against the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DocumentCheck {
    pub sha256: String,
    pub state: DocumentState,
    pub name: Option<String>,
    pub size: Option<u64>,
}
