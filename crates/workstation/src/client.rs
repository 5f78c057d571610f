//! HTTP client of department nodes (PROTOCOL.md, node API under `/v1`) with
//! failover: requests go to the node that answered last, then to the others
//! in the configured order. Nothing a node says is trusted here; callers
//! verify. Each node has its own HTTP client, which accepts that node's
//! pinned TLS certificate or the OS trust store ([`crate::trust`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use govchain_node::tls::CertSha256;

use govchain_node::error::with_causes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::WsError;

/// A page of `/v1/blocks`: raw block JSON (verified and stored as received).
#[derive(Debug, Deserialize)]
pub struct BlockPage {
    pub blocks: Vec<Box<RawValue>>,
    pub height: u64,
}

/// What a node said about a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Admitted (pending) or already committed: either way the node has it.
    Accepted,
    /// Refused by the rules or as malformed: final.
    Rejected { code: String, message: String },
}

#[derive(Debug)]
pub struct NodeClient {
    urls: Vec<String>,
    /// One client per node (its pin), for requests.
    http: Vec<reqwest::Client>,
    /// One client per node without a total timeout, for the event stream.
    events: Vec<reqwest::Client>,
    /// Index of the node that answered last.
    current: AtomicUsize,
}

impl NodeClient {
    /// Nodes without pinned certificates (the OS trust store decides).
    pub fn new(urls: Vec<String>) -> Result<Self, WsError> {
        Self::with_pins(urls, &BTreeMap::new())
    }

    /// Nodes, each accepted with its pinned certificate if `pins` (by URL)
    /// has one, else with the OS trust store.
    pub fn with_pins(
        urls: Vec<String>,
        pins: &BTreeMap<String, CertSha256>,
    ) -> Result<Self, WsError> {
        let urls: Vec<String> = urls
            .into_iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect();
        let mut http = Vec::with_capacity(urls.len());
        let mut events = Vec::with_capacity(urls.len());
        for u in &urls {
            let pin = pins.get(u).copied();
            http.push(crate::trust::http_client(
                pin,
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .timeout(Duration::from_secs(30)),
            )?);
            events.push(crate::trust::http_client(
                pin,
                reqwest::Client::builder().connect_timeout(Duration::from_secs(3)),
            )?);
        }
        Ok(Self {
            urls,
            http,
            events,
            current: AtomicUsize::new(0),
        })
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The node that answered last.
    pub fn current(&self) -> Option<&str> {
        self.urls
            .get(self.current.load(Ordering::Relaxed))
            .map(String::as_str)
    }

    /// Sends `req(base)` to each node in turn until one answers at all (any
    /// HTTP status). Returns that node's URL, status and body.
    async fn send(
        &self,
        req: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<(String, u16, Vec<u8>), WsError> {
        self.send_skipping(req, |_| false).await
    }

    /// [`NodeClient::send`], also passing over nodes whose answer's status
    /// satisfies `skip` (e.g. a consortium member that knows no leader); if
    /// every node is passed over, the last such answer is returned.
    ///
    /// A pinned node presenting another certificate ends the round at once
    /// (`network.certificate_changed`: nothing is exchanged until the
    /// official decides); a certificate the trust store refuses passes to
    /// the next node, and is the error if no node answers.
    async fn send_skipping(
        &self,
        req: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
        skip: impl Fn(u16) -> bool,
    ) -> Result<(String, u16, Vec<u8>), WsError> {
        if self.urls.is_empty() {
            return Err(WsError::Offline("no node configured".into()));
        }
        let start = self.current.load(Ordering::Relaxed);
        let mut last = String::new();
        let mut passed_over = None;
        let mut untrusted = None;
        for k in 0..self.urls.len() {
            let i = (start + k) % self.urls.len();
            let (base, http) = (&self.urls[i], &self.http[i]);
            match req(http, base).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    match read_capped(r, MAX_RESPONSE_BYTES).await {
                        Ok(body) if skip(status) => {
                            passed_over = Some((base.clone(), status, body));
                        }
                        Ok(body) => {
                            self.current.store(i, Ordering::Relaxed);
                            return Ok((base.clone(), status, body));
                        }
                        Err(e) => last = format!("{base}: {e}"),
                    }
                }
                Err(e) => {
                    match crate::trust::refusal(base, &e) {
                        Some(changed @ WsError::CertificateChanged { .. }) => return Err(changed),
                        Some(refused) => {
                            untrusted.get_or_insert(refused);
                        }
                        None => {}
                    }
                    last = format!("{base}: {}", with_causes(&e));
                }
            }
        }
        match (passed_over, untrusted) {
            (Some(answer), _) => Ok(answer),
            (None, Some(refused)) => Err(refused),
            (None, None) => Err(WsError::Offline(last)),
        }
    }

    fn node_error(status: u16, body: &[u8]) -> WsError {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        WsError::Node {
            status,
            code: v["code"].as_str().unwrap_or("node.error").to_owned(),
            message: v["message"]
                .as_str()
                .map_or_else(|| String::from_utf8_lossy(body).into_owned(), str::to_owned),
        }
    }

    async fn get_ok(&self, path: &str) -> Result<(String, Vec<u8>), WsError> {
        let (url, status, body) = self
            .send(|http, base| http.get(format!("{base}{path}")))
            .await?;
        if status != 200 {
            return Err(Self::node_error(status, &body));
        }
        Ok((url, body))
    }

    /// A signed read (PROTOCOL.md §13): `GET path` (no query) carrying the
    /// access record `record` (its header value), signed for each node's
    /// own authority by `sign(authority)` → (`Signature-Input`,
    /// `Signature`). The node's answer body on `200`.
    pub async fn signed_get(
        &self,
        path: &str,
        record: &str,
        sign: impl Fn(&str) -> Result<(String, String), WsError>,
    ) -> Result<Vec<u8>, WsError> {
        let mut headers = BTreeMap::new();
        for base in &self.urls {
            headers.insert(base.clone(), sign(&authority(base)?)?);
        }
        let (_, status, body) = self
            .send(|http, base| {
                let rb = http
                    .get(format!("{base}{path}"))
                    .header("govchain-access-record", record);
                match headers.get(base) {
                    Some((input, sig)) => {
                        rb.header("signature-input", input).header("signature", sig)
                    }
                    None => rb,
                }
            })
            .await?;
        if status != 200 {
            return Err(Self::node_error(status, &body));
        }
        Ok(body)
    }

    /// `GET /healthz` of the node in use (with failover): which chain it
    /// serves (`chain_id`, `genesis_hash`), its height.
    pub async fn health(&self) -> Result<Value, WsError> {
        let (url, body) = self.get_ok("/healthz").await?;
        serde_json::from_slice(&body).map_err(|e| WsError::Offline(format!("{url}: {e}")))
    }

    /// The latest signed checkpoint note cosigned by at least `cosigned`
    /// other departments (0: the latest), and which node gave it.
    pub async fn checkpoint(&self, cosigned: usize) -> Result<(String, String), WsError> {
        let path = if cosigned == 0 {
            "/v1/checkpoint".to_owned()
        } else {
            format!("/v1/checkpoint?cosigned={cosigned}")
        };
        let (url, body) = self.get_ok(&path).await?;
        let text = String::from_utf8(body)
            .map_err(|_| WsError::verification("checkpoint.malformed", "not UTF-8"))?;
        Ok((url, text))
    }

    /// Blocks from height `from` (at most 100), and the node's height. A
    /// member that joined its consortium from a snapshot and does not hold
    /// those blocks (`410 node.pruned`) is passed over for the next node.
    pub async fn blocks(&self, from: u64, limit: u64) -> Result<(String, BlockPage), WsError> {
        let path = format!("/v1/blocks?from={from}&limit={limit}");
        let (url, status, body) = self
            .send_skipping(|http, base| http.get(format!("{base}{path}")), |s| s == 410)
            .await?;
        if status != 200 {
            return Err(Self::node_error(status, &body));
        }
        let page: BlockPage = serde_json::from_slice(&body)
            .map_err(|e| WsError::verification("block.shape", format!("{url}: {e}")))?;
        Ok((url, page))
    }

    /// The node's inclusion proof of transaction `id` in the tree of
    /// `tree_size` leaves (unverified JSON).
    pub async fn inclusion_proof(&self, id: &str, tree_size: u64) -> Result<Value, WsError> {
        let (_, body) = self
            .get_ok(&format!("/v1/proof/inclusion/{id}?tree_size={tree_size}"))
            .await?;
        serde_json::from_slice(&body)
            .map_err(|e| WsError::verification("proof.shape", e.to_string()))
    }

    /// The node's consistency proof between trees of `size1` and `size2`
    /// leaves (unverified JSON).
    pub async fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Value, WsError> {
        let (_, body) = self
            .get_ok(&format!(
                "/v1/proof/consistency?size1={size1}&size2={size2}"
            ))
            .await?;
        serde_json::from_slice(&body)
            .map_err(|e| WsError::verification("proof.shape", e.to_string()))
    }

    /// Submits one envelope (JSON text). Transport failures and 5xx are
    /// errors (retry later); 4xx are final rejections, except 408 and 429
    /// (`node.busy`, `node.rate_limited`: retry later). A consortium member
    /// that cannot take it now (502: its leader is unreachable; 503: no
    /// leader, halted) is passed over for the next node; a busy one is not,
    /// since every member forwards to the same leader.
    pub async fn submit(&self, envelope: &str) -> Result<Submitted, WsError> {
        let body = envelope.to_owned();
        let (_, status, answer) = self
            .send_skipping(
                |http, base| {
                    http.post(format!("{base}/v1/tx"))
                        .header("content-type", "application/json")
                        .body(body.clone())
                },
                |status| status == 502 || status == 503,
            )
            .await?;
        match status {
            200 => Ok(Submitted::Accepted),
            400..=499 if status != 408 && status != 429 => {
                match Self::node_error(status, &answer) {
                    WsError::Node { code, message, .. } => {
                        Ok(Submitted::Rejected { code, message })
                    }
                    other => Err(other),
                }
            }
            _ => Err(Self::node_error(status, &answer)),
        }
    }

    /// Waits for the next `block` event of the current node's `/v1/events`
    /// stream (SSE). Returns when one arrives, or with an error when the
    /// stream ends or cannot be opened.
    pub async fn next_block_event(&self) -> Result<(), WsError> {
        use futures_util::StreamExt as _;
        let i = self.current.load(Ordering::Relaxed);
        let (Some(base), Some(http)) = (self.urls.get(i), self.events.get(i)) else {
            return Err(WsError::Offline("no node configured".into()));
        };
        let r = http
            .get(format!("{base}/v1/events"))
            .send()
            .await
            .map_err(|e| {
                crate::trust::refusal(base, &e).unwrap_or_else(|| WsError::Offline(e.to_string()))
            })?;
        let mut stream = r.bytes_stream();
        let mut seen = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| WsError::Offline(e.to_string()))?;
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: block") {
                return Ok(());
            }
            if seen.len() > 64 * 1024 {
                seen.clear();
            }
        }
        Err(WsError::Offline("event stream ended".into()))
    }

    /// `GET /healthz` of one given node (for "test connection"), accepting
    /// `pin` as its certificate if given.
    pub async fn probe(url: &str, pin: Option<CertSha256>) -> Result<Value, WsError> {
        let url = url.trim_end_matches('/');
        let http = crate::trust::http_client(
            pin,
            reqwest::Client::builder().timeout(Duration::from_secs(5)),
        )?;
        let r = http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .map_err(|e| {
                crate::trust::refusal(url, &e)
                    .unwrap_or_else(|| WsError::Offline(format!("{url}: {}", with_causes(&e))))
            })?;
        let status = r.status().as_u16();
        let body = read_capped(r, MAX_PROBE_BYTES)
            .await
            .map_err(|e| WsError::Offline(format!("{url}: {e}")))?;
        if status != 200 {
            return Err(Self::node_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| WsError::Offline(format!("{url}: {e}")))
    }
}

/// The most a node's answer may hold: a page of blocks is at most 96 MiB
/// (`govchain_node::api::MAX_PAGE_BYTES`), everything else far less. A node
/// that sends more is cut off (and the next node tried).
pub const MAX_RESPONSE_BYTES: usize = 128 * 1024 * 1024;
const MAX_PROBE_BYTES: usize = 64 * 1024;

/// Why a node's answer could not be read.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
}

/// The `@authority` of requests to `base` (RFC 9421): `host[:port]` as the
/// `Host` header carries it, lowercase, the port only if not the scheme's
/// default.
fn authority(base: &str) -> Result<String, WsError> {
    let u = reqwest::Url::parse(base)
        .map_err(|e| WsError::BadRequest(format!("node address {base}: {e}")))?;
    let host = u
        .host_str()
        .ok_or_else(|| WsError::BadRequest(format!("node address {base} has no host")))?;
    Ok(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
    .to_lowercase())
}

/// Reads a response body, refusing one longer than `cap` (before reading
/// more than that, whatever `Content-Length` says).
async fn read_capped(mut r: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if r.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Serves one HTTP answer: `head` then `len` bytes of body.
    async fn serve_once(head: &'static str, len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await;
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&vec![b'a'; len]).await;
        });
        url
    }

    #[tokio::test]
    async fn answers_longer_than_the_cap_are_refused() {
        let get = |url: String| async move { reqwest::get(url).await.unwrap() };
        // Announced too long.
        let url = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", 5000).await;
        let e = super::read_capped(get(url).await, 1000)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 1000"), "{e}");
        // Not announced: cut off while reading.
        let url = serve_once("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", 5000).await;
        let e = super::read_capped(get(url).await, 1000)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 1000"), "{e}");
        // Within the cap.
        let url = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", 10).await;
        assert_eq!(
            super::read_capped(get(url).await, 1000).await.unwrap(),
            b"aaaaaaaaaa"
        );
    }

    #[test]
    fn authority_is_the_host_header_value() {
        assert_eq!(
            super::authority("http://127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            super::authority("https://Node.Example.GOV.cn").unwrap(),
            "node.example.gov.cn"
        );
        assert_eq!(
            super::authority("https://node.example:443").unwrap(),
            "node.example"
        );
        assert_eq!(super::authority("http://[::1]:7000").unwrap(), "[::1]:7000");
    }
}
