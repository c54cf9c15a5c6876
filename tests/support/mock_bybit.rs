//! A mock Bybit v5 exchange for integration tests: a real HTTP/1.1 server on
//! 127.0.0.1:0 that verifies Bybit's v5 HMAC signature on every private
//! request, then lets riskgate's paper Bybit (`PaperBybit`) answer. Logs every
//! request exactly as received. Only calls the public `PaperBybit` API.
//!
//! Signature rule (Bybit v5, HMAC): `X-BAPI-SIGN` = lower-case hex of
//! HMAC-SHA256(secret, timestamp + apiKey + recvWindow + payload), where the
//! payload is the raw JSON body of a POST or the raw query string of a GET,
//! and timestamp, apiKey and recvWindow are the `X-BAPI-TIMESTAMP`,
//! `X-BAPI-API-KEY` and `X-BAPI-RECV-WINDOW` headers.

use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use sha2::Sha256;

use riskgate::clock::{ManualClock, SharedClock};
use riskgate::market::sim::{MarketSim, SimConfig};
use riskgate::model::Fixed;
use riskgate::paper::PaperBybit;
use riskgate::venue::RequestView;

use super::mock_binance::{RawRequest, RecordedRequest, MOCK_START_MS, TEST_API_KEY, TEST_SECRET};

/// Bybit's default `recvWindow`.
pub const BYBIT_RECV_WINDOW: &str = "5000";

/// Hex HMAC-SHA256 of `timestamp + key + recvWindow + payload`: Bybit's v5 signature.
pub fn bybit_sign(secret: &str, ts: &str, key: &str, recv: &str, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(ts.as_bytes());
    mac.update(key.as_bytes());
    mac.update(recv.as_bytes());
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// A signed Bybit POST with a JSON body, as ccxt and pybit send it.
pub fn bybit_post(path: &str, body: &str) -> RawRequest {
    let ts = MOCK_START_MS.to_string();
    let sig = bybit_sign(
        TEST_SECRET,
        &ts,
        TEST_API_KEY,
        BYBIT_RECV_WINDOW,
        body.as_bytes(),
    );
    RawRequest::new("POST", path)
        .header("Content-Type", "application/json")
        .header("X-BAPI-API-KEY", TEST_API_KEY)
        .header("X-BAPI-TIMESTAMP", &ts)
        .header("X-BAPI-RECV-WINDOW", BYBIT_RECV_WINDOW)
        .header("X-BAPI-SIGN", &sig)
        .body(body.as_bytes().to_vec())
}

/// A signed Bybit GET (`query` without the `?`).
pub fn bybit_get(path: &str, query: &str) -> RawRequest {
    let ts = MOCK_START_MS.to_string();
    let sig = bybit_sign(
        TEST_SECRET,
        &ts,
        TEST_API_KEY,
        BYBIT_RECV_WINDOW,
        query.as_bytes(),
    );
    RawRequest::new("GET", &format!("{path}?{query}"))
        .header("X-BAPI-API-KEY", TEST_API_KEY)
        .header("X-BAPI-TIMESTAMP", &ts)
        .header("X-BAPI-RECV-WINDOW", BYBIT_RECV_WINDOW)
        .header("X-BAPI-SIGN", &sig)
}

struct Inner {
    paper: PaperBybit,
    log: Mutex<Vec<RecordedRequest>>,
}

pub struct MockBybit {
    pub addr: std::net::SocketAddr,
    pub clock: Arc<ManualClock>,
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn private(path: &str) -> bool {
    [
        "/v5/order/",
        "/v5/position/",
        "/v5/account/",
        "/v5/execution/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

impl Inner {
    fn verify(
        &self,
        method: &Method,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), &'static str> {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (key, ts, recv, sig) = (
            h("x-bapi-api-key"),
            h("x-bapi-timestamp"),
            h("x-bapi-recv-window"),
            h("x-bapi-sign"),
        );
        if key != TEST_API_KEY {
            return Err("API key is invalid.");
        }
        let payload = if method == Method::GET {
            query.unwrap_or("").as_bytes()
        } else {
            body
        };
        if !bybit_sign(TEST_SECRET, ts, key, recv, payload).eq_ignore_ascii_case(sig) {
            return Err("error sign!");
        }
        Ok(())
    }

    async fn respond(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        let (parts, body) = req.into_parts();
        let body = Limited::new(body, 1 << 20)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().map(str::to_owned);
        {
            let mut log = self.log.lock();
            let seq = log.len() as u64;
            log.push(RecordedRequest {
                seq,
                method: parts.method.clone(),
                path: path.clone(),
                query: query.clone(),
                headers: parts.headers.clone(),
                body: body.clone(),
            });
        }
        let answer = if private(&path) {
            match self.verify(&parts.method, query.as_deref(), &parts.headers, &body) {
                Ok(()) => None,
                Err(msg) => Some(serde_json::json!({ "retCode": if msg == "error sign!" { 10004 } else { 10003 }, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": MOCK_START_MS }).to_string()),
            }
        } else {
            None
        };
        let (status, body) = match answer {
            Some(refusal) => (200, Bytes::from(refusal)),
            None => {
                let view = RequestView {
                    method: &parts.method,
                    path: &path,
                    query: query.as_deref(),
                    headers: &riskgate::venue::Headers::from_header_map(&parts.headers),
                    body: &body,
                };
                let a = self.paper.handle(&view);
                (a.status, a.body)
            }
        };
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Ok(r)
    }
}

impl MockBybit {
    pub fn start() -> MockBybit {
        let clock = ManualClock::new(MOCK_START_MS);
        let shared: SharedClock = clock.clone();
        let market = MarketSim::new(&SimConfig::default(), MOCK_START_MS).shared();
        let paper = PaperBybit::new(
            market,
            shared,
            vec![("USDT".into(), Fixed::from_units(100_000))],
            64,
        );
        let inner = Arc::new(Inner {
            paper,
            log: Mutex::new(Vec::new()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let server = inner.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let mut conns = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let inner = server.clone();
                            conns.spawn(async move {
                                let svc = hyper::service::service_fn(move |req| inner.clone().respond(req));
                                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                            });
                        }
                        Some(_) = conns.join_next(), if !conns.is_empty() => {}
                    }
                }
            });
        });
        MockBybit {
            addr,
            clock,
            inner,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received for `path`, in order.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.inner
            .log
            .lock()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for MockBybit {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
