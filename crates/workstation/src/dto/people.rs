//! What this official may do, the templates a case opens from, and the
//! shared blacklist.

use serde::Serialize;
use ts_rs::TS;

use crate::closed::closed_set;

use super::OfficialRef;

closed_set! {
    /// Something the verified chain lets this key do now (the rules still
    /// refuse what it does not, if forced).
    pub enum Capability {
        /// A registered, unrevoked official: open a case (`case.open`).
        OpenCase = "open_case",
        /// Look a citizen up on the shared blacklist (a signed read).
        BlacklistLookup = "blacklist_lookup",
        /// Holds `blacklist-officer`: add and remove entries.
        BlacklistEdit = "blacklist_edit",
        /// Holds `certificate-issuer`: issue certificates and ask their
        /// holders for consent.
        IssueCertificates = "issue_certificates",
        /// A registered official: ask a certificate's holder for consent
        /// and verify it under that consent.
        VerifyCertificates = "verify_certificates",
        /// Holds `auditor`, or is an admin: read the access log.
        Audit = "audit",
        /// An admin of their department.
        Admin = "admin",
    }
}

/// The active key's standing on the verified chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Capabilities {
    pub may: Vec<Capability>,
    /// The official's department (id), if registered.
    pub department: Option<String>,
    /// Key id (16 hex) of the chain's consortium identity key held in this
    /// computer's keychain, if any (PROTOCOL.md §12.9).
    pub identity_key: Option<String>,
}

/// A published workflow template version a case can be opened from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TemplateOption {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// Stage names, in order.
    pub stages: Vec<String>,
    /// The newest published version of `id`.
    pub latest: bool,
}

/// An active blacklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BlacklistEntryView {
    /// Identity hash (64 hex).
    pub subject: String,
    pub department: String,
    pub department_name: String,
    pub reason: String,
    pub added_by: OfficialRef,
    /// Height of the block that added it.
    pub added_at: u64,
}

/// The answer to a blacklist lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BlacklistLookup {
    /// The identity hash looked up (the number itself was never sent).
    pub subject: String,
    /// The node's answer: every department's active entries.
    pub entries: Vec<BlacklistEntryView>,
    /// The `access.record` transaction that puts this read on the ledger.
    pub access_tx: String,
    /// The node's answer against the chain verified here at `height`.
    pub check: LookupCheck,
    pub height: u64,
}

closed_set! {
    /// A blacklist answer checked against the verified chain.
    pub enum LookupCheck {
        /// Exactly what the verified chain holds (synced just after).
        Matches = "matches",
        /// Not what the verified chain holds: an alarm is raised.
        Differs = "differs",
        /// The sync after the answer failed: not checked.
        Unchecked = "unchecked",
    }
}
