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
}
