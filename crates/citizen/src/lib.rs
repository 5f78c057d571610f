//! The citizen's signer (PROTOCOL.md §12.10): the citizen's own Ed25519 key
//! in the OS keychain, and the few steps a citizen takes with it — show the
//! public key to the centre that issues a certificate, read a consent
//! request a department hands over (a file, a pasted line or a QR code's
//! text), show in plain words what it grants or revokes, and sign it.
//!
//! Only `consent.grant` and `consent.revoke` are ever signed: a request for
//! anything else, for another key, or with names holding control or
//! direction characters, is refused before anything is signed. The key
//! leaves the keychain only into zeroizing memory.
#![forbid(unsafe_code)]

use std::io::Read as _;

use govchain_ledger::citizen::{
    answer_text, CitizenError, ConsentAction, ConsentRequest, REQUEST_PREFIX,
};
use govchain_ledger::crypto::{PublicKey, SecretKey};
use govchain_ledger::tx::Envelope;
use govchain_ledger::ErrorCode;
use zeroize::Zeroizing;

/// The keychain entry of the citizen's key.
const ENTRY: &str = "citizen-key";
/// Highest sequence number signed: a citizen signs a handful of consents,
/// and one near the ledger's bound (2^53 − 1) would leave the key unable to
/// sign again (PROTOCOL.md §12.10).
pub const MAX_SEQ: u64 = 1 << 32;

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("no OS keychain is available ({0}); on Linux start a Secret Service provider (gnome-keyring or KeePassXC)")]
    NoKeychain(String),
    #[error("the keychain failed: {0}")]
    Keychain(String),
    #[error("there is no key yet; create it with `govchain-citizen init`")]
    NoKey,
    #[error("a key already exists (fingerprint {0}); `govchain-citizen key` shows it")]
    KeyExists(String),
    #[error("{0}")]
    Io(String),
    #[error("not signed: confirm with y, or pass --yes")]
    NotConfirmed,
    #[error(transparent)]
    Request(#[from] CitizenError),
}

impl ErrorCode for SignerError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoKeychain(_) => "citizen.no_keychain",
            Self::Keychain(_) => "citizen.keychain",
            Self::NoKey => "citizen.no_key",
            Self::KeyExists(_) => "citizen.key_exists",
            Self::Io(_) => "citizen.io",
            Self::NotConfirmed => "citizen.not_confirmed",
            Self::Request(e) => e.code(),
        }
    }
}

fn keychain(e: keyring::Error) -> SignerError {
    match e {
        keyring::Error::NoDefaultStore | keyring::Error::NoStorageAccess(_) => {
            SignerError::NoKeychain(e.to_string())
        }
        other => SignerError::Keychain(other.to_string()),
    }
}

/// The citizen's key in the OS keychain under `service`.
#[derive(Debug, Clone)]
pub struct Keystore {
    service: String,
}

impl Keystore {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, SignerError> {
        keyring::Entry::store_status()
            .as_ref()
            .map_err(|e| SignerError::NoKeychain(e.to_string()))?;
        keyring::Entry::new(&self.service, ENTRY).map_err(keychain)
    }

    fn load(&self) -> Result<SecretKey, SignerError> {
        let bytes = Zeroizing::new(self.entry()?.get_secret().map_err(|e| match e {
            keyring::Error::NoEntry => SignerError::NoKey,
            other => keychain(other),
        })?);
        let mut seed = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(SignerError::Keychain(
                "the stored key is not 32 bytes".into(),
            ));
        }
        seed.copy_from_slice(&bytes);
        Ok(SecretKey::from_seed(&seed))
    }

    /// Creates the key (refused if one exists: a citizen's certificates
    /// name it).
    pub fn create(&self) -> Result<PublicKey, SignerError> {
        match self.public_key() {
            Ok(pk) => return Err(SignerError::KeyExists(pk.key_id().fingerprint())),
            Err(SignerError::NoKey) => {}
            Err(e) => return Err(e),
        }
        let key = SecretKey::generate(&mut rand_core::OsRng);
        self.entry()?
            .set_secret(key.to_seed().as_slice())
            .map_err(keychain)?;
        Ok(key.public_key())
    }

    pub fn public_key(&self) -> Result<PublicKey, SignerError> {
        Ok(self.load()?.public_key())
    }

    /// Signs the body `request` asks for, after checking that it is a
    /// consent for this key.
    pub fn sign(&self, request: &ConsentRequest) -> Result<Envelope, SignerError> {
        let key = self.load()?;
        request.check_key(&key.public_key())?;
        Envelope::sign(&key, request.body.clone())
            .map_err(|e| SignerError::Request(CitizenError::Malformed(e.to_string())))
    }
}

/// The answer to hand back: `GCA1:…`.
pub fn answer(env: &Envelope) -> Result<String, SignerError> {
    Ok(answer_text(env)?)
}

/// The text of a request given as `arg`: `-` reads standard input, text
/// starting with `GCR1:` or `{` is the request itself, anything else names
/// a file.
pub fn read_request(arg: &str) -> Result<ConsentRequest, SignerError> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(govchain_ledger::citizen::MAX_TEXT as u64 + 1)
            .read_to_string(&mut s)
            .map_err(|e| SignerError::Io(format!("standard input: {e}")))?;
        s
    } else if arg.trim_start().starts_with(REQUEST_PREFIX) || arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).map_err(|e| SignerError::Io(format!("{arg}: {e}")))?
    };
    let r = ConsentRequest::from_text(&text)?;
    if r.body.seq > MAX_SEQ {
        return Err(CitizenError::Malformed(format!(
            "sequence number {} is implausibly high (over {MAX_SEQ}); signing it would use up this key's numbers",
            r.body.seq
        ))
        .into());
    }
    Ok(r)
}

/// The language of what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `en…` in `LC_ALL` / `LANG` is English; anything else Chinese.
    pub fn from_env() -> Self {
        let v = std::env::var("LC_ALL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| std::env::var("LANG").ok())
            .unwrap_or_default();
        if v.starts_with("en") {
            Self::En
        } else {
            Self::Zh
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}

/// What `request` asks, in plain words, from the signed body itself; the
/// requesting department's own words (names) are marked as such.
pub fn describe(request: &ConsentRequest, lang: Lang) -> Result<String, SignerError> {
    let t = |zh, en| lang.pick(zh, en);
    let b = &request.body;
    let c = &request.context;
    let tx_id = b.id().map_err(|e| CitizenError::Malformed(e.to_string()))?;
    let mut out = Vec::new();
    match request.action()? {
        ConsentAction::Grant(g) => {
            out.push(format!(
                "{} (consent.grant)",
                t(
                    "授权请求：允许一个部门核验您的证明",
                    "Consent request: let a department verify your certificate"
                )
            ));
            out.push(format!(
                "  {}: {} · {} · {} {}",
                t("证明", "Certificate"),
                g.cert_id,
                c.cert_type,
                t("出具方", "issued by"),
                c.issuer
            ));
            let name = c.grantee_name.as_deref().unwrap_or("");
            out.push(format!(
                "  {}: {} ({} {})",
                t("授权给", "Granted to"),
                name,
                t("部门编号", "department id"),
                g.grantee
            ));
            out.push(format!("  {}: {}", t("用途", "Purpose"), g.purpose));
            out.push(format!("  {}: {}", t("有效至", "Valid until"), g.until));
            out.push(format!(
                "  {}: {}",
                t("授权编号", "Consent id"),
                g.consent_id
            ));
        }
        ConsentAction::Revoke(r) => {
            out.push(format!(
                "{} (consent.revoke)",
                t(
                    "撤销授权请求：收回您此前的授权",
                    "Revocation request: withdraw a consent you gave"
                )
            ));
            out.push(format!(
                "  {}: {} · {} · {} {}",
                t("证明类型", "Certificate type"),
                c.cert_type,
                t("出具方", "issued by"),
                c.issuer,
                "",
            ));
            out.push(format!(
                "  {}: {}",
                t("撤销的授权编号", "Consent revoked"),
                r.consent_id
            ));
        }
    }
    out.push(format!(
        "  {}: {}",
        t("请求方（其自述）", "Asked by (in its own words)"),
        c.requested_by
    ));
    out.push(format!(
        "  {}: {} · {} {}",
        t("链", "Chain"),
        b.chain_id,
        t("序号", "seq"),
        b.seq
    ));
    out.push(format!("  {}: {}", t("交易编号", "Transaction id"), tx_id));
    out.push(format!(
        "  {}: {}",
        t("签名密钥", "Signing key"),
        b.signer.fingerprint()
    ));
    Ok(out.join("\n"))
}
