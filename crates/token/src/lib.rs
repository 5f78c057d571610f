//! Hardware keys over PKCS#11: Ed25519 keys made on, and never leaving, a
//! token (a USB key, a smart card, an HSM or SoftHSM). This crate owns the
//! conversation with the vendor's module: loading it, finding a token by
//! label or serial number, logging in with a PIN that is held only in
//! zeroizing memory, creating or finding an Ed25519 key pair, and signing
//! with `CKM_EDDSA` in its pure form, so a token's signatures are RFC 8032
//! signatures like the keychain's and verify with any verifier.
//!
//! Every signature is checked against the key's public half before it is
//! returned (`verify_strict`), so a misbehaving token cannot put a bad
//! signature into an envelope.
//!
//! The workstation (an official's key) and the node (`--pkcs11-module`, for
//! node and admin keys) both sign through [`Token`].

#![forbid(unsafe_code)]

pub mod softhsm;

use std::fmt;
use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use govchain_ledger::crypto::{KeyId, PublicKey, Signature, Signer, SignerError};
use govchain_ledger::ErrorCode;
use rand_core::RngCore;

/// `CKA_EC_PARAMS` of an Ed25519 key as DER: the OID id-Ed25519
/// (1.3.101.112, RFC 8410).
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// The same curve named as a DER PrintableString (PKCS#11 3.0 allows both;
/// OpenSC's `pkcs11-tool` writes this form).
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";

/// What can go wrong with a token. Every variant has a stable code
/// (`token.*`) and a message that says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the PKCS#11 module {path} could not be loaded ({detail}); check the path of your token's driver (its vendor's .so file)")]
    Module { path: String, detail: String },
    #[error(
        "no token '{0}' is present; insert it (or check its label and serial number) and try again"
    )]
    NotPresent(String),
    #[error(
        "the token refused the PIN; try again (the token locks itself after a few wrong PINs)"
    )]
    PinIncorrect,
    #[error(
        "the token's PIN is locked after too many wrong tries; its administrator must unlock it"
    )]
    PinLocked,
    #[error("the token is locked; enter its PIN to sign")]
    PinRequired,
    #[error("the token holds no Ed25519 key {0}; pick another token or create a key on it")]
    KeyNotFound(String),
    #[error("the token does not offer Ed25519 signatures (CKM_EDDSA with an edwards25519 key); use a token that does")]
    Unsupported,
    #[error("the token was removed or its driver stopped; insert it again and retry (nothing was signed)")]
    Removed,
    #[error(
        "the token's signature does not verify with its own public key; do not use this token"
    )]
    BadSignature,
    #[error("the token refused: {0}")]
    Failed(String),
}

impl ErrorCode for TokenError {
    fn code(&self) -> &'static str {
        match self {
            Self::Module { .. } => "token.module",
            Self::NotPresent(_) => "token.not_present",
            Self::PinIncorrect => "token.pin_incorrect",
            Self::PinLocked => "token.pin_locked",
            Self::PinRequired => "token.pin_required",
            Self::KeyNotFound(_) => "token.key_not_found",
            Self::Unsupported => "token.unsupported",
            Self::Removed => "token.removed",
            Self::BadSignature => "token.bad_signature",
            Self::Failed(_) => "token.failed",
        }
    }
}

impl From<CkError> for TokenError {
    fn from(e: CkError) -> Self {
        match e {
            CkError::Pkcs11(rv, _) => match rv {
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange => {
                    Self::PinIncorrect
                }
                RvError::PinLocked => Self::PinLocked,
                RvError::UserNotLoggedIn => Self::PinRequired,
                RvError::CryptokiNotInitialized
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::SlotIdInvalid => Self::Removed,
                RvError::MechanismInvalid
                | RvError::MechanismParamInvalid
                | RvError::CurveNotSupported
                | RvError::DomainParamsInvalid => Self::Unsupported,
                other => Self::Failed(format!("{other:?}")),
            },
            CkError::LibraryLoading(l) => Self::Module {
                path: String::new(),
                detail: l.to_string(),
            },
            other => Self::Failed(other.to_string()),
        }
    }
}

/// Where the usual PKCS#11 modules live on Linux; those present are offered
/// in the app. A vendor's UKey driver is given by its path.
pub const KNOWN_MODULES: [&str; 6] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The known modules present on this machine.
pub fn installed_modules() -> Vec<PathBuf> {
    KNOWN_MODULES
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect()
}

/// A token as its slot describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    /// The token asks for its PIN on its own keypad.
    pub protected_path: bool,
}

impl TokenInfo {
    /// Whether `selector` names this token (its label or serial number).
    pub fn matches(&self, selector: &str) -> bool {
        let s = selector.trim();
        !s.is_empty() && (self.label == s || self.serial == s)
    }
}

impl fmt::Display for TokenInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (serial {})", self.label, self.serial)
    }
}

/// An Ed25519 key pair on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    pub label: String,
    pub public_key: PublicKey,
    /// `CKA_ID`, shared by the public and private objects of the pair.
    pub id: Vec<u8>,
}

/// A loaded and initialised PKCS#11 module.
#[derive(Debug, Clone)]
pub struct Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl Module {
    /// Loads the module at `path` and initialises it (an already initialised
    /// module, in this process, is fine).
    pub fn load(path: &Path) -> Result<Self, TokenError> {
        let module_err = |detail: String| TokenError::Module {
            path: path.display().to_string(),
            detail,
        };
        if !path.is_file() {
            return Err(module_err("no such file".into()));
        }
        let ctx = Pkcs11::new(path).map_err(|e| module_err(e.to_string()))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(module_err(e.to_string())),
        }
        Ok(Self {
            ctx,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens present in the module's slots.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.slots()?.into_iter().map(|(_, info)| info).collect())
    }

    fn slots(&self) -> Result<Vec<(Slot, TokenInfo)>, TokenError> {
        let mut out = Vec::new();
        for slot in self.ctx.get_slots_with_initialized_token()? {
            let t = self.ctx.get_token_info(slot)?;
            out.push((
                slot,
                TokenInfo {
                    label: t.label().trim().to_owned(),
                    serial: t.serial_number().trim().to_owned(),
                    manufacturer: t.manufacturer_id().trim().to_owned(),
                    model: t.model().trim().to_owned(),
                    protected_path: t.protected_authentication_path(),
                },
            ));
        }
        Ok(out)
    }

    /// Opens a session with the token `selector` names (label or serial).
    pub fn open(&self, selector: &str) -> Result<Token, TokenError> {
        let (slot, info) = self
            .slots()?
            .into_iter()
            .find(|(_, t)| t.matches(selector))
            .ok_or_else(|| TokenError::NotPresent(selector.to_owned()))?;
        let session = self.ctx.open_rw_session(slot)?;
        Ok(Token { session, info })
    }

    /// Finalises the module for this whole process (`C_Finalize`): every
    /// session of every [`Token`] on it ends. What a pulled token looks like
    /// to its holders; also used when the app closes.
    pub fn finalize(self) -> Result<(), TokenError> {
        self.ctx.finalize().map_err(TokenError::from)
    }
}

/// A session with one token. Not `Sync` (a PKCS#11 session serves one
/// thread at a time); keep it behind a mutex.
#[derive(Debug)]
pub struct Token {
    session: Session,
    info: TokenInfo,
}

fn eddsa() -> Mechanism<'static> {
    Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
}

impl Token {
    pub fn info(&self) -> &TokenInfo {
        &self.info
    }

    /// Logs the session in as the token's user. The PIN is copied only into
    /// the zeroizing `AuthPin` the call needs.
    pub fn login(&self, pin: &str) -> Result<(), TokenError> {
        if pin.is_empty() {
            return Err(TokenError::PinRequired);
        }
        let pin = AuthPin::new(pin.into());
        match self.session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Logs out (the token then asks for its PIN again).
    pub fn logout(&self) -> Result<(), TokenError> {
        match self.session.logout() {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the session is logged in; `Removed` if the token is gone.
    pub fn logged_in(&self) -> Result<bool, TokenError> {
        let state = self.session.get_session_info()?.session_state();
        Ok(matches!(
            state,
            SessionState::RwUser | SessionState::RoUser | SessionState::RwSecurityOfficer
        ))
    }

    /// The Ed25519 key pairs on the token (their public halves are readable
    /// without the PIN).
    pub fn keys(&self) -> Result<Vec<TokenKey>, TokenError> {
        let found = self.session.find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
        ])?;
        let mut out = Vec::new();
        for handle in found {
            if let Some(key) = self.read_public(handle)? {
                out.push(key);
            }
        }
        Ok(out)
    }

    fn read_public(&self, handle: ObjectHandle) -> Result<Option<TokenKey>, TokenError> {
        let attrs = self.session.get_attributes(
            handle,
            &[
                AttributeType::EcParams,
                AttributeType::EcPoint,
                AttributeType::Label,
                AttributeType::Id,
            ],
        )?;
        let (mut params, mut point, mut label, mut id) = (None, None, String::new(), Vec::new());
        for a in attrs {
            match a {
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                Attribute::Label(l) => String::from_utf8_lossy(&l).trim().clone_into(&mut label),
                Attribute::Id(i) => id = i,
                _ => {}
            }
        }
        let is_ed25519 = params
            .as_deref()
            .is_some_and(|p| p == ED25519_OID || p == ED25519_NAME);
        let Some(raw) = point.as_deref().filter(|_| is_ed25519).and_then(ec_point) else {
            return Ok(None);
        };
        let Ok(public_key) = PublicKey::parse_registrable(raw) else {
            return Ok(None);
        };
        Ok(Some(TokenKey {
            label,
            public_key,
            id,
        }))
    }

    /// The key pair whose public key has id `key`.
    pub fn find(&self, key: &KeyId) -> Result<TokenKey, TokenError> {
        self.keys()?
            .into_iter()
            .find(|k| k.public_key.key_id() == *key)
            .ok_or_else(|| TokenError::KeyNotFound(key.fingerprint()))
    }

    /// Makes a new Ed25519 key pair on the token (needs the PIN): the
    /// private half is sensitive and never extractable.
    pub fn generate(&self, label: &str) -> Result<TokenKey, TokenError> {
        let mut id = vec![0u8; 16];
        rand_core::OsRng.fill_bytes(&mut id);
        let label = label.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(ED25519_OID.to_vec()),
            Attribute::Label(label.clone()),
            Attribute::Id(id.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label),
            Attribute::Id(id),
        ];
        let (pub_handle, _) =
            self.session
                .generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)?;
        self.read_public(pub_handle)?.ok_or(TokenError::Unsupported)
    }

    /// Signs `msg` with the private half of `key` (pure Ed25519), and checks
    /// the signature with the public half before returning it.
    pub fn sign(&self, key: &TokenKey, msg: &[u8]) -> Result<Signature, TokenError> {
        let private = self
            .session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(KeyType::EC_EDWARDS),
                Attribute::Id(key.id.clone()),
            ])?
            .into_iter()
            .next();
        let Some(private) = private else {
            // Private objects are invisible before login.
            return Err(if self.logged_in()? {
                TokenError::KeyNotFound(key.public_key.key_id().fingerprint())
            } else {
                TokenError::PinRequired
            });
        };
        let raw = self.session.sign(&eddsa(), private, msg)?;
        let bytes: [u8; 64] = raw
            .as_slice()
            .try_into()
            .map_err(|_| TokenError::Failed(format!("a {}-byte signature", raw.len())))?;
        let sig = Signature::from_bytes(bytes);
        key.public_key
            .verify(msg, &sig)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(sig)
    }
}

/// The 32 key bytes of a `CKA_EC_POINT`: a DER OCTET STRING (`04 20 ‖ key`,
/// as PKCS#11 3.0 says) or, on some tokens, the raw 32 bytes.
fn ec_point(p: &[u8]) -> Option<[u8; 32]> {
    match p {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        raw if raw.len() == 32 => raw.try_into().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_points_in_both_forms() {
        let key = [7u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&key);
        assert_eq!(ec_point(&der), Some(key));
        assert_eq!(ec_point(&key), Some(key));
        assert_eq!(ec_point(&der[..33]), None);
        assert_eq!(ec_point(&[0x04, 0x21, 0]), None);
    }

    #[test]
    fn pkcs11_errors_map_to_codes() {
        let code =
            |rv| TokenError::from(CkError::Pkcs11(rv, cryptoki::context::Function::Login)).code();
        assert_eq!(code(RvError::PinIncorrect), "token.pin_incorrect");
        assert_eq!(code(RvError::PinLocked), "token.pin_locked");
        assert_eq!(code(RvError::UserNotLoggedIn), "token.pin_required");
        assert_eq!(code(RvError::CryptokiNotInitialized), "token.removed");
        assert_eq!(code(RvError::DeviceRemoved), "token.removed");
        assert_eq!(code(RvError::MechanismInvalid), "token.unsupported");
        assert_eq!(code(RvError::GeneralError), "token.failed");
    }

    #[test]
    fn a_token_is_named_by_label_or_serial() {
        let t = TokenInfo {
            label: "GovKey".into(),
            serial: "2f70".into(),
            manufacturer: String::new(),
            model: String::new(),
            protected_path: false,
        };
        assert!(t.matches("GovKey") && t.matches(" 2f70 "));
        assert!(!t.matches("") && !t.matches("Gov"));
    }
}

/// A key on a token as a ledger [`Signer`], for a node or an admin whose
/// key lives on a token: the session is logged in once, at start, and
/// serves one signature at a time.
#[derive(Debug)]
pub struct TokenSigner {
    token: std::sync::Mutex<Token>,
    key: TokenKey,
}

impl TokenSigner {
    /// Opens `token` (label or serial) in `module`, logs in with `pin` and
    /// finds the key labelled `key_label`.
    pub fn open(
        module: &Path,
        token: &str,
        key_label: &str,
        pin: &str,
    ) -> Result<Self, TokenError> {
        let token = Module::load(module)?.open(token)?;
        token.login(pin)?;
        let key = token
            .keys()?
            .into_iter()
            .find(|k| k.label == key_label)
            .ok_or_else(|| TokenError::KeyNotFound(format!("labelled '{key_label}'")))?;
        Ok(Self {
            token: std::sync::Mutex::new(token),
            key,
        })
    }

    pub fn key(&self) -> &TokenKey {
        &self.key
    }
}

impl Signer for TokenSigner {
    fn public_key(&self) -> PublicKey {
        self.key.public_key
    }

    fn try_sign(&self, msg: &[u8]) -> Result<Signature, SignerError> {
        let token = self.token.lock().map_err(|_| SignerError {
            code: "token.failed",
            message: "the token's session lock is poisoned".into(),
        })?;
        token.sign(&self.key, msg).map_err(|e| SignerError {
            code: e.code(),
            message: e.to_string(),
        })
    }
}
