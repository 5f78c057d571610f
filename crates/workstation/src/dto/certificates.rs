//! Certificates (issued here or shared with this department under a
//! citizen's consent), consent requests for the citizen's signer, and
//! verifications.

use serde::Serialize;
use ts_rs::TS;

use super::OfficialRef;

/// A certificate on the verified chain, as this department sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CertificateView {
    pub id: String,
    pub cert_type: String,
    pub department: String,
    pub department_name: String,
    pub issuer: OfficialRef,
    /// Height of the block that issued it.
    pub issued_at: u64,
    pub expires_at: Option<String>,
    /// Whether block time passed `expires_at`.
    pub expired: bool,
    /// `SHA-256(salt ‖ document)`, hex.
    pub commitment: String,
    /// Fingerprint of the holder's key (the citizen's signer shows it).
    pub holder_fingerprint: String,
    /// Issued by this workstation: the salt and document are here, so the
    /// citizen's certificate can be printed again.
    pub issued_here: bool,
    pub consents: Vec<ConsentView>,
    pub verifications: Vec<VerificationView>,
}

/// A consent the holder signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConsentView {
    pub id: String,
    pub grantee: String,
    pub grantee_name: String,
    pub until: String,
    pub purpose: String,
    pub granted_at: u64,
    pub revoked_at: Option<u64>,
    /// Not revoked and `until` not passed (at the verified block time).
    pub active: bool,
}

/// A recorded verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct VerificationView {
    pub height: u64,
    pub time: String,
    pub tx_id: String,
    pub official: OfficialRef,
    pub consent_id: String,
    /// Whether the presented document matched the commitment.
    pub matches: bool,
}

/// A consent transaction for the citizen's signer to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConsentRequestView {
    /// `GCR1:…` (PROTOCOL.md §12.10): for a file, a message or the QR code.
    pub text: String,
    /// SVG of the QR code of `text`; none when the text is too long for
    /// one (a long purpose): then only the text travels.
    pub qr_svg: Option<String>,
    /// The transaction id it will have once signed (the signer shows it).
    pub tx_id: String,
    pub consent_id: String,
    pub kind: super::TxKind,
    /// Fingerprint of the holder's key that must sign.
    pub holder_fingerprint: String,
}
