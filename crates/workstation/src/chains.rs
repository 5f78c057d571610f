//! Where each chain's data lives, which chain is active, and the managed
//! configuration (`GOVCHAIN_NODES`, `workstation.toml`).
//!
//! Every chain has its own cache: `DATA_DIR/chains/<id>/cache.sqlite`, where
//! `<id>` is `demo` for the embedded demo chain and
//! `<chain_id>-<first 16 hex digits of the genesis hash>` for a real one
//! (`nodes-<hash of the URLs>` while the nodes never said which chain they
//! serve). `DATA_DIR/chains.json` remembers the known chains, their node
//! URLs and the active one. The key in the keychain is shared; roles come
//! from each chain's verified state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::WsError;

/// The embedded demo chain's id in the chains layout.
pub const DEMO: &str = "demo";

/// The managed configuration file every workstation of a machine reads.
pub const SYSTEM_CONFIG: &str = "/etc/govchain/workstation.toml";

/// A chain this workstation knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEntry {
    /// Its directory under `DATA_DIR/chains/`.
    pub id: String,
    /// Empty while unknown (nodes that never said).
    #[serde(default)]
    pub chain_id: String,
    #[serde(default)]
    pub genesis_hash: String,
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// `DATA_DIR/chains.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainsFile {
    pub active: Option<String>,
    #[serde(default)]
    pub chains: Vec<ChainEntry>,
    /// The TLS certificates the official pinned, by node URL: the SHA-256
    /// fingerprint (64 lowercase hex digits) of the certificate accepted
    /// from that node, instead of the OS trust store.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pinned_cert_sha256: BTreeMap<String, String>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> WsError {
    WsError::Storage(format!("{}: {e}", path.display()))
}

impl ChainsFile {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("chains.json")
    }

    /// The file, or an empty one on a fresh data directory.
    pub fn load(data_dir: &Path) -> Result<Self, WsError> {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn save(&self, data_dir: &Path) -> Result<(), WsError> {
        std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
        let path = Self::path(data_dir);
        let tmp = data_dir.join("chains.json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| io(&path, e))?;
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    pub fn get(&self, id: &str) -> Option<&ChainEntry> {
        self.chains.iter().find(|c| c.id == id)
    }

    /// Adds `entry`, or updates the known chain of the same id (an empty
    /// node list or identity keeps the one known).
    pub fn upsert(&mut self, entry: ChainEntry) {
        if let Some(c) = self.chains.iter_mut().find(|c| c.id == entry.id) {
            if !entry.nodes.is_empty() {
                c.nodes = entry.nodes;
            }
            if !entry.chain_id.is_empty() {
                c.chain_id = entry.chain_id;
                c.genesis_hash = entry.genesis_hash;
            }
        } else {
            self.chains.push(entry);
        }
    }
}

/// The directory name of a real chain.
pub fn chain_dir(chain_id: &str, genesis_hash: &str) -> String {
    let short: String = genesis_hash.chars().take(16).collect();
    format!("{chain_id}-{short}")
}

/// The directory name of nodes that did not say which chain they serve.
pub fn nodes_dir(urls: &[String]) -> String {
    let h = govchain_ledger::types::Hash32::sha256(urls.join("\n").as_bytes()).to_hex();
    format!("nodes-{}", &h[..16])
}

/// Whether `id` is a safe directory name of the layout.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 96
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub fn cache_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("chains").join(id).join("cache.sqlite")
}

/// The managed settings of an install: node URLs and, optionally, the pin
/// and the witness quorum. Keys of `workstation.toml`: `nodes`, `chain_id`,
/// `genesis_hash`, `witness_quorum`, and the table `pinned_cert_sha256`
/// (node URL = the SHA-256 fingerprint of its TLS certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Managed {
    #[serde(default)]
    pub nodes: Vec<String>,
    pub chain_id: Option<String>,
    pub genesis_hash: Option<String>,
    pub witness_quorum: Option<u32>,
    #[serde(default)]
    pub pinned_cert_sha256: BTreeMap<String, String>,
}

impl Managed {
    /// Parses a `workstation.toml`.
    pub fn parse(text: &str) -> Result<Self, WsError> {
        toml::from_str(text).map_err(|e| WsError::BadRequest(format!("workstation.toml: {e}")))
    }

    /// Parses `GOVCHAIN_NODES`: comma-separated URLs.
    pub fn parse_nodes(value: &str) -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches('/').to_owned())
            .collect()
    }

    /// Later settings override earlier ones, key by key.
    #[must_use]
    pub fn merge(mut self, over: Self) -> Self {
        if !over.nodes.is_empty() {
            self.nodes = over.nodes;
        }
        self.chain_id = over.chain_id.or(self.chain_id);
        self.genesis_hash = over.genesis_hash.or(self.genesis_hash);
        self.witness_quorum = over.witness_quorum.or(self.witness_quorum);
        self.pinned_cert_sha256.extend(over.pinned_cert_sha256);
        self
    }

    /// The files (missing ones skipped, later ones override) and then
    /// `nodes_env` (the value of `GOVCHAIN_NODES`), which overrides them.
    pub fn load(files: &[PathBuf], nodes_env: Option<&str>) -> Result<Self, WsError> {
        let mut m = Self::default();
        for f in files {
            match std::fs::read_to_string(f) {
                Ok(text) => {
                    m = m.merge(
                        Self::parse(&text)
                            .map_err(|e| WsError::BadRequest(format!("{}: {e}", f.display())))?,
                    );
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(f, e)),
            }
        }
        if let Some(v) = nodes_env {
            let nodes = Self::parse_nodes(v);
            if !nodes.is_empty() {
                m.nodes = nodes;
            }
        }
        m.genesis_hash = m.genesis_hash.map(|g| g.trim().to_ascii_lowercase());
        m.check()?;
        Ok(m)
    }

    /// What the app reads: `/etc/govchain/workstation.toml`, then
    /// `DATA_DIR/workstation.toml`, then `GOVCHAIN_NODES`.
    pub fn from_system(data_dir: &Path) -> Result<Self, WsError> {
        let env = std::env::var("GOVCHAIN_NODES").ok();
        Self::load(
            &[
                PathBuf::from(SYSTEM_CONFIG),
                data_dir.join("workstation.toml"),
            ],
            env.as_deref(),
        )
    }

    fn check(&self) -> Result<(), WsError> {
        for u in &self.nodes {
            check_url(u)?;
        }
        for (u, pin) in &self.pinned_cert_sha256 {
            check_url(u)?;
            crate::trust::parse_pin(pin)
                .map_err(|e| WsError::BadRequest(format!("managed settings: {u}: {e}")))?;
        }
        if self.chain_id.is_some() != self.genesis_hash.is_some() {
            return Err(WsError::BadRequest(
                "managed settings: chain_id and genesis_hash go together".into(),
            ));
        }
        if let Some(c) = &self.chain_id {
            c.parse::<govchain_ledger::types::ChainId>()
                .map_err(|e| WsError::BadRequest(format!("managed settings: chain_id: {e}")))?;
        }
        if let Some(g) = &self.genesis_hash {
            govchain_ledger::types::Hash32::from_hex(g)
                .map_err(|e| WsError::BadRequest(format!("managed settings: genesis_hash: {e}")))?;
        }
        Ok(())
    }

    /// The pinned chain the settings name, if any.
    pub fn pin(&self) -> Option<(String, String)> {
        self.chain_id.clone().zip(self.genesis_hash.clone())
    }
}

pub fn check_url(u: &str) -> Result<(), WsError> {
    if u.starts_with("http://") || u.starts_with("https://") {
        Ok(())
    } else {
        Err(WsError::BadRequest(format!("{u} is not an http(s) URL")))
    }
}

/// The pinned certificates: the managed settings', then the official's own
/// (which win: a renewed certificate is trusted by pinning it again).
/// Entries that do not parse are skipped.
pub fn cert_pins(
    managed: &Managed,
    file: &ChainsFile,
) -> BTreeMap<String, govchain_node::tls::CertSha256> {
    managed
        .pinned_cert_sha256
        .iter()
        .chain(&file.pinned_cert_sha256)
        .filter_map(|(u, p)| {
            let pin = govchain_node::tls::CertSha256::parse(p).ok()?;
            Some((u.trim_end_matches('/').to_owned(), pin))
        })
        .collect()
}
