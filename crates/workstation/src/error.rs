//! The workstation's errors: one enum, a stable code per case and a message
//! for the official. Serialized over IPC as `{code, message}`. An error of
//! the ledger or the node keeps its own code ([`WsError::Source`],
//! [`WsError::WouldReject`]); the workstation's own codes are the closed set
//! [`WsErrorCode`], exported to TypeScript.

use govchain_ledger::ErrorCode;

use crate::closed::closed_set;

closed_set! {
    /// The codes of the workstation's own errors. Errors of the ledger and
    /// the node (`jcs.duplicate_key`, `merkle.bad_proof`, `workflow.*`, …)
    /// keep the code they have there.
    pub enum WsErrorCode {
        KeychainUnavailable = "keychain.unavailable",
        KeychainLocked = "keychain.locked",
        KeychainFailure = "keychain.failure",
        KeyNone = "key.none",
        KeyNotInKeychain = "key.not_in_keychain",
        KeyOnToken = "key.on_token",
        KeyNotOnToken = "key.not_on_token",
        BackupDecrypt = "backup.decrypt",
        BackupFormat = "backup.format",
        BackupWeakPassphrase = "backup.weak_passphrase",
        CacheStorage = "cache.storage",
        CacheSchemaTooNew = "cache.schema_too_new",
        RequestInvalid = "request.invalid",
        SignUnknownPreview = "sign.unknown_preview",
        SyncOffline = "sync.offline",
        SyncNodeError = "sync.node_error",
        SyncVerificationFailed = "sync.verification_failed",
        EmbeddedFailure = "embedded.failure",
        NotFound = "not_found",
        CheckpointNotWitnessed = "checkpoint.not_witnessed",
        NetworkUntrustedCertificate = "network.untrusted_certificate",
        NetworkCertificateChanged = "network.certificate_changed",
        IdentityKeyNone = "identity_key.none",
        PayrollKeyNone = "payroll_key.none",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("no OS keychain is available ({0}). On Linux install and start a Secret Service provider (gnome-keyring or KeePassXC) in your desktop session; govchain never stores keys in files")]
    NoKeychain(String),
    #[error("the keychain is locked or has no default collection ({0}); unlock it and try again")]
    KeychainLocked(String),
    #[error("the keychain failed: {0}")]
    Keychain(String),
    #[error("no signing key is set up on this workstation; create or import one")]
    NoKey,
    #[error("the key {0} is not in this computer's keychain")]
    KeyNotInKeychain(String),
    #[error("this key lives on a hardware token and never leaves it, so it has no backup file; keep the token safe, or register a second key as a spare")]
    KeyOnToken,
    #[error("the active key is in the OS keychain, not on a token; there is nothing to unlock")]
    KeyNotOnToken,
    #[error("the backup could not be opened: wrong passphrase or damaged file")]
    BackupDecrypt,
    #[error("the backup file is not a govchain key backup: {0}")]
    BackupFormat(String),
    #[error("the passphrase must be at least {0} characters")]
    WeakPassphrase(usize),
    #[error("local database: {0}")]
    Storage(String),
    #[error("the local database is newer ({0}) than this app understands; update govchain")]
    SchemaTooNew(i64),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("nothing to confirm under that preview id (it expired or was already signed)")]
    UnknownPreview,
    #[error("the ledger would refuse this: {0}")]
    WouldReject(govchain_ledger::state::Rejection),
    #[error("no node is reachable ({0}); working offline from the cache")]
    Offline(String),
    #[error("the node answered {status}: {code}: {message}")]
    Node {
        status: u16,
        code: String,
        message: String,
    },
    #[error("VERIFICATION FAILED — the node's data was refused and the last verified state kept: {code}: {detail}")]
    Verification { code: String, detail: String },
    #[error("the embedded node failed: {0}")]
    Embedded(String),
    /// An error of the ledger or the node, with its own code and message.
    #[error("{message}")]
    Source { code: &'static str, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("no checkpoint is cosigned by {want} other departments yet (the best has {got}); the blocks are verified, but not yet witnessed as you require")]
    NotWitnessed { want: usize, got: usize },
    /// First contact with an HTTPS node whose certificate the OS trust
    /// store does not accept, and no pin for it.
    #[error("{url} presented a TLS certificate this computer does not trust ({reason}). Its SHA-256 fingerprint is {fingerprint}. Compare it with the fingerprint the node's operator gives you (govchain-node tls-fingerprint); if they match, trust this certificate in Settings, or install your department's CA certificate")]
    UntrustedCertificate {
        url: String,
        fingerprint: String,
        reason: String,
    },
    #[error("this computer holds no consortium identity key for chain {0}, so it cannot hash an identity number; ask your department admin for the key (64 hex digits) and import it in Settings")]
    NoIdentityKey(String),
    #[error("this computer holds no payroll key for project {0}, so workers' ID numbers cannot be hashed; ask the project's developer for the key (64 hex digits) and import it on the project's page")]
    NoPayrollKey(String),
    /// A pinned node presented another certificate.
    #[error("ALARM: {url} presented a TLS certificate with SHA-256 fingerprint {presented}, not the pinned {pinned}; nothing was exchanged with it. Someone may be impersonating the node, or its certificate was replaced: ask the node's operator, and only if they confirm the new fingerprint, trust it in Settings")]
    CertificateChanged {
        url: String,
        pinned: String,
        presented: String,
    },
}

impl ErrorCode for WsError {
    fn code(&self) -> &'static str {
        match self {
            Self::WouldReject(r) => r.code(),
            Self::Source { code, .. } => code,
            own => own.own_code().map_or("", WsErrorCode::as_str),
        }
    }
}

impl WsError {
    /// The workstation's own code of this error; `None` for an error of the
    /// ledger or the node, which keeps its code.
    pub fn own_code(&self) -> Option<WsErrorCode> {
        use WsErrorCode as C;
        Some(match self {
            Self::NoKeychain(_) => C::KeychainUnavailable,
            Self::KeychainLocked(_) => C::KeychainLocked,
            Self::Keychain(_) => C::KeychainFailure,
            Self::NoKey => C::KeyNone,
            Self::KeyNotInKeychain(_) => C::KeyNotInKeychain,
            Self::KeyOnToken => C::KeyOnToken,
            Self::KeyNotOnToken => C::KeyNotOnToken,
            Self::BackupDecrypt => C::BackupDecrypt,
            Self::BackupFormat(_) => C::BackupFormat,
            Self::WeakPassphrase(_) => C::BackupWeakPassphrase,
            Self::Storage(_) => C::CacheStorage,
            Self::SchemaTooNew(_) => C::CacheSchemaTooNew,
            Self::BadRequest(_) => C::RequestInvalid,
            Self::UnknownPreview => C::SignUnknownPreview,
            Self::Offline(_) => C::SyncOffline,
            Self::Node { .. } => C::SyncNodeError,
            Self::Verification { .. } => C::SyncVerificationFailed,
            Self::Embedded(_) => C::EmbeddedFailure,
            Self::NotFound(_) => C::NotFound,
            Self::NotWitnessed { .. } => C::CheckpointNotWitnessed,
            Self::UntrustedCertificate { .. } => C::NetworkUntrustedCertificate,
            Self::CertificateChanged { .. } => C::NetworkCertificateChanged,
            Self::NoIdentityKey(_) => C::IdentityKeyNone,
            Self::NoPayrollKey(_) => C::PayrollKeyNone,
            Self::WouldReject(_) | Self::Source { .. } => return None,
        })
    }

    /// An error of the ledger or the node, keeping its code and message.
    pub fn source(e: &(impl ErrorCode + std::fmt::Display)) -> Self {
        Self::Source {
            code: e.code(),
            message: e.to_string(),
        }
    }

    pub fn verification(code: &str, detail: impl Into<String>) -> Self {
        Self::Verification {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }

    /// The error as it crosses IPC. A node's refusal crosses with the node's
    /// own code (`rate_limited`, `tx.bad_signature`, …), not
    /// `sync.node_error`; the message names both.
    pub fn body(&self) -> ErrorBody {
        let code = match self {
            Self::Node { code, .. } if !code.is_empty() => code.clone(),
            e => e.code().to_owned(),
        };
        let (node, fingerprint) = match self {
            Self::UntrustedCertificate {
                url, fingerprint, ..
            } => (Some(url.clone()), Some(fingerprint.clone())),
            Self::CertificateChanged { url, presented, .. } => {
                (Some(url.clone()), Some(presented.clone()))
            }
            _ => (None, None),
        };
        ErrorBody {
            code,
            message: self.to_string(),
            node,
            fingerprint,
        }
    }
}

impl From<rusqlite::Error> for WsError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// Errors of the ledger and the node keep their code across the crate edge.
macro_rules! keep_code {
    ($($t:ty),+ $(,)?) => {
        $(impl From<$t> for WsError {
            fn from(e: $t) -> Self {
                Self::source(&e)
            }
        })+
    };
}

keep_code!(
    govchain_ledger::jcs::JcsError,
    govchain_ledger::tx::TxError,
    govchain_ledger::types::TypeError,
    govchain_ledger::crypto::CryptoError,
    govchain_ledger::merkle::ProofError,
    govchain_ledger::note::NoteError,
    govchain_ledger::block::BlockError,
    govchain_ledger::read::ReadError,
    govchain_ledger::domain::SignError,
    govchain_ledger::identity::IdentityError,
    govchain_ledger::citizen::CitizenError,
    govchain_ledger::registration::RegistrationError,
    govchain_ledger::state::kinds::InvalidId,
    govchain_bpmn::BpmnError,
    govchain_token::TokenError,
    govchain_node::NodeError,
    govchain_node::witness::WitnessError,
);

impl From<govchain_ledger::state::Rejection> for WsError {
    fn from(r: govchain_ledger::state::Rejection) -> Self {
        Self::WouldReject(r)
    }
}

/// `{code, message}`: every error the UI sees. `code` is a [`WsErrorCode`]
/// or a code of the ledger or the node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// `network.untrusted_certificate`, `network.certificate_changed`: the
    /// node whose certificate was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub node: Option<String>,
    /// The same errors: the SHA-256 fingerprint of the certificate the node
    /// presented (16 groups of 4 hex digits), what "trust this
    /// certificate" pins.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fingerprint: Option<String>,
}

impl serde::Serialize for WsError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_and_node_codes_cross_the_crate_edge() {
        let e = WsError::from(govchain_ledger::jcs::JcsError::DuplicateKey("a".into()));
        assert_eq!(e.code(), "jcs.duplicate_key");
        assert_eq!(e.body().code, "jcs.duplicate_key");
        assert!(e.body().message.contains("duplicate member name"), "{e}");
        assert_eq!(e.own_code(), None);
        let e = WsError::Node {
            status: 400,
            code: "tx.bad_signature".into(),
            message: "the signature does not verify".into(),
        };
        assert_eq!(e.code(), "sync.node_error");
        assert_eq!(e.body().code, "tx.bad_signature");
        assert!(e.body().message.contains("400"), "{e}");
        let e = WsError::from(govchain_ledger::crypto::KeyId::from_hex("zz").unwrap_err());
        assert_eq!(e.code(), "crypto.encoding");
        let e = WsError::from(govchain_node::NodeError::Config("x".into()));
        assert_eq!(
            e.code(),
            govchain_ledger::ErrorCode::code(&govchain_node::NodeError::Config("x".into()))
        );
    }

    #[test]
    fn own_codes_are_the_exported_set() {
        let own = [
            WsError::NoKey,
            WsError::BadRequest(String::new()),
            WsError::Offline(String::new()),
            WsError::NotWitnessed { want: 2, got: 1 },
            WsError::KeyOnToken,
        ];
        for e in &own {
            let code = e.own_code().unwrap();
            assert_eq!(e.code(), code.as_str());
            assert_eq!(WsErrorCode::parse(e.code()), Some(code));
        }
        assert_eq!(WsErrorCode::ALL.len(), 24);
        assert_eq!(WsError::BadRequest(String::new()).code(), "request.invalid");
    }
}
