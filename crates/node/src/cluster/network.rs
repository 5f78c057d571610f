//! Raft RPCs between departments' nodes over HTTP (`POST /raft/{append,
//! vote,snapshot}`, JSON). Every request is signed with the sending node's
//! key (its department's node key in the chain's state) over the chain id,
//! both node ids, the path, a timestamp and the body's SHA-256; a node
//! answers only members' requests addressed to it, within a minute of their
//! time. A stranger can neither join nor inject entries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use govchain_ledger::crypto::{PublicKey, SecretKey, Signature};
use govchain_ledger::state::Department;
use govchain_ledger::types::{ChainId, Hash32};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{NodeId, Raft, TypeConfig};

/// The request header carrying `<from> <to> <unix ms> <signature hex>`.
pub const AUTH_HEADER: &str = "govchain-raft-auth";
/// How far a request's time may be from the receiver's clock.
const MAX_SKEW_MS: u64 = 60_000;
/// The largest append request accepted: entries are sent in requests of at
/// most [`super::log_store::MAX_APPEND_BYTES`], or one larger block.
pub const MAX_APPEND_BYTES: usize = 96 * 1024 * 1024;
/// The largest vote request (a few hundred bytes in practice).
const MAX_VOTE_BYTES: usize = 64 * 1024;
/// The largest snapshot chunk request (openraft sends 3 MiB chunks,
/// base64-encoded here).
const MAX_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// What a request's signature covers (PROTOCOL.md §10.2).
fn signed_message(
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The voters' keys: each is its department's node key in the chain's
/// current state (a department added on the chain brings its node's key; a
/// retired node has none).
#[derive(Debug, Clone)]
pub struct PeerKeys {
    pub core: crate::api::Shared,
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
    pub key: Arc<SecretKey>,
    pub peers: PeerKeys,
}

impl Auth {
    /// The request header for `body`, and the request signature (hex) the
    /// reply must name.
    fn sign(&self, to: NodeId, path: &str, body: &[u8]) -> (String, String) {
        let ms = now_ms();
        let sig = self
            .key
            .sign_raw(&signed_message(&self.chain, self.me, to, path, ms, body))
            .to_hex();
        (format!("{} {to} {ms} {sig}", self.me), sig)
    }

    /// The reply header for `body`, answering `requester`'s request signed
    /// `request_sig` (hex).
    fn sign_reply(&self, requester: NodeId, path: &str, request_sig: &str, body: &[u8]) -> String {
        let msg = reply_message(&self.chain, self.me, requester, path, request_sig, body);
        format!("{} {}", self.me, self.key.sign_raw(&msg).to_hex())
    }

    /// Checks a reply from voter `responder` (learners' replies count for
    /// nothing in Raft and are not checked).
    fn check_reply(
        &self,
        responder: NodeId,
        path: &str,
        request_sig: &str,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        if !self.peers.departments.contains_key(&responder) {
            return Ok(());
        }
        let key = self
            .peers
            .key(responder)
            .ok_or_else(|| format!("node {responder} has no key on this chain"))?;
        let value = headers
            .get(AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or("unsigned reply")?;
        let (from, sig) = value.split_once(' ').ok_or("malformed reply signature")?;
        if from != responder.to_string() {
            return Err(format!("reply signed as node {from}, not {responder}"));
        }
        let sig = Signature::from_hex(sig).map_err(|e| e.to_string())?;
        let msg = reply_message(&self.chain, responder, self.me, path, request_sig, body);
        key.verify(&msg, &sig)
            .map_err(|e| format!("reply of node {responder}: {e}"))
    }

    /// Checks a request's header before its body is read: well formed,
    /// addressed to this node, recent, from a voter with a key. Returns the
    /// sender, its key, the time and the signature.
    fn precheck(&self, headers: &HeaderMap) -> Result<(NodeId, PublicKey, i64, Signature), String> {
        let value = headers
            .get(AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or("missing signature header")?;
        let parts: Vec<&str> = value.split(' ').collect();
        let [from, to, ms, sig] = parts.as_slice() else {
            return Err("malformed signature header".into());
        };
        let from: NodeId = from.parse().map_err(|_| "bad sender id")?;
        let to: NodeId = to.parse().map_err(|_| "bad receiver id")?;
        let ms: i64 = ms.parse().map_err(|_| "bad time")?;
        if to != self.me {
            return Err(format!("addressed to node {to}, this is node {}", self.me));
        }
        if now_ms().abs_diff(ms) > MAX_SKEW_MS {
            return Err("request time too far from this node's clock".into());
        }
        let key = self
            .peers
            .key(from)
            .ok_or_else(|| format!("node {from} is not a voting member"))?;
        let sig = Signature::from_hex(sig).map_err(|e| e.to_string())?;
        Ok((from, key, ms, sig))
    }
}

/// Creates a [`Client`] per peer. Peers are reached at the URLs of this
/// node's cluster file (each node may reach the others its own way), or at
/// the address in the membership.
#[derive(Debug, Clone)]
pub struct Network {
    pub auth: Auth,
    pub http: reqwest::Client,
    pub urls: Arc<HashMap<NodeId, String>>,
}

impl Network {
    pub fn new(auth: Auth, urls: HashMap<NodeId, String>) -> Result<Self, crate::NodeError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| crate::NodeError::Config(format!("http client: {e}")))?;
        Ok(Self {
            auth,
            http,
            urls: Arc::new(urls),
        })
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Client;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Client {
        Client {
            net: self.clone(),
            target,
            base: self
                .urls
                .get(&target)
                .unwrap_or(&node.addr)
                .trim_end_matches('/')
                .to_owned(),
        }
    }
}

#[derive(Debug)]
pub struct Client {
    net: Network,
    target: NodeId,
    base: String,
}

type RpcErr<E> = RPCError<NodeId, BasicNode, E>;

impl Client {
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RpcErr<E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let (auth, request_sig) = self.net.auth.sign(self.target, path, &body);
        let sent = self
            .net
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTH_HEADER, auth)
            .header("content-type", "application/json")
            .timeout(option.hard_ttl())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    RPCError::Unreachable(Unreachable::new(&e))
                } else {
                    RPCError::Network(NetworkError::new(&e))
                }
            })?;
        if !sent.status().is_success() {
            let status = sent.status();
            let text = sent.text().await.unwrap_or_default();
            let e = std::io::Error::other(format!("{path}: HTTP {status}: {text}"));
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        let headers = sent.headers().clone();
        let bytes = sent
            .bytes()
            .await
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        self.net
            .auth
            .check_reply(self.target, path, &request_sig, &headers, &bytes)
            .map_err(|why| {
                tracing::warn!(target = self.target, path, "raft reply refused: {why}");
                RPCError::Network(NetworkError::new(&std::io::Error::other(why)))
            })?;
        let answer: Result<Resp, E> =
            serde_json::from_slice(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Client {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr<RaftError<NodeId>>> {
        self.call("/raft/append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RpcErr<RaftError<NodeId, InstallSnapshotError>>>
    {
        self.call("/raft/snapshot", &Chunk::from_request(&rpc), &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcErr<RaftError<NodeId>>> {
        self.call("/raft/vote", &rpc, &option).await
    }
}

#[derive(Clone)]
struct Server {
    raft: Raft,
    auth: Auth,
}

/// A snapshot chunk on the wire: [`InstallSnapshotRequest`] with its bytes
/// in base64 rather than as a JSON array of numbers.
#[derive(Serialize, serde::Deserialize)]
struct Chunk {
    vote: openraft::Vote<NodeId>,
    meta: openraft::SnapshotMeta<NodeId, BasicNode>,
    offset: u64,
    data: String,
    done: bool,
}

impl Chunk {
    fn from_request(r: &InstallSnapshotRequest<TypeConfig>) -> Self {
        use base64::Engine as _;
        Self {
            vote: r.vote,
            meta: r.meta.clone(),
            offset: r.offset,
            data: base64::engine::general_purpose::STANDARD.encode(&r.data),
            done: r.done,
        }
    }

    fn into_request(self) -> Result<InstallSnapshotRequest<TypeConfig>, String> {
        use base64::Engine as _;
        Ok(InstallSnapshotRequest {
            vote: self.vote,
            meta: self.meta,
            offset: self.offset,
            data: base64::engine::general_purpose::STANDARD
                .decode(self.data)
                .map_err(|e| e.to_string())?,
            done: self.done,
        })
    }
}

/// The routes peers call; merged into the node's HTTP server.
pub fn routes(raft: Raft, auth: Auth) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        // Each handler reads its body itself, after the header checks.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(Server { raft, auth })
}

fn refused(status: StatusCode, code: &str, why: &str) -> Response {
    let body = serde_json::json!({"code": code, "message": why});
    (status, axum::Json(body)).into_response()
}

/// Authenticates a peer's request and parses its body: the header is checked
/// before the body is read (at most `limit` bytes), then the signature over
/// the body, then that the Raft message is the sender's own (`leader`: the
/// node id its vote names).
async fn parse<T: DeserializeOwned>(
    s: &Server,
    req: Request,
    path: &str,
    limit: usize,
    leader: impl Fn(&T) -> NodeId,
) -> Result<(T, Signed), Box<Response>> {
    let unauthorized = |why: String| {
        tracing::warn!(path, "raft request refused: {why}");
        Box::new(refused(
            StatusCode::UNAUTHORIZED,
            "node.unauthorized_peer",
            &why,
        ))
    };
    let (from, key, ms, sig) = s.auth.precheck(req.headers()).map_err(unauthorized)?;
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            Box::new(refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "node.body_too_large",
                path,
            ))
        })?;
    let message = signed_message(&s.auth.chain, from, s.auth.me, path, ms, &body);
    key.verify(&message, &sig)
        .map_err(|e| unauthorized(format!("signature of node {from}: {e}")))?;
    let rpc: T = serde_json::from_slice(&body).map_err(|e| {
        Box::new(refused(
            StatusCode::BAD_REQUEST,
            "node.bad_body",
            &e.to_string(),
        ))
    })?;
    if leader(&rpc) != from {
        return Err(unauthorized(format!(
            "node {from} sent a message of node {}",
            leader(&rpc)
        )));
    }
    Ok((
        rpc,
        Signed {
            from,
            path: path.to_owned(),
            sig: sig.to_hex(),
        },
    ))
}

/// Who sent an accepted request, to whom the reply is signed.
struct Signed {
    from: NodeId,
    path: String,
    sig: String,
}

/// The JSON reply, signed for the request it answers.
fn answer<T: Serialize>(s: &Server, to: &Signed, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let auth = s.auth.sign_reply(to.from, &to.path, &to.sig, &bytes);
            (
                [
                    ("content-type", "application/json".to_owned()),
                    (AUTH_HEADER, auth),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn append(State(s): State<Server>, req: Request) -> Response {
    let leader =
        |r: &AppendEntriesRequest<TypeConfig>| r.vote.leader_id().voted_for().unwrap_or_default();
    match parse(&s, req, "/raft/append", MAX_APPEND_BYTES, leader).await {
        Ok((rpc, by)) => answer(&s, &by, &s.raft.append_entries(rpc).await),
        Err(r) => *r,
    }
}

async fn vote(State(s): State<Server>, req: Request) -> Response {
    let candidate = |r: &VoteRequest<NodeId>| r.vote.leader_id().voted_for().unwrap_or_default();
    match parse(&s, req, "/raft/vote", MAX_VOTE_BYTES, candidate).await {
        Ok((rpc, by)) => answer(&s, &by, &s.raft.vote(rpc).await),
        Err(r) => *r,
    }
}

async fn snapshot(State(s): State<Server>, req: Request) -> Response {
    let leader = |c: &Chunk| c.vote.leader_id().voted_for().unwrap_or_default();
    match parse::<Chunk>(&s, req, "/raft/snapshot", MAX_CHUNK_BYTES, leader).await {
        Ok((chunk, by)) => match chunk.into_request() {
            Ok(rpc) => answer(&s, &by, &s.raft.install_snapshot(rpc).await),
            Err(e) => refused(StatusCode::BAD_REQUEST, "node.bad_body", &e),
        },
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use govchain_ledger::state::kinds::Genesis;
    use zeroize::Zeroizing;

    use super::*;
    use crate::{Core, Limits};

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
            crate::api::now(),
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
            core: Arc::new(Mutex::new(core)),
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
        let (_, request) = one.sign(2, "/raft/vote", b"request");
        let (_, other_request) = one.sign(2, "/raft/vote", b"another request");
        let reply = header(&two.sign_reply(1, "/raft/vote", &request, b"granted"));
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
        let forged = one.sign_reply(1, "/raft/vote", &request, b"granted");
        let forged = header(&forged.replacen('1', "2", 1));
        assert!(one
            .check_reply(2, "/raft/vote", &request, &forged, b"granted")
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
