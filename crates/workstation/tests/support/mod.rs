//! Helpers shared by the workstation's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use govchain_workstation::Workstation;

/// Whether a Secret Service runs (`scripts/with-keyring.sh` sets
/// `GOVCHAIN_KEYRING`); without one a test says so and passes vacuously.
pub fn keyring_available() -> bool {
    if std::env::var_os("GOVCHAIN_KEYRING").is_some() {
        return true;
    }
    eprintln!("skipped: needs a Secret Service; run under scripts/with-keyring.sh");
    false
}

/// A fresh directory `govchain-<name>-<pid>` under the temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("govchain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A workstation on `dir` whose events go nowhere.
pub fn open_quiet(dir: &Path, service: &str) -> Workstation {
    Workstation::open(dir, service, Arc::new(|_| {})).unwrap()
}

/// Flushes and syncs until outbox item `id` is committed; its height.
pub async fn until_committed(ws: &Workstation, id: &str) -> u64 {
    for _ in 0..200 {
        ws.flush_outbox().await.unwrap();
        ws.sync().await.unwrap();
        let item = ws
            .outbox()
            .unwrap()
            .into_iter()
            .find(|o| o.id == id)
            .unwrap();
        match item.status.as_str() {
            "committed" => return item.height.unwrap(),
            "rejected" => panic!("rejected: {item:?}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("{id} not committed");
}
