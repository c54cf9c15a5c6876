//! Coinbase Advanced Trade (`api.coinbase.com`, kind `coinbase-advanced`):
//! endpoints, order parsing, error shape, learning.
//!
//! Endpoint policy: reads (GET/HEAD) pass; `POST /api/v3/brokerage/orders`
//! and `/orders/preview` are parsed and checked (a preview is never counted),
//! `/orders/batch_cancel` passes and is learned; edits, `close_position`,
//! withdrawals, transfers and every other mutating request are refused.
//! The account is the API key name (see `auth`).
//!
//! Coinbase's JWT names the host in its `uri` claim, so a bot signing for
//! `api.coinbase.com` only stays valid through ccxt's proxy-URL mode (the
//! request keeps its real URL); riskgate forwards the token untouched.
//!
//! Symbols: spot `BTC-USD` is riskgate's `BTCUSD` (`BTC-USDT` is `BTCUSDT`),
//! the name rules and reference prices use. Futures and perpetuals are refused.

pub mod auth;
pub mod filters;
pub mod learn;
pub mod order;

use bytes::Bytes;
use http::Method;

pub use learn::OrderProducts;
pub use order::{parse_cancels, parse_edit, parse_order, EditRequest, ProductId};

use super::{
    Action, Classified, Learned, Observation, RequestView, SyntheticResponse, Venue, VenueKind,
};
use crate::model::Symbol;
use crate::rules::{RejectReason, Rejection};

const ORDERS: &str = "/api/v3/brokerage/orders";
const HISTORICAL: &str = "/api/v3/brokerage/orders/historical/";

/// The one `preview_failure_reason` ccxt 4.5 maps to a non-retryable order
/// error (`InsufficientFunds`); ccxt reads only this field of the answer.
pub const PREVIEW_REFUSED: &str = "PREVIEW_INSUFFICIENT_FUND";
/// The matching `error` (ccxt's exact table maps it to `InsufficientFunds` too).
pub const ERROR_REFUSED: &str = "INSUFFICIENT_FUND";

pub struct CoinbaseAdvanced {
    allow_withdrawals: bool,
    products: OrderProducts,
}

impl CoinbaseAdvanced {
    pub fn new(allow_withdrawals: bool) -> CoinbaseAdvanced {
        CoinbaseAdvanced {
            allow_withdrawals,
            products: OrderProducts::default(),
        }
    }

    /// Which product each order id seen in an answer belongs to.
    pub fn order_products(&self) -> &OrderProducts {
        &self.products
    }
}

fn not_allowed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::EndpointNotAllowed, msg)
}

/// Money leaving the account or moving between portfolios:
/// `POST /v2/accounts/{id}/transactions` (send, transfer), `.../withdrawals`
/// (and `/commit`), `.../deposits`, portfolio fund moves, futures sweeps.
fn is_withdrawal_or_transfer(path: &str) -> bool {
    if let Some(rest) = path.strip_prefix("/v2/accounts/") {
        let segs: Vec<&str> = rest.split('/').collect();
        return matches!(
            segs.as_slice(),
            [_, "transactions"]
                | [_, "withdrawals"]
                | [_, "withdrawals", _, "commit"]
                | [_, "deposits"]
                | [_, "deposits", _, "commit"]
        );
    }
    matches!(
        path,
        "/api/v3/brokerage/portfolios/move_funds"
            | "/api/v3/brokerage/cfm/sweeps/schedule"
            | "/api/v3/brokerage/intx/allocate"
    )
}

fn query_pairs(q: Option<&str>) -> Vec<(&str, &str)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

/// `GET /orders/historical/batch`: a complete open-orders listing when it asks
/// for OPEN orders only, on at most one product, filtered no other way (a
/// `cursor` is a later page). Anything else is only read order by order.
fn batch_listing(query: Option<&str>) -> Observation {
    let q = query_pairs(query);
    let statuses: Vec<&str> = q
        .iter()
        .filter(|(k, _)| *k == "order_status")
        .map(|(_, v)| *v)
        .collect();
    let products: Vec<&str> = q
        .iter()
        .filter(|(k, _)| *k == "product_ids" || *k == "product_id")
        .map(|(_, v)| *v)
        .collect();
    let only_scoping = q.iter().all(|(k, v)| {
        matches!(
            *k,
            "order_status" | "product_ids" | "product_id" | "limit" | "sort_by"
        ) || (*k == "product_type" && *v == "SPOT")
    });
    if statuses != ["OPEN"] || products.len() > 1 || !only_scoping {
        return Observation::OrderStatus;
    }
    match products.first() {
        None => Observation::OpenOrders { symbol: None },
        Some(p) => match order::symbol_of(p) {
            Some(s) => Observation::OpenOrders { symbol: Some(s) },
            None => Observation::OrderStatus,
        },
    }
}

/// Coinbase's create-order failure: HTTP 200, `success: false`, and an
/// `error_response` whose `preview_failure_reason` ccxt maps to
/// `InsufficientFunds` (non-retryable). The rule and its numbers are in
/// `message`; the request's `order_configuration` is not echoed (null).
pub fn rejection_body(rejection: &Rejection) -> Bytes {
    let msg = rejection.to_string();
    let body = serde_json::json!({
        "success": false,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": ERROR_REFUSED,
            "message": msg,
            "error_details": format!("riskgate rule {} (code {})", rejection.reason.id(), rejection.reason.code()),
            "preview_failure_reason": PREVIEW_REFUSED,
            "new_order_failure_reason": ERROR_REFUSED,
        },
        "order_configuration": null,
    });
    Bytes::from(body.to_string())
}

/// Coinbase's generic (gRPC-gateway) error: `{"error":"INVALID_ARGUMENT",
/// "code":3,...}` at HTTP 400 or 413, which ccxt raises as `BadRequest`.
fn invalid_argument_body(rejection: &Rejection) -> Bytes {
    let msg = rejection.to_string();
    Bytes::from(
        serde_json::json!({
            "error": "INVALID_ARGUMENT", "code": 3, "message": msg,
            "error_details": msg, "details": [],
        })
        .to_string(),
    )
}

impl Venue for CoinbaseAdvanced {
    fn kind(&self) -> VenueKind {
        VenueKind::CoinbaseAdvanced
    }

    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection> {
        // Reads with credentials riskgate cannot name pass without an account
        // (nothing to learn into); mutating requests are refused instead.
        let api_key = match auth::account_key(req) {
            Ok(k) => k,
            Err(_) if req.is_read() => None,
            Err(r) => return Err(r),
        };
        req.refuse_non_canonical_mutation()?;
        if !req.is_read() && req.query.is_some() {
            return Err(Rejection::new(
                RejectReason::MalformedRequest,
                "query string on a POST refused: Coinbase takes POST parameters in the JSON body",
            ));
        }
        let path = req.path;
        let action = match (req.method, path) {
            (&Method::POST, ORDERS) => Action::NewOrder(parse_order(req.body, false)?),
            // Checked like an order, never counted (Binance `/order/test`).
            (&Method::POST, "/api/v3/brokerage/orders/preview") => {
                Action::NewOrder(parse_order(req.body, true)?)
            }
            (&Method::POST, "/api/v3/brokerage/orders/batch_cancel") => {
                parse_cancels(req.body)?;
                Action::CancelBatch
            }
            (&Method::POST, "/api/v3/brokerage/orders/edit" | "/api/v3/brokerage/orders/edit_preview") => {
                // Parsed (a malformed edit is answered as such), then refused:
                // the body names only the order id and its new size/price, so
                // riskgate cannot rebuild the order it becomes yet.
                let edit = parse_edit(req.body)?;
                return Err(not_allowed(format!(
                    "edit of order {} refused: riskgate cannot check a Coinbase edit yet (it names no product or side); cancel and place a new order",
                    crate::venue::canonical::truncate(&edit.order_id, 40)
                )));
            }
            (&Method::POST, "/api/v3/brokerage/orders/close_position") => {
                return Err(not_allowed(
                    "close_position refused: it closes a Coinbase futures/perpetual position, and riskgate supports Coinbase spot only",
                ))
            }
            (&Method::GET, "/api/v3/brokerage/orders/historical/batch") => {
                Action::Observe(batch_listing(req.query))
            }
            (&Method::GET, "/api/v3/brokerage/orders/historical/fills") => {
                Action::Observe(Observation::OrderStatus)
            }
            (&Method::GET, p)
                if p.strip_prefix(HISTORICAL)
                    .is_some_and(|id| !id.is_empty() && !id.contains('/')) =>
            {
                Action::Observe(Observation::OrderStatus)
            }
            // Balances: only a first page (no cursor) can be the whole list.
            (&Method::GET, "/api/v3/brokerage/accounts")
                if !query_pairs(req.query).iter().any(|(k, _)| *k == "cursor") =>
            {
                Action::Observe(Observation::Account)
            }
            (
                &Method::GET,
                "/api/v3/brokerage/products" | "/api/v3/brokerage/market/products",
            ) => Action::Observe(Observation::Ticker),
            (&Method::GET, p)
                if ["/api/v3/brokerage/products/", "/api/v3/brokerage/market/products/"]
                    .iter()
                    .any(|prefix| {
                        p.strip_prefix(prefix)
                            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
                    }) =>
            {
                Action::Observe(Observation::Ticker)
            }
            (m, _) if m == Method::GET || m == Method::HEAD => Action::Pass,
            (&Method::POST, p) if is_withdrawal_or_transfer(p) => {
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
                    "{m} {} is not an endpoint riskgate can check; refused",
                    crate::venue::canonical::truncate(p, 80)
                )))
            }
        };
        Ok(Classified { api_key, action })
    }

    fn render_rejection(&self, rejection: &Rejection) -> SyntheticResponse {
        let (status, body) = match rejection.reason {
            RejectReason::MalformedRequest => (400, invalid_argument_body(rejection)),
            RejectReason::BodyTooLarge => (413, invalid_argument_body(rejection)),
            // "Slow down": ccxt's exact table maps `rate_limit_exceeded` to
            // RateLimitExceeded (retryable, which is what this means).
            RejectReason::RateLimit => (
                429,
                Bytes::from(
                    serde_json::json!({"errors": [{"id": "rate_limit_exceeded", "message": rejection.to_string()}]})
                        .to_string(),
                ),
            ),
            // Nothing was sent: a plain 503 (ccxt: ExchangeNotAvailable, retryable).
            RejectReason::Overloaded
            | RejectReason::ShuttingDown
            | RejectReason::UpstreamUnavailable => (
                503,
                Bytes::from(serde_json::json!({"message": rejection.to_string()}).to_string()),
            ),
            // Sent, no answer: 504 (ccxt: RequestTimeout); check the order's status.
            RejectReason::UpstreamStatusUnknown => (
                504,
                Bytes::from(serde_json::json!({"message": rejection.to_string()}).to_string()),
            ),
            _ => (200, rejection_body(rejection)),
        };
        SyntheticResponse { status, body }
    }

    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned {
        learn::learn(action, status, body, &self.products)
    }

    fn ticker_path(&self) -> &'static str {
        "/api/v3/brokerage/market/products?product_type=SPOT"
    }

    fn instruments_paths(&self) -> &'static [&'static str] {
        &["/api/v3/brokerage/market/products?product_type=SPOT"]
    }

    fn daily_bars_path(&self, symbol: &str, days: usize) -> String {
        // History is asked for `<ASSET>USDT`; Coinbase's deep market is the USD
        // one, whose daily returns are the same asset's to within the
        // stablecoin's basis, so the USD product is used.
        let product = crate::model::Instrument::from_concatenated(symbol)
            .map(|i| {
                let quote = if &*i.quote == "USDT" { "USD" } else { &i.quote };
                format!("{}-{}", i.base, quote)
            })
            .unwrap_or_else(|| symbol.to_string());
        let days = days.clamp(1, 350) as i64;
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        format!(
            "/api/v3/brokerage/market/products/{product}/candles?start={}&end={now_s}&granularity=ONE_DAY&limit={days}",
            now_s - days * 86_400
        )
    }

    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64> {
        // {"candles":[{"start":"1639508050","low":..,"high":..,"open":..,"close":..,"volume":..}]}, newest first.
        #[derive(serde::Deserialize)]
        struct Candle {
            #[serde(default)]
            start: String,
            #[serde(default)]
            close: String,
        }
        #[derive(serde::Deserialize)]
        struct Candles {
            candles: Vec<Candle>,
        }
        let Ok(c) = serde_json::from_slice::<Candles>(body) else {
            return Vec::new();
        };
        let mut rows: Vec<(i64, f64)> = c
            .candles
            .iter()
            .filter_map(|b| Some((b.start.parse::<i64>().ok()?, b.close.parse::<f64>().ok()?)))
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .collect();
        rows.sort_by_key(|(t, _)| *t);
        rows.into_iter().map(|(_, v)| v).collect()
    }
}

/// The riskgate symbol of a Coinbase product id, if it is spot.
pub fn symbol_of(product_id: &str) -> Option<Symbol> {
    order::symbol_of(product_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use http::HeaderMap;

    const KEY: &str = "organizations/o1/apiKeys/k1";

    fn bearer() -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "Bearer {}.{}.sig",
            b(&format!(
                r#"{{"alg":"ES256","kid":"{KEY}","nonce":"n","typ":"JWT"}}"#
            )),
            b(&format!(
                r#"{{"sub":"{KEY}","iss":"cdp","uri":"POST api.coinbase.com/api/v3/brokerage/orders"}}"#
            ))
        )
    }

    fn classify_with(
        v: &CoinbaseAdvanced,
        headers: HeaderMap,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> Result<(Option<Vec<u8>>, Action), Rejection> {
        let req = RequestView {
            method: &method,
            path,
            query,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        };
        v.classify(&req)
            .map(|c| (c.api_key.map(|k| k.into_owned()), c.action))
    }

    fn classify(
        v: &CoinbaseAdvanced,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> Result<Action, Rejection> {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, bearer().parse().unwrap());
        classify_with(v, h, method, path, query, body).map(|(k, a)| {
            assert_eq!(k.as_deref(), Some(KEY.as_bytes()));
            a
        })
    }

    const LIMIT: &str = r#"{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"60000","post_only":false}}}"#;

    #[test]
    fn classifies_orders_previews_and_cancels() {
        let v = CoinbaseAdvanced::new(false);
        assert!(matches!(
            classify(&v, Method::POST, ORDERS, None, LIMIT),
            Ok(Action::NewOrder(o)) if o.symbol.as_str() == "BTCUSD" && !o.test_only
        ));
        assert!(matches!(
            classify(&v, Method::POST, "/api/v3/brokerage/orders/preview", None, LIMIT),
            Ok(Action::NewOrder(o)) if o.test_only
        ));
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/api/v3/brokerage/orders/batch_cancel",
                None,
                r#"{"order_ids":["a","b"]}"#
            ),
            Ok(Action::CancelBatch)
        );
    }

    #[test]
    fn classifies_reads() {
        let v = CoinbaseAdvanced::new(false);
        let get = |p: &str, q: Option<&str>| classify(&v, Method::GET, p, q, "").unwrap();
        assert_eq!(
            get(
                "/api/v3/brokerage/orders/historical/batch",
                Some("order_status=OPEN&limit=100")
            ),
            Action::Observe(Observation::OpenOrders { symbol: None })
        );
        assert_eq!(
            get(
                "/api/v3/brokerage/orders/historical/batch",
                Some("order_status=OPEN&product_ids=BTC-USD")
            ),
            Action::Observe(Observation::OpenOrders {
                symbol: Some(Symbol::new("BTCUSD"))
            })
        );
        for q in [
            None,
            Some("order_status=OPEN&cursor=abc"),
            Some("order_status=OPEN&order_status=FILLED"),
            Some("order_status=OPEN&product_ids=BTC-USD&product_ids=ETH-USD"),
            Some("order_status=OPEN&start_date=2024-01-01T00:00:00Z"),
        ] {
            assert_eq!(
                get("/api/v3/brokerage/orders/historical/batch", q),
                Action::Observe(Observation::OrderStatus),
                "{q:?}"
            );
        }
        assert_eq!(
            get("/api/v3/brokerage/orders/historical/52cfe5e2-0b29", None),
            Action::Observe(Observation::OrderStatus)
        );
        assert_eq!(
            get(
                "/api/v3/brokerage/orders/historical/fills",
                Some("order_ids=x")
            ),
            Action::Observe(Observation::OrderStatus)
        );
        assert_eq!(
            get("/api/v3/brokerage/accounts", Some("limit=250")),
            Action::Observe(Observation::Account)
        );
        assert_eq!(
            get("/api/v3/brokerage/accounts", Some("limit=250&cursor=x")),
            Action::Pass
        );
        assert_eq!(
            get(
                "/api/v3/brokerage/market/products",
                Some("product_type=SPOT")
            ),
            Action::Observe(Observation::Ticker)
        );
        assert_eq!(
            get("/api/v3/brokerage/products/BTC-USD", None),
            Action::Observe(Observation::Ticker)
        );
        assert_eq!(get("/v2/currencies", None), Action::Pass);
        assert_eq!(
            get("/api/v3/brokerage/transaction_summary", None),
            Action::Pass
        );
    }

    #[test]
    fn refuses_edits_closes_withdrawals_unknown_and_non_canonical_posts() {
        let v = CoinbaseAdvanced::new(false);
        for (p, body) in [
            (
                "/api/v3/brokerage/orders/edit",
                r#"{"order_id":"a","size":"1"}"#,
            ),
            (
                "/api/v3/brokerage/orders/edit_preview",
                r#"{"order_id":"a","price":"1"}"#,
            ),
            (
                "/api/v3/brokerage/orders/close_position",
                r#"{"client_order_id":"c","product_id":"BIT-28JUL23-CDE","size":"1"}"#,
            ),
            ("/v2/accounts/abc/transactions", r#"{"type":"send"}"#),
            ("/v2/accounts/abc/withdrawals", "{}"),
            ("/v2/accounts/abc/buys", "{}"),
            ("/api/v3/brokerage/portfolios/move_funds", "{}"),
            ("/api/v3/brokerage/convert/quote", "{}"),
            ("/api/v3/brokerage//orders", LIMIT),
            ("/api/v3/brokerage/%6Frders", LIMIT),
            ("/API/v3/brokerage/orders", LIMIT),
            ("/api/v3/brokerage/orders/", LIMIT),
        ] {
            assert_eq!(
                classify(&v, Method::POST, p, None, body)
                    .unwrap_err()
                    .reason,
                RejectReason::EndpointNotAllowed,
                "{p}"
            );
        }
        assert_eq!(
            classify(&v, Method::DELETE, ORDERS, None, "")
                .unwrap_err()
                .reason,
            RejectReason::EndpointNotAllowed
        );
        // A malformed edit is answered as malformed.
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/api/v3/brokerage/orders/edit",
                None,
                "{}"
            )
            .unwrap_err()
            .reason,
            RejectReason::MalformedRequest
        );
        assert_eq!(
            classify(&v, Method::POST, ORDERS, Some("x=1"), LIMIT)
                .unwrap_err()
                .reason,
            RejectReason::MalformedRequest
        );
        let open = CoinbaseAdvanced::new(true);
        assert_eq!(
            classify(
                &open,
                Method::POST,
                "/v2/accounts/abc/transactions",
                None,
                "{}"
            ),
            Ok(Action::Pass)
        );
        // Buys through the v2 retail API are orders riskgate cannot check:
        // refused even when withdrawals are allowed.
        assert!(classify(&open, Method::POST, "/v2/accounts/abc/buys", None, "{}").is_err());
    }

    #[test]
    fn orders_need_a_readable_key_reads_do_not() {
        let v = CoinbaseAdvanced::new(false);
        let none = classify_with(&v, HeaderMap::new(), Method::POST, ORDERS, None, LIMIT).unwrap();
        assert_eq!(none.0, None, "no key: the pipeline answers missing_api_key");
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer opaque".parse().unwrap(),
        );
        assert_eq!(
            classify_with(&v, h.clone(), Method::POST, ORDERS, None, LIMIT)
                .unwrap_err()
                .reason,
            RejectReason::MissingApiKey
        );
        let (k, a) =
            classify_with(&v, h, Method::GET, "/api/v3/brokerage/accounts", None, "").unwrap();
        assert_eq!((k, a), (None, Action::Observe(Observation::Account)));
    }

    #[test]
    fn renders_coinbase_failure_shape() {
        let v = CoinbaseAdvanced::new(false);
        let r = v.render_rejection(&Rejection::new(
            RejectReason::MaxOrderNotional,
            "notional 20000.00 USD > limit 10000.00 USD",
        ));
        assert_eq!(r.status, 200);
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["success"], false);
        assert_eq!(j["failure_reason"], "UNKNOWN_FAILURE_REASON");
        assert_eq!(j["order_id"], "");
        assert_eq!(j["error_response"]["error"], "INSUFFICIENT_FUND");
        assert_eq!(
            j["error_response"]["preview_failure_reason"],
            "PREVIEW_INSUFFICIENT_FUND"
        );
        assert_eq!(
            j["error_response"]["message"],
            "riskgate: max_order_notional: notional 20000.00 USD > limit 10000.00 USD"
        );
        let bad = v.render_rejection(&Rejection::new(RejectReason::MalformedRequest, "x"));
        assert_eq!(bad.status, 400);
        let j: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
        assert_eq!(j["error"], "INVALID_ARGUMENT");
        let rl = v.render_rejection(&Rejection::new(RejectReason::RateLimit, "x"));
        assert_eq!(rl.status, 429);
        let j: serde_json::Value = serde_json::from_slice(&rl.body).unwrap();
        assert_eq!(j["errors"][0]["id"], "rate_limit_exceeded");
    }

    #[test]
    fn market_data_paths() {
        let v = CoinbaseAdvanced::new(false);
        let p = v.daily_bars_path("BTCUSDT", 30);
        assert!(
            p.starts_with("/api/v3/brokerage/market/products/BTC-USD/candles?start="),
            "{p}"
        );
        assert!(p.ends_with("&granularity=ONE_DAY&limit=30"), "{p}");
        let body = br#"{"candles":[{"start":"1700086400","low":"1","high":"4","open":"2","close":"3.5","volume":"1"},{"start":"1700000000","low":"1","high":"3","open":"1","close":"2.5","volume":"1"}]}"#;
        assert_eq!(v.parse_daily_closes(body), vec![2.5, 3.5]);
    }
}
