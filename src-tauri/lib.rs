//! govchain workstation (the Tauri 2 desktop app).
//!
//! Owns the application shell: window set-up and start-up. Later modules add
//! the keychain, local signing, the offline cache, sync and the embedded node;
//! the protocol itself lives in `govchain-ledger`.

use std::process::ExitCode;

/// Builds the Tauri application (shared by [`run`] and tests).
pub fn builder() -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
}

/// Starts the desktop app and blocks until its last window closes.
pub fn run() -> ExitCode {
    match builder().run(tauri::generate_context!()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govchain: could not start the desktop app: {e}");
            ExitCode::FAILURE
        }
    }
}
