//! The witness: another department's node follows a log's checkpoints and
//! cosigns them (C2SP `cosignature/v1`, PROTOCOL.md §8.7). Before it cosigns
//! a checkpoint it checks the log's signature and that the checkpoint extends
//! the last one it cosigned (an RFC 9162 consistency proof from the log), and
//! it records the new one durably first. So it never cosigns two histories:
//! a log that forks, rolls back or shows different clients different trees
//! is refused here (`witness.split_view`, `witness.rollback`), and a client
//! that requires k cosignatures from distinct departments cannot be shown a
//! history that k witnesses did not see as one append-only log.
//!
//! Every checkpoint of a govchain node carries a `state` line (the block
//! closing the log at that size and its state root, §8.3), which the
//! cosignature covers. A witness that runs inside a department's node (the
//! cluster's members witness each other) cosigns a state line only once its
//! own node has verified that block, with the same log and state roots
//! ([`Witness::with_own_chain`]): a quorum of such cosignatures means that
//! many departments re-executed the block and reached the same state. A
//! witness without a chain of its own (`govchain-node witness`) still refuses
//! to cosign two state lines for one size.
//!
//! The first checkpoint a witness sees is trusted as the start (trust on
//! first use); the state file keeps the latest cosigned size, root and state
//! line.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use govchain_ledger::merkle::{self, ConsistencyProof};
use govchain_ledger::note::{self, Checkpoint, NoteKey, SignedNote, StateLine};
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode;

/// What a witness follows and how it signs.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// The log node's base URL (`http://host:port`).
    pub log_url: String,
    /// The checkpoints' origin line.
    pub origin: String,
    /// The log's note key (its node key, under the name its checkpoints use).
    pub log_key: NoteKey,
    /// The name this witness's cosignatures carry.
    pub name: String,
    /// Where the last cosigned size and root are kept.
    pub state_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("the log cannot be reached: {0}")]
    Unreachable(String),
    #[error("the log's checkpoint does not verify: {0}")]
    BadCheckpoint(String),
    #[error("the log went back from size {had} to {got}")]
    Rollback { had: u64, got: u64 },
    #[error("the log shows another history: {0}")]
    SplitView(String),
    #[error("the witness state file {path}: {reason}")]
    State { path: String, reason: String },
    #[error("the log refused the cosignature: {0}")]
    Refused(String),
    #[error("this node has not verified block {0} yet")]
    Behind(u64),
}

impl ErrorCode for WitnessError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "witness.unreachable",
            Self::BadCheckpoint(_) => "witness.bad_checkpoint",
            Self::Rollback { .. } => "witness.rollback",
            Self::SplitView(_) => "witness.split_view",
            Self::State { .. } => "witness.state",
            Self::Refused(_) => "witness.refused",
            Self::Behind(_) => "witness.behind",
        }
    }
}

impl WitnessError {
    /// Whether the log misbehaved (the witness must stop cosigning it),
    /// rather than a passing failure worth retrying.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Self::Rollback { .. } | Self::SplitView(_))
    }
}

/// A checkpoint this witness cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub size: u64,
    pub root: Hash32,
    /// How many cosignatures the log now shows on it.
    pub cosignatures: u64,
}

/// What the witness's own node verified at a height: the block's
/// `log_size`, `log_root` and `state_root` (`None`: not yet).
pub type OwnChain =
    std::sync::Arc<dyn Fn(u64) -> Result<Option<(u64, Hash32, Hash32)>, String> + Send + Sync>;

/// The last checkpoint cosigned: size, root and state line.
type Last = (u64, Hash32, Option<StateLine>);

pub struct Witness {
    cfg: WitnessConfig,
    key: crate::NodeKey,
    last: Option<Last>,
    http: reqwest::Client,
    own_chain: Option<OwnChain>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("cfg", &self.cfg)
            .field("last", &self.last)
            .field("own_chain", &self.own_chain.is_some())
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness signing with `key` (its department's node key), resuming
    /// from its state file if there is one.
    pub fn open(
        cfg: WitnessConfig,
        key: impl govchain_ledger::crypto::Signer + 'static,
    ) -> Result<Self, WitnessError> {
        let last = read_state(&cfg.state_file)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        Ok(Self {
            cfg,
            key: std::sync::Arc::new(key),
            last,
            http,
            own_chain: None,
        })
    }

    /// Cosigns a checkpoint only once this witness's own node has verified
    /// the block its state line names, with the same log size, log root and
    /// state root (a difference is evidence, `witness.split_view`).
    #[must_use]
    pub fn with_own_chain(mut self, own_chain: OwnChain) -> Self {
        self.own_chain = Some(own_chain);
        self
    }

    /// Reaches the log with `http` (e.g. a client pinning the log's TLS
    /// certificate and presenting this node's, inside a cluster).
    #[must_use]
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The last checkpoint cosigned: size and root.
    pub fn last(&self) -> Option<(u64, Hash32)> {
        self.last.map(|(size, root, _)| (size, root))
    }

    /// Picks a checkpoint, checks it against the last one cosigned, records
    /// it and cosigns it at POSIX time `now_secs`. It joins the newest
    /// checkpoint another witness already cosigned if that is newer than its
    /// own last one, and otherwise takes the latest: so witnesses that poll
    /// at different moments still gather on common checkpoints.
    pub async fn step(&mut self, now_secs: u64) -> Result<Cosigned, WitnessError> {
        let joined = match self.get_opt("/v1/checkpoint?cosigned=1").await? {
            Some(text) if self.worth_joining(&text) => Some(text),
            _ => None,
        };
        let text = match joined {
            Some(text) => text,
            None => self.get("/v1/checkpoint").await?,
        };
        let cp = self.verify(&text)?;
        let (size, root) = (cp.size, cp.root);
        let line = cp
            .state_line()
            .map_err(|e| WitnessError::BadCheckpoint(e.to_string()))?;
        self.check_own_chain(size, &root, line.as_ref())?;
        if let Some((had, had_root, had_line)) = self.last {
            if size < had {
                return Err(WitnessError::Rollback { had, got: size });
            }
            if size == had && root != had_root {
                return Err(WitnessError::SplitView(format!(
                    "two roots for size {size}"
                )));
            }
            if size == had && had_line.is_some() && line != had_line {
                return Err(WitnessError::SplitView(format!(
                    "two state lines for size {size}"
                )));
            }
            if size > had {
                let body = self
                    .get(&format!("/v1/proof/consistency?size1={had}&size2={size}"))
                    .await?;
                let proof = ConsistencyProof::from_json(body.as_bytes())
                    .map_err(|e| WitnessError::SplitView(format!("no consistency proof: {e}")))?;
                if (proof.size1, proof.size2) != (had, size) {
                    return Err(WitnessError::SplitView("a proof for other sizes".into()));
                }
                merkle::verify_consistency(had, size, &proof.path, &had_root.0, &root.0).map_err(
                    |e| {
                        WitnessError::SplitView(format!(
                            "size {size} does not extend the cosigned size {had}: {e}"
                        ))
                    },
                )?;
            }
        }
        // Durable before the cosignature leaves: a restarted witness never
        // cosigns an older or different history.
        write_state(&self.cfg.state_file, size, &root, line.as_ref())?;
        self.last = Some((size, root, line));
        let parsed =
            SignedNote::parse(&text).map_err(|e| WitnessError::BadCheckpoint(e.to_string()))?;
        let line = note::cosign_note(&parsed.text, &self.cfg.name, &self.key, now_secs)
            .map_err(|e| WitnessError::BadCheckpoint(e.to_string()))?;
        let cosigned = SignedNote {
            text: parsed.text,
            signatures: vec![line],
        };
        let r = self
            .http
            .post(format!("{}/v1/checkpoint/cosignatures", self.cfg.log_url))
            .header("content-type", "text/plain; charset=utf-8")
            .body(cosigned.to_string())
            .send()
            .await
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        let ok = r.status().is_success();
        let answer: serde_json::Value = r
            .json()
            .await
            .map_err(|e| WitnessError::Refused(e.to_string()))?;
        if !ok {
            return Err(WitnessError::Refused(answer.to_string()));
        }
        Ok(Cosigned {
            size,
            root,
            cosignatures: answer["cosignatures"].as_u64().unwrap_or(0),
        })
    }

    /// The checkpoint, if the log signed it.
    fn verify(&self, text: &str) -> Result<Checkpoint, WitnessError> {
        let v = note::verify_checkpoint(text, &self.cfg.origin, &self.cfg.log_key, &[], 0)
            .map_err(|e| WitnessError::BadCheckpoint(format!("{e} ({})", e.code())))?;
        Ok(v.checkpoint)
    }

    /// With a chain of its own: the checkpoint's state line names a block
    /// this node verified, and its log and state roots are that block's.
    fn check_own_chain(
        &self,
        size: u64,
        root: &Hash32,
        line: Option<&StateLine>,
    ) -> Result<(), WitnessError> {
        let Some(own) = &self.own_chain else {
            return Ok(());
        };
        let line = line.ok_or_else(|| {
            WitnessError::BadCheckpoint("no state line: the state root is not named".into())
        })?;
        let (log_size, log_root, state_root) = own(line.height)
            .map_err(|e| WitnessError::State {
                path: "the node's own chain".into(),
                reason: e,
            })?
            .ok_or(WitnessError::Behind(line.height))?;
        if (log_size, log_root) != (size, *root) {
            return Err(WitnessError::SplitView(format!(
                "block {} closes the log at size {log_size} here, the checkpoint says {size} with another root",
                line.height
            )));
        }
        if state_root != line.state_root {
            return Err(WitnessError::SplitView(format!(
                "block {}: this node computed state root {state_root}, the log signed {}",
                line.height, line.state_root
            )));
        }
        Ok(())
    }

    /// Whether `text` is a checkpoint newer than the last one cosigned here
    /// that carries another witness's cosignature.
    fn worth_joining(&self, text: &str) -> bool {
        let (Ok(cp), Ok(parsed)) = (self.verify(text), SignedNote::parse(text)) else {
            return false;
        };
        let size = cp.size;
        let mine = NoteKey::new(
            &self.cfg.name,
            note::ALG_COSIGNATURE_V1,
            self.key.public_key(),
        )
        .ok();
        let is = |k: &NoteKey, s: &note::NoteSignature| s.name == k.name && s.key_id == k.key_id();
        let other = parsed
            .signatures
            .iter()
            .any(|s| !is(&self.cfg.log_key, s) && mine.as_ref().is_none_or(|k| !is(k, s)));
        other && self.last.is_none_or(|(had, _, _)| size > had)
    }

    async fn get(&self, path: &str) -> Result<String, WitnessError> {
        self.get_opt(path)
            .await?
            .ok_or_else(|| WitnessError::Unreachable(format!("{path}: not found")))
    }

    /// `None` for a 404.
    async fn get_opt(&self, path: &str) -> Result<Option<String>, WitnessError> {
        let r = self
            .http
            .get(format!("{}{path}", self.cfg.log_url))
            .send()
            .await
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        let status = r.status();
        let body = r
            .text()
            .await
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(WitnessError::Unreachable(format!(
                "{path}: {status} {body}"
            )));
        }
        Ok(Some(body))
    }

    /// Cosigns every `interval` until `stop` resolves. Passing failures are
    /// logged and retried; evidence of a misbehaving log ends the loop with
    /// that error (the witness must not go on cosigning it).
    pub async fn run(
        mut self,
        interval: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), WitnessError> {
        tokio::pin!(stop);
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match self.step(now).await {
                Ok(c) => tracing::debug!(size = c.size, "cosigned"),
                Err(e @ WitnessError::Behind(_)) => tracing::debug!("{e}"),
                Err(e) if e.is_evidence() => {
                    tracing::error!(code = e.code(), "{e}");
                    return Err(e);
                }
                Err(e) => tracing::warn!(code = e.code(), "{e}"),
            }
            tokio::select! {
                () = &mut stop => return Ok(()),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}

fn state_error(path: &Path, reason: impl std::fmt::Display) -> WitnessError {
    WitnessError::State {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// `<size> <root hex>[ <height> <state root hex>]\n`, or nothing yet.
fn read_state(path: &Path) -> Result<Option<Last>, WitnessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(state_error(path, e)),
    };
    let bad = || {
        state_error(
            path,
            "expected '<size> <root hex> [<height> <state root hex>]'",
        )
    };
    let parts: Vec<&str> = text.split_whitespace().collect();
    let (size, root, line) = match parts.as_slice() {
        [size, root] => (size, root, None),
        [size, root, height, state] => {
            let line = StateLine {
                height: height.parse().map_err(|_| bad())?,
                state_root: Hash32::from_hex(state).map_err(|_| bad())?,
            };
            (size, root, Some(line))
        }
        _ => return Err(bad()),
    };
    let size = size.parse().map_err(|_| bad())?;
    let root = Hash32::from_hex(root).map_err(|_| bad())?;
    Ok(Some((size, root, line)))
}

/// Replaces the state file atomically and durably (write, fsync, rename,
/// fsync the directory).
fn write_state(
    path: &Path,
    size: u64,
    root: &Hash32,
    line: Option<&StateLine>,
) -> Result<(), WitnessError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| state_error(&tmp, e))?;
    let line = line.map_or_else(String::new, |l| {
        format!(" {} {}", l.height, l.state_root.to_hex())
    });
    writeln!(f, "{size} {}{line}", root.to_hex()).map_err(|e| state_error(&tmp, e))?;
    f.sync_all().map_err(|e| state_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| state_error(path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| state_error(dir, e))?;
    }
    Ok(())
}
