//! Registration requests: the file a workstation's Settings makes for its
//! active key (`{"kind":"official.register","payload":{…},"key_storage":…}`,
//! PROTOCOL.md §18), read by `register-official --request` and
//! `grant-role --official @FILE`.

use std::path::Path;

use govchain_ledger::registration::RegistrationRequest;
use govchain_ledger::state::kinds::RegisterOfficial;

use super::error::CliError;

/// A registration request and where it says its key lives (`key_storage`:
/// the OS keychain or a PKCS#11 token, PROTOCOL.md §16.5), in words.
pub(super) fn read_with_storage(
    path: &Path,
) -> Result<(RegisterOfficial, Option<String>), CliError> {
    let bad = |detail: String| CliError::Input(format!("{}: {detail}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let r = RegistrationRequest::from_text(&text).map_err(|e| bad(e.to_string()))?;
    Ok((r.official, r.key_storage.describe()))
}

/// Reads a registration request file (what the workstation's Settings
/// produces).
pub(super) fn read(path: &Path) -> Result<RegisterOfficial, CliError> {
    Ok(read_with_storage(path)?.0)
}
