//! Raft RPCs between departments' nodes over HTTP (`POST /raft/{append,
//! vote,snapshot}`, JSON). Every request is signed with the sending node's
//! key (its department's node key in the chain's state) over the chain id,
//! both node ids, the path, a timestamp and the body's SHA-256; a node
//! answers only members' requests addressed to it, within a minute of their
//! time. A stranger can neither join nor inject entries. When the cluster
//! file pins members' certificates the RPCs go over mutual TLS
//! ([`super::PeerTls`]): a pinned member's request is taken only over a
//! connection on which it presented its certificate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use govchain_ledger::ErrorCode as _;
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

use super::auth::{signed_message, Auth, PeerError, AUTH_HEADER};
use super::member::PeerTls;
use super::{NodeId, Raft, TypeConfig};
use crate::tls::serve::PeerCert;

/// The largest append request accepted: entries are sent in requests of at
/// most [`super::log_store::MAX_APPEND_BYTES`], or one larger block.
pub const MAX_APPEND_BYTES: usize = 96 * 1024 * 1024;
/// The largest vote request (a few hundred bytes in practice).
const MAX_VOTE_BYTES: usize = 64 * 1024;
/// The largest snapshot chunk request (openraft sends 3 MiB chunks,
/// base64-encoded here).
const MAX_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// Creates a [`Client`] per peer. Peers are reached at the URLs of this
/// node's cluster file (each node may reach the others its own way), or at
/// the address in the membership.
#[derive(Debug, Clone)]
pub struct Network {
    pub auth: Auth,
    pub http: reqwest::Client,
    pub urls: Arc<HashMap<NodeId, String>>,
    /// Pinned members are reached over mutual TLS with their own client.
    pub tls: PeerTls,
}

impl Network {
    pub fn new(
        auth: Auth,
        urls: HashMap<NodeId, String>,
        tls: PeerTls,
    ) -> Result<Self, crate::error::NodeError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| crate::error::NodeError::Config(format!("http client: {e}")))?;
        Ok(Self {
            auth,
            http,
            urls: Arc::new(urls),
            tls,
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
        let (auth, request_sig) = self
            .net
            .auth
            .sign(self.target, path, &body)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let http = self.net.tls.client(self.target).unwrap_or(&self.net.http);
        let sent = http
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
            let e = PeerError::Refused {
                path: path.to_owned(),
                status: status.as_u16(),
                text,
            };
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
                RPCError::Network(NetworkError::new(&why))
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
    tls: PeerTls,
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

    fn into_request(self) -> Result<InstallSnapshotRequest<TypeConfig>, PeerError> {
        use base64::Engine as _;
        Ok(InstallSnapshotRequest {
            vote: self.vote,
            meta: self.meta,
            offset: self.offset,
            data: base64::engine::general_purpose::STANDARD
                .decode(self.data)
                .map_err(|e| PeerError::BadBody(e.to_string()))?,
            done: self.done,
        })
    }
}

/// The routes peers call; merged into the node's HTTP server.
pub fn routes(raft: Raft, auth: Auth, tls: PeerTls) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        // Each handler reads its body itself, after the header checks.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(Server { raft, auth, tls })
}

/// The JSON refusal `{code, message}` of a peer's request.
fn refused(e: &PeerError) -> Response {
    let body = serde_json::json!({"code": e.code(), "message": e.to_string()});
    (e.status(), axum::Json(body)).into_response()
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
    let refuse = |e: PeerError| {
        if e.status() == StatusCode::UNAUTHORIZED {
            tracing::warn!(path, "raft request refused: {e}");
        }
        Box::new(refused(&e))
    };
    let (from, key, ms, sig) = s.auth.precheck(req.headers()).map_err(refuse)?;
    // A pinned member speaks only over a connection on which it presented
    // its own certificate (the handshake already refused strangers').
    if let Some(pin) = s.tls.pins.get(&from) {
        let presented = req.extensions().get::<PeerCert>().and_then(|c| c.0);
        if presented != Some(*pin) {
            return Err(refuse(PeerError::WrongCertificate {
                node: from,
                presented,
            }));
        }
    }
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| refuse(PeerError::BodyTooLarge(path.to_owned())))?;
    let message = signed_message(&s.auth.chain, from, s.auth.me, path, ms, &body);
    key.verify(&message, &sig).map_err(|e| {
        refuse(PeerError::ForgedRequest {
            node: from,
            reason: e.to_string(),
        })
    })?;
    let rpc: T =
        serde_json::from_slice(&body).map_err(|e| refuse(PeerError::BadBody(e.to_string())))?;
    if leader(&rpc) != from {
        return Err(refuse(PeerError::NotOwnMessage {
            from,
            leader: leader(&rpc),
        }));
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
            let auth = match s.auth.sign_reply(to.from, &to.path, &to.sig, &bytes) {
                Ok(auth) => auth,
                Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
            };
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
            Err(e) => refused(&e),
        },
        Err(r) => *r,
    }
}
