//! Who may send and answer Raft RPCs: the voters, each with its
//! department's node key in the chain's current state. Requests are signed
//! over the chain id, both node ids, the path, a timestamp and the body's
//! SHA-256; replies over the request they answer (PROTOCOL.md §10.2).
//! Every refusal is a [`PeerError`] with a stable code.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use govchain_ledger::crypto::{PublicKey, Signature, SignerError};
use govchain_ledger::state::Department;
use govchain_ledger::types::{ChainId, Hash32};

use super::NodeId;
use crate::handle::NodeHandle;

/// The request header carrying `<from> <to> <unix ms> <signature hex>`.
pub const AUTH_HEADER: &str = "govchain-raft-auth";
/// How far a request's time may be from the receiver's clock.
const MAX_SKEW_MS: u64 = 60_000;

/// Why a peer's Raft request or reply was refused. Each has a stable code
/// and the HTTP status a refused request is answered with.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("missing signature header")]
    MissingHeader,
    #[error("malformed signature header")]
    MalformedHeader,
    #[error("bad sender id")]
    BadSender,
    #[error("bad receiver id")]
    BadReceiver,
    #[error("bad time")]
    BadTime,
    #[error("addressed to node {to}, this is node {me}")]
    Misaddressed { to: NodeId, me: NodeId },
    #[error("request time too far from this node's clock")]
    Skewed,
    #[error("node {0} is not a voting member")]
    NotVoter(NodeId),
    #[error("{0}")]
    BadSignature(String),
    #[error("signature of node {node}: {reason}")]
    ForgedRequest { node: NodeId, reason: String },
    #[error("node {from} sent a message of node {leader}")]
    NotOwnMessage { from: NodeId, leader: NodeId },
    #[error("node {0} has no key on this chain")]
    NoKey(NodeId),
    #[error("unsigned reply")]
    UnsignedReply,
    #[error("malformed reply signature")]
    MalformedReplySignature,
    #[error("reply signed as node {from}, not {responder}")]
    WrongResponder { from: String, responder: NodeId },
    #[error("reply of node {node}: {reason}")]
    ForgedReply { node: NodeId, reason: String },
    /// A pinned member's request over a connection without its pinned
    /// certificate.
    #[error("node {node} must connect with its pinned TLS certificate (presented: {})", presented.map_or_else(|| "none".to_owned(), |c| c.to_string()))]
    WrongCertificate {
        node: NodeId,
        presented: Option<crate::tls::CertSha256>,
    },
    /// The request body is larger than the path allows (the path).
    #[error("{0}")]
    BodyTooLarge(String),
    /// The request body does not parse.
    #[error("{0}")]
    BadBody(String),
    /// A peer answered this node's request with an error status.
    #[error("{path}: HTTP {status}: {text}")]
    Refused {
        path: String,
        status: u16,
        text: String,
    },
}

impl PeerError {
    /// The status a refused request gets.
    pub fn status(&self) -> StatusCode {
        match self {
            PeerError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PeerError::BadBody(_) => StatusCode::BAD_REQUEST,
            PeerError::Refused { .. } => StatusCode::BAD_GATEWAY,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl govchain_ledger::ErrorCode for PeerError {
    fn code(&self) -> &'static str {
        match self {
            PeerError::BodyTooLarge(_) => "node.body_too_large",
            PeerError::BadBody(_) => "node.bad_body",
            PeerError::Refused { .. } => "node.cluster",
            _ => "node.unauthorized_peer",
        }
    }
}

/// What a request's signature covers (PROTOCOL.md §10.2).
pub(super) fn signed_message(
    chain: &ChainId,
    from: NodeId,
    to: NodeId,
    path: &str,
    ms: i64,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "govchain-raft/v1\n{chain}\n{from}\n{to}\n{path}\n{ms}\n{}",
        Hash32::sha256(body).to_hex()
    )
    .into_bytes()
}

/// What a reply's signature covers: the responder, the request it answers
/// (requester, path and the request's own signature) and the body.
fn reply_message(
    chain: &ChainId,
    responder: NodeId,
    requester: NodeId,
    path: &str,
    request_sig: &str,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "govchain-raft/v1/reply\n{chain}\n{responder}\n{requester}\n{path}\n{request_sig}\n{}",
        Hash32::sha256(body).to_hex()
    )
    .into_bytes()
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The voters' keys: each is its department's node key in the chain's
/// current state (a department added on the chain brings its node's key; a
/// retired node has none).
#[derive(Debug, Clone)]
pub struct PeerKeys {
    pub core: NodeHandle,
    /// Each voter's department.
    pub departments: Arc<HashMap<NodeId, String>>,
    /// Keys from the cluster file, for departments this node's chain does
    /// not have yet.
    pub configured: Arc<HashMap<NodeId, PublicKey>>,
}

impl PeerKeys {
    /// `f` of voter `id`'s department on this node's chain (`None` if the
    /// chain lacks it); `None` for a non-voter.
    fn with_department<R>(
        &self,
        id: NodeId,
        f: impl FnOnce(Option<&Department>) -> R,
    ) -> Option<R> {
        let dept = self.departments.get(&id)?;
        let c = self.core.lock().ok()?;
        let found = c
            .state()
            .departments
            .values()
            .find(|d| d.id.as_str() == dept);
        Some(f(found))
    }

    /// Whether voter `id`'s department's node was retired on the chain.
    pub fn retired(&self, id: NodeId) -> bool {
        self.with_department(id, |d| d.is_some_and(|d| !d.node_active()))
            .unwrap_or(false)
    }

    /// Whether the chain has voter `id`'s department with an active node
    /// (so it may vote).
    pub fn on_chain(&self, id: NodeId) -> bool {
        self.with_department(id, |d| d.is_some_and(Department::node_active))
            .unwrap_or(false)
    }

    /// Voter `id`'s key: its department's active node key on this node's
    /// chain; none once retired; the configured one while this node's chain
    /// does not have the department yet.
    pub fn key(&self, id: NodeId) -> Option<PublicKey> {
        self.with_department(id, |d| match d {
            Some(d) => d.node_active().then_some(d.node_key),
            None => self.configured.get(&id).copied(),
        })
        .flatten()
    }
}

/// Who may send Raft RPCs: the voters, with their departments' node keys.
#[derive(Debug, Clone)]
pub struct Auth {
    pub chain: ChainId,
    pub me: NodeId,
    pub key: crate::NodeKey,
    pub peers: PeerKeys,
}

impl Auth {
    /// The request header for `body`, and the request signature (hex) the
    /// reply must name.
    pub(super) fn sign(
        &self,
        to: NodeId,
        path: &str,
        body: &[u8],
    ) -> Result<(String, String), SignerError> {
        let ms = now_ms();
        let sig = self
            .key
            .try_sign(&signed_message(&self.chain, self.me, to, path, ms, body))?
            .to_hex();
        Ok((format!("{} {to} {ms} {sig}", self.me), sig))
    }

    /// The reply header for `body`, answering `requester`'s request signed
    /// `request_sig` (hex).
    pub(super) fn sign_reply(
        &self,
        requester: NodeId,
        path: &str,
        request_sig: &str,
        body: &[u8],
    ) -> Result<String, SignerError> {
        let msg = reply_message(&self.chain, self.me, requester, path, request_sig, body);
        Ok(format!("{} {}", self.me, self.key.try_sign(&msg)?.to_hex()))
    }

    /// Checks a reply from voter `responder` (learners' replies count for
    /// nothing in Raft and are not checked).
    pub(super) fn check_reply(
        &self,
        responder: NodeId,
        path: &str,
        request_sig: &str,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<(), PeerError> {
        if !self.peers.departments.contains_key(&responder) {
            return Ok(());
        }
        let key = self
            .peers
            .key(responder)
            .ok_or(PeerError::NoKey(responder))?;
        let value = headers
            .get(AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(PeerError::UnsignedReply)?;
        let (from, sig) = value
            .split_once(' ')
            .ok_or(PeerError::MalformedReplySignature)?;
        if from != responder.to_string() {
            return Err(PeerError::WrongResponder {
                from: from.to_owned(),
                responder,
            });
        }
        let sig = Signature::from_hex(sig).map_err(|e| PeerError::BadSignature(e.to_string()))?;
        let msg = reply_message(&self.chain, responder, self.me, path, request_sig, body);
        key.verify(&msg, &sig).map_err(|e| PeerError::ForgedReply {
            node: responder,
            reason: e.to_string(),
        })
    }

    /// Checks a request's header before its body is read: well formed,
    /// addressed to this node, recent, from a voter with a key. Returns the
    /// sender, its key, the time and the signature.
    pub(super) fn precheck(
        &self,
        headers: &HeaderMap,
    ) -> Result<(NodeId, PublicKey, i64, Signature), PeerError> {
        let value = headers
            .get(AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(PeerError::MissingHeader)?;
        let parts: Vec<&str> = value.split(' ').collect();
        let [from, to, ms, sig] = parts.as_slice() else {
            return Err(PeerError::MalformedHeader);
        };
        let from: NodeId = from.parse().map_err(|_| PeerError::BadSender)?;
        let to: NodeId = to.parse().map_err(|_| PeerError::BadReceiver)?;
        let ms: i64 = ms.parse().map_err(|_| PeerError::BadTime)?;
        if to != self.me {
            return Err(PeerError::Misaddressed { to, me: self.me });
        }
        if now_ms().abs_diff(ms) > MAX_SKEW_MS {
            return Err(PeerError::Skewed);
        }
        let key = self.peers.key(from).ok_or(PeerError::NotVoter(from))?;
        let sig = Signature::from_hex(sig).map_err(|e| PeerError::BadSignature(e.to_string()))?;
        Ok((from, key, ms, sig))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use govchain_ledger::crypto::SecretKey;
    use govchain_ledger::state::kinds::Genesis;
    use zeroize::Zeroizing;

    use super::*;
    use crate::chain::{Core, Limits};

    fn key(label: &str) -> SecretKey {
        SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(label.as_bytes()).0))
    }

    /// Node 1 (`d0`) and node 2 (`d1`) of a two-department chain.
    fn pair(dir: &std::path::Path) -> (Auth, Auth) {
        let chain: ChainId = "reply-test".parse().unwrap();
        let departments: Vec<serde_json::Value> = (0..2)
            .map(|i| {
                serde_json::json!({"id": format!("d{i}"), "name": "d", "admin_threshold": 1,
                "node_key": key(&format!("node {i}")).public_key(),
                "admins": [{"name": "a", "public_key": key(&format!("admin {i}")).public_key()}]})
            })
            .collect();
        let genesis: Genesis = serde_json::from_value(
            serde_json::json!({"origin": "o", "consortium_threshold": 1, "departments": departments}),
        )
        .unwrap();
        let block0 = crate::genesis_block(
            &chain,
            &genesis,
            &key("admin 0"),
            &key("node 0"),
            crate::chain::Clock::System.now(),
        )
        .unwrap();
        let core = Core::open(
            &dir.join("chain.sqlite"),
            key("node 0"),
            "n",
            Some(&block0),
            Limits::default(),
        )
        .unwrap();
        let peers = PeerKeys {
            core: NodeHandle::from(core),
            departments: Arc::new(HashMap::from([(1, "d0".into()), (2, "d1".into())])),
            configured: Arc::default(),
        };
        let auth = |me: NodeId, k: &str| Auth {
            chain: chain.clone(),
            me,
            key: Arc::new(key(k)),
            peers: peers.clone(),
        };
        (auth(1, "node 0"), auth(2, "node 1"))
    }

    fn header(value: &str) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(AUTH_HEADER, value.parse().unwrap());
        h
    }

    #[test]
    fn a_reply_verifies_only_for_its_request_and_body() {
        let dir = std::env::temp_dir().join(format!("govchain-reply-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (one, two) = pair(&dir);
        let (_, request) = one.sign(2, "/raft/vote", b"request").unwrap();
        let (_, other_request) = one.sign(2, "/raft/vote", b"another request").unwrap();
        let reply = header(
            &two.sign_reply(1, "/raft/vote", &request, b"granted")
                .unwrap(),
        );
        assert!(one
            .check_reply(2, "/raft/vote", &request, &reply, b"granted")
            .is_ok());
        // Another body, another request, another path, no signature, or a
        // signature by another voter in node 2's name: refused.
        for (path, req, headers, body) in [
            ("/raft/vote", &request, reply.clone(), &b"refused"[..]),
            ("/raft/vote", &other_request, reply.clone(), &b"granted"[..]),
            ("/raft/append", &request, reply.clone(), &b"granted"[..]),
            (
                "/raft/vote",
                &request,
                reqwest::header::HeaderMap::new(),
                &b"granted"[..],
            ),
        ] {
            assert!(one.check_reply(2, path, req, &headers, body).is_err());
        }
        let forged = one
            .sign_reply(1, "/raft/vote", &request, b"granted")
            .unwrap();
        let forged = header(&forged.replacen('1', "2", 1));
        assert!(one
            .check_reply(2, "/raft/vote", &request, &forged, b"granted")
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
