//! Keys and officials: what the key screens show.

use serde::Serialize;
use ts_rs::TS;

/// A signing key of this workstation (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct KeyInfo {
    /// Key id, 64 hex.
    pub key_id: String,
    /// First 16 bytes of the key id in 8 groups of 4 hex digits.
    pub fingerprint: String,
    pub public_key: String,
    pub label: String,
    pub created_at: String,
    /// The key this workstation signs with.
    pub active: bool,
    /// Whether the OS keychain holds its secret.
    pub in_keychain: bool,
    /// The hardware token holding its secret instead (then `in_keychain`
    /// is false).
    pub token: Option<TokenRef>,
    /// The official it is registered to on the verified chain, if any.
    pub official: Option<OfficialInfo>,
}

/// An official as the verified chain knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OfficialInfo {
    pub official_id: String,
    pub name: String,
    pub department: String,
    pub department_name: String,
    /// `role@department/scope` of every current grant.
    pub roles: Vec<String>,
    pub revoked: bool,
}

/// A registration request an admin turns into `official.register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RegistrationRequest {
    pub public_key: String,
    pub fingerprint: String,
    pub name: String,
    pub department: String,
    /// The request as JSON text, to send to the admin.
    pub text: String,
    /// The same text as a QR code (SVG), for a scanner at the admin's desk.
    pub qr_svg: Option<String>,
}

/// Where a key on a hardware token lives: the PKCS#11 module (driver), the
/// token and the key's label on it. Public facts, kept in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TokenRef {
    /// Path of the PKCS#11 module.
    pub module: String,
    pub token_label: String,
    pub token_serial: String,
    pub key_label: String,
}

/// The PKCS#11 modules on this machine and, for the chosen one, its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TokenOverview {
    /// Known modules found on this machine (SoftHSM, OpenSC, ...).
    pub installed: Vec<String>,
    /// The module listed below, if one was given or is in use.
    pub module: Option<String>,
    pub tokens: Vec<TokenView>,
}

/// A token present in a module's slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TokenView {
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    /// The token takes its PIN on its own keypad.
    pub protected_path: bool,
    /// Whether this workstation holds it unlocked now.
    pub unlocked: bool,
    pub keys: Vec<TokenKeyView>,
}

/// An Ed25519 key on a token (its public half).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TokenKeyView {
    pub label: String,
    pub key_id: String,
    pub fingerprint: String,
    pub public_key: String,
    /// Already one of this workstation's keys.
    pub added: bool,
}

/// For a signature with a token key: which token, and whether it is
/// unlocked (otherwise the dialog asks for the PIN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TokenSigning {
    pub token_label: String,
    pub token_serial: String,
    pub unlocked: bool,
}
