//! Closed-loop HTTP/1.1 load generator: N keep-alive connections on one
//! current-thread runtime, each sending one signed `POST /api/v3/order` and waiting
//! for the whole answer before the next. Every order carries a unique
//! `newClientOrderId` and is signed when sent (so `timestamp` stays inside
//! `recvWindow` however long the run). Latency is recorded per request (write of the
//! request to the last byte of the answer) in an HDR histogram, in nanoseconds.
//!
//! A run has a warm-up phase (answers checked and counted, latencies not recorded)
//! and a measured phase; `on_phase` is called at each boundary so the caller can
//! snapshot CPU counters at the same instants.

use std::cell::Cell;
use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sign::{self, Signer, API_KEY, API_SECRET};

/// Longest wait for one answer before the request counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Distinct limit prices the load cycles through (57500.00 to 58999.99, 1.7-4.2 %
/// under the mock's 60000.00): riskgate's duplicate rule refuses a second order with
/// the same symbol, side, type, quantity and price within its window, so consecutive
/// orders differ in price, and any 150 000 consecutive orders are all distinct.
pub const PRICE_STEPS: u64 = 150_000;

/// Writes an order body, signed, into `out` (cleared first). `index` is the order's
/// position in the run (sets the price); `conn` and `seq` make the client order id.
pub fn signed_order_body(
    out: &mut Vec<u8>,
    signer: &Signer,
    tag: &str,
    conn: usize,
    seq: u64,
    index: u64,
    timestamp_ms: u64,
) {
    out.clear();
    let cents = 5_900_000 - 1 - index % PRICE_STEPS;
    let _ = write!(
        out,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price={}.{:02}\
         &newClientOrderId={tag}-{conn}-{seq}&recvWindow=5000&timestamp={timestamp_ms}",
        cents / 100,
        cents % 100
    );
    let mut sig = Vec::with_capacity(64);
    signer.sign_hex_into(out, &mut sig);
    out.extend_from_slice(b"&signature=");
    out.extend_from_slice(&sig);
}

/// Writes a whole `POST /api/v3/order` request (head and body) into `out`.
pub fn order_request(out: &mut Vec<u8>, body: &[u8], host: &SocketAddr) {
    out.clear();
    let _ = write!(
        out,
        "POST /api/v3/order HTTP/1.1\r\nHost: {host}\r\nUser-Agent: riskgate-e2e/0.1\r\nX-MBX-APIKEY: {API_KEY}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(body);
}

/// What the harness needs from one answer's head.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    /// Byte range of the (still encoded) body in the buffer.
    pub body_start: usize,
    pub end: usize,
    /// The server will close the connection after this answer.
    pub close: bool,
    /// `X-Riskgate-Decision: reject`.
    pub riskgate_reject: bool,
}

/// Parses one complete HTTP/1.1 answer at the start of `buf`; `Ok(None)` if more bytes are needed.
pub fn parse_answer(buf: &[u8]) -> Result<Option<Answer>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("unparsable answer: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let mut close = resp.version == Some(0);
    let (mut content_length, mut chunked, mut riskgate_reject) = (None, false, false);
    for h in resp.headers.iter() {
        let v = h.value;
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = v.eq_ignore_ascii_case(b"close");
        } else if h.name.eq_ignore_ascii_case("x-riskgate-decision") {
            riskgate_reject = v.eq_ignore_ascii_case(b"reject");
        }
    }
    let end = if chunked {
        match chunked_end(&buf[head_len..])? {
            Some(n) => head_len + n,
            None => return Ok(None),
        }
    } else if let Some(n) = content_length {
        if buf.len() < head_len + n {
            return Ok(None);
        }
        head_len + n
    } else if status < 200 || status == 204 || status == 304 {
        head_len
    } else {
        return Err(format!(
            "answer {status} has neither Content-Length nor chunked encoding"
        ));
    };
    Ok(Some(Answer {
        status,
        body_start: head_len,
        end,
        close,
        riskgate_reject,
    }))
}

/// Length of a complete chunked body (through the final empty line), or None if incomplete.
fn chunked_end(b: &[u8]) -> Result<Option<usize>, String> {
    let mut pos = 0;
    loop {
        let Some(eol) = b[pos..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = &b[pos..pos + eol];
        let hex = line.split(|&c| c == b';').next().unwrap_or(b"");
        let size = std::str::from_utf8(hex)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| "bad chunk size".to_string())?;
        pos += eol + 2;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                let Some(eol) = b[pos..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        if b.len() < pos + size + 2 {
            return Ok(None);
        }
        pos += size + 2;
    }
}

/// One blocking request on a fresh connection (setup, checks, mock stats).
/// Returns the status, whether riskgate marked it rejected, and the body text.
pub fn one_shot(addr: SocketAddr, request: &[u8]) -> io::Result<(u16, bool, String)> {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    s.set_nodelay(true)?;
    s.write_all(request)?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(a) = parse_answer(&buf).map_err(io::Error::other)? {
            let body = String::from_utf8_lossy(&buf[a.body_start..a.end]).into_owned();
            return Ok((a.status, a.riskgate_reject, body));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A `GET` request (no body) for `one_shot`.
pub fn get_request(path_and_query: &str, host: &SocketAddr) -> Vec<u8> {
    format!("GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: riskgate-e2e/0.1\r\nX-MBX-APIKEY: {API_KEY}\r\n\r\n").into_bytes()
}

/// One signed order request for `one_shot`.
pub fn one_order_request(tag: &str, host: &SocketAddr) -> Vec<u8> {
    let mut body = Vec::new();
    signed_order_body(
        &mut body,
        &Signer::new(API_SECRET),
        tag,
        0,
        0,
        0,
        sign::now_ms(),
    );
    let mut req = Vec::new();
    order_request(&mut req, &body, host);
    req
}

pub struct LoadSpec {
    pub addr: SocketAddr,
    pub conns: usize,
    pub warmup: Duration,
    pub measure: Duration,
    /// Prefix of every `newClientOrderId` of this run (unique per run).
    pub tag: String,
}

/// Counters over one run. Status counts cover warm-up and measurement, so an error
/// in either flags the run; latency and `measured_requests` cover measurement only.
pub struct LoadResult {
    pub latency_ns: Histogram<u64>,
    pub measured_requests: u64,
    pub measured_s: f64,
    pub ok_2xx: u64,
    pub non_2xx: u64,
    pub riskgate_rejects: u64,
    pub io_errors: u64,
    pub reconnects: u64,
    /// Status and first bytes of the first non-2xx answer or error, for the report.
    pub first_problem: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Stop,
}

struct ConnStats {
    latency_ns: Histogram<u64>,
    measured: u64,
    ok_2xx: u64,
    non_2xx: u64,
    riskgate_rejects: u64,
    io_errors: u64,
    reconnects: u64,
    first_problem: Option<String>,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs the load on the calling thread (a current-thread runtime) and returns its counters.
/// `on_phase(true)` is called as measurement starts, `on_phase(false)` as it ends.
pub fn run(spec: &LoadSpec, mut on_phase: impl FnMut(bool)) -> LoadResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let phase = Rc::new(Cell::new(Phase::Warmup));
    let (stats, measured_s) = local.block_on(&rt, async {
        let tasks: Vec<_> = (0..spec.conns)
            .map(|conn| {
                tokio::task::spawn_local(connection(
                    spec.addr,
                    conn,
                    spec.conns,
                    spec.tag.clone(),
                    phase.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(spec.warmup).await;
        on_phase(true);
        phase.set(Phase::Measure);
        let t0 = Instant::now();
        tokio::time::sleep(spec.measure).await;
        phase.set(Phase::Stop);
        let measured_s = t0.elapsed().as_secs_f64();
        on_phase(false);
        let mut stats = Vec::new();
        for t in tasks {
            // Each task ends after its current request (bounded by REQUEST_TIMEOUT).
            if let Ok(Ok(s)) = tokio::time::timeout(REQUEST_TIMEOUT * 2, t).await {
                stats.push(s);
            }
        }
        (stats, measured_s)
    });
    let mut out = LoadResult {
        latency_ns: new_histogram(),
        measured_requests: 0,
        measured_s,
        ok_2xx: 0,
        non_2xx: 0,
        riskgate_rejects: 0,
        io_errors: 0,
        reconnects: 0,
        first_problem: None,
    };
    if stats.len() < spec.conns {
        out.io_errors += (spec.conns - stats.len()) as u64;
        out.first_problem
            .get_or_insert_with(|| "a connection task did not finish".into());
    }
    for s in stats {
        let _ = out.latency_ns.add(&s.latency_ns);
        out.measured_requests += s.measured;
        out.ok_2xx += s.ok_2xx;
        out.non_2xx += s.non_2xx;
        out.riskgate_rejects += s.riskgate_rejects;
        out.io_errors += s.io_errors;
        out.reconnects += s.reconnects;
        if out.first_problem.is_none() {
            out.first_problem = s.first_problem;
        }
    }
    out
}

async fn connection(
    addr: SocketAddr,
    conn: usize,
    conns: usize,
    tag: String,
    phase: Rc<Cell<Phase>>,
) -> ConnStats {
    let signer = Signer::new(API_SECRET);
    let mut st = ConnStats {
        latency_ns: new_histogram(),
        measured: 0,
        ok_2xx: 0,
        non_2xx: 0,
        riskgate_rejects: 0,
        io_errors: 0,
        reconnects: 0,
        first_problem: None,
    };
    let (mut body, mut req, mut buf) = (
        Vec::with_capacity(512),
        Vec::with_capacity(1024),
        Vec::with_capacity(4096),
    );
    let mut stream: Option<TcpStream> = None;
    let mut seq = 0u64;
    while phase.get() != Phase::Stop {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => match TcpStream::connect(addr)
                .await
                .and_then(|s| s.set_nodelay(true).map(|_| s))
            {
                Ok(s) => stream.insert(s),
                Err(e) => {
                    st.io_errors += 1;
                    st.first_problem
                        .get_or_insert_with(|| format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        seq += 1;
        let index = seq * conns as u64 + conn as u64;
        signed_order_body(&mut body, &signer, &tag, conn, seq, index, sign::now_ms());
        order_request(&mut req, &body, &addr);
        buf.clear();
        let start = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, exchange(s, &req, &mut buf)).await;
        let latency_ns = start.elapsed().as_nanos() as u64;
        match result {
            Ok(Ok(a)) => {
                if phase.get() == Phase::Measure {
                    let _ = st.latency_ns.record(latency_ns.max(1_000));
                    st.measured += 1;
                }
                if (200..300).contains(&a.status) {
                    st.ok_2xx += 1;
                } else {
                    st.non_2xx += 1;
                    st.first_problem.get_or_insert_with(|| {
                        let body = String::from_utf8_lossy(
                            &buf[a.body_start..a.end.min(a.body_start + 200)],
                        )
                        .into_owned();
                        format!("HTTP {}: {body}", a.status)
                    });
                }
                st.riskgate_rejects += u64::from(a.riskgate_reject);
                if a.close {
                    stream = None;
                    st.reconnects += 1;
                }
            }
            Ok(Err(e)) => {
                st.io_errors += 1;
                st.first_problem.get_or_insert_with(|| format!("i/o: {e}"));
                stream = None;
            }
            Err(_) => {
                st.io_errors += 1;
                st.first_problem
                    .get_or_insert_with(|| format!("no answer within {REQUEST_TIMEOUT:?}"));
                stream = None;
            }
        }
    }
    st
}

async fn exchange(s: &mut TcpStream, req: &[u8], buf: &mut Vec<u8>) -> io::Result<Answer> {
    s.write_all(req).await?;
    loop {
        if let Some(a) = parse_answer(buf).map_err(io::Error::other)? {
            return Ok(a);
        }
        if s.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}
