//! The bot-facing side of HTTP/1.1: reads requests off a client connection
//! and writes the answers, one request at a time (pipelined requests wait
//! their turn in the read buffer).
//!
//! Written on httparse rather than hyper's server because this is the hot
//! path: a request head allocates nothing (its fields are slices of the read
//! buffer, see `venue::Headers`), there is no dispatcher, service future or
//! body stream between the socket and the pipeline, and each answer goes out
//! in one `writev`. The upstream side (`upstream.rs`) is built the same way.
//!
//! Owns framing and the connection's life only: head limits, body framing
//! (Content-Length or chunked, never both, since a request two parsers could
//! delimit differently is how smuggling starts), `Expect: 100-continue`,
//! keep-alive, timeouts and closing. It decides nothing about what a request
//! means; every refusal it makes is rendered by the listener's front in the
//! venue's own error shape.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::chunked::{self, ChunkedError};
use crate::config::Limits;
use crate::rules::{RejectReason, Rejection};
use crate::venue::headers::{Headers, MAX_HEADERS, MAX_HEAD_BYTES};

/// Read buffer each connection starts with; it grows for larger requests.
const READ_BUFFER_BYTES: usize = 8 << 10;
/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that closing with unread bytes does not reset the
/// connection before the client has read the answer.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);
/// Most bytes discarded while lingering.
const MAX_LINGER_BYTES: usize = 256 << 10;

/// One request as read off the wire.
pub struct Request {
    pub method: Method,
    /// The request head as received; the target and the fields index into it.
    head: Bytes,
    target_at: usize,
    target_len: usize,
    pub headers: Headers,
    pub body: Bytes,
}

impl Request {
    /// The request target as sent: path and query, in origin form.
    pub fn target(&self) -> &str {
        self.head
            .get(self.target_at..self.target_at + self.target_len)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("/")
    }
}

/// Splits a request target into its path and query (`Some("")` for a bare `?`).
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// An answer to write.
pub struct Answer {
    pub status: u16,
    /// The exchange's end-to-end fields, forwarded as they came; `None` for
    /// riskgate's own JSON answers (and the paper venue's).
    pub headers: Option<Headers>,
    pub body: Bytes,
    /// `X-Riskgate-Decision`.
    pub decision: &'static str,
    /// `X-Riskgate-Rule`, when a rule decided.
    pub rule: Option<&'static str>,
}

/// What serves the requests of one listener.
pub(super) trait Handler {
    async fn handle(&self, req: &Request) -> Answer;
    /// riskgate's refusal, in the listener's format.
    fn refuse(&self, r: &Rejection) -> Answer;
}

/// Why a request could not be read.
enum ReadError {
    /// The client closed, broke the connection or went quiet (between
    /// requests, or before its head was complete): close, no answer.
    Closed,
    /// Answer this refusal, then close.
    Refuse(Rejection),
}

fn malformed(msg: &'static str) -> ReadError {
    ReadError::Refuse(Rejection::new(RejectReason::MalformedRequest, msg))
}

/// How the request body is delimited (RFC 9112 §6.3).
enum Framing {
    Length(usize),
    Chunked,
}

/// A parsed request head, before its body is read.
struct Head {
    request: Request,
    framing: Framing,
    expect_continue: bool,
    /// Close after this request: the client asked, or spoke HTTP/1.0 without keep-alive.
    close: bool,
    http10: bool,
}

struct ClientConn {
    stream: TcpStream,
    buf: BytesMut,
    /// The answer head being written; reused across requests.
    out: Vec<u8>,
}

impl ClientConn {
    fn new(stream: TcpStream) -> ClientConn {
        ClientConn {
            stream,
            buf: BytesMut::with_capacity(READ_BUFFER_BYTES),
            out: Vec::with_capacity(512),
        }
    }
}

impl chunked::Source for ClientConn {
    fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    async fn fill(&mut self) -> std::io::Result<bool> {
        chunked::read_more(&mut self.stream, &mut self.buf, READ_BUFFER_BYTES).await
    }
}

/// Serves one client connection until it closes, a read limit cuts it, or
/// riskgate shuts down (the in-flight request is answered first).
pub(super) async fn serve<H: Handler>(handler: &H, shared: &super::Shared, stream: TcpStream) {
    let limits = &shared.limits;
    let mut conn = ClientConn::new(stream);
    // One shutdown waiter for the connection's life, not one per request.
    let mut shutdown_rx = shared.subscribe();
    let shutdown = shutdown_rx.wait_for(|s| *s);
    tokio::pin!(shutdown);
    // The first head must be complete within header_read_timeout of the
    // connection's start (an idle connection holds a slot); a kept-alive
    // connection may then idle up to keep_alive_timeout between requests,
    // and each later head must be complete within header_read_timeout of its
    // first byte.
    let mut wait = Wait {
        idle_until: Instant::now() + limits.header_read_timeout,
        first: true,
    };
    loop {
        if shared.is_shutting_down() {
            break;
        }
        let head = tokio::select! {
            biased;
            h = read_head(&mut conn, limits, wait) => h,
            _ = &mut shutdown, if conn.buf.is_empty() => break,
        };
        let head = match head {
            Ok(h) => h,
            Err(ReadError::Closed) => return,
            Err(ReadError::Refuse(r)) => return refuse_and_close(conn, &handler.refuse(&r)).await,
        };
        let Head {
            mut request,
            framing,
            expect_continue,
            close,
            http10,
        } = head;
        request.body = match read_body(&mut conn, limits, &framing, expect_continue).await {
            Ok(b) => b,
            Err(r) => return refuse_and_close(conn, &handler.refuse(&r)).await,
        };
        let answer = handler.handle(&request).await;
        let close = close || shared.is_shutting_down();
        let head_only = request.method == Method::HEAD;
        drop(request);
        if write_answer(&mut conn, &answer, close, http10, head_only)
            .await
            .is_err()
        {
            return;
        }
        if close {
            break;
        }
        wait = Wait {
            idle_until: Instant::now() + limits.keep_alive_timeout,
            first: false,
        };
    }
    let _ = conn.stream.shutdown().await;
}

/// Answers with a refusal, then closes (see `linger_and_close`).
async fn refuse_and_close(mut conn: ClientConn, answer: &Answer) {
    let _ = tokio::time::timeout(LINGER, write_answer(&mut conn, answer, true, false, false)).await;
    linger_and_close(conn).await;
}

/// A connection over the cap: its refusal, then close, without reading a request.
pub(super) async fn refuse_connection(stream: TcpStream, answer: &Answer) {
    refuse_and_close(ClientConn::new(stream), answer).await;
}

/// How long `read_head` waits.
#[derive(Clone, Copy)]
struct Wait {
    /// For the head's first byte.
    idle_until: Instant,
    /// The connection's first request: its whole head is due by `idle_until`.
    first: bool,
}

/// Reads one request head: waits for its first byte until `wait.idle_until`,
/// then for the rest at most `header_read_timeout` (the first request: all of
/// it by `idle_until`).
async fn read_head(conn: &mut ClientConn, limits: &Limits, wait: Wait) -> Result<Head, ReadError> {
    use chunked::Source as _;
    let head_deadline = |now: Instant| {
        if wait.first {
            wait.idle_until
        } else {
            now + limits.header_read_timeout
        }
    };
    let mut deadline = if conn.buf.is_empty() {
        wait.idle_until
    } else {
        head_deadline(Instant::now())
    };
    loop {
        if !conn.buf.is_empty() {
            if let Some(head) = parse_head(&mut conn.buf)? {
                return Ok(head);
            }
            if conn.buf.len() >= MAX_HEAD_BYTES {
                return Err(malformed("request head too large"));
            }
        }
        let was_empty = conn.buf.is_empty();
        match tokio::time::timeout_at(deadline, conn.fill()).await {
            Ok(Ok(true)) => {
                if was_empty {
                    // The first bytes of a head: the rest must follow promptly.
                    deadline = head_deadline(Instant::now());
                }
            }
            // EOF, a reset, or silence.
            _ => return Err(ReadError::Closed),
        }
    }
}

/// Parses a complete head off the front of `buf` (`None`: not complete yet).
fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, ReadError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(malformed("more than 100 header fields"))
        }
        Err(_) => return Err(malformed("malformed request head")),
    };
    if head_len > MAX_HEAD_BYTES {
        return Err(malformed("request head too large"));
    }
    let method = Method::from_bytes(req.method.unwrap_or_default().as_bytes())
        .map_err(|_| malformed("malformed method"))?;
    let http10 = req.version == Some(0);
    let target = req.path.unwrap_or_default();
    // Origin form only, visible ASCII, no fragment: a target an exchange
    // could read another way is not forwarded.
    if !target.starts_with('/') {
        return Err(malformed("request target must be a path (origin form)"));
    }
    if !target.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
        return Err(malformed(
            "request target has bytes outside visible ASCII, or a fragment",
        ));
    }
    let target_at = target.as_ptr() as usize - buf.as_ptr() as usize;
    let target_len = target.len();

    let mut headers = Headers::new();
    let mut content_length: Option<usize> = None;
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut several_te = false;
    let mut close = http10;
    let mut expect_continue = false;
    for f in req.headers.iter() {
        headers
            .push_parsed(buf, f.name.as_bytes(), f.value)
            .map_err(|_| malformed("malformed request head"))?;
        let name = f.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            if content_length.is_some() {
                return Err(malformed("several Content-Length fields"));
            }
            content_length = Some(
                std::str::from_utf8(f.value)
                    .ok()
                    .filter(|v| {
                        !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or_else(|| malformed("malformed Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            several_te |= transfer_encoding.is_some();
            transfer_encoding = Some(f.value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in f.value.split(|b| *b == b',').map(|t| t.trim_ascii()) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    close = false;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            if f.value.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
                expect_continue = !http10;
            } else {
                return Err(malformed("unsupported Expect"));
            }
        }
    }
    let framing = match (transfer_encoding, content_length) {
        (Some(_), Some(_)) => {
            return Err(malformed(
                "both Transfer-Encoding and Content-Length: ambiguous framing",
            ))
        }
        (Some(te), None) => {
            if several_te || http10 || !te.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(malformed("unsupported Transfer-Encoding (only chunked)"));
            }
            Framing::Chunked
        }
        (None, Some(n)) => Framing::Length(n),
        (None, None) => Framing::Length(0),
    };
    let head = buf.split_to(head_len).freeze();
    let request = Request {
        method,
        head: head.clone(),
        target_at,
        target_len,
        headers: headers.attach(head),
        body: Bytes::new(),
    };
    Ok(Some(Head {
        request,
        framing,
        expect_continue,
        close,
        http10,
    }))
}

/// Reads the body the head announced, within `max_body_bytes` and `body_read_timeout`.
async fn read_body(
    conn: &mut ClientConn,
    limits: &Limits,
    framing: &Framing,
    expect_continue: bool,
) -> Result<Bytes, Rejection> {
    use chunked::Source as _;
    let too_large = || {
        Rejection::new(
            RejectReason::BodyTooLarge,
            format!("body over {} bytes", limits.max_body_bytes),
        )
    };
    // A declared length over the limit is refused before reading any of it.
    if let Framing::Length(n) = framing {
        if *n > limits.max_body_bytes {
            return Err(too_large());
        }
        if *n == 0 {
            return Ok(Bytes::new());
        }
    }
    let complete = matches!(framing, Framing::Length(n) if conn.buf.len() >= *n);
    if expect_continue && !complete {
        conn.stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|_| Rejection::new(RejectReason::MalformedRequest, "connection broke"))?;
    }
    let read = async {
        match framing {
            Framing::Length(n) => {
                while conn.buf.len() < *n {
                    if !conn.fill().await? {
                        return Err(ChunkedError::Closed);
                    }
                }
                Ok(conn.buf.split_to(*n).freeze())
            }
            Framing::Chunked => chunked::read(conn, limits.max_body_bytes).await,
        }
    };
    match tokio::time::timeout(limits.body_read_timeout, read).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(ChunkedError::TooLarge(_))) => Err(too_large()),
        Ok(Err(ChunkedError::Malformed(m))) => Err(Rejection::new(
            RejectReason::MalformedRequest,
            format!("malformed chunked body: {m}"),
        )),
        Ok(Err(_)) => Err(Rejection::new(
            RejectReason::MalformedRequest,
            "request body could not be read",
        )),
        Err(_) => Err(Rejection::new(
            RejectReason::MalformedRequest,
            "request body read timed out",
        )),
    }
}

thread_local! {
    /// The `Date` field's value, formatted once per second per worker.
    static DATE: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((0, String::new())) };
}

fn push_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs || d.1.is_empty() {
            *d = (secs, httpdate::fmt_http_date(now));
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(d.1.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}

/// Writes the answer's head into `out`.
fn encode_head(out: &mut Vec<u8>, a: &Answer, close: bool, http10: bool, body_len: usize) {
    out.clear();
    let status = http::StatusCode::from_u16(a.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_date = false;
    match &a.headers {
        Some(h) => {
            for (name, value) in h.iter_raw() {
                has_date |= name.eq_ignore_ascii_case(b"date");
                out.extend_from_slice(name);
                out.extend_from_slice(b": ");
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
        }
        None => out.extend_from_slice(b"content-type: application/json;charset=UTF-8\r\n"),
    }
    if !has_date {
        push_date(out);
    }
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body_len).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(super::DECISION_HEADER.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(a.decision.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(rule) = a.rule {
        out.extend_from_slice(super::RULE_HEADER.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(rule.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if http10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes head and body with as few `writev`s as the socket allows.
async fn write_answer(
    conn: &mut ClientConn,
    a: &Answer,
    close: bool,
    http10: bool,
    head_only: bool,
) -> std::io::Result<()> {
    encode_head(&mut conn.out, a, close, http10, a.body.len());
    let body: &[u8] = if head_only { &[] } else { &a.body };
    let (mut head_at, mut body_at) = (0, 0);
    while head_at < conn.out.len() || body_at < body.len() {
        let parts = [
            IoSlice::new(&conn.out[head_at..]),
            IoSlice::new(&body[body_at..]),
        ];
        let n = conn.stream.write_vectored(&parts).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(conn.out.len() - head_at);
        head_at += from_head;
        body_at += n - from_head;
    }
    Ok(())
}

/// Closes after a refusal: stop writing, then read and discard what the
/// client still sends (briefly, boundedly), so the client reads the answer
/// rather than a connection reset.
async fn linger_and_close(mut conn: ClientConn) {
    let _ = conn.stream.shutdown().await;
    let _ = tokio::time::timeout(LINGER, async {
        let mut discarded = 0;
        let mut sink = [0u8; 4096];
        while discarded < MAX_LINGER_BYTES {
            match conn.stream.read(&mut sink).await {
                Ok(n) if n > 0 => discarded += n,
                _ => break,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<Head>, ReadError> {
        parse_head(&mut BytesMut::from(raw))
    }

    fn refused(raw: &[u8]) -> String {
        match head(raw) {
            Err(ReadError::Refuse(r)) => r.message,
            Ok(Some(_)) => panic!("accepted: {}", String::from_utf8_lossy(raw)),
            _ => panic!("not refused: {}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn parses_target_fields_and_framing() {
        let mut buf = BytesMut::from(
            &b"POST /api/v3/order?a=1 HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: k\r\nContent-Length: 3\r\n\r\nq=1GET"[..],
        );
        let h = parse_head(&mut buf).ok().flatten().unwrap();
        assert_eq!(h.request.method, Method::POST);
        assert_eq!(h.request.target(), "/api/v3/order?a=1");
        assert_eq!(
            split_target(h.request.target()),
            ("/api/v3/order", Some("a=1"))
        );
        assert_eq!(h.request.headers.get("x-mbx-apikey").unwrap(), "k");
        assert!(matches!(h.framing, Framing::Length(3)));
        assert!(!h.close && !h.http10 && !h.expect_continue);
        assert_eq!(
            &buf[..],
            b"q=1GET",
            "the body and what follows stay buffered"
        );

        assert!(head(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .ok()
            .unwrap()
            .is_none());
        let h = head(b"GET / HTTP/1.0\r\n\r\n").ok().flatten().unwrap();
        assert!(h.close && h.http10);
        let h = head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .ok()
            .flatten()
            .unwrap();
        assert!(!h.close);
        let h = head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .ok()
            .flatten()
            .unwrap();
        assert!(h.close);
        let h =
            head(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n")
                .ok()
                .flatten()
                .unwrap();
        assert!(matches!(h.framing, Framing::Chunked) && h.expect_continue);
    }

    #[test]
    fn refuses_ambiguous_framing_and_odd_targets() {
        for (raw, why) in [
            (&b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"[..], "ambiguous"),
            (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", "several"),
            (b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", "Content-Length"),
            (b"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", "Content-Length"),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding"),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding"),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding"),
            (b"POST / HTTP/1.1\r\nExpect: something\r\n\r\n", "Expect"),
            (b"GET http://evil/ HTTP/1.1\r\n\r\n", "origin form"),
            (b"OPTIONS * HTTP/1.1\r\n\r\n", "origin form"),
            (b"GET /a#b HTTP/1.1\r\n\r\n", "fragment"),
            (b"GET /a\xc3\xa9 HTTP/1.1\r\n\r\n", "visible ASCII"),
            (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "malformed"),
            (b"GET / HTTP/2.0\r\n\r\n", "malformed"),
        ] {
            let msg = refused(raw);
            assert!(msg.contains(why), "{}: {msg}", String::from_utf8_lossy(raw));
        }
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "a: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(refused(many.as_bytes()).contains("100 header fields"));
    }

    #[test]
    fn answer_head_carries_length_decision_and_close() {
        let a = Answer {
            status: 400,
            headers: None,
            body: Bytes::from_static(b"{}"),
            decision: "reject",
            rule: Some("max_order_notional"),
        };
        let mut out = Vec::new();
        encode_head(&mut out, &a, true, false, 2);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json;charset=UTF-8\r\ndate: "), "{text}");
        assert!(text.ends_with("\r\ncontent-length: 2\r\nx-riskgate-decision: reject\r\nx-riskgate-rule: max_order_notional\r\nconnection: close\r\n\r\n"), "{text}");

        // An exchange's fields go out as they came, with its own Date.
        let a = Answer {
            status: 200,
            headers: Some(Headers::from_pairs(&[
                ("Content-Type", "application/json"),
                ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
                ("X-MBX-USED-WEIGHT", "3"),
            ])),
            body: Bytes::new(),
            decision: "pass",
            rule: None,
        };
        let mut out = Vec::new();
        encode_head(&mut out, &a, false, true, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nX-MBX-USED-WEIGHT: 3\r\ncontent-length: 0\r\nx-riskgate-decision: pass\r\nconnection: keep-alive\r\n\r\n"
        );
    }
}
