//! A SoftHSM2 token in a directory of its own, for tests and for trying
//! hardware keys without hardware: writes a `softhsm2.conf`, points
//! `SOFTHSM2_CONF` at it, and initialises tokens with `softhsm2-util`
//! (Debian's `softhsm2` package, installed by scripts/setup.sh).
//!
//! SoftHSM reads `SOFTHSM2_CONF` when the module is first initialised in a
//! process, so one process uses one such directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{installed_modules, TokenError};

/// A SoftHSM2 token directory.
#[derive(Debug, Clone)]
pub struct SoftHsm {
    pub module: PathBuf,
    pub conf: PathBuf,
}

impl SoftHsm {
    /// Sets up `dir` (made if missing) as SoftHSM's token directory and
    /// points this process's `SOFTHSM2_CONF` at it.
    pub fn in_dir(dir: &Path) -> Result<Self, TokenError> {
        let module = installed_modules()
            .into_iter()
            .find(|p| p.to_string_lossy().contains("softhsm"))
            .ok_or_else(|| TokenError::Module {
                path: "libsofthsm2.so".into(),
                detail: "SoftHSM2 is not installed (Debian package softhsm2; scripts/setup.sh installs it)".into(),
            })?;
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).map_err(io)?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .map_err(io)?;
        // The process's environment is read by the module at initialisation.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        Ok(Self { module, conf })
    }

    /// Initialises a new token `label` with the user PIN `pin` (and an SO
    /// PIN derived from it) in the next free slot.
    pub fn init_token(&self, label: &str, pin: &str) -> Result<(), TokenError> {
        let so_pin = format!("so-{pin}");
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", &so_pin, "--pin", pin])
            .output()
            .map_err(io)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(TokenError::Failed(format!(
                "softhsm2-util --init-token: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(io)`
fn io(e: std::io::Error) -> TokenError {
    TokenError::Failed(e.to_string())
}
