//! A mock Binance spot and USD-M futures exchange for integration tests: a real HTTP/1.1 server on
//! 127.0.0.1:0 that verifies Binance's HMAC-SHA256 request signatures exactly as
//! Binance does, then lets riskgate's own paper exchange (`PaperBinance`) answer.
//!
//! Owns: the server (on its own thread and runtime, so sync and async tests can
//! both use it and a blocked test thread never starves it), the signature and
//! timestamp checks, the fault knobs (5xx, delays, hangs, dropped connections,
//! before or after the order executed), the log of every request as received
//! (bytes exactly), and small client helpers (`sign`, `SignedRequest`,
//! `send`). Must not touch riskgate's code paths under test: it only calls the
//! public `PaperBinance` API (and `PaperBinanceUsdm` for `/fapi` paths, signed
//! the same way as spot).
//!
//! Signature rule (Binance spot REST): `signature` = lower-case hex of
//! HMAC-SHA256(secret, totalParams), where totalParams is the raw query string
//! concatenated with the raw request body (no separator), with the
//! `signature=...` parameter itself removed. The signature may be sent in the
//! query or in the body; it is compared case-insensitively.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use sha2::Sha256;

use riskgate::clock::{ManualClock, SharedClock, SystemClock};
use riskgate::market::sim::{MarketSim, SharedMarket, SimConfig};
use riskgate::model::Fixed;
use riskgate::paper::{PaperBinance, PaperBinanceUsdm};
use riskgate::venue::RequestView;

/// The key and secret every mock knows unless told otherwise.
pub const TEST_API_KEY: &str = "rgTestKey0000000000000000000000000000000000000000000000000000001";
pub const TEST_SECRET: &str = "rgTestSecret000000000000000000000000000000000000000000000000001";
/// 2024-06-01T12:00:00Z: the manual clock's default start.
pub const MOCK_START_MS: i64 = 1_717_243_200_000;
/// Largest request body the mock reads.
const MAX_BODY_BYTES: usize = 1 << 20;
/// Requests kept in the log (later ones are counted but not kept).
const MAX_LOGGED_REQUESTS: usize = 100_000;
/// Binance's default and largest `recvWindow`.
const DEFAULT_RECV_WINDOW_MS: i64 = 5_000;
const MAX_RECV_WINDOW_MS: i64 = 60_000;

/// Endpoints Binance requires a signature for (TRADE and USER_DATA).
pub fn is_signed_endpoint(method: &Method, path: &str) -> bool {
    // USD-M futures: everything but public market data is TRADE or USER_DATA.
    if let Some(rest) = path.strip_prefix("/fapi/") {
        // (listenKey needs only the API key, no signature.)
        return !matches!(
            rest,
            "v1/ping"
                | "v1/time"
                | "v1/exchangeInfo"
                | "v1/ticker/price"
                | "v1/klines"
                | "v1/listenKey"
        );
    }
    matches!(
        (method, path),
        (&Method::POST, "/api/v3/order")
            | (&Method::POST, "/api/v3/order/test")
            | (&Method::DELETE, "/api/v3/order")
            | (&Method::GET, "/api/v3/order")
            | (&Method::DELETE, "/api/v3/openOrders")
            | (&Method::GET, "/api/v3/openOrders")
            | (&Method::GET, "/api/v3/allOrders")
            | (&Method::GET, "/api/v3/myTrades")
            | (&Method::GET, "/api/v3/account")
    )
}

/// Hex HMAC-SHA256 of `query + body` under `secret`: Binance's `signature`.
pub fn sign(secret: &str, query: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(query.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// One request exactly as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Order of arrival, from 0.
    pub seq: u64,
    pub method: Method,
    /// Raw path, not decoded.
    pub path: String,
    /// Raw query without the `?`.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `path?query` as it appeared on the request line.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// What goes wrong with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this HTTP status and Binance's -1000 body.
    Status(u16),
    /// Never answer (the connection stays open until the mock is dropped).
    Hang,
    /// Close the connection without answering.
    Close,
    /// Answer normally, but only after this long.
    Delay(Duration),
    /// Answer normally once the test opens the gate (`Gate::open`).
    Hold(Gate),
}

/// A gate held requests wait at until the test opens it (one request per opening).
#[derive(Clone, Debug)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl Gate {
    pub fn new() -> Gate {
        Gate(Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Lets one held request go on.
    pub fn open(&self) {
        self.0.add_permits(1);
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

/// Whether the fault hits before the paper exchange saw the request (nothing
/// executed) or after (the order exists, only the answer is lost or late).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultWhen {
    BeforeExecuting,
    AfterExecuting,
}

#[derive(Clone, Debug)]
struct Fault {
    kind: FaultKind,
    when: FaultWhen,
    /// Only requests to this path (any when None) take the fault.
    path: Option<String>,
}

/// Knobs tests turn while the mock runs. Faults are queued and each is used
/// by exactly one matching request, in order.
#[derive(Default)]
pub struct MockControl {
    faults: Mutex<VecDeque<Fault>>,
    delay_all_ms: AtomicU64,
    check_timestamps: AtomicBool,
    verify_signatures_off: AtomicBool,
    /// Wakes every connection task to drop its connection (`drop_connections`).
    drop_all: tokio::sync::Notify,
    open_connections: std::sync::atomic::AtomicUsize,
}

impl MockControl {
    /// Queues one fault for the next request to `path` (any path when None).
    pub fn push_fault(&self, kind: FaultKind, when: FaultWhen, path: Option<&str>) {
        self.faults.lock().push_back(Fault {
            kind,
            when,
            path: path.map(str::to_owned),
        });
    }

    /// The next `n` requests to `path` answer `status` without executing.
    pub fn fail_next(&self, n: usize, status: u16, path: Option<&str>) {
        for _ in 0..n {
            self.push_fault(FaultKind::Status(status), FaultWhen::BeforeExecuting, path);
        }
    }

    /// The next request to `path` never gets an answer.
    pub fn hang_next(&self, path: Option<&str>, when: FaultWhen) {
        self.push_fault(FaultKind::Hang, when, path);
    }

    /// The next request to `path` has its connection closed without an answer.
    pub fn close_next(&self, path: Option<&str>, when: FaultWhen) {
        self.push_fault(FaultKind::Close, when, path);
    }

    /// Every answer waits this long (after executing). Zero turns it off.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_all_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Checks `timestamp`/`recvWindow` on signed requests against the mock's clock.
    pub fn set_check_timestamps(&self, on: bool) {
        self.check_timestamps.store(on, Ordering::SeqCst);
    }

    /// Turns signature verification off (API keys are still required).
    pub fn set_verify_signatures(&self, on: bool) {
        self.verify_signatures_off.store(!on, Ordering::SeqCst);
    }

    /// Closes every open connection, idle keep-alive ones included, without an
    /// answer (what an exchange's load balancer does to idle connections).
    pub fn drop_connections(&self) {
        self.drop_all.notify_waiters();
    }

    /// Client connections currently open to the mock.
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::SeqCst)
    }

    pub fn pending_faults(&self) -> usize {
        self.faults.lock().len()
    }

    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut q = self.faults.lock();
        let i = q
            .iter()
            .position(|f| f.path.as_deref().is_none_or(|p| p == path))?;
        q.remove(i)
    }
}

/// How to build a mock.
pub struct MockOptions {
    /// Start of the manual clock (and of the simulated market).
    pub start_ms: i64,
    /// Use the system clock instead of the manual one (for real client libraries).
    pub system_clock: bool,
    pub sim: SimConfig,
    pub starting_balances: Vec<(String, Fixed)>,
    /// API key → secret.
    pub keys: Vec<(String, String)>,
    pub check_timestamps: bool,
}

impl Default for MockOptions {
    fn default() -> MockOptions {
        MockOptions {
            start_ms: MOCK_START_MS,
            system_clock: false,
            sim: SimConfig::default(),
            starting_balances: vec![("USDT".to_owned(), Fixed::from_units(100_000))],
            keys: vec![(TEST_API_KEY.to_owned(), TEST_SECRET.to_owned())],
            check_timestamps: false,
        }
    }
}

struct Inner {
    paper: Arc<PaperBinance>,
    usdm: Arc<PaperBinanceUsdm>,
    clock: SharedClock,
    keys: Mutex<HashMap<String, String>>,
    control: Arc<MockControl>,
    log: Mutex<Vec<RecordedRequest>>,
    received: AtomicU64,
    executed: AtomicU64,
}

/// A running mock exchange. Dropping it stops the server.
pub struct MockBinance {
    pub addr: SocketAddr,
    pub control: Arc<MockControl>,
    pub paper: Arc<PaperBinance>,
    /// The USD-M futures paper exchange answering `/fapi` paths.
    pub usdm: Arc<PaperBinanceUsdm>,
    pub market: SharedMarket,
    /// The manual clock (moves only when told; unused with `system_clock`).
    pub clock: Arc<ManualClock>,
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockBinance {
    /// A mock with the default key, balances and a manual clock at `MOCK_START_MS`.
    pub fn start() -> MockBinance {
        MockBinance::start_with(MockOptions::default())
    }

    pub fn start_with(opts: MockOptions) -> MockBinance {
        let manual = ManualClock::new(opts.start_ms);
        let clock: SharedClock = if opts.system_clock {
            Arc::new(SystemClock)
        } else {
            manual.clone()
        };
        let market = MarketSim::new(&opts.sim, clock.now_ms()).shared();
        let paper = Arc::new(PaperBinance::new(
            market.clone(),
            clock.clone(),
            opts.starting_balances.clone(),
        ));
        let usdm = Arc::new(PaperBinanceUsdm::new(
            market.clone(),
            clock.clone(),
            opts.starting_balances.clone(),
            1024,
        ));
        let control = Arc::new(MockControl::default());
        control.set_check_timestamps(opts.check_timestamps);
        let inner = Arc::new(Inner {
            paper: paper.clone(),
            usdm: usdm.clone(),
            clock,
            keys: Mutex::new(opts.keys.into_iter().collect()),
            control: control.clone(),
            log: Mutex::new(Vec::new()),
            received: AtomicU64::new(0),
            executed: AtomicU64::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server = inner.clone();
        let thread = std::thread::Builder::new()
            .name("mock-binance".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("mock runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    serve(listener, server, rx).await;
                });
            })
            .expect("spawn mock thread");
        MockBinance {
            addr,
            control,
            paper,
            usdm,
            market,
            clock: manual,
            inner,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_key(&self, key: &str, secret: &str) {
        self.inner
            .keys
            .lock()
            .insert(key.to_owned(), secret.to_owned());
    }

    /// Every request received so far (up to 100 000), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.log.lock().clone()
    }

    /// Requests to one path, in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.inner
            .log
            .lock()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Requests received (including faulted and refused ones).
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::SeqCst)
    }

    /// Requests the paper exchange executed (passed signature checks and faults).
    pub fn executed(&self) -> u64 {
        self.inner.executed.load(Ordering::SeqCst)
    }

    pub fn clear_log(&self) {
        self.inner.log.lock().clear();
    }
}

impl Drop for MockBinance {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    inner: Arc<Inner>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    // Dropping the set (on shutdown) aborts every connection, hung ones included.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let inner = inner.clone();
                let control = inner.control.clone();
                control.open_connections.fetch_add(1, Ordering::SeqCst);
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let inner = inner.clone();
                        async move { inner.respond(req).await }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = control.drop_all.notified() => {}
                    }
                    control.open_connections.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Returned by the service to make hyper drop the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mock: connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

fn json_response(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

fn binance_error(status: u16, code: i32, msg: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        serde_json::json!({ "code": code, "msg": msg }).to_string(),
    )
}

/// Removes every `signature=` pair from a raw parameter string; returns the rest
/// (pairs re-joined with `&`) and the signatures found.
fn strip_signature(raw: &str) -> (String, Vec<String>) {
    let mut kept = Vec::new();
    let mut sigs = Vec::new();
    for pair in raw.split('&') {
        match pair.strip_prefix("signature=") {
            Some(sig) => sigs.push(sig.to_owned()),
            None => kept.push(pair),
        }
    }
    (kept.join("&"), sigs)
}

fn param<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split('&')
        .find_map(|p| p.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

impl Inner {
    async fn respond(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, DropConnection> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Ok(binance_error(413, -1000, "Request body too large.")),
        };
        let seq = self.received.fetch_add(1, Ordering::SeqCst);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().map(str::to_owned);
        {
            let mut log = self.log.lock();
            if log.len() < MAX_LOGGED_REQUESTS {
                log.push(RecordedRequest {
                    seq,
                    method: parts.method.clone(),
                    path: path.clone(),
                    query: query.clone(),
                    headers: parts.headers.clone(),
                    body: body.clone(),
                });
            }
        }
        let fault = self.control.take_fault(&path);
        if let Some(f) = fault
            .as_ref()
            .filter(|f| f.when == FaultWhen::BeforeExecuting)
        {
            if let Some(early) = apply_fault(&f.kind).await? {
                return Ok(early);
            }
        }
        if let Some(refusal) = self.check_auth(
            &parts.method,
            &path,
            query.as_deref(),
            &parts.headers,
            &body,
        ) {
            return Ok(refusal);
        }
        let view = RequestView {
            method: &parts.method,
            path: &path,
            query: query.as_deref(),
            headers: &riskgate::venue::Headers::from_header_map(&parts.headers),
            body: &body,
        };
        let answer = if path.starts_with("/fapi/") {
            self.usdm.handle(&view)
        } else {
            self.paper.handle(&view)
        };
        self.executed.fetch_add(1, Ordering::SeqCst);
        if let Some(f) = fault
            .as_ref()
            .filter(|f| f.when == FaultWhen::AfterExecuting)
        {
            if let Some(late) = apply_fault(&f.kind).await? {
                return Ok(late);
            }
        }
        let delay_ms = self.control.delay_all_ms.load(Ordering::SeqCst);
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        Ok(json_response(answer.status, answer.body))
    }

    /// Binance's API-key, signature and timestamp checks for signed endpoints.
    fn check_auth(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Response<Full<Bytes>>> {
        if !is_signed_endpoint(method, path) {
            return None;
        }
        let key = match headers.get("x-mbx-apikey").map(|v| v.to_str()) {
            Some(Ok(k)) if !k.is_empty() => k,
            _ => return Some(binance_error(401, -2014, "API-key format invalid.")),
        };
        let Some(secret) = self.keys.lock().get(key).cloned() else {
            return Some(binance_error(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            ));
        };
        let Ok(body_str) = std::str::from_utf8(body) else {
            return Some(binance_error(
                400,
                -1100,
                "Illegal characters found in a parameter.",
            ));
        };
        let (query_rest, mut sigs) = strip_signature(query.unwrap_or(""));
        let (body_rest, body_sigs) = strip_signature(body_str);
        sigs.extend(body_sigs);
        if !self.control.verify_signatures_off.load(Ordering::SeqCst) {
            let sig = match sigs.as_slice() {
                [one] if !one.is_empty() => one,
                [] | [_] => return Some(binance_error(
                    400,
                    -1102,
                    "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
                )),
                _ => {
                    return Some(binance_error(
                        400,
                        -1101,
                        "Duplicate values for parameter 'signature'.",
                    ))
                }
            };
            let expected = sign(&secret, &query_rest, body_rest.as_bytes());
            if !sig.eq_ignore_ascii_case(&expected) {
                return Some(binance_error(
                    400,
                    -1022,
                    "Signature for this request is not valid.",
                ));
            }
        }
        if self.control.check_timestamps.load(Ordering::SeqCst) {
            let all = format!("{query_rest}&{body_rest}");
            let Some(ts) = param(&all, "timestamp").and_then(|t| t.parse::<i64>().ok()) else {
                return Some(binance_error(
                    400,
                    -1102,
                    "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
                ));
            };
            let window = match param(&all, "recvWindow").map(|w| w.parse::<i64>()) {
                None => DEFAULT_RECV_WINDOW_MS,
                Some(Ok(w)) if (0..=MAX_RECV_WINDOW_MS).contains(&w) => w,
                Some(_) => {
                    return Some(binance_error(
                        400,
                        -1131,
                        "recvWindow must be less than 60000",
                    ))
                }
            };
            let server = self.clock.now_ms();
            if ts > server + 1_000 || server - ts > window {
                return Some(binance_error(
                    400,
                    -1021,
                    "Timestamp for this request is outside of the recvWindow.",
                ));
            }
        }
        None
    }
}

/// Applies a fault: `Ok(Some(answer))` to answer now, `Ok(None)` to go on,
/// `Err` to drop the connection.
async fn apply_fault(kind: &FaultKind) -> Result<Option<Response<Full<Bytes>>>, DropConnection> {
    match kind {
        FaultKind::Status(s) => Ok(Some(binance_error(
            *s,
            -1000,
            "An unknown error occurred while processing the request.",
        ))),
        FaultKind::Hang => {
            std::future::pending::<()>().await;
            Ok(None)
        }
        FaultKind::Close => Err(DropConnection),
        FaultKind::Delay(d) => {
            tokio::time::sleep(*d).await;
            Ok(None)
        }
        FaultKind::Hold(gate) => {
            if let Ok(permit) = gate.0.acquire().await {
                permit.forget();
            }
            Ok(None)
        }
    }
}

// ---------------------------------------------------------------------------
// Client side: requests as bytes, signed like a Binance client signs them.

/// An HTTP request as bytes on the wire (minus framing the sender adds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRequest {
    pub method: String,
    /// `path?query`, sent as is.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn new(method: &str, target: &str) -> RawRequest {
        RawRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> RawRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> RawRequest {
        self.body = body.into();
        self
    }

    /// The raw query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map(|(p, _)| p)
            .unwrap_or(&self.target)
    }
}

#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Percent-encodes a parameter value the way Binance clients do (unreserved kept).
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds a signed Binance request: parameters in order, then `timestamp`
/// (and `recvWindow`) if set, then `signature` last.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    in_body: bool,
    key: Option<String>,
    secret: Option<String>,
    timestamp_ms: Option<i64>,
    recv_window_ms: Option<i64>,
}

impl SignedRequest {
    /// A request signed with the test key.
    pub fn new(method: &str, path: &str) -> SignedRequest {
        SignedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            params: Vec::new(),
            in_body: false,
            key: Some(TEST_API_KEY.to_owned()),
            secret: Some(TEST_SECRET.to_owned()),
            timestamp_ms: Some(MOCK_START_MS),
            recv_window_ms: None,
        }
    }

    pub fn param(mut self, name: &str, value: &str) -> SignedRequest {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the parameters as an `application/x-www-form-urlencoded` body.
    pub fn in_body(mut self) -> SignedRequest {
        self.in_body = true;
        self
    }

    pub fn key(mut self, key: &str, secret: &str) -> SignedRequest {
        self.key = Some(key.to_owned());
        self.secret = Some(secret.to_owned());
        self
    }

    /// No API key header.
    pub fn no_key(mut self) -> SignedRequest {
        self.key = None;
        self
    }

    /// No signature parameter.
    pub fn unsigned(mut self) -> SignedRequest {
        self.secret = None;
        self
    }

    pub fn timestamp(mut self, ms: i64) -> SignedRequest {
        self.timestamp_ms = Some(ms);
        self
    }

    pub fn no_timestamp(mut self) -> SignedRequest {
        self.timestamp_ms = None;
        self
    }

    pub fn recv_window(mut self, ms: i64) -> SignedRequest {
        self.recv_window_ms = Some(ms);
        self
    }

    pub fn build(&self) -> RawRequest {
        let mut pairs: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        if let Some(w) = self.recv_window_ms {
            pairs.push(format!("recvWindow={w}"));
        }
        if let Some(t) = self.timestamp_ms {
            pairs.push(format!("timestamp={t}"));
        }
        let mut params = pairs.join("&");
        if let Some(secret) = &self.secret {
            let sig = sign(secret, &params, b"");
            params = if params.is_empty() {
                format!("signature={sig}")
            } else {
                format!("{params}&signature={sig}")
            };
        }
        let mut req = if self.in_body {
            RawRequest::new(&self.method, &self.path)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(params.into_bytes())
        } else if params.is_empty() {
            RawRequest::new(&self.method, &self.path)
        } else {
            RawRequest::new(&self.method, &format!("{}?{params}", self.path))
        };
        if let Some(k) = &self.key {
            req = req.header("X-MBX-APIKEY", k);
        }
        req
    }
}

/// Sends one request over a fresh connection (`Connection: close`) and reads the
/// whole answer. Blocking, with a 10 s read timeout so a broken test fails
/// instead of hanging. Safe to call from any thread, async tests included: the
/// mock and riskgate run on their own threads.
pub fn send(addr: SocketAddr, req: &RawRequest) -> Result<RawResponse, String> {
    send_with_timeout(addr, req, Duration::from_secs(10))
}

pub fn send_with_timeout(
    addr: SocketAddr,
    req: &RawRequest,
    read_timeout: Duration,
) -> Result<RawResponse, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(read_timeout))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        req.method, req.target
    );
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !req.body.is_empty() || matches!(req.method.as_str(), "POST" | "PUT" | "DELETE") {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    stream
        .write_all(&req.body)
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    stream
        .read_to_end(&mut buf)
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Result<RawResponse, String> {
    if buf.is_empty() {
        return Err("connection closed without an answer".into());
    }
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&buf[..split]).map_err(|_| "headers not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let raw_body = &buf[split + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(raw_body)?
    } else {
        raw_body.to_vec()
    };
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size_str = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}
