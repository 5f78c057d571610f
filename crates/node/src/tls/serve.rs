//! Serving the node's router over plain HTTP or HTTPS on one listener.
//!
//! With TLS, handshakes run in their own tasks (at most 10 s each), so a
//! slow or silent client holds up no one else; only completed connections
//! reach the HTTP server. Each request carries the client's address
//! (`ConnectInfo<SocketAddr>`, for the rate limit) and the fingerprint of
//! the certificate the client presented, if any ([`PeerCert`], for the
//! member routes).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tower::ServiceExt as _;

use super::CertSha256;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate a client presented in the TLS handshake (already
/// checked against the members' pins by the handshake), or `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCert(pub Option<CertSha256>);

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    pub addr: SocketAddr,
    pub cert: Option<CertSha256>,
}

/// A connection: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The node's listener: plain, or TLS with handshakes done off the accept
/// loop.
#[derive(Debug)]
pub struct NodeListener {
    local: SocketAddr,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Plain(TcpListener),
    Tls(tokio::sync::mpsc::Receiver<(Conn, Remote)>),
}

impl NodeListener {
    /// Plain HTTP.
    pub fn plain(tcp: TcpListener) -> io::Result<Self> {
        Ok(Self {
            local: tcp.local_addr()?,
            inner: Inner::Plain(tcp),
        })
    }

    /// HTTPS with `config`. Must be called within a Tokio runtime: the
    /// accept loop runs as a task until this listener is dropped.
    pub fn tls(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, addr) = tokio::select! {
                    () = tx.closed() => return,
                    r = tcp.accept() => match r {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::debug!("accept: {e}");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    },
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let cert = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| CertSha256::of(c));
                            let _ = tx
                                .send((Conn::Tls(Box::new(tls)), Remote { addr, cert }))
                                .await;
                        }
                        Ok(Err(e)) => tracing::info!(%addr, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            local,
            inner: Inner::Tls(rx),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl axum::serve::Listener for NodeListener {
    type Io = Conn;
    type Addr = Remote;

    async fn accept(&mut self) -> (Conn, Remote) {
        match &mut self.inner {
            Inner::Plain(tcp) => loop {
                match TcpListener::accept(tcp).await {
                    Ok((s, addr)) => return (Conn::Plain(s), Remote { addr, cert: None }),
                    Err(e) => {
                        tracing::debug!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            },
            Inner::Tls(rx) => match rx.recv().await {
                Some(c) => c,
                // The accept loop ended: nothing more will come.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> io::Result<Remote> {
        Ok(Remote {
            addr: self.local,
            cert: None,
        })
    }
}

/// Serves `router` on `listener` until `shutdown`, then finishes the
/// requests in flight.
pub async fn serve(
    listener: NodeListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let make = tower::service_fn(
        move |incoming: axum::serve::IncomingStream<'_, NodeListener>| {
            let remote = *incoming.remote_addr();
            let service = router
                .clone()
                .map_request(move |mut req: axum::extract::Request| {
                    req.extensions_mut().insert(ConnectInfo(remote.addr));
                    req.extensions_mut().insert(PeerCert(remote.cert));
                    req
                });
            std::future::ready(Ok::<_, Infallible>(service))
        },
    );
    axum::serve(listener, make)
        .with_graceful_shutdown(shutdown)
        .await
}
