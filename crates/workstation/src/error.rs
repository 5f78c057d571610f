//! The workstation's errors: one enum, a stable code per case and a message
//! for the official. Serialized over IPC as `{code, message}`.

use govchain_ledger::ErrorCode;

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
    #[error("not found: {0}")]
    NotFound(String),
    #[error("no checkpoint is cosigned by {want} other departments yet (the best has {got}); the blocks are verified, but not yet witnessed as you require")]
    NotWitnessed { want: usize, got: usize },
}

impl ErrorCode for WsError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoKeychain(_) => "keychain.unavailable",
            Self::KeychainLocked(_) => "keychain.locked",
            Self::Keychain(_) => "keychain.failure",
            Self::NoKey => "key.none",
            Self::KeyNotInKeychain(_) => "key.not_in_keychain",
            Self::BackupDecrypt => "backup.decrypt",
            Self::BackupFormat(_) => "backup.format",
            Self::WeakPassphrase(_) => "backup.weak_passphrase",
            Self::Storage(_) => "cache.storage",
            Self::SchemaTooNew(_) => "cache.schema_too_new",
            Self::BadRequest(_) => "request.invalid",
            Self::UnknownPreview => "sign.unknown_preview",
            Self::WouldReject(r) => r.code(),
            Self::Offline(_) => "sync.offline",
            Self::Node { .. } => "sync.node_error",
            Self::Verification { .. } => "sync.verification_failed",
            Self::Embedded(_) => "embedded.failure",
            Self::NotFound(_) => "not_found",
            Self::NotWitnessed { .. } => "checkpoint.not_witnessed",
        }
    }
}

impl WsError {
    pub fn verification(code: &str, detail: impl Into<String>) -> Self {
        Self::Verification {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }

    /// The error as it crosses IPC.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
        }
    }
}

impl From<rusqlite::Error> for WsError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// `{code, message}`: every error the UI sees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl serde::Serialize for WsError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(s)
    }
}
