//! Kraken spot (`api.kraken.com`, kind `kraken`): endpoints, order parsing, error shape, learning.
//!
//! Endpoint policy: public reads (`GET /0/public/*`) pass; every private call is
//! a POST, so private reads are listed one by one (`OpenOrders`, `Balance`, ...:
//! observed or passed) and `AddOrder` is parsed and checked. `AmendOrder` and
//! `EditOrder` name only the order and its new size or price: they become
//! `Action::AmendRef`, checked by the engine against the order it tracks.
//! Cancels pass (they only remove risk). Every other mutating request
//! (unknown, non-canonical, withdrawal, transfer) is refused. The account is the
//! `API-Key` header; riskgate never reads or re-signs `API-Sign`
//! (base64 HMAC-SHA512 of path + SHA256(nonce + body) under the decoded secret):
//! bytes pass unchanged, so it verifies.
//!
//! Symbols: every spelling of a pair (`XBTUSD`, `XXBTZUSD`, `XBT/USD`) is one
//! riskgate symbol in common asset names (`BTCUSD`).

pub mod filters;
pub mod learn;
pub mod order;

use bytes::Bytes;
use http::Method;

pub use order::{
    asset_name, kraken_pair, pair_symbol, parse_add_order, parse_add_order_batch,
    parse_amend_order, parse_edit_order,
};

use super::{
    Action, Classified, Learned, Observation, RequestView, SyntheticResponse, Venue, VenueKind,
};
use crate::rules::{RejectReason, Rejection};

/// Header carrying the API key (the account).
pub const API_KEY_HEADER: &str = "api-key";

/// Error prefixes riskgate answers with, as ccxt 4.5 maps them (broad match):
/// `:Invalid order` → `InvalidOrder` (non-retryable).
pub const ERR_ORDER_REJECTED: &str = "EOrder:Invalid order:";
/// → `BadRequest` (non-retryable).
pub const ERR_BAD_ARGUMENTS: &str = "EGeneral:Invalid arguments:";
/// → `RateLimitExceeded` (retryable: "slow down").
pub const ERR_RATE_LIMIT: &str = "EOrder:Rate limit exceeded:";
/// Not processed, try again → `ExchangeNotAvailable`.
pub const ERR_UNAVAILABLE: &str = "EService:Unavailable:";
/// Kraken's "may or may not have been processed".
pub const ERR_STATUS_UNKNOWN: &str = "EGeneral:Internal error:";

/// Private reads that carry nothing to learn (or increments riskgate cannot
/// fold in, such as individual trades).
const PRIVATE_READS: &[&str] = &[
    "/0/private/BalanceEx",
    "/0/private/TradeBalance",
    "/0/private/TradesHistory",
    "/0/private/QueryTrades",
    "/0/private/OpenPositions",
    "/0/private/Ledgers",
    "/0/private/QueryLedgers",
    "/0/private/TradeVolume",
    "/0/private/GetWebSocketsToken",
    "/0/private/DepositMethods",
    "/0/private/DepositAddresses",
    "/0/private/DepositStatus",
    "/0/private/WithdrawInfo",
    "/0/private/WithdrawMethods",
    "/0/private/WithdrawAddresses",
    "/0/private/WithdrawStatus",
];

/// Cancels: they only remove risk. Kraken's answers carry only a count, so the
/// next open-orders answer settles what they cancelled.
const CANCELS: &[&str] = &[
    "/0/private/CancelOrder",
    "/0/private/CancelAll",
    "/0/private/CancelAllOrdersAfter",
    "/0/private/CancelOrderBatch",
];

/// Endpoints that move money out, between accounts or into staking.
const WITHDRAW_AND_TRANSFER: &[&str] = &[
    "/0/private/Withdraw",
    "/0/private/WithdrawCancel",
    "/0/private/WalletTransfer",
    "/0/private/AccountTransfer",
    "/0/private/CreateSubaccount",
    "/0/private/Stake",
    "/0/private/Unstake",
    "/0/private/Earn/Allocate",
    "/0/private/Earn/Deallocate",
];

pub struct Kraken {
    allow_withdrawals: bool,
}

impl Kraken {
    pub fn new(allow_withdrawals: bool) -> Kraken {
        Kraken { allow_withdrawals }
    }
}

fn not_allowed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::EndpointNotAllowed, msg)
}

/// Kraken's error body: `{"error":["<prefix><riskgate's reason>"],"result":{}}`.
pub fn rejection_body(rejection: &Rejection) -> Bytes {
    let prefix = match rejection.reason {
        RejectReason::RateLimit => ERR_RATE_LIMIT,
        RejectReason::Overloaded
        | RejectReason::ShuttingDown
        | RejectReason::UpstreamUnavailable => ERR_UNAVAILABLE,
        RejectReason::UpstreamStatusUnknown => ERR_STATUS_UNKNOWN,
        RejectReason::MalformedRequest | RejectReason::BodyTooLarge => ERR_BAD_ARGUMENTS,
        _ => ERR_ORDER_REJECTED,
    };
    let body = serde_json::json!({
        "error": [format!("{prefix}{rejection}")],
        "result": {},
    });
    Bytes::from(body.to_string())
}

/// Whether an `OpenOrders` request filters by `userref`/`cl_ord_id` (then the
/// answer is not the complete list of open orders).
fn open_orders_filtered(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("userref") || text.contains("cl_ord_id")
}

impl Venue for Kraken {
    fn kind(&self) -> VenueKind {
        VenueKind::Kraken
    }

    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection> {
        let api_key = req.api_key(API_KEY_HEADER);
        req.refuse_non_canonical_mutation()?;
        if !req.is_read() {
            // Kraken signs and reads private parameters from the body only.
            if req.query.is_some() {
                return Err(Rejection::new(
                    RejectReason::MalformedRequest,
                    "query string on a private POST refused: Kraken takes parameters in the body",
                ));
            }
        }
        let action = match (req.method, req.path) {
            (&Method::POST, "/0/private/AddOrder") => Action::NewOrder(parse_add_order(req.body)?),
            (&Method::POST, "/0/private/AddOrderBatch") => {
                // Every order is checked; one refusal refuses the batch whole.
                Action::NewOrders(parse_add_order_batch(req.body)?.into_boxed_slice())
            }
            (&Method::POST, "/0/private/AmendOrder") => {
                Action::AmendRef(parse_amend_order(req.body)?)
            }
            (&Method::POST, "/0/private/EditOrder") => match parse_edit_order(req.body)? {
                Some(edit) => Action::AmendRef(edit),
                // `validate=true`: Kraken only checks the inputs.
                None => Action::Pass,
            },
            (&Method::POST, "/0/private/OpenOrders") => {
                if open_orders_filtered(req.body) {
                    Action::Observe(Observation::OrderStatus)
                } else {
                    Action::Observe(Observation::OpenOrders { symbol: None })
                }
            }
            (&Method::POST, "/0/private/QueryOrders" | "/0/private/ClosedOrders") => {
                Action::Observe(Observation::OrderStatus)
            }
            (&Method::POST, "/0/private/Balance") => Action::Observe(Observation::Account),
            // Cancels name no pair; their answers carry only a count.
            (&Method::POST, p) if CANCELS.contains(&p) => Action::CancelBatch,
            (&Method::POST, p) if PRIVATE_READS.contains(&p) => Action::Pass,
            (&Method::POST, p) if WITHDRAW_AND_TRANSFER.contains(&p) => {
                if self.allow_withdrawals {
                    Action::Pass
                } else {
                    return Err(not_allowed(format!(
                        "withdrawal/transfer endpoint {p} blocked (allow_withdrawals = false)"
                    )));
                }
            }
            (&Method::GET, "/0/public/Ticker") => Action::Observe(Observation::Ticker),
            (&Method::GET, "/0/public/AssetPairs") => Action::Observe(Observation::Instruments),
            (m, _) if m == Method::GET || m == Method::HEAD => Action::Pass,
            (m, p) => {
                return Err(not_allowed(format!(
                    "{m} {p} is not an endpoint riskgate can check; refused"
                )))
            }
        };
        Ok(Classified { api_key, action })
    }

    fn render_rejection(&self, rejection: &Rejection) -> SyntheticResponse {
        // Kraken answers refusals with HTTP 200; ccxt reads the `error` array.
        let status = match rejection.reason {
            RejectReason::BodyTooLarge => 413,
            RejectReason::Overloaded | RejectReason::ShuttingDown => 503,
            _ => 200,
        };
        SyntheticResponse {
            status,
            body: rejection_body(rejection),
        }
    }

    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned {
        learn::learn(action, status, body)
    }

    fn ticker_path(&self) -> &'static str {
        "/0/public/Ticker"
    }

    fn daily_bars_path(&self, symbol: &str, _days: usize) -> String {
        // Kraken has no count parameter: it answers the last 720 bars.
        format!("/0/public/OHLC?pair={}&interval=1440", kraken_pair(symbol))
    }

    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64> {
        // {"error":[],"result":{"XXBTZUSD":[[time,"o","h","l","c","vwap","vol",count],..],"last":n}}
        #[derive(serde::Deserialize)]
        struct Ohlc {
            error: Vec<String>,
            result: serde_json::Map<String, serde_json::Value>,
        }
        let Ok(o) = serde_json::from_slice::<Ohlc>(body) else {
            return Vec::new();
        };
        if !o.error.is_empty() {
            return Vec::new();
        }
        o.result
            .values()
            .find_map(|v| v.as_array())
            .map(|bars| {
                bars.iter()
                    .filter_map(|b| b.get(4)?.as_str()?.parse::<f64>().ok())
                    .filter(|c| c.is_finite() && *c > 0.0)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn instruments_paths(&self) -> &'static [&'static str] {
        &["/0/public/AssetPairs"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn classify(v: &Kraken, method: Method, path: &str, body: &str) -> Result<Action, Rejection> {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, "k1".parse().unwrap());
        let req = RequestView {
            method: &method,
            path,
            query: None,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        };
        v.classify(&req).map(|c| {
            assert_eq!(c.api_key.as_deref(), Some(&b"k1"[..]));
            c.action
        })
    }

    #[test]
    fn classifies_endpoints() {
        let v = Kraken::new(false);
        assert!(matches!(
            classify(&v, Method::POST, "/0/private/AddOrder", "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=60000"),
            Ok(Action::NewOrder(o)) if o.symbol.as_str() == "BTCUSD"
        ));
        let two = r#"{"nonce":"1","pair":"XBTUSD","orders":[{"ordertype":"limit","type":"buy","volume":"1","price":"1"},{"ordertype":"limit","type":"buy","volume":"1","price":"2"}]}"#;
        assert!(matches!(
            classify(&v, Method::POST, "/0/private/AddOrderBatch", two),
            Ok(Action::NewOrders(o)) if o.len() == 2
        ));
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/0/private/OpenOrders",
                "nonce=1&trades=true"
            ),
            Ok(Action::Observe(Observation::OpenOrders { symbol: None }))
        );
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/0/private/OpenOrders",
                "nonce=1&userref=5"
            ),
            Ok(Action::Observe(Observation::OrderStatus))
        );
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/0/private/QueryOrders",
                "nonce=1&txid=O1"
            ),
            Ok(Action::Observe(Observation::OrderStatus))
        );
        assert_eq!(
            classify(&v, Method::POST, "/0/private/Balance", "nonce=1"),
            Ok(Action::Observe(Observation::Account))
        );
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/0/private/CancelOrder",
                "nonce=1&txid=O1"
            ),
            Ok(Action::CancelBatch)
        );
        assert_eq!(
            classify(&v, Method::GET, "/0/public/Ticker", ""),
            Ok(Action::Observe(Observation::Ticker))
        );
        assert_eq!(
            classify(&v, Method::GET, "/0/public/AssetPairs", ""),
            Ok(Action::Observe(Observation::Instruments))
        );
    }

    #[test]
    fn refuses_unknown_withdrawal_and_non_canonical() {
        let v = Kraken::new(false);
        for p in [
            "/0/private/Withdraw",
            "/0/private/WalletTransfer",
            "/0/private/SomethingNew",
            "/0/private//AddOrder",
            "/0/private/%41ddOrder",
            "/0/private/addorder",
            "/0/private/AddOrder/",
        ] {
            assert_eq!(
                classify(&v, Method::POST, p, "nonce=1").unwrap_err().reason,
                RejectReason::EndpointNotAllowed,
                "{p}"
            );
        }
        assert_eq!(
            classify(
                &Kraken::new(true),
                Method::POST,
                "/0/private/Withdraw",
                "nonce=1"
            ),
            Ok(Action::Pass)
        );
    }

    #[test]
    fn amend_and_edit_name_the_order_and_its_new_total() {
        use crate::model::{AmendMode, Fixed, OrderRef};
        let v = Kraken::new(false);
        // ccxt kraken.edit_order(id, 'BTC/USD', 'limit', 'buy', 0.02, 61000): AmendOrder, form body.
        let Ok(Action::AmendRef(a)) = classify(
            &v,
            Method::POST,
            "/0/private/AmendOrder",
            "nonce=1&txid=OQCLML-BW3P3-BUCMWZ&order_qty=0.02&limit_price=61000",
        ) else {
            panic!()
        };
        assert_eq!(
            a.target,
            OrderRef::ExchangeId(learn::txid_key("OQCLML-BW3P3-BUCMWZ").unwrap())
        );
        assert_eq!((a.symbol.clone(), a.mode), (None, AmendMode::InPlace));
        assert_eq!(a.new_qty, Fixed::parse("0.02").ok());
        assert_eq!(a.new_price, Fixed::parse("61000").ok());
        let Ok(Action::AmendRef(a)) = classify(
            &v,
            Method::POST,
            "/0/private/AmendOrder",
            r#"{"nonce":1,"cl_ord_id":"6d1b345e-2821","trigger_price":"59000","post_only":true}"#,
        ) else {
            panic!()
        };
        assert_eq!(a.target, OrderRef::ClientId("6d1b345e-2821".into()));
        assert_eq!(a.new_trigger_price, Fixed::parse("59000").ok());
        let Ok(Action::AmendRef(e)) = classify(
            &v,
            Method::POST,
            "/0/private/EditOrder",
            "nonce=1&txid=OHYO67-6LP66-HMQ437&pair=XBTUSD&volume=0.5&price=19500",
        ) else {
            panic!()
        };
        assert_eq!(e.mode, AmendMode::CancelReplace);
        assert_eq!(e.symbol.as_ref().map(|s| s.as_str()), Some("BTCUSD"));
        assert_eq!(
            e.positional_prices,
            Some((Fixed::parse("19500").ok(), None))
        );
        // Validate-only edits place nothing: passed through.
        assert_eq!(
            classify(
                &v,
                Method::POST,
                "/0/private/EditOrder",
                "nonce=1&txid=OHYO67-6LP66-HMQ437&pair=XBTUSD&volume=0.5&validate=true"
            ),
            Ok(Action::Pass)
        );
        for (path, bad) in [
            ("/0/private/AmendOrder", "nonce=1&order_qty=1"),
            (
                "/0/private/AmendOrder",
                "nonce=1&txid=O1-A&cl_ord_id=c&order_qty=1",
            ),
            (
                "/0/private/AmendOrder",
                "nonce=1&txid=O1-A&limit_price=%2B5",
            ),
            (
                "/0/private/AmendOrder",
                "nonce=1&txid=O1-A&limit_price=2%25",
            ),
            (
                "/0/private/AmendOrder",
                "nonce=1&txid=O1-A&order_qty=1&order_qty=9",
            ),
            ("/0/private/AmendOrder", "nonce=1&txid=O1-A&type=buy"),
            (
                "/0/private/EditOrder",
                "nonce=1&txid=123&pair=XBTUSD&volume=1",
            ),
            ("/0/private/EditOrder", "nonce=1&txid=O1-A&volume=1"),
            (
                "/0/private/EditOrder",
                "nonce=1&txid=O1-A&pair=XBTUSD&volume=1&oflags=viqc",
            ),
        ] {
            assert_eq!(
                classify(&v, Method::POST, path, bad).unwrap_err().reason,
                RejectReason::MalformedRequest,
                "{path} {bad}"
            );
        }
    }

    #[test]
    fn learns_amend_and_edit_answers() {
        let v = Kraken::new(false);
        let amend = classify(
            &v,
            Method::POST,
            "/0/private/AmendOrder",
            "nonce=1&txid=OQCLML-BW3P3-BUCMWZ&order_qty=0.02",
        )
        .unwrap();
        let ok = v.learn(
            &amend,
            200,
            br#"{"error":[],"result":{"amend_id":"TEZA4R-DSDGT-IJBOJK"}}"#,
        );
        assert_eq!(ok.reports.len(), 1);
        assert_eq!(ok.reports[0].exchange_order_id, None, "keeps its txid");
        assert!(
            v.learn(&amend, 200, br#"{"error":["EOrder:Unknown order"]}"#)
                .venue_rejected
        );
        let unknown = v.learn(&amend, 200, br#"{"error":["EService:Unavailable"]}"#);
        assert!(!unknown.venue_rejected && unknown.reports.is_empty());
        let edit = classify(
            &v,
            Method::POST,
            "/0/private/EditOrder",
            "nonce=1&txid=OHYO67-6LP66-HMQ437&pair=XBTUSD&volume=0.0003&price=19500",
        )
        .unwrap();
        // Kraken's documented EditOrder answer: a new txid replaced the old.
        let ok = v.learn(&edit, 200, br#"{"error":[],"result":{"status":"ok","txid":"OFVXHJ-KPQ3B-VS7ELA","originaltxid":"OHYO67-6LP66-HMQ437","volume":"0.00030000","price":"19500.0","price2":"32500.0","orders_cancelled":1,"descr":{"order":"buy 0.00030000 XXBTZGBP @ limit 19500.0"}}}"#);
        assert_eq!(
            ok.reports[0].exchange_order_id,
            learn::txid_key("OFVXHJ-KPQ3B-VS7ELA")
        );
        assert!(
            v.learn(
                &edit,
                200,
                br#"{"error":[],"result":{"status":"err","error_message":"x"}}"#
            )
            .venue_rejected
        );
    }

    #[test]
    fn renders_kraken_error_shape() {
        let v = Kraken::new(false);
        let r = v.render_rejection(&Rejection::new(
            RejectReason::PriceBand,
            "limit 90000 is 50.0 % from reference 60000",
        ));
        assert_eq!(r.status, 200);
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"error":["EOrder:Invalid order:riskgate: price_band: limit 90000 is 50.0 % from reference 60000"],"result":{}})
        );
        let r = v.render_rejection(&Rejection::new(RejectReason::RateLimit, "x"));
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(j["error"][0]
            .as_str()
            .unwrap()
            .starts_with("EOrder:Rate limit exceeded:riskgate: "));
    }

    #[test]
    fn market_data_paths() {
        let v = Kraken::new(false);
        assert_eq!(
            v.daily_bars_path("BTCUSD", 30),
            "/0/public/OHLC?pair=XBTUSD&interval=1440"
        );
        let body = br#"{"error":[],"result":{"XXBTZUSD":[[1688601600,"30500.0","31000.0","30000.0","30700.5","30600.0","100.5",1000],[1688688000,"30700.5","31100.0","30500.0","30900.1","30800.0","90.1",900]],"last":1688688000}}"#;
        assert_eq!(v.parse_daily_closes(body), vec![30700.5, 30900.1]);
    }
}
