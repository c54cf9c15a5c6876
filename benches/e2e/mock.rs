//! The mock Binance spot upstream: a hyper 1 HTTP/1.1 server on a current-thread
//! runtime with TCP_NODELAY, run in its own process (the bench binary started with
//! `--mock-upstream`) so it can be pinned and its CPU measured on its own.
//!
//! Endpoints: `POST /api/v3/order` (and `/order/test`), `GET /api/v3/ticker/price`,
//! `GET /api/v3/ping`, `GET /api/v3/time`, `GET /api/v3/exchangeInfo`, and
//! `GET /__mock/stats` (counters, for the harness). Orders are checked like Binance
//! checks them: `X-MBX-APIKEY`, the HMAC-SHA256 `signature` over query + body, and
//! `timestamp` within `recvWindow`; the signature check can be switched off.
//!
//! The process prints `LISTENING <port>` on stdout once bound and exits when its
//! stdin closes, so it never outlives the harness.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::sign::{self, Signer};

/// The bench symbols and their fixed prices (Binance formats prices with 8 decimals).
pub const PRICES: &[(&str, &str)] = &[
    ("BTCUSDT", "60000.00000000"),
    ("ETHUSDT", "3000.00000000"),
    ("BNBUSDT", "600.00000000"),
];

/// Counters the harness reads between runs.
#[derive(Default)]
struct Stats {
    orders_accepted: AtomicU64,
    bad_signature: AtomicU64,
    bad_api_key: AtomicU64,
    bad_timestamp: AtomicU64,
    bad_request: AtomicU64,
    other_requests: AtomicU64,
}

struct State {
    verify_signatures: bool,
    signer: Signer,
    next_order_id: AtomicU64,
    stats: Stats,
}

/// Runs the mock until stdin closes. Never returns normally.
pub fn run(verify_signatures: bool) -> ! {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let state = Arc::new(State {
        verify_signatures,
        signer: Signer::new(sign::API_SECRET),
        next_order_id: AtomicU64::new(1_000_000),
        stats: Stats::default(),
    });
    // Exit when the harness goes away (its end of our stdin closes).
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let mut out = std::io::stdout();
        writeln!(out, "LISTENING {port}")
            .and_then(|_| out.flush())
            .expect("stdout");
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, state.clone()));
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

type Resp = Response<Full<Bytes>>;

fn json(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=UTF-8")
        .header("x-mbx-used-weight-1m", "1")
        .body(Full::new(body.into()))
        .expect("static response parts")
}

fn error(status: StatusCode, code: i32, msg: &str) -> Resp {
    json(status, format!(r#"{{"code":{code},"msg":"{msg}"}}"#))
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Resp, Infallible> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("").as_bytes();
    let resp = match (&parts.method, path) {
        (&Method::POST, "/api/v3/order" | "/api/v3/order/test") => {
            let body = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return Ok(error(StatusCode::BAD_REQUEST, -1100, "Unreadable body.")),
            };
            let api_key = parts.headers.get("x-mbx-apikey").map(|v| v.as_bytes());
            new_order(&state, api_key, query, &body, path.ends_with("/test"))
        }
        (&Method::GET, "/api/v3/ticker/price") => {
            state.stats.other_requests.fetch_add(1, Relaxed);
            ticker(query)
        }
        (&Method::GET, "/api/v3/ping") => {
            state.stats.other_requests.fetch_add(1, Relaxed);
            json(StatusCode::OK, "{}")
        }
        (&Method::GET, "/api/v3/time") => {
            state.stats.other_requests.fetch_add(1, Relaxed);
            json(
                StatusCode::OK,
                format!(r#"{{"serverTime":{}}}"#, sign::now_ms()),
            )
        }
        (&Method::GET, "/api/v3/exchangeInfo") => {
            state.stats.other_requests.fetch_add(1, Relaxed);
            exchange_info()
        }
        (&Method::GET, "/__mock/stats") => {
            let s = &state.stats;
            json(
                StatusCode::OK,
                format!(
                    r#"{{"orders_accepted":{},"bad_signature":{},"bad_api_key":{},"bad_timestamp":{},"bad_request":{},"other_requests":{}}}"#,
                    s.orders_accepted.load(Relaxed),
                    s.bad_signature.load(Relaxed),
                    s.bad_api_key.load(Relaxed),
                    s.bad_timestamp.load(Relaxed),
                    s.bad_request.load(Relaxed),
                    s.other_requests.load(Relaxed),
                ),
            )
        }
        _ => error(StatusCode::NOT_FOUND, -1000, "mock: unknown endpoint"),
    };
    Ok(resp)
}

/// Binance client order ids: `^[.A-Z:/a-z0-9_-]{1,36}$`; symbols: upper-case letters and digits.
fn valid_chars(v: &[u8], extra: &[u8], max: usize) -> bool {
    !v.is_empty()
        && v.len() <= max
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(b))
}

/// A decimal as Binance prints it: 8 fraction digits (`0.001` -> `0.00100000`).
fn fixed8(v: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(v).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 8
        && frac.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("{int}.{frac:0<8}"))
}

fn new_order(
    state: &State,
    api_key: Option<&[u8]>,
    query: &[u8],
    body: &[u8],
    test_only: bool,
) -> Resp {
    let stats = &state.stats;
    if api_key != Some(sign::API_KEY.as_bytes()) {
        stats.bad_api_key.fetch_add(1, Relaxed);
        return error(
            StatusCode::UNAUTHORIZED,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    }
    let get = |name: &str| sign::param(body, name).or_else(|| sign::param(query, name));
    if state.verify_signatures {
        // totalParams = query string + body, without the signature pair.
        let ok = match (sign::split_signature(body), sign::split_signature(query)) {
            (Some((a, b, sig)), None) => state.signer.verify(&[query, a, b], sig),
            (None, Some((a, b, sig))) => state.signer.verify(&[a, b, body], sig),
            _ => false,
        };
        if !ok {
            stats.bad_signature.fetch_add(1, Relaxed);
            return error(
                StatusCode::BAD_REQUEST,
                -1022,
                "Signature for this request is not valid.",
            );
        }
    }
    let number =
        |name: &str| get(name).and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
    let now = sign::now_ms();
    let in_window = match (number("timestamp"), number("recvWindow").unwrap_or(5000)) {
        (Some(ts), window) => ts <= now + 1000 && now.saturating_sub(ts) <= window.min(60_000),
        (None, _) => false,
    };
    if !in_window {
        stats.bad_timestamp.fetch_add(1, Relaxed);
        return error(
            StatusCode::BAD_REQUEST,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        );
    }
    let symbol = get("symbol").filter(|s| valid_chars(s, b"", 20));
    let side = get("side").filter(|s| *s == b"BUY" || *s == b"SELL");
    let kind = get("type").filter(|s| valid_chars(s, b"_", 20));
    let qty = get("quantity").and_then(fixed8);
    let client_id = get("newClientOrderId");
    let (Some(symbol), Some(side), Some(kind), Some(qty)) = (symbol, side, kind, qty) else {
        stats.bad_request.fetch_add(1, Relaxed);
        return error(
            StatusCode::BAD_REQUEST,
            -1102,
            "Mandatory parameter was not sent, was empty/null, or malformed.",
        );
    };
    if client_id.is_some_and(|c| !valid_chars(c, b".:/_-", 36)) {
        stats.bad_request.fetch_add(1, Relaxed);
        return error(
            StatusCode::BAD_REQUEST,
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'.",
        );
    }
    let is_market = kind == b"MARKET";
    let price = if is_market {
        Some("0.00000000".to_string())
    } else {
        get("price").and_then(fixed8)
    };
    let Some(price) = price else {
        stats.bad_request.fetch_add(1, Relaxed);
        return error(
            StatusCode::BAD_REQUEST,
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        );
    };
    if test_only {
        stats.orders_accepted.fetch_add(1, Relaxed);
        return json(StatusCode::OK, "{}");
    }
    let order_id = state.next_order_id.fetch_add(1, Relaxed);
    stats.orders_accepted.fetch_add(1, Relaxed);

    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let (symbol, side, kind) = (text(symbol), text(side), text(kind));
    let client_id = client_id.map_or_else(|| format!("mock{order_id}"), text);
    let tif = get("timeInForce")
        .filter(|s| valid_chars(s, b"", 3))
        .map_or_else(|| "GTC".into(), text);
    // MARKET orders fill at the ticker price; everything else rests as NEW.
    let (status, executed, quote) = if is_market {
        let px: f64 = PRICES
            .iter()
            .find(|p| p.0 == symbol)
            .map_or(0.0, |p| p.1.parse().unwrap_or(0.0));
        let q: f64 = qty.parse().unwrap_or(0.0);
        ("FILLED", qty.clone(), format!("{:.8}", px * q))
    } else {
        ("NEW", "0.00000000".to_string(), "0.00000000".to_string())
    };
    // Binance's default response type is FULL for LIMIT and MARKET orders.
    let resp_type = get("newOrderRespType").unwrap_or(b"FULL");
    let mut out = String::with_capacity(512);
    let _ = write!(
        out,
        r#"{{"symbol":"{symbol}","orderId":{order_id},"orderListId":-1,"clientOrderId":"{client_id}","transactTime":{now}"#
    );
    if resp_type != b"ACK" {
        let _ = write!(
            out,
            r#","price":"{price}","origQty":"{qty}","executedQty":"{executed}","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"{quote}","status":"{status}","timeInForce":"{tif}","type":"{kind}","side":"{side}","workingTime":{now},"selfTradePreventionMode":"EXPIRE_MAKER""#
        );
    }
    if resp_type == b"FULL" {
        if is_market {
            let px = PRICES
                .iter()
                .find(|p| p.0 == symbol)
                .map_or("0.00000000", |p| p.1);
            let _ = write!(
                out,
                r#","fills":[{{"price":"{px}","qty":"{qty}","commission":"0.00000000","commissionAsset":"BNB","tradeId":{order_id}}}]"#
            );
        } else {
            out.push_str(r#","fills":[]"#);
        }
    }
    out.push('}');
    json(StatusCode::OK, out)
}

fn ticker(query: &[u8]) -> Resp {
    let one = |(s, p): &(&str, &str)| format!(r#"{{"symbol":"{s}","price":"{p}"}}"#);
    if let Some(symbol) = sign::param(query, "symbol") {
        return match PRICES.iter().find(|p| p.0.as_bytes() == symbol) {
            Some(p) => json(StatusCode::OK, one(p)),
            None => error(StatusCode::BAD_REQUEST, -1121, "Invalid symbol."),
        };
    }
    // `symbols=["A","B"]` (percent-encoded or not) selects; no parameter lists all.
    let wanted = sign::param(query, "symbols").map(|v| String::from_utf8_lossy(v).into_owned());
    let list: Vec<String> = PRICES
        .iter()
        .filter(|p| wanted.as_ref().is_none_or(|w| w.contains(p.0)))
        .map(one)
        .collect();
    json(StatusCode::OK, format!("[{}]", list.join(",")))
}

fn exchange_info() -> Resp {
    let symbols: Vec<String> = PRICES
        .iter()
        .map(|(s, _)| {
            let base = s.trim_end_matches("USDT");
            format!(
                r#"{{"symbol":"{s}","status":"TRADING","baseAsset":"{base}","baseAssetPrecision":8,"quoteAsset":"USDT","quotePrecision":8,"quoteAssetPrecision":8,"orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS_LIMIT","TAKE_PROFIT_LIMIT"],"isSpotTradingAllowed":true,"isMarginTradingAllowed":true,"filters":[{{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"}},{{"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"}},{{"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5}}],"permissions":[],"permissionSets":[["SPOT"]],"defaultSelfTradePreventionMode":"EXPIRE_MAKER","allowedSelfTradePreventionModes":["EXPIRE_TAKER","EXPIRE_MAKER","EXPIRE_BOTH"]}}"#
            )
        })
        .collect();
    json(
        StatusCode::OK,
        format!(
            r#"{{"timezone":"UTC","serverTime":{},"rateLimits":[],"exchangeFilters":[],"symbols":[{}]}}"#,
            sign::now_ms(),
            symbols.join(",")
        ),
    )
}
