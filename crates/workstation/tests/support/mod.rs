//! Helpers shared by the workstation's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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

/// Everything logged (at TRACE, by every crate) while a test binary runs.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the log capture once per test binary and returns it.
pub fn capture_logs() -> Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
    .clone()
}

/// The bytes of every file below `dir` (directories in `skip` aside) and
/// how many files there were: what a secret search looks through.
pub fn files_below(dir: &Path, skip: &[PathBuf]) -> (Vec<u8>, usize) {
    let (mut bytes, mut files) = (Vec::new(), 0);
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if skip.contains(&p) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                bytes.extend(std::fs::read(&p).unwrap());
            }
        }
    }
    (bytes, files)
}

/// A test key from a label.
pub fn key(label: &str) -> govchain_ledger::crypto::SecretKey {
    govchain_ledger::crypto::SecretKey::from_seed(&zeroize::Zeroizing::new(
        govchain_ledger::types::Hash32::sha256(label.as_bytes()).0,
    ))
}

/// `official.register` of official `o<seq>` in department `d0`, signed by
/// its admin (`key("admin d0")`) with sequence number `seq`.
pub fn register(
    chain: &govchain_ledger::types::ChainId,
    seq: u64,
) -> govchain_ledger::tx::Envelope {
    let admin = key("admin d0");
    let official = key(&format!("official {seq}"));
    govchain_ledger::tx::Envelope::sign(
        &admin,
        govchain_ledger::tx::TxBody {
            chain_id: chain.clone(),
            signer: admin.key_id(),
            seq,
            kind: "official.register".into(),
            payload: serde_json::json!({"department": "d0", "name": format!("o{seq}"),
                                        "public_key": official.public_key()}),
            created_at: govchain_node::api::now(),
        },
    )
    .unwrap()
}
