//! Forwarding to the exchange: a per-worker keep-alive pool of HTTP/1.1
//! connections (TLS via rustls with webpki roots, or plain TCP for loopback
//! test upstreams), or the in-process paper venue.
//!
//! The one fact that matters for money: whether a failed request may have
//! reached the exchange. `NotSent` (connect failed, or hyper handed the request
//! back unsent) is safe to release; anything after the request was handed to
//! the connection is `StatusUnknown`, and the order stays counted as live.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::Upstream;
use crate::venue::{RequestView, SyntheticResponse};

/// Idle connections kept per worker per upstream.
const MAX_IDLE_CONNECTIONS: usize = 64;
/// Largest upstream answer read (Binance exchangeInfo is ~10 MB).
pub const MAX_UPSTREAM_BODY_BYTES: usize = 32 << 20;

/// A venue that answers in-process (the paper exchange).
pub trait InProcessVenue: Send + Sync + 'static {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse;
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Certainly not executed: the request never left riskgate.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request was handed to the connection; the exchange may have executed it.
    #[error("no answer after sending: {0}")]
    StatusUnknown(String),
}

pub struct UpstreamAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Static description of one upstream, shared by all workers.
pub struct UpstreamTarget {
    pub upstream: Upstream,
    host_header: HeaderValue,
    tls: Option<tokio_rustls::TlsConnector>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

impl UpstreamTarget {
    pub fn new(
        upstream: Upstream,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Result<UpstreamTarget, String> {
        let host_header = HeaderValue::from_str(&upstream.authority)
            .map_err(|e| format!("bad upstream host: {e}"))?;
        let tls = if upstream.tls {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
        } else {
            None
        };
        Ok(UpstreamTarget {
            upstream,
            host_header,
            tls,
            connect_timeout,
            response_timeout,
        })
    }
}

/// One worker's connections to one upstream. Not shared across threads.
pub struct Pool {
    target: Arc<UpstreamTarget>,
    idle: RefCell<Vec<SendRequest<Full<Bytes>>>>,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Copies end-to-end headers: drops hop-by-hop ones and any the `Connection` header names.
pub fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    let named_by_connection: Vec<&str> = from
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim))
        .collect();
    for (name, value) in from {
        if is_hop_by_hop(name)
            || named_by_connection
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_str()))
        {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

impl Pool {
    pub fn new(target: Arc<UpstreamTarget>) -> Pool {
        Pool {
            target,
            idle: RefCell::new(Vec::new()),
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, UpstreamError> {
        let t = &self.target;
        let addr = (t.upstream.host.as_str(), t.upstream.port);
        let tcp = tokio::time::timeout(t.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| UpstreamError::NotSent("connect timed out".into()))?
            .map_err(|e| UpstreamError::NotSent(format!("connect: {e}")))?;
        let _ = tcp.set_nodelay(true);
        match &t.tls {
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| UpstreamError::NotSent(format!("handshake: {e}")))?;
                tokio::task::spawn_local(async move {
                    let _ = conn.await;
                });
                Ok(sender)
            }
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(t.upstream.host.clone())
                    .map_err(|e| UpstreamError::NotSent(format!("bad TLS name: {e}")))?;
                let stream = tokio::time::timeout(t.connect_timeout, tls.connect(name, tcp))
                    .await
                    .map_err(|_| UpstreamError::NotSent("TLS handshake timed out".into()))?
                    .map_err(|e| UpstreamError::NotSent(format!("TLS: {e}")))?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| UpstreamError::NotSent(format!("handshake: {e}")))?;
                tokio::task::spawn_local(async move {
                    let _ = conn.await;
                });
                Ok(sender)
            }
        }
    }

    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.borrow_mut();
        while let Some(s) = idle.pop() {
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, s: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.borrow_mut();
        if !s.is_closed() && idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(s);
        }
    }

    fn build(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, UpstreamError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path_and_query)
            .body(Full::new(body))
            .map_err(|e| UpstreamError::NotSent(format!("request: {e}")))?;
        let h = req.headers_mut();
        copy_end_to_end(headers, h);
        h.insert(http::header::HOST, self.target.host_header.clone());
        Ok(req)
    }

    /// Sends the bot's request as it came (method, path, query, body, end-to-end headers).
    pub async fn send(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<UpstreamAnswer, UpstreamError> {
        let mut req = self.build(method, path_and_query, headers, body)?;
        // A pooled connection the exchange has closed hands the request back
        // unsent; only then is it retried, once, on a fresh connection.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut sender, reused) = match self.take_idle() {
                Some(s) => (s, true),
                None => (self.connect().await?, false),
            };
            let fut = sender.try_send_request(req);
            let response = match tokio::time::timeout(self.target.response_timeout, fut).await {
                Err(_) => return Err(UpstreamError::StatusUnknown("response timed out".into())),
                Ok(Ok(r)) => r,
                Ok(Err(mut e)) => match e.take_message() {
                    Some(unsent) if reused && attempt == 1 => {
                        req = unsent;
                        continue;
                    }
                    Some(_) => return Err(UpstreamError::NotSent(e.into_error().to_string())),
                    None => return Err(UpstreamError::StatusUnknown(e.into_error().to_string())),
                },
            };
            let (parts, body) = response.into_parts();
            let body = tokio::time::timeout(
                self.target.response_timeout,
                Limited::new(body, MAX_UPSTREAM_BODY_BYTES).collect(),
            )
            .await
            .map_err(|_| UpstreamError::StatusUnknown("response body timed out".into()))?
            .map_err(|e| UpstreamError::StatusUnknown(format!("response body: {e}")))?
            .to_bytes();
            self.put_idle(sender);
            return Ok(UpstreamAnswer {
                status: parts.status,
                headers: parts.headers,
                body,
            });
        }
    }
}

/// Sends one unsigned GET on a fresh connection (background polling).
pub async fn get_once(
    target: &Arc<UpstreamTarget>,
    path_and_query: &str,
) -> Result<UpstreamAnswer, UpstreamError> {
    let pool = Pool::new(target.clone());
    pool.send(
        &Method::GET,
        path_and_query,
        &HeaderMap::new(),
        Bytes::new(),
    )
    .await
}
