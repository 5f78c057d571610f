//! Officials' keys on a hardware token (PKCS#11): which token holds a key
//! ([`TokenRef`], kept in the cache), and the one open, logged-in session
//! this workstation keeps with a token while its official signs.
//!
//! The PIN is never stored: it crosses from the PIN field to
//! [`TokenSessions::unlock`] and into the module's login call in zeroizing
//! memory. The session logs out after [`IDLE_LOCK`] without a signature, so a
//! workstation left alone asks for the PIN again. A pulled token (its module
//! finalised, its session gone) is reported as `token.removed` and nothing is
//! signed.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use crate::dto::TokenRef;
use crate::error::WsError;
use govchain_ledger::crypto::{KeyId, Signature};
use govchain_ledger::ErrorCode;
use govchain_token::{Module, Token, TokenError};

/// How long an unlocked token stays unlocked without a signature.
pub const IDLE_LOCK: Duration = Duration::from_mins(5);

/// [`IDLE_LOCK`], or `GOVCHAIN_TOKEN_IDLE_SECS` seconds (1 to 3600) where
/// a department sets it.
pub fn idle_lock() -> Duration {
    std::env::var("GOVCHAIN_TOKEN_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map_or(IDLE_LOCK, Duration::from_secs)
}

struct Open {
    module: String,
    serial: String,
    token: Token,
    last_used: Instant,
}

/// The open session with a token, if any.
pub struct TokenSessions {
    open: Mutex<Option<Open>>,
    idle: Duration,
}

impl std::fmt::Debug for TokenSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSessions").finish_non_exhaustive()
    }
}

impl TokenSessions {
    pub fn new(idle: Duration) -> Self {
        Self {
            open: Mutex::new(None),
            idle,
        }
    }

    fn guard(&self) -> Result<MutexGuard<'_, Option<Open>>, WsError> {
        self.open
            .lock()
            .map_err(|_| WsError::Storage("token state poisoned".into()))
    }

    /// The session with `r`'s token, opened if needed; an idle one is logged
    /// out first.
    fn session<'a>(
        &self,
        open: &'a mut Option<Open>,
        r: &TokenRef,
    ) -> Result<&'a mut Open, WsError> {
        if let Some(o) = open.as_ref() {
            if o.module != r.module || o.serial != r.token_serial {
                // One token at a time: the other one is locked.
                let _ = o.token.logout();
                *open = None;
            } else if o.last_used.elapsed() > self.idle {
                let _ = o.token.logout();
            }
        }
        if open.is_none() {
            let module = Module::load(Path::new(&r.module))?;
            let token = module.open(&r.token_serial)?;
            *open = Some(Open {
                module: r.module.clone(),
                serial: r.token_serial.clone(),
                token,
                last_used: Instant::now(),
            });
        }
        open.as_mut()
            .ok_or_else(|| WsError::from(TokenError::Removed))
    }

    /// Logs in to `r`'s token with `pin` (dropped by the caller, zeroized).
    pub fn unlock(&self, r: &TokenRef, pin: &str) -> Result<(), WsError> {
        let mut open = self.guard()?;
        let result = self.session(&mut open, r).and_then(|o| {
            o.token.login(pin)?;
            o.last_used = Instant::now();
            Ok(())
        });
        forget_if_gone(&mut open, result)
    }

    /// Whether `r`'s token is open and logged in (and not idle too long).
    pub fn unlocked(&self, r: &TokenRef) -> bool {
        let Ok(mut open) = self.guard() else {
            return false;
        };
        let fresh = match open.as_ref() {
            Some(o) if o.module == r.module && o.serial == r.token_serial => {
                o.last_used.elapsed() <= self.idle && o.token.logged_in().unwrap_or(false)
            }
            _ => false,
        };
        if !fresh {
            if let Some(o) = open.as_ref() {
                if o.token.logged_in().is_err() {
                    *open = None;
                }
            }
        }
        fresh
    }

    /// Signs `msg` with key `key` on `r`'s token: `token.pin_required` when
    /// the token is locked, `token.removed` when it is gone.
    pub fn sign(&self, r: &TokenRef, key: &KeyId, msg: &[u8]) -> Result<Signature, WsError> {
        let mut open = self.guard()?;
        let result = self.session(&mut open, r).and_then(|o| {
            let k = o.token.find(key)?;
            let sig = o.token.sign(&k, msg)?;
            o.last_used = Instant::now();
            Ok(sig)
        });
        forget_if_gone(&mut open, result)
    }

    /// Runs `f` on `r`'s token session (listing or creating keys).
    pub fn with_token<T>(
        &self,
        r: &TokenRef,
        f: impl FnOnce(&Token) -> Result<T, TokenError>,
    ) -> Result<T, WsError> {
        let mut open = self.guard()?;
        let result = self.session(&mut open, r).and_then(|o| {
            let out = f(&o.token)?;
            o.last_used = Instant::now();
            Ok(out)
        });
        forget_if_gone(&mut open, result)
    }

    /// Logs out and closes the session (the Lock button, and app exit).
    pub fn lock(&self) -> Result<(), WsError> {
        let mut open = self.guard()?;
        if let Some(o) = open.take() {
            let _ = o.token.logout();
        }
        Ok(())
    }
}

/// A session whose token is gone is dropped, so the next use opens afresh.
fn forget_if_gone<T>(open: &mut Option<Open>, r: Result<T, WsError>) -> Result<T, WsError> {
    if let Err(e) = &r {
        if e.code() == "token.removed" {
            *open = None;
        }
    }
    r
}
