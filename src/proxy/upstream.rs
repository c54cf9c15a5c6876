//! Forwarding to the exchange: a per-worker keep-alive pool of HTTP/1.1
//! connections (TLS via rustls with webpki roots, or plain TCP for loopback
//! test upstreams), or the in-process paper venue.
//!
//! The upstream exchange is done inline in the request's own task: the request
//! head and body are written with one `write`, and the answer is read and parsed
//! (httparse) into a per-connection buffer. No connection task, no channel, no
//! wake-up between tasks: on these small machines that halved the proxy's own
//! cost compared with hyper's client connection (field notes §4, README
//! Performance).
//!
//! The one fact that matters for money: whether a failed request may have
//! reached the exchange. `NotSent` (connect failed, or not one byte of the
//! request was written) is safe to release; anything after the first byte was
//! written is `StatusUnknown`, and the order stays counted as live.

use std::cell::RefCell;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderValue, Method, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::chunked::{self, Source as _};
use crate::config::Upstream;
use crate::venue::headers::{MAX_HEADERS, MAX_HEAD_BYTES};
use crate::venue::{Headers, RequestView, SyntheticResponse};

/// Idle connections kept per worker per upstream.
const MAX_IDLE_CONNECTIONS: usize = 64;
/// Largest upstream answer read (Binance exchangeInfo is ~10 MB).
pub const MAX_UPSTREAM_BODY_BYTES: usize = 32 << 20;
/// Read buffer each connection starts with.
const READ_BUFFER_BYTES: usize = 16 << 10;
/// A connection keeps a write buffer up to this size for its next request.
const MAX_KEPT_WRITE_BUFFER_BYTES: usize = 64 << 10;

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
    /// End-to-end fields only (hop-by-hop, `Connection`-named and
    /// `Content-Length` dropped), so the bot's answer takes them as they are;
    /// `None` for the paper venue's answers (riskgate's own JSON).
    pub headers: Option<Headers>,
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

/// A connection to the upstream, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One keep-alive connection, the bytes read from it but not yet used, and
/// its write buffer (kept, so a request costs no allocation to encode).
struct Conn {
    stream: Stream,
    buf: BytesMut,
    out: Vec<u8>,
}

impl Conn {
    /// An idle connection is usable if reading it would block: no EOF (the
    /// exchange closed it) and no stray bytes (a protocol error). Polled once
    /// with a no-op waker, so it never waits.
    fn is_idle_usable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        let mut rb = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(
            Pin::new(&mut self.stream).poll_read(&mut cx, &mut rb),
            Poll::Pending
        )
    }
}

impl chunked::Source for Conn {
    fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    async fn fill(&mut self) -> std::io::Result<bool> {
        chunked::read_more(&mut self.stream, &mut self.buf, READ_BUFFER_BYTES).await
    }
}

/// How far an exchange with the upstream got: decides NotSent vs StatusUnknown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Progress {
    Nothing,
    Written,
}

/// A parsed response head.
struct Head {
    status: StatusCode,
    /// End-to-end fields only, ready to send to the bot as they are: no
    /// hop-by-hop field, none the `Connection` field names, and no
    /// `Content-Length` (the bot's answer is framed anew). They index the head
    /// bytes: `attach` them once the head is split off the read buffer.
    headers: Headers,
    /// Framing, read apart from the forwarded fields: the first
    /// `Transfer-Encoding`, the first `Content-Length`, and whether there was
    /// more than one (refused).
    transfer_encoding: Option<Range<usize>>,
    content_length: Option<Range<usize>>,
    several_content_lengths: bool,
    head_len: usize,
    keep_alive: bool,
}

/// Where `part` lies in `whole` (`part` is a slice of it).
fn range_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let at = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    at..at + part.len()
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("malformed response head: {e}")),
    };
    if head_len > MAX_HEAD_BYTES {
        return Err("response head too large".into());
    }
    let code = resp.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| format!("bad status {code}"))?;
    let mut close = resp.version == Some(0);
    // The Connection field may come after the fields it names: read it first.
    let mut names_fields = false;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',').map(|t| t.trim_ascii()) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                }
            }
            names_fields = true;
        }
    }
    let named = |name: &str| {
        names_fields
            && resp.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("connection")
                    && h.value
                        .split(|b| *b == b',')
                        .any(|t| t.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
            })
    };
    let mut headers = Headers::new();
    let mut transfer_encoding = None;
    let mut content_length = None;
    let mut several_content_lengths = false;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding.get_or_insert(range_in(buf, h.value));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            several_content_lengths |= content_length.is_some();
            content_length.get_or_insert(range_in(buf, h.value));
        } else if !is_hop_by_hop(h.name.as_bytes()) && !named(h.name) {
            headers
                .push_parsed(buf, h.name.as_bytes(), h.value)
                .map_err(|e| format!("response head: {e}"))?;
        }
    }
    Ok(Some(Head {
        status,
        headers,
        transfer_encoding,
        content_length,
        several_content_lengths,
        head_len,
        keep_alive: !close,
    }))
}

/// How the response body is delimited (RFC 9112 §6.3).
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// `raw`: the bytes the head was parsed from.
fn framing(method: &Method, head: &Head, raw: &[u8]) -> Result<Framing, String> {
    let code = head.status.as_u16();
    if *method == Method::HEAD || code == 204 || code == 304 || (100..200).contains(&code) {
        return Ok(Framing::None);
    }
    let field = |r: &Range<usize>| raw.get(r.clone()).unwrap_or_default();
    if let Some(te) = &head.transfer_encoding {
        let last = field(te)
            .rsplit(|b| *b == b',')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        return if last.eq_ignore_ascii_case(b"chunked") {
            Ok(Framing::Chunked)
        } else {
            Ok(Framing::UntilClose)
        };
    }
    match (&head.content_length, head.several_content_lengths) {
        (None, _) => Ok(Framing::UntilClose),
        (Some(v), false) => {
            let n = std::str::from_utf8(field(v))
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| "malformed content-length".to_string())?;
            if n > MAX_UPSTREAM_BODY_BYTES {
                return Err(format!("answer over {MAX_UPSTREAM_BODY_BYTES} bytes"));
            }
            Ok(Framing::Length(n))
        }
        (Some(_), true) => Err("several content-length headers".into()),
    }
}

/// One worker's connections to one upstream. Not shared across threads.
pub struct Pool {
    target: Arc<UpstreamTarget>,
    idle: RefCell<Vec<Conn>>,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded.
fn is_hop_by_hop(name: &[u8]) -> bool {
    const HOP_BY_HOP: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    HOP_BY_HOP
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

impl Pool {
    pub fn new(target: Arc<UpstreamTarget>) -> Pool {
        Pool {
            target,
            idle: RefCell::new(Vec::new()),
        }
    }

    async fn connect(&self) -> Result<Conn, UpstreamError> {
        let t = &self.target;
        let addr = (t.upstream.host.as_str(), t.upstream.port);
        let tcp = tokio::time::timeout(t.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| UpstreamError::NotSent("connect timed out".into()))?
            .map_err(|e| UpstreamError::NotSent(format!("connect: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream = match &t.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(t.upstream.host.clone())
                    .map_err(|e| UpstreamError::NotSent(format!("bad TLS name: {e}")))?;
                let s = tokio::time::timeout(t.connect_timeout, tls.connect(name, tcp))
                    .await
                    .map_err(|_| UpstreamError::NotSent("TLS handshake timed out".into()))?
                    .map_err(|e| UpstreamError::NotSent(format!("TLS: {e}")))?;
                Stream::Tls(Box::new(s))
            }
        };
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(READ_BUFFER_BYTES),
            out: Vec::with_capacity(1024),
        })
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.borrow_mut();
        while let Some(mut c) = idle.pop() {
            if c.is_idle_usable() {
                return Some(c);
            }
        }
        None
    }

    fn put_idle(&self, c: Conn) {
        let mut idle = self.idle.borrow_mut();
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(c);
        }
    }

    /// The request as it goes on the wire: the bot's method, path, query and
    /// end-to-end fields as they came, the upstream's Host, the body's exact
    /// length. `Expect` is dropped: the body is already read, and an
    /// interim 100 would only cost the exchange a write.
    /// Into `out` (cleared first: a connection's own buffer, reused).
    fn encode(
        &self,
        out: &mut Vec<u8>,
        method: &Method,
        path_and_query: &str,
        headers: &Headers,
        body: &[u8],
    ) {
        out.clear();
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(path_and_query.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(self.target.host_header.as_bytes());
        out.extend_from_slice(b"\r\n");
        let names_fields = headers.contains("connection");
        for (name, value) in headers.iter_raw() {
            if name.eq_ignore_ascii_case(b"host")
                || name.eq_ignore_ascii_case(b"content-length")
                || name.eq_ignore_ascii_case(b"expect")
                || is_hop_by_hop(name)
                || (names_fields && headers.has_token(b"connection", name))
            {
                continue;
            }
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        let has_body_semantics = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        if !body.is_empty() || has_body_semantics {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }

    /// Writes the request and reads the whole answer. `progress` says whether
    /// any byte left riskgate, whatever the outcome.
    async fn exchange(
        conn: &mut Conn,
        method: &Method,
        wire: &[u8],
        progress: &mut Progress,
    ) -> Result<(UpstreamAnswer, bool), String> {
        let mut written = 0;
        while written < wire.len() {
            let n = conn
                .stream
                .write(&wire[written..])
                .await
                .map_err(|e| format!("write: {e}"))?;
            if n == 0 {
                return Err("write: connection closed".into());
            }
            written += n;
            *progress = Progress::Written;
        }
        conn.stream
            .flush()
            .await
            .map_err(|e| format!("flush: {e}"))?;
        // The head; informational (1xx) answers are skipped.
        let head = loop {
            match parse_head(&conn.buf)? {
                Some(h) if h.status.is_informational() => conn.buf.advance(h.head_len),
                Some(h) => break h,
                None => {
                    if conn.buf.len() > MAX_HEAD_BYTES {
                        return Err("response head too large".into());
                    }
                    if !conn.fill().await.map_err(|e| format!("read: {e}"))? {
                        return Err("connection closed before an answer".into());
                    }
                }
            }
        };
        let framing = framing(method, &head, &conn.buf)?;
        let head_bytes = conn.buf.split_to(head.head_len).freeze();
        let headers = head.headers.attach(head_bytes);
        let mut reusable = head.keep_alive;
        let body = match framing {
            Framing::None => Bytes::new(),
            Framing::Length(n) => {
                while conn.buf.len() < n {
                    if !conn.fill().await.map_err(|e| format!("read: {e}"))? {
                        return Err("connection closed inside the body".into());
                    }
                }
                conn.buf.split_to(n).freeze()
            }
            Framing::Chunked => chunked::read(conn, MAX_UPSTREAM_BODY_BYTES)
                .await
                .map_err(|e| e.to_string())?,
            Framing::UntilClose => {
                reusable = false;
                while conn.fill().await.map_err(|e| format!("read: {e}"))? {
                    if conn.buf.len() > MAX_UPSTREAM_BODY_BYTES {
                        return Err(format!("answer over {MAX_UPSTREAM_BODY_BYTES} bytes"));
                    }
                }
                conn.buf.split().freeze()
            }
        };
        Ok((
            UpstreamAnswer {
                status: head.status,
                headers: Some(headers),
                body,
            },
            reusable,
        ))
    }

    /// Sends the bot's request as it came (method, path, query, body, end-to-end headers).
    pub async fn send(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &Headers,
        body: &[u8],
    ) -> Result<UpstreamAnswer, UpstreamError> {
        if path_and_query.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UpstreamError::NotSent(
                "request target has control bytes".into(),
            ));
        }
        // A pooled connection that fails before one byte of the request is
        // written is dropped and the request tried once more on a fresh one.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut conn, reused) = match self.take_idle() {
                Some(c) => (c, true),
                None => (self.connect().await?, false),
            };
            let mut wire = std::mem::take(&mut conn.out);
            self.encode(&mut wire, method, path_and_query, headers, body);
            let mut progress = Progress::Nothing;
            let outcome = tokio::time::timeout(
                self.target.response_timeout,
                Self::exchange(&mut conn, method, &wire, &mut progress),
            )
            .await;
            if wire.capacity() <= MAX_KEPT_WRITE_BUFFER_BYTES {
                conn.out = wire;
            }
            match outcome {
                Ok(Ok((answer, reusable))) => {
                    if reusable {
                        self.put_idle(conn);
                    }
                    return Ok(answer);
                }
                Ok(Err(e)) if progress == Progress::Nothing => {
                    if reused && attempt == 1 {
                        continue;
                    }
                    return Err(UpstreamError::NotSent(e));
                }
                Ok(Err(e)) => return Err(UpstreamError::StatusUnknown(e)),
                Err(_) if progress == Progress::Nothing => {
                    return Err(UpstreamError::NotSent("write timed out".into()))
                }
                Err(_) => return Err(UpstreamError::StatusUnknown("response timed out".into())),
            }
        }
    }
}

/// Sends one unsigned GET on a fresh connection (background polling).
pub async fn get_once(
    target: &Arc<UpstreamTarget>,
    path_and_query: &str,
) -> Result<UpstreamAnswer, UpstreamError> {
    let pool = Pool::new(target.clone());
    pool.send(&Method::GET, path_and_query, &Headers::new(), &[])
        .await
}

#[cfg(test)]
mod tests {
    //! The inline HTTP/1.1 client against a raw TCP upstream that answers with
    //! exactly the bytes each test scripts: framing the mock exchanges (hyper,
    //! always content-length) never produce.

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serves one connection: for each scripted answer, reads one request head
    /// (and its content-length body) and writes the answer. Returns the requests.
    async fn serve_script(
        listener: TcpListener,
        answers: Vec<&'static [u8]>,
        close_after: bool,
    ) -> Vec<Vec<u8>> {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = Vec::new();
        for answer in answers {
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client closed early");
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map(|v| v.trim().parse::<usize>().unwrap())
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            seen.push(buf.drain(..head_end + len).collect());
            s.write_all(answer).await.unwrap();
        }
        if close_after {
            drop(s);
        } else {
            // Keep the connection open until the client is done.
            let mut sink = [0u8; 64];
            let _ = s.read(&mut sink).await;
        }
        seen
    }

    fn pool_for(addr: std::net::SocketAddr) -> Pool {
        let upstream = crate::config::parse_upstream(&format!("http://{addr}")).unwrap();
        Pool::new(Arc::new(
            UpstreamTarget::new(upstream, Duration::from_secs(2), Duration::from_secs(2)).unwrap(),
        ))
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn request_is_forwarded_as_sent_with_host_and_length() {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(serve_script(
                listener,
                vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"],
                false,
            ));
            let pool = pool_for(addr);
            let h = Headers::from_pairs(&[
                ("X-MBX-APIKEY", "KEY"),
                ("Host", "127.0.0.1:8081"),
                ("Connection", "keep-alive, X-Drop-Me"),
                ("x-drop-me", "1"),
                ("Content-Length", "999"),
                ("Expect", "100-continue"),
                ("Transfer-Encoding", "chunked"),
            ]);
            let a = pool
                .send(&Method::POST, "/api/v3/order?a=1", &h, b"x=1&y=2")
                .await
                .unwrap();
            assert_eq!(a.status, StatusCode::OK);
            assert_eq!(&a.body[..], b"{}");
            drop(pool);
            let seen = server.await.unwrap();
            let req = String::from_utf8(seen[0].clone()).unwrap();
            assert!(
                req.starts_with("POST /api/v3/order?a=1 HTTP/1.1\r\n"),
                "{req}"
            );
            assert!(req.contains(&format!("host: {addr}\r\n")), "{req}");
            assert!(
                req.contains("\r\nX-MBX-APIKEY: KEY\r\n"),
                "as sent, name case included"
            );
            assert!(
                !req.contains("x-drop-me"),
                "named by Connection: not forwarded"
            );
            assert!(!req.to_ascii_lowercase().contains("connection:"));
            assert!(!req.to_ascii_lowercase().contains("expect:"));
            assert!(!req.to_ascii_lowercase().contains("transfer-encoding:"));
            assert!(
                !req.contains("127.0.0.1:8081"),
                "the bot's Host is replaced"
            );
            assert!(!req.contains("999"), "content-length is the body's own");
            assert!(req.ends_with("content-length: 7\r\n\r\nx=1&y=2"), "{req}");
        });
    }

    #[test]
    fn chunked_informational_and_keep_alive_reuse() {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(serve_script(
                listener,
                vec![
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-mbx-used-weight: 3\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nx-trailer: t\r\n\r\n",
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\nhello",
                ],
                false,
            ));
            let pool = pool_for(addr);
            let a = pool
                .send(&Method::GET, "/x", &Headers::new(), &[])
                .await
                .unwrap();
            assert_eq!(a.status, StatusCode::OK);
            assert_eq!(&a.body[..], br#"{"a":1}"#);
            assert_eq!(a.headers.as_ref().unwrap().get("x-mbx-used-weight").unwrap(), "3");
            // The second request goes on the same (pooled) connection.
            let b = pool
                .send(&Method::GET, "/y", &Headers::new(), &[])
                .await
                .unwrap();
            assert_eq!(b.status, StatusCode::BAD_REQUEST);
            assert_eq!(&b.body[..], b"hello");
            drop(pool);
            let seen = server.await.unwrap();
            assert_eq!(seen.len(), 2);
            assert!(!String::from_utf8_lossy(&seen[0]).contains("content-length"));
        });
    }

    #[test]
    fn answer_keeps_only_end_to_end_headers() {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // `Connection` comes after the header it names.
            let server = tokio::spawn(serve_script(
                listener,
                vec![b"HTTP/1.1 200 OK\r\nx-secret: 1\r\nKeep-Alive: timeout=5\r\nX-Mbx-Used-Weight: 3\r\nx-mbx-used-weight-1m: 3\r\nConnection: keep-alive, X-Secret\r\ncontent-length: 2\r\n\r\n{}"],
                false,
            ));
            let pool = pool_for(addr);
            let a = pool
                .send(&Method::GET, "/x", &Headers::new(), &[])
                .await
                .unwrap();
            assert_eq!(&a.body[..], b"{}");
            let headers = a.headers.unwrap();
            let names: Vec<&str> = headers.iter().map(|(n, _)| n).collect();
            assert_eq!(names, ["X-Mbx-Used-Weight", "x-mbx-used-weight-1m"]);
            drop(pool);
            server.await.unwrap();
        });
    }

    #[test]
    fn close_delimited_body_and_stale_idle_connection() {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let pool = pool_for(addr);
            let first = tokio::spawn(serve_script(
                listener,
                vec![b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n\r\nA"],
                true, // then closes the kept-alive connection
            ));
            let a = pool
                .send(&Method::GET, "/a", &Headers::new(), &[])
                .await
                .unwrap();
            assert_eq!(&a.body[..], b"A");
            let listener = {
                let _ = first.await.unwrap();
                // Same port is still bound by nobody; bind it again for the next connection.
                TcpListener::bind(addr).await.unwrap()
            };
            let second = tokio::spawn(serve_script(
                listener,
                vec![b"HTTP/1.1 200 OK\r\n\r\nuntil-close"],
                true,
            ));
            // The idle connection is closed by the peer: detected, and a fresh one used.
            let b = pool
                .send(&Method::GET, "/b", &Headers::new(), &[])
                .await
                .unwrap();
            assert_eq!(&b.body[..], b"until-close");
            assert!(pool.idle.borrow().is_empty(), "close-delimited: not pooled");
            second.await.unwrap();
        });
    }

    #[test]
    fn garbage_after_write_is_status_unknown_and_refused_connect_is_not_sent() {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(serve_script(listener, vec![b"NOT HTTP\r\n\r\n"], true));
            let pool = pool_for(addr);
            let e = pool
                .send(&Method::POST, "/api/v3/order", &Headers::new(), b"q=1")
                .await
                .err()
                .unwrap();
            assert!(matches!(e, UpstreamError::StatusUnknown(_)), "{e}");
            server.await.unwrap();

            let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let dead = closed.local_addr().unwrap();
            drop(closed);
            let e = pool_for(dead)
                .send(&Method::POST, "/api/v3/order", &Headers::new(), &[])
                .await
                .err()
                .unwrap();
            assert!(matches!(e, UpstreamError::NotSent(_)), "{e}");
        });
    }

    #[test]
    fn framing_rules() {
        let framing_of = |method: &Method, raw: &[u8]| {
            let h = parse_head(raw).unwrap().unwrap();
            framing(method, &h, raw)
        };
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n";
        assert!(matches!(
            framing_of(&Method::GET, ok),
            Ok(Framing::Length(12))
        ));
        assert!(matches!(framing_of(&Method::HEAD, ok), Ok(Framing::None)));
        assert!(
            framing_of(
                &Method::GET,
                b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n"
            )
            .is_err(),
            "conflicting lengths refused"
        );
        assert!(framing_of(
            &Method::GET,
            b"HTTP/1.1 200 OK\r\ncontent-length: +1\r\n\r\n"
        )
        .is_err());
        assert!(matches!(
            framing_of(&Method::GET, b"HTTP/1.1 204 No Content\r\n\r\n"),
            Ok(Framing::None)
        ));
        assert!(matches!(
            framing_of(
                &Method::GET,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            ),
            Ok(Framing::Chunked)
        ));
        let h = parse_head(b"HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive, "HTTP/1.0 closes unless told otherwise");
        let h = parse_head(b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le")
            .unwrap()
            .is_none());
    }
}
