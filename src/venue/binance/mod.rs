//! Binance spot (`api.binance.com`): endpoints, order parsing, error shape, learning.
//!
//! Endpoint policy: reads (GET/HEAD) pass; the order endpoints are parsed and
//! checked; a short list of harmless mutating endpoints passes; every other
//! mutating request (unknown, non-canonical, withdrawal, transfer) is refused.

mod fast;
pub mod filters;
pub mod futures;
pub mod learn;
pub mod order;
pub mod params;

use bytes::Bytes;
use http::Method;

pub use futures::BinanceUsdm;
pub use order::{parse_new_order, parse_order_ref, parse_symbol};
pub use params::{ParamError, Params};

use super::{
    Action, Classified, Learned, Observation, RequestView, SyntheticResponse, Venue, VenueKind,
};
use crate::rules::{RejectReason, Rejection};

/// Header carrying the API key.
pub const API_KEY_HEADER: &str = "x-mbx-apikey";

/// Binance's error code that client libraries map to an order rejection
/// (ccxt: `InvalidOrder`, python-binance: `BinanceAPIException`).
pub const CODE_ORDER_REJECTED: i32 = -2010;
/// Binance's "too many orders" code (ccxt: `RateLimitExceeded`, retryable).
pub const CODE_TOO_MANY_ORDERS: i32 = -1015;
/// Binance's "unknown error, not processed" (ccxt: retryable network error).
pub const CODE_UNKNOWN: i32 = -1000;
/// Binance's "timeout waiting for backend: execution status unknown".
pub const CODE_STATUS_UNKNOWN: i32 = -1007;

/// Mutating endpoints that move money out or between accounts.
const WITHDRAW_AND_TRANSFER_PREFIXES: &[&str] = &[
    "/sapi/v1/capital/withdraw/",
    "/sapi/v1/asset/transfer",
    "/sapi/v1/sub-account/",
    "/sapi/v1/futures/transfer",
    "/sapi/v1/margin/transfer",
    "/sapi/v1/asset/dust",
];

pub struct BinanceSpot {
    allow_withdrawals: bool,
}

impl BinanceSpot {
    pub fn new(allow_withdrawals: bool) -> BinanceSpot {
        BinanceSpot { allow_withdrawals }
    }
}

pub(crate) fn params_of<'a>(req: &RequestView<'a>) -> Result<Params<'a>, Rejection> {
    Params::parse(req.query, req.body)
        .map_err(|e| Rejection::new(RejectReason::MalformedRequest, e.to_string()))
}

impl Venue for BinanceSpot {
    fn kind(&self) -> VenueKind {
        VenueKind::BinanceSpot
    }

    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection> {
        let api_key = req.api_key(API_KEY_HEADER);
        req.refuse_non_canonical_mutation()?;
        let action = match (req.method, req.path) {
            (&Method::POST, "/api/v3/order") => {
                Action::NewOrder(parse_new_order(&params_of(req)?, false)?)
            }
            (&Method::POST, "/api/v3/order/test") => {
                Action::NewOrder(parse_new_order(&params_of(req)?, true)?)
            }
            (&Method::DELETE, "/api/v3/order") => {
                let p = params_of(req)?;
                Action::Cancel {
                    symbol: parse_symbol(&p)?,
                    order: parse_order_ref(&p)?,
                }
            }
            (&Method::DELETE, "/api/v3/openOrders") => Action::CancelAll {
                symbol: parse_symbol(&params_of(req)?)?,
            },
            (&Method::GET, "/api/v3/order") => Action::Observe(Observation::OrderStatus),
            (&Method::GET, "/api/v3/openOrders") => {
                let p = params_of(req)?;
                let symbol = if p.get("symbol").is_some() {
                    Some(parse_symbol(&p)?)
                } else {
                    None
                };
                Action::Observe(Observation::OpenOrders { symbol })
            }
            (&Method::GET, "/api/v3/account") => Action::Observe(Observation::Account),
            (&Method::GET, "/api/v3/ticker/price") => Action::Observe(Observation::Ticker),
            (&Method::GET, "/api/v3/exchangeInfo") => Action::Observe(Observation::Instruments),
            (m, _) if m == Method::GET || m == Method::HEAD => Action::Pass,
            // Listen keys for the user-data stream; cancelling order lists only removes risk.
            (&Method::POST | &Method::PUT | &Method::DELETE, "/api/v3/userDataStream") => {
                Action::Pass
            }
            (&Method::DELETE, "/api/v3/orderList") => Action::Pass,
            (&Method::POST, p)
                if WITHDRAW_AND_TRANSFER_PREFIXES
                    .iter()
                    .any(|w| p.starts_with(w)) =>
            {
                if self.allow_withdrawals {
                    Action::Pass
                } else {
                    return Err(Rejection::new(
                        RejectReason::EndpointNotAllowed,
                        format!(
                            "withdrawal/transfer endpoint {p} blocked (allow_withdrawals = false)"
                        ),
                    ));
                }
            }
            (m, p) => {
                return Err(Rejection::new(
                    RejectReason::EndpointNotAllowed,
                    format!("{m} {p} is not an endpoint riskgate can check; refused"),
                ))
            }
        };
        Ok(Classified { api_key, action })
    }

    fn render_rejection(&self, rejection: &Rejection) -> SyntheticResponse {
        render(rejection)
    }

    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned {
        learn::learn(action, status, body)
    }

    fn ticker_path(&self) -> &'static str {
        "/api/v3/ticker/price"
    }

    fn daily_bars_path(&self, symbol: &str, days: usize) -> String {
        format!(
            "/api/v3/klines?symbol={symbol}&interval=1d&limit={}",
            days.clamp(1, 1000)
        )
    }

    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64> {
        parse_klines_closes(body)
    }

    fn instruments_paths(&self) -> &'static [&'static str] {
        &["/api/v3/exchangeInfo"]
    }
}

/// riskgate's refusal in Binance's shape (spot and USD-M alike).
pub(crate) fn render(rejection: &Rejection) -> SyntheticResponse {
    let (status, code) = match rejection.reason {
        RejectReason::RateLimit => (429, CODE_TOO_MANY_ORDERS),
        RejectReason::BodyTooLarge => (413, CODE_ORDER_REJECTED),
        RejectReason::Overloaded | RejectReason::ShuttingDown => (503, CODE_UNKNOWN),
        RejectReason::UpstreamUnavailable => (503, CODE_UNKNOWN),
        RejectReason::UpstreamStatusUnknown => (503, CODE_STATUS_UNKNOWN),
        _ => (400, CODE_ORDER_REJECTED),
    };
    let body = serde_json::json!({ "code": code, "msg": rejection.to_string() });
    SyntheticResponse {
        status,
        body: Bytes::from(body.to_string()),
    }
}

/// Daily closes from a klines answer.
pub(crate) fn parse_klines_closes(body: &[u8]) -> Vec<f64> {
    // [[openTime, "open", "high", "low", "close", "volume", closeTime, ...], ...]
    serde_json::from_slice::<Vec<Vec<serde_json::Value>>>(body)
        .map(|bars| {
            bars.iter()
                .filter_map(|b| b.get(4)?.as_str()?.parse::<f64>().ok())
                .filter(|c| c.is_finite() && *c > 0.0)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn classify(method: Method, path: &str, query: Option<&str>) -> Result<Action, RejectReason> {
        let headers = HeaderMap::new();
        let v = BinanceSpot::new(false);
        let req = RequestView {
            method: &method,
            path,
            query,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: b"",
        };
        v.classify(&req).map(|c| c.action).map_err(|r| r.reason)
    }

    #[test]
    fn refuses_unknown_and_non_canonical_mutations() {
        for p in [
            "/api/v3/order/",
            "/api/v3//order",
            "/api/v3/./order",
            "/api/v3/x/../order",
            "/api/v3/%6Frder",
            "/API/v3/order",
            "/api/v3/order/oco",
            "/api/v3/sor/order",
            "/sapi/v1/capital/withdraw/apply",
        ] {
            assert_eq!(
                classify(Method::POST, p, Some("symbol=BTCUSDT")),
                Err(RejectReason::EndpointNotAllowed),
                "{p}"
            );
        }
        assert_eq!(
            classify(Method::PATCH, "/api/v3/order", None),
            Err(RejectReason::EndpointNotAllowed)
        );
    }

    #[test]
    fn classifies_known_endpoints() {
        assert!(matches!(
            classify(Method::POST, "/api/v3/order", Some("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1")),
            Ok(Action::NewOrder(o)) if !o.test_only
        ));
        assert!(matches!(
            classify(Method::POST, "/api/v3/order/test", Some("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1")),
            Ok(Action::NewOrder(o)) if o.test_only
        ));
        assert!(matches!(
            classify(
                Method::DELETE,
                "/api/v3/order",
                Some("symbol=BTCUSDT&orderId=1")
            ),
            Ok(Action::Cancel { .. })
        ));
        assert_eq!(
            classify(Method::GET, "/api/v3/klines", None),
            Ok(Action::Pass)
        );
        assert_eq!(
            classify(Method::POST, "/api/v3/userDataStream", None),
            Ok(Action::Pass)
        );
        assert_eq!(
            classify(Method::GET, "/api/v3/account", None),
            Ok(Action::Observe(Observation::Account))
        );
    }

    #[test]
    fn renders_binance_error_shape() {
        let v = BinanceSpot::new(false);
        let r = v.render_rejection(&Rejection::new(
            RejectReason::MaxOrderNotional,
            "notional 20000.00 USD > limit 10000.00 USD",
        ));
        assert_eq!(r.status, 400);
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["code"], -2010);
        assert_eq!(
            j["msg"],
            "riskgate: max_order_notional: notional 20000.00 USD > limit 10000.00 USD"
        );
        assert_eq!(
            v.render_rejection(&Rejection::new(RejectReason::RateLimit, "x"))
                .status,
            429
        );
    }
}
