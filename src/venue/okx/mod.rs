//! OKX v5 (`www.okx.com`, kind `okx-v5`): endpoints, order parsing, error shape, learning.
//!
//! Endpoint policy: reads (GET/HEAD) pass; order and cancel endpoints are
//! parsed (JSON bodies); a short list of harmless mutating endpoints passes;
//! every other mutating request (unknown, non-canonical, withdrawal, transfer,
//! conditional/algo orders, batch amends) is refused. `amend-order` names only
//! the order and its new total size or price: it becomes `Action::AmendRef`,
//! checked by the engine against the order it tracks. The account is `OK-ACCESS-KEY`.
//! riskgate never reads or re-signs `OK-ACCESS-SIGN` (base64 HMAC-SHA256 of
//! timestamp + METHOD + path?query + body): bytes pass unchanged, so it verifies.
//!
//! Symbols: spot `BTC-USDT` is riskgate's `BTCUSDT` (the name rules and reference
//! prices use); a perpetual keeps its id (`BTC-USDT-SWAP`) and its `sz` in
//! contracts is converted to base units with the learned contract value.

pub mod filters;
pub mod instruments;
pub mod learn;
pub mod order;

use bytes::Bytes;
use http::Method;

pub use instruments::ContractValues;
pub use order::{okx_spot_inst_id, parse_amend, parse_cancels, parse_orders, InstId};

use super::{
    Action, Classified, Learned, Observation, RequestView, SyntheticResponse, Venue, VenueKind,
};
use crate::model::{NewOrder, Symbol};
use crate::rules::{RejectReason, Rejection};

/// Header carrying the API key (the account).
pub const API_KEY_HEADER: &str = "ok-access-key";

/// OKX per-order codes riskgate answers with (`sCode`), as ccxt 4.5 maps them:
/// 51008 "insufficient balance" → `InsufficientFunds` (non-retryable).
pub const SCODE_ORDER_REJECTED: &str = "51008";
/// 51000 "parameter error" → `BadRequest` (non-retryable).
pub const SCODE_BAD_PARAMETER: &str = "51000";
/// 50011 "rate limit reached" → `RateLimitExceeded` (retryable: "slow down").
pub const SCODE_RATE_LIMIT: &str = "50011";
/// 50001 "service temporarily unavailable" → `ExchangeNotAvailable` (retryable).
pub const SCODE_UNAVAILABLE: &str = "50001";
/// 50004 "endpoint request timeout (does not mean that the request was
/// successful or failed)" → `RequestTimeout`.
pub const SCODE_STATUS_UNKNOWN: &str = "50004";

/// Mutating endpoints that move money out or between accounts.
const WITHDRAW_AND_TRANSFER_PREFIXES: &[&str] = &[
    "/api/v5/asset/withdrawal",
    "/api/v5/asset/transfer",
    "/api/v5/asset/convert-dust-assets",
    "/api/v5/asset/subaccount/",
    "/api/v5/users/subaccount/",
    "/api/v5/finance/",
];

/// Mutating endpoints that add no exposure: leverage and position-mode settings
/// (exposure is measured at notional, whatever the venue's leverage) and
/// cancels of conditional orders.
const HARMLESS_POSTS: &[&str] = &[
    "/api/v5/account/set-leverage",
    "/api/v5/account/set-position-mode",
    "/api/v5/trade/cancel-algos",
    "/api/v5/trade/cancel-advance-algos",
    "/api/v5/trade/cancel-all-after",
    "/api/v5/trade/mass-cancel",
];

pub struct OkxV5 {
    allow_withdrawals: bool,
    contracts: ContractValues,
}

impl OkxV5 {
    pub fn new(allow_withdrawals: bool) -> OkxV5 {
        OkxV5 {
            allow_withdrawals,
            contracts: ContractValues::default(),
        }
    }

    /// Contract values learned so far (tests and the paper venue seed them).
    pub fn contracts(&self) -> &ContractValues {
        &self.contracts
    }
}

fn not_allowed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::EndpointNotAllowed, msg)
}

/// The `instId` query parameter of a read, as riskgate's symbol (lenient: None
/// when absent or unreadable, which widens nothing: it only scopes a listing).
fn inst_id_param(query: Option<&str>) -> Option<Option<Symbol>> {
    let Some(q) = query else {
        return Some(None);
    };
    let mut found = None;
    for pair in q.split('&') {
        if let Some(v) = pair.strip_prefix("instId=") {
            if found.is_some() {
                return None;
            }
            found = Some(InstId::parse(v).ok()?.symbol());
        }
    }
    Some(found)
}

/// Whether a positions request lists every SWAP position (no `instId`, and
/// `instType` absent or `SWAP`).
fn positions_listing_complete(query: Option<&str>) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .all(|p| !p.starts_with("instId=") && (!p.starts_with("instType=") || p == "instType=SWAP"))
}

/// OKX's error body: one entry per order of the request, each with the code
/// and riskgate's reason. `cl_ord_ids` names the orders (empty strings when
/// unknown); at least one entry is always written.
pub fn rejection_body(rejection: &Rejection, cl_ord_ids: &[&str], now_ms: i64) -> Bytes {
    let s_code = match rejection.reason {
        RejectReason::RateLimit => SCODE_RATE_LIMIT,
        RejectReason::Overloaded | RejectReason::ShuttingDown => SCODE_UNAVAILABLE,
        RejectReason::UpstreamUnavailable => SCODE_UNAVAILABLE,
        RejectReason::UpstreamStatusUnknown => SCODE_STATUS_UNKNOWN,
        RejectReason::MalformedRequest | RejectReason::BodyTooLarge => SCODE_BAD_PARAMETER,
        _ => SCODE_ORDER_REJECTED,
    };
    let ts = now_ms.to_string();
    let msg = rejection.to_string();
    let one = |cl: &str| {
        serde_json::json!({
            "clOrdId": cl, "ordId": "", "sCode": s_code, "sMsg": msg, "tag": "", "ts": ts,
        })
    };
    let data: Vec<serde_json::Value> = if cl_ord_ids.is_empty() {
        vec![one("")]
    } else {
        cl_ord_ids.iter().map(|c| one(c)).collect()
    };
    let micros = (now_ms.saturating_mul(1000)).to_string();
    let body = serde_json::json!({
        "code": "1",
        "msg": "All operations failed",
        "data": data,
        "inTime": micros,
        "outTime": micros,
    });
    Bytes::from(body.to_string())
}

/// OKX's answer refusing a whole batch because order `refused` failed: every
/// order gets an entry (none was placed); the refused one carries the reason,
/// the others say which order sank the batch. All carry the rule id.
pub fn batch_rejection_body(
    rejection: &Rejection,
    cl_ord_ids: &[&str],
    refused: usize,
    now_ms: i64,
) -> Bytes {
    let body = rejection_body(rejection, cl_ord_ids, now_ms);
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    if let Some(data) = v["data"].as_array_mut() {
        for (i, d) in data.iter_mut().enumerate() {
            if i != refused {
                d["sMsg"] = serde_json::Value::String(format!(
                    "riskgate: {}: not placed: order {refused} of this batch was refused ({})",
                    rejection.reason.id(),
                    rejection.message
                ));
            }
        }
    }
    Bytes::from(v.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Venue for OkxV5 {
    fn kind(&self) -> VenueKind {
        VenueKind::OkxV5
    }

    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection> {
        let api_key = req.api_key(API_KEY_HEADER);
        req.refuse_non_canonical_mutation()?;
        if !req.is_read() {
            // OKX reads POST parameters from the JSON body only; a query string
            // on a mutating request is refused rather than guessed at.
            if req.query.is_some() {
                return Err(Rejection::new(
                    RejectReason::MalformedRequest,
                    "query string on a POST refused: OKX takes POST parameters in the JSON body",
                ));
            }
        }
        let action = match (req.method, req.path) {
            (&Method::POST, "/api/v5/trade/order") => {
                let mut v = parse_orders(req.body, false, &self.contracts)?;
                Action::NewOrder(v.remove(0))
            }
            (&Method::POST, "/api/v5/trade/batch-orders") => {
                // Every order is checked; one refusal refuses the batch whole
                // (answered per order by `render_batch_rejection`).
                Action::NewOrders(parse_orders(req.body, true, &self.contracts)?.into_boxed_slice())
            }
            (&Method::POST, "/api/v5/trade/cancel-order") => {
                let mut v = parse_cancels(req.body, false)?;
                let c = v.remove(0);
                Action::Cancel {
                    symbol: c.symbol,
                    order: c.order,
                }
            }
            (&Method::POST, "/api/v5/trade/cancel-batch-orders") => {
                // Cancels only remove risk. OKX's answer names the orders but
                // not their instruments: when the batch is on one instrument
                // the answer is learned for it; otherwise listings settle them.
                let mut v = parse_cancels(req.body, true)?;
                if v.iter().all(|c| c.symbol == v[0].symbol) {
                    let c = v.remove(0);
                    Action::Cancel {
                        symbol: c.symbol,
                        order: c.order,
                    }
                } else {
                    Action::CancelBatch
                }
            }
            (&Method::POST, "/api/v5/trade/amend-order") => {
                Action::AmendRef(parse_amend(req.body, &self.contracts)?)
            }
            (&Method::POST, "/api/v5/trade/amend-batch-orders") => {
                return Err(not_allowed(
                    "batch amends are not checked by riskgate yet; send one /api/v5/trade/amend-order per order",
                ))
            }
            (&Method::GET, "/api/v5/trade/order") => Action::Observe(Observation::OrderStatus),
            (&Method::GET, "/api/v5/trade/orders-pending") => {
                match inst_id_param(req.query) {
                    Some(symbol) => Action::Observe(Observation::OpenOrders { symbol }),
                    // Filtered some other way (e.g. by a repeated instId): the
                    // answer is not a complete listing, so only read it.
                    None => Action::Observe(Observation::OrderStatus),
                }
            }
            (&Method::GET, "/api/v5/account/balance") => Action::Observe(Observation::Account),
            // Derivative positions: a complete listing when not filtered to
            // one instrument (instType absent or SWAP, the only derivatives
            // riskgate takes).
            (&Method::GET, "/api/v5/account/positions") => {
                Action::Observe(Observation::Positions {
                    complete: positions_listing_complete(req.query),
                })
            }
            (&Method::GET, "/api/v5/market/tickers" | "/api/v5/market/ticker") => {
                Action::Observe(Observation::Ticker)
            }
            // Public instrument list: swaps' contract values and every
            // instrument's exchange filters.
            (&Method::GET, "/api/v5/public/instruments") => {
                Action::Observe(Observation::Instruments)
            }
            (m, _) if m == Method::GET || m == Method::HEAD => Action::Pass,
            (&Method::POST, p) if HARMLESS_POSTS.contains(&p) => Action::Pass,
            (&Method::POST, p)
                if WITHDRAW_AND_TRANSFER_PREFIXES
                    .iter()
                    .any(|w| p.starts_with(w)) =>
            {
                if self.allow_withdrawals {
                    Action::Pass
                } else {
                    return Err(not_allowed(format!(
                        "withdrawal/transfer endpoint {p} blocked (allow_withdrawals = false)"
                    )));
                }
            }
            (m, p) => {
                return Err(not_allowed(format!(
                    "{m} {p} is not an endpoint riskgate can check; refused"
                )))
            }
        };
        Ok(Classified { api_key, action })
    }

    fn render_rejection(&self, rejection: &Rejection) -> SyntheticResponse {
        // OKX answers refusals with HTTP 200 and a code; ccxt reads the code.
        // Oversized bodies and overload keep their HTTP status for proxies in
        // between, with the same JSON shape.
        let status = match rejection.reason {
            RejectReason::BodyTooLarge => 413,
            RejectReason::Overloaded | RejectReason::ShuttingDown => 503,
            _ => 200,
        };
        SyntheticResponse {
            status,
            body: rejection_body(rejection, &[], now_ms()),
        }
    }

    fn render_batch_rejection(
        &self,
        orders: &[NewOrder],
        refused: usize,
        rejection: &Rejection,
    ) -> SyntheticResponse {
        let ids: Vec<&str> = orders
            .iter()
            .map(|o| o.client_order_id.as_deref().unwrap_or(""))
            .collect();
        SyntheticResponse {
            status: 200,
            body: batch_rejection_body(rejection, &ids, refused, now_ms()),
        }
    }

    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned {
        learn::learn(action, status, body, &self.contracts)
    }

    fn ticker_path(&self) -> &'static str {
        "/api/v5/market/tickers?instType=SPOT"
    }

    fn daily_bars_path(&self, symbol: &str, days: usize) -> String {
        let inst = okx_spot_inst_id(symbol).unwrap_or_else(|| symbol.to_string());
        format!(
            "/api/v5/market/candles?instId={inst}&bar=1Dutc&limit={}",
            days.clamp(1, 300)
        )
    }

    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64> {
        // {"code":"0","data":[[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm],...]}, newest first.
        #[derive(serde::Deserialize)]
        struct Candles {
            code: String,
            data: Vec<Vec<serde_json::Value>>,
        }
        let Ok(c) = serde_json::from_slice::<Candles>(body) else {
            return Vec::new();
        };
        if c.code != "0" {
            return Vec::new();
        }
        let mut closes: Vec<f64> = c
            .data
            .iter()
            .filter_map(|b| b.get(4)?.as_str()?.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        closes.reverse();
        closes
    }

    fn instruments_paths(&self) -> &'static [&'static str] {
        &[
            "/api/v5/public/instruments?instType=SPOT",
            "/api/v5/public/instruments?instType=SWAP",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn classify(
        v: &OkxV5,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> Result<Action, Rejection> {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, "k1".parse().unwrap());
        let req = RequestView {
            method: &method,
            path,
            query,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        };
        v.classify(&req).map(|c| {
            assert_eq!(c.api_key.as_deref(), Some(&b"k1"[..]));
            c.action
        })
    }

    const LIMIT: &str = r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.01","px":"60000"}"#;

    #[test]
    fn classifies_order_endpoints() {
        let v = OkxV5::new(false);
        assert!(matches!(
            classify(&v, Method::POST, "/api/v5/trade/order", None, LIMIT),
            Ok(Action::NewOrder(o)) if o.symbol.as_str() == "BTCUSDT"
        ));
        assert!(matches!(
            classify(
                &v,
                Method::POST,
                "/api/v5/trade/batch-orders",
                None,
                &format!("[{LIMIT}]")
            ),
            Ok(Action::NewOrders(o)) if o.len() == 1
        ));
        let two = format!("[{LIMIT},{LIMIT}]");
        assert!(matches!(
            classify(&v, Method::POST, "/api/v5/trade/batch-orders", None, &two),
            Ok(Action::NewOrders(o)) if o.len() == 2
        ));
        assert!(matches!(
            classify(
                &v,
                Method::POST,
                "/api/v5/trade/cancel-order",
                None,
                r#"{"instId":"BTC-USDT","ordId":"5"}"#
            ),
            Ok(Action::Cancel { .. })
        ));
        assert!(matches!(
            classify(
                &v,
                Method::POST,
                "/api/v5/trade/cancel-batch-orders",
                None,
                r#"[{"instId":"BTC-USDT","ordId":"5"},{"instId":"BTC-USDT","ordId":"6"}]"#
            ),
            Ok(Action::Cancel { .. })
        ));
        // The single-order endpoint takes an object; the batch one an array.
        assert!(classify(
            &v,
            Method::POST,
            "/api/v5/trade/order",
            None,
            &format!("[{LIMIT}]")
        )
        .is_err());
        assert!(classify(&v, Method::POST, "/api/v5/trade/batch-orders", None, LIMIT).is_err());
    }

    #[test]
    fn classifies_reads() {
        let v = OkxV5::new(false);
        let get = |p: &str, q: Option<&str>| classify(&v, Method::GET, p, q, "").unwrap();
        assert_eq!(
            get("/api/v5/trade/orders-pending", None),
            Action::Observe(Observation::OpenOrders { symbol: None })
        );
        assert_eq!(
            get(
                "/api/v5/trade/orders-pending",
                Some("instType=SPOT&instId=BTC-USDT")
            ),
            Action::Observe(Observation::OpenOrders {
                symbol: Some(Symbol::new("BTCUSDT"))
            })
        );
        assert_eq!(
            get(
                "/api/v5/trade/orders-pending",
                Some("instId=BTC-USDT&instId=ETH-USDT")
            ),
            Action::Observe(Observation::OrderStatus)
        );
        assert_eq!(
            get("/api/v5/trade/order", Some("instId=BTC-USDT&ordId=1")),
            Action::Observe(Observation::OrderStatus)
        );
        assert_eq!(
            get("/api/v5/account/balance", None),
            Action::Observe(Observation::Account)
        );
        assert_eq!(
            get("/api/v5/market/tickers", Some("instType=SPOT")),
            Action::Observe(Observation::Ticker)
        );
        assert_eq!(get("/api/v5/asset/currencies", None), Action::Pass);
        assert_eq!(
            get("/api/v5/account/positions", Some("instType=SWAP")),
            Action::Observe(Observation::Positions { complete: true })
        );
        assert_eq!(
            get("/api/v5/account/positions", Some("instId=BTC-USDT-SWAP")),
            Action::Observe(Observation::Positions { complete: false })
        );
        assert_eq!(get("/api/v5/trade/fills", None), Action::Pass);
    }

    #[test]
    fn refuses_unknown_amend_withdrawal_and_non_canonical_posts() {
        let v = OkxV5::new(false);
        for p in [
            "/api/v5/trade/order-algo",
            "/api/v5/trade/close-position",
            "/api/v5/trade/amend-batch-orders",
            "/api/v5/asset/withdrawal",
            "/api/v5/asset/transfer",
            "/api/v5/trade//order",
            "/api/v5/trade/%6Frder",
            "/API/v5/trade/order",
            "/api/v5/trade/order/",
        ] {
            assert_eq!(
                classify(&v, Method::POST, p, None, LIMIT)
                    .unwrap_err()
                    .reason,
                RejectReason::EndpointNotAllowed,
                "{p}"
            );
        }
        assert_eq!(
            classify(&v, Method::DELETE, "/api/v5/trade/order", None, "")
                .unwrap_err()
                .reason,
            RejectReason::EndpointNotAllowed
        );
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/api/v5/trade/order",
                Some("sz=1000"),
                LIMIT
            )
            .unwrap_err()
            .reason,
            RejectReason::MalformedRequest
        );
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/api/v5/account/set-leverage",
                None,
                r#"{"instId":"BTC-USDT-SWAP","lever":"5","mgnMode":"cross"}"#
            ),
            Ok(Action::Pass)
        );
        let open = OkxV5::new(true);
        assert_eq!(
            classify(&open, Method::POST, "/api/v5/asset/withdrawal", None, "{}"),
            Ok(Action::Pass)
        );
    }

    #[test]
    fn amends_name_the_order_and_its_new_total_size() {
        let v = OkxV5::new(false);
        // ccxt okx.edit_order('123', 'BTC/USDT', 'limit', 'buy', 0.02, 61000).
        let Ok(Action::AmendRef(a)) = classify(
            &v,
            Method::POST,
            "/api/v5/trade/amend-order",
            None,
            r#"{"instId":"BTC-USDT","ordId":"123","newSz":"0.02","newPx":"61000"}"#,
        ) else {
            panic!()
        };
        assert_eq!(a.target, crate::model::OrderRef::ExchangeId(123));
        assert_eq!(a.symbol, Some(Symbol::new("BTCUSDT")));
        assert_eq!(a.new_qty, crate::model::Fixed::parse("0.02").ok());
        assert_eq!(a.new_price, crate::model::Fixed::parse("61000").ok());
        let Ok(Action::AmendRef(a)) = classify(
            &v,
            Method::POST,
            "/api/v5/trade/amend-order",
            None,
            r#"{"instId":"BTC-USDT","clOrdId":"c1","newPx":"60000","cxlOnFail":false,"reqId":"r1"}"#,
        ) else {
            panic!()
        };
        assert_eq!(a.target, crate::model::OrderRef::ClientId("c1".into()));
        assert_eq!(a.new_qty, None);
        // Swap sizes are contracts: unknown contract value refuses, known converts.
        let swap = r#"{"instId":"BTC-USDT-SWAP","ordId":"9","newSz":"3"}"#;
        assert_eq!(
            classify(&v, Method::POST, "/api/v5/trade/amend-order", None, swap)
                .unwrap_err()
                .reason,
            RejectReason::MarketDataStale
        );
        v.learn(
            &Action::Observe(Observation::Ticker),
            200,
            br#"{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","ctVal":"0.01","ctValCcy":"BTC","ctType":"linear"}]}"#,
        );
        assert!(matches!(
            classify(&v, Method::POST, "/api/v5/trade/amend-order", None, swap),
            Ok(Action::AmendRef(a)) if a.new_qty == crate::model::Fixed::parse("0.03").ok()
        ));
        for bad in [
            r#"{"instId":"BTC-USDT","newSz":"1"}"#,
            r#"{"instId":"BTC-USDT","ordId":"1","newSz":1}"#,
            r#"{"instId":"BTC-USDT","ordId":"1","newSz":"1","newSz":"9"}"#,
            r#"{"instId":"BTC-USDT","ordId":"1","side":"buy"}"#,
            r#"{"instId":"BTC-USDT","ordId":"1","newPxUsd":"5"}"#,
            r#"[{"instId":"BTC-USDT","ordId":"1","newSz":"1"}]"#,
        ] {
            assert_eq!(
                classify(&v, Method::POST, "/api/v5/trade/amend-order", None, bad)
                    .unwrap_err()
                    .reason,
                RejectReason::MalformedRequest,
                "{bad}"
            );
        }
        // Answers: sCode 0 applied it; code 1 changed nothing; 50004 unknown.
        let Ok(action) = classify(
            &v,
            Method::POST,
            "/api/v5/trade/amend-order",
            None,
            r#"{"instId":"BTC-USDT","ordId":"123","newSz":"0.02"}"#,
        ) else {
            panic!()
        };
        let ok = v.learn(&action, 200, br#"{"code":"0","msg":"","data":[{"clOrdId":"","ordId":"123","ts":"1","reqId":"","sCode":"0","sMsg":""}]}"#);
        assert_eq!(ok.reports[0].exchange_order_id, Some(123));
        let no = v.learn(&action, 200, br#"{"code":"1","msg":"","data":[{"clOrdId":"","ordId":"123","ts":"1","reqId":"","sCode":"51503","sMsg":"x"}]}"#);
        assert!(no.venue_rejected);
        let unknown = v.learn(
            &action,
            200,
            br#"{"code":"50004","msg":"timeout","data":[]}"#,
        );
        assert!(!unknown.venue_rejected && unknown.reports.is_empty());
    }

    #[test]
    fn renders_okx_error_shape() {
        let v = OkxV5::new(false);
        let r = v.render_rejection(&Rejection::new(
            RejectReason::MaxOrderNotional,
            "notional 20000.00 USD > limit 10000.00 USD",
        ));
        assert_eq!(r.status, 200);
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["code"], "1");
        assert_eq!(j["msg"], "All operations failed");
        assert_eq!(j["data"].as_array().unwrap().len(), 1);
        assert_eq!(j["data"][0]["sCode"], "51008");
        assert_eq!(j["data"][0]["ordId"], "");
        assert_eq!(
            j["data"][0]["sMsg"],
            "riskgate: max_order_notional: notional 20000.00 USD > limit 10000.00 USD"
        );
        assert!(j["inTime"].is_string() && j["outTime"].is_string());
        assert!(j["data"][0]["ts"].is_string());
        let rl = v.render_rejection(&Rejection::new(RejectReason::RateLimit, "x"));
        let j: serde_json::Value = serde_json::from_slice(&rl.body).unwrap();
        assert_eq!(j["data"][0]["sCode"], "50011");
        // A batch answer names every order.
        let b = rejection_body(
            &Rejection::new(RejectReason::PriceBand, "x"),
            &["a", "b"],
            1,
        );
        let j: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(j["data"][1]["clOrdId"], "b");
        assert_eq!(j["data"][1]["sCode"], "51008");
    }

    #[test]
    fn learns_contract_values_then_accepts_swaps() {
        let v = OkxV5::new(false);
        let swap = r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"2"}"#;
        assert_eq!(
            classify(&v, Method::POST, "/api/v5/trade/order", None, swap)
                .unwrap_err()
                .reason,
            RejectReason::MarketDataStale
        );
        let action = classify(
            &v,
            Method::GET,
            "/api/v5/public/instruments",
            Some("instType=SWAP"),
            "",
        )
        .unwrap();
        v.learn(
            &action,
            200,
            br#"{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","ctVal":"0.01","ctValCcy":"BTC","ctType":"linear"}]}"#,
        );
        assert!(matches!(
            classify(&v, Method::POST, "/api/v5/trade/order", None, swap),
            Ok(Action::NewOrder(o)) if o.qty == Some(crate::model::Fixed::parse("0.02").unwrap())
        ));
    }

    #[test]
    fn market_data_paths() {
        let v = OkxV5::new(false);
        assert_eq!(
            v.daily_bars_path("BTCUSDT", 30),
            "/api/v5/market/candles?instId=BTC-USDT&bar=1Dutc&limit=30"
        );
        let body = br#"{"code":"0","msg":"","data":[["1700006400000","3","3","3","3.5","1","1","1","1"],["1700000000000","1","2","1","2.5","1","1","1","1"]]}"#;
        assert_eq!(v.parse_daily_closes(body), vec![2.5, 3.5]);
    }
}
