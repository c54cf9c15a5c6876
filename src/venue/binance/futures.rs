//! Binance USD-M futures (`fapi.binance.com`): endpoints, order parsing, error
//! shape, learning. Shares parameters, signature and answers with spot
//! (`params`, `order`, `learn`); only what differs lives here.
//!
//! Orders: `POST /fapi/v1/order` (and `/order/test`), `/fapi/v1/batchOrders`
//! (a `batchOrders` JSON array of up to 5 orders, checked all or nothing),
//! `/fapi/v1/algoOrder` (conditional orders), `PUT /fapi/v1/order` (an amend,
//! checked as the order it becomes). `reduceOnly=true`, `closePosition=true`
//! and hedge-mode closes (`positionSide=LONG` + SELL, `SHORT` + BUY) are
//! reducing. Positions are learned from `/fapi/v2|v3/positionRisk` and
//! `/fapi/v2|v3/account`. Makes no decisions.

use bytes::Bytes;
use http::Method;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use super::order::{
    decimal, malformed, parse_client_id, parse_side, parse_symbol, parse_time_in_force, truncate,
};
use super::{params_of, Params, API_KEY_HEADER};
use crate::model::{Contract, NewOrder, OrderKind};
use crate::rules::{RejectReason, Rejection};
use crate::venue::{
    Action, Classified, Learned, Observation, RequestView, SyntheticResponse, Venue, VenueKind,
};

/// Most orders Binance takes in one `batchOrders` request.
pub const MAX_BATCH_ORDERS: usize = 5;

/// Parameters Binance documents for `POST /fapi/v1/order`.
const ORDER_PARAMS: &[&str] = &[
    "symbol",
    "side",
    "positionSide",
    "type",
    "timeInForce",
    "quantity",
    "reduceOnly",
    "price",
    "newClientOrderId",
    "stopPrice",
    "closePosition",
    "activationPrice",
    "callbackRate",
    "workingType",
    "priceProtect",
    "newOrderRespType",
    "selfTradePreventionMode",
    "goodTillDate",
    "recvWindow",
    "timestamp",
    "signature",
];

/// Parameters Binance documents for `POST /fapi/v1/algoOrder`.
const ALGO_PARAMS: &[&str] = &[
    "algoType",
    "symbol",
    "side",
    "positionSide",
    "type",
    "timeInForce",
    "quantity",
    "price",
    "triggerPrice",
    "workingType",
    "closePosition",
    "priceProtect",
    "reduceOnly",
    "activatePrice",
    "callbackRate",
    "clientAlgoId",
    "selfTradePreventionMode",
    "goodTillDate",
    "newOrderRespType",
    "recvWindow",
    "timestamp",
    "signature",
];

/// Parameters of `PUT /fapi/v1/order` (modify a resting limit order).
const AMEND_PARAMS: &[&str] = &[
    "orderId",
    "origClientOrderId",
    "symbol",
    "side",
    "quantity",
    "price",
    "recvWindow",
    "timestamp",
    "signature",
];

/// Parameters of `POST /fapi/v1/batchOrders` itself.
const BATCH_PARAMS: &[&str] = &["batchOrders", "recvWindow", "timestamp", "signature"];

/// Mutating endpoints that change no exposure (or only lower it): pass.
const HARMLESS: &[(&Method, &str)] = &[
    (&Method::POST, "/fapi/v1/listenKey"),
    (&Method::PUT, "/fapi/v1/listenKey"),
    (&Method::DELETE, "/fapi/v1/listenKey"),
    (&Method::POST, "/fapi/v1/leverage"),
    (&Method::POST, "/fapi/v1/marginType"),
    (&Method::POST, "/fapi/v1/positionSide/dual"),
    (&Method::POST, "/fapi/v1/multiAssetsMargin"),
    (&Method::POST, "/fapi/v1/countdownCancelAll"),
];

/// Which order endpoint the parameters came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Order,
    Test,
    Algo,
}

fn flag(params: &Params, name: &str) -> Result<bool, Rejection> {
    match params.get(name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(malformed(format!(
            "'{name}' must be true or false, not '{}'",
            truncate(v)
        ))),
    }
}

fn parse_order(params: &Params, endpoint: Endpoint) -> Result<NewOrder, Rejection> {
    let known = if endpoint == Endpoint::Algo {
        ALGO_PARAMS
    } else {
        ORDER_PARAMS
    };
    if let Some((name, _)) = params.iter().find(|(k, _)| !known.contains(k)) {
        return Err(malformed(format!("unknown parameter '{}'", truncate(name))));
    }
    if endpoint == Endpoint::Algo && params.get("algoType") != Some("CONDITIONAL") {
        return Err(malformed("'algoType' must be CONDITIONAL"));
    }
    let symbol = parse_symbol(params)?;
    let side = parse_side(params)?;
    let kind = match params.get("type") {
        Some("MARKET") if endpoint != Endpoint::Algo => OrderKind::Market,
        Some("LIMIT") if endpoint != Endpoint::Algo => OrderKind::Limit,
        Some("STOP") => OrderKind::StopLimit,
        Some("TAKE_PROFIT") => OrderKind::TakeProfitLimit,
        Some("STOP_MARKET") | Some("TRAILING_STOP_MARKET") => OrderKind::StopMarket,
        Some("TAKE_PROFIT_MARKET") => OrderKind::TakeProfitMarket,
        Some(other) => {
            return Err(malformed(format!(
                "unsupported order type '{}'",
                truncate(other)
            )))
        }
        None => return Err(malformed("missing parameter 'type'")),
    };
    // GTX (post only) and GTD may rest: read as GTC, the worst case.
    let time_in_force = parse_time_in_force(params, &["GTX", "GTD"])?;
    let qty = decimal(params, "quantity")?;
    let price = decimal(params, "price")?;
    let stop_price = decimal(
        params,
        if endpoint == Endpoint::Algo {
            "triggerPrice"
        } else {
            "stopPrice"
        },
    )?;
    decimal(params, "activationPrice")?;
    decimal(params, "activatePrice")?;
    decimal(params, "callbackRate")?;
    let client_order_id = parse_client_id(
        params,
        if endpoint == Endpoint::Algo {
            "clientAlgoId"
        } else {
            "newClientOrderId"
        },
    )?;
    let close_position = flag(params, "closePosition")?;
    let reduce_only_flag = flag(params, "reduceOnly")?;
    // Hedge mode: selling the LONG side or buying the SHORT side can only close.
    let hedge_close = matches!(
        (params.get("positionSide"), side),
        (Some("LONG"), crate::model::Side::Sell) | (Some("SHORT"), crate::model::Side::Buy)
    );
    match params.get("positionSide") {
        None | Some("BOTH" | "LONG" | "SHORT") => {}
        Some(other) => {
            return Err(malformed(format!(
                "invalid positionSide '{}'",
                truncate(other)
            )))
        }
    }
    if close_position {
        // Close-all: no quantity, only on stop/take-profit market orders.
        if qty.is_some() {
            return Err(malformed(
                "'quantity' cannot be sent with closePosition=true",
            ));
        }
        if !matches!(kind, OrderKind::StopMarket | OrderKind::TakeProfitMarket) {
            return Err(malformed(
                "closePosition is only valid on STOP_MARKET or TAKE_PROFIT_MARKET",
            ));
        }
    } else if qty.is_none() {
        return Err(malformed("missing parameter 'quantity'"));
    }
    if kind.has_limit_price() && price.is_none() {
        return Err(malformed("missing parameter 'price'"));
    }
    if !kind.has_limit_price() && price.is_some() {
        return Err(malformed(format!(
            "'price' is not valid on {kind:?} orders"
        )));
    }
    if kind == OrderKind::Limit && time_in_force.is_none() {
        return Err(malformed("missing parameter 'timeInForce'"));
    }
    let trailing = params.get("type") == Some("TRAILING_STOP_MARKET");
    if matches!(
        kind,
        OrderKind::StopMarket
            | OrderKind::TakeProfitMarket
            | OrderKind::StopLimit
            | OrderKind::TakeProfitLimit
    ) && !trailing
        && stop_price.is_none()
    {
        return Err(malformed(if endpoint == Endpoint::Algo {
            "missing parameter 'triggerPrice'"
        } else {
            "missing parameter 'stopPrice'"
        }));
    }
    Ok(NewOrder {
        symbol,
        side,
        kind,
        qty,
        quote_qty: None,
        price,
        stop_price,
        time_in_force,
        client_order_id,
        reduce_only: close_position || reduce_only_flag || hedge_close,
        contract: Contract::Linear,
        test_only: endpoint == Endpoint::Test,
    })
}

/// Parses `POST /fapi/v1/order` (`algo` false) or `/fapi/v1/algoOrder` parameters.
pub fn parse_futures_order(params: &Params, algo: bool) -> Result<NewOrder, Rejection> {
    parse_order(
        params,
        if algo {
            Endpoint::Algo
        } else {
            Endpoint::Order
        },
    )
}

/// Parses `POST /fapi/v1/batchOrders` parameters.
pub fn parse_futures_batch(params: &Params) -> Result<Box<[NewOrder]>, Rejection> {
    parse_batch(params)
}

/// `PUT /fapi/v1/order`: the resting limit order as it will be after the amend.
fn parse_amend(params: &Params) -> Result<NewOrder, Rejection> {
    if let Some((name, _)) = params.iter().find(|(k, _)| !AMEND_PARAMS.contains(k)) {
        return Err(malformed(format!("unknown parameter '{}'", truncate(name))));
    }
    super::parse_order_ref(params)?;
    let (Some(qty), Some(price)) = (decimal(params, "quantity")?, decimal(params, "price")?) else {
        return Err(malformed("an amend needs 'quantity' and 'price'"));
    };
    Ok(NewOrder {
        symbol: parse_symbol(params)?,
        side: parse_side(params)?,
        kind: OrderKind::Limit,
        qty: Some(qty),
        quote_qty: None,
        price: Some(price),
        stop_price: None,
        time_in_force: Some(crate::model::TimeInForce::Gtc),
        client_order_id: None,
        reduce_only: false,
        contract: Contract::Linear,
        test_only: false,
    })
}

/// One `batchOrders` entry as key/value pairs in the order given, keeping
/// duplicates (so they can be refused) and reading numbers and booleans as
/// their JSON text.
pub(crate) struct Pairs(pub(crate) Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an order object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Pairs, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, serde_json::Value>()? {
                    let text = match val {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(serde::de::Error::custom(format!(
                                "'{k}' must be a string or a number"
                            )))
                        }
                    };
                    v.push((k, text));
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// The `batchOrders` list, bounded while it is read.
struct Batch(Vec<Pairs>);

impl<'de> serde::Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Batch, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Batch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON array of orders")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Batch, A::Error> {
                let mut v = Vec::new();
                while let Some(p) = s.next_element::<Pairs>()? {
                    if v.len() == MAX_BATCH_ORDERS {
                        return Err(serde::de::Error::custom(format!(
                            "more than {MAX_BATCH_ORDERS} orders"
                        )));
                    }
                    v.push(p);
                }
                Ok(Batch(v))
            }
        }
        d.deserialize_seq(V)
    }
}

fn parse_batch(params: &Params) -> Result<Box<[NewOrder]>, Rejection> {
    if let Some((name, _)) = params.iter().find(|(k, _)| !BATCH_PARAMS.contains(k)) {
        return Err(malformed(format!("unknown parameter '{}'", truncate(name))));
    }
    let list = params
        .get("batchOrders")
        .ok_or_else(|| malformed("missing parameter 'batchOrders'"))?;
    let Batch(items) = serde_json::from_str::<Batch>(list)
        .map_err(|e| malformed(format!("'batchOrders' is not a list of orders: {e}")))?;
    if items.is_empty() {
        return Err(malformed("'batchOrders' is empty"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, Pairs(pairs))| {
            let p = Params::from_pairs(pairs)
                .map_err(|e| malformed(format!("batchOrders[{i}]: {e}")))?;
            parse_order(&p, Endpoint::Order)
                .map_err(|r| Rejection::new(r.reason, format!("batchOrders[{i}]: {}", r.message)))
        })
        .collect()
}

pub struct BinanceUsdm;

impl Venue for BinanceUsdm {
    fn kind(&self) -> VenueKind {
        VenueKind::BinanceUsdm
    }

    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection> {
        let api_key = req.api_key(API_KEY_HEADER);
        req.refuse_non_canonical_mutation()?;
        let action = match (req.method, req.path) {
            (&Method::POST, "/fapi/v1/order") => {
                Action::NewOrder(parse_order(&params_of(req)?, Endpoint::Order)?)
            }
            (&Method::POST, "/fapi/v1/order/test") => {
                Action::NewOrder(parse_order(&params_of(req)?, Endpoint::Test)?)
            }
            (&Method::POST, "/fapi/v1/algoOrder") => {
                Action::NewOrder(parse_order(&params_of(req)?, Endpoint::Algo)?)
            }
            (&Method::POST, "/fapi/v1/batchOrders") => {
                Action::NewOrders(parse_batch(&params_of(req)?)?)
            }
            (&Method::PUT, "/fapi/v1/order") => Action::Amend(parse_amend(&params_of(req)?)?),
            (&Method::DELETE, "/fapi/v1/order") => {
                let p = params_of(req)?;
                Action::Cancel {
                    symbol: parse_symbol(&p)?,
                    order: super::parse_order_ref(&p)?,
                }
            }
            (&Method::DELETE, "/fapi/v1/allOpenOrders") => Action::CancelAll {
                symbol: parse_symbol(&params_of(req)?)?,
            },
            (&Method::DELETE, "/fapi/v1/batchOrders")
            | (&Method::DELETE, "/fapi/v1/algoOrder")
            | (&Method::DELETE, "/fapi/v1/algoOpenOrders") => Action::CancelBatch,
            (&Method::GET, "/fapi/v1/order") => Action::Observe(Observation::OrderStatus),
            (&Method::GET, "/fapi/v1/openOrders") => {
                let p = params_of(req)?;
                let symbol = if p.get("symbol").is_some() {
                    Some(parse_symbol(&p)?)
                } else {
                    None
                };
                Action::Observe(Observation::OpenOrders { symbol })
            }
            (&Method::GET, "/fapi/v2/account" | "/fapi/v3/account") => {
                Action::Observe(Observation::Account)
            }
            (&Method::GET, "/fapi/v2/positionRisk" | "/fapi/v3/positionRisk") => {
                let all = params_of(req)?.get("symbol").is_none();
                Action::Observe(Observation::Positions { complete: all })
            }
            (&Method::GET, "/fapi/v1/ticker/price") => Action::Observe(Observation::Ticker),
            (&Method::GET, "/fapi/v1/exchangeInfo") => Action::Observe(Observation::Instruments),
            (m, _) if m == Method::GET || m == Method::HEAD => Action::Pass,
            (m, p) if HARMLESS.contains(&(m, p)) => Action::Pass,
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
        // The same codes as spot: with the base URL overridden, ccxt reads
        // futures errors with its spot table, where -2010 is InvalidOrder.
        super::render(rejection)
    }

    fn render_batch_rejection(
        &self,
        orders: &[NewOrder],
        refused: usize,
        rejection: &Rejection,
    ) -> SyntheticResponse {
        // Binance answers a batch with HTTP 200 and one entry per order, each
        // an order or `{"code":..,"msg":..}`. Every order is refused here.
        let whole = super::render(rejection);
        if whole.status != 400 {
            return whole; // rate limit, overload: the request-level answer
        }
        let entries: Vec<serde_json::Value> = (0..orders.len())
            .map(|i| {
                let msg = if i == refused {
                    rejection.to_string()
                } else {
                    format!(
                        "riskgate: batch refused whole: order {refused}{} failed {}",
                        orders[refused]
                            .client_order_id
                            .as_deref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        rejection.reason.id()
                    )
                };
                serde_json::json!({ "code": super::CODE_ORDER_REJECTED, "msg": msg })
            })
            .collect();
        SyntheticResponse {
            status: 200,
            body: Bytes::from(serde_json::Value::Array(entries).to_string()),
        }
    }

    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned {
        super::learn::learn_contract(Contract::Linear, action, status, body)
    }

    fn ticker_path(&self) -> &'static str {
        "/fapi/v1/ticker/price"
    }

    fn daily_bars_path(&self, symbol: &str, days: usize) -> String {
        format!(
            "/fapi/v1/klines?symbol={symbol}&interval=1d&limit={}",
            days.clamp(1, 1000)
        )
    }

    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64> {
        super::parse_klines_closes(body)
    }

    fn instruments_paths(&self) -> &'static [&'static str] {
        &["/fapi/v1/exchangeInfo"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn classify(method: Method, path: &str, body: &str) -> Result<Action, Rejection> {
        let headers = HeaderMap::new();
        let req = RequestView {
            method: &method,
            path,
            query: None,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        };
        BinanceUsdm.classify(&req).map(|c| c.action)
    }

    #[test]
    fn reads_futures_orders() {
        let Ok(Action::NewOrder(o)) = classify(
            Method::POST,
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTX&quantity=0.01&price=61000&positionSide=BOTH&timestamp=1&signature=ab",
        ) else {
            panic!("not an order")
        };
        assert_eq!(o.contract, Contract::Linear);
        assert!(!o.reduce_only);
        let Ok(Action::NewOrder(o)) = classify(
            Method::POST,
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=STOP_MARKET&stopPrice=50000&closePosition=true",
        ) else {
            panic!("not an order")
        };
        assert!(o.reduce_only && o.qty.is_none());
        let Ok(Action::NewOrder(o)) = classify(
            Method::POST,
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=1&positionSide=LONG",
        ) else {
            panic!("not an order")
        };
        assert!(o.reduce_only, "hedge-mode close");
        let Ok(Action::NewOrder(o)) = classify(
            Method::POST,
            "/fapi/v1/algoOrder",
            "algoType=CONDITIONAL&symbol=BTCUSDT&side=BUY&type=TAKE_PROFIT&quantity=1&price=60000&triggerPrice=59000&timeInForce=GTC&clientAlgoId=t1",
        ) else {
            panic!("not an order")
        };
        assert_eq!(o.client_order_id.as_deref(), Some("t1"));
        assert!(matches!(
            classify(
                Method::PUT,
                "/fapi/v1/order",
                "symbol=BTCUSDT&orderId=7&side=BUY&quantity=1&price=60000"
            ),
            Ok(Action::Amend(_))
        ));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for (m, p, b) in [
            (Method::POST, "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&leverage=100"),
            (Method::POST, "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&reduceOnly=maybe"),
            (Method::POST, "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=STOP_MARKET&stopPrice=1&closePosition=true&quantity=1"),
            (Method::POST, "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET"),
            (Method::POST, "/fapi/v1/algoOrder", "algoType=VP&symbol=BTCUSDT&side=BUY&type=STOP_MARKET&quantity=1&triggerPrice=1"),
            (Method::PUT, "/fapi/v1/order", "symbol=BTCUSDT&orderId=7&side=BUY&quantity=1"),
            (Method::POST, "/fapi/v1/batchOrders", "batchOrders=%5B%5D"),
        ] {
            let r = classify(m, p, b).expect_err(b);
            assert_eq!(r.reason, RejectReason::MalformedRequest, "{b}");
        }
        let r = classify(Method::PUT, "/fapi/v1/batchOrders", "").unwrap_err();
        assert_eq!(r.reason, RejectReason::EndpointNotAllowed);
    }

    #[test]
    fn reads_batches_strictly() {
        let list = r#"[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01","price":"60000","newClientOrderId":"a"},{"symbol":"ETHUSDT","side":"SELL","type":"MARKET","quantity":0.5,"reduceOnly":"true"}]"#;
        let body = format!("batchOrders={}&timestamp=1", urlencode(list));
        let Ok(Action::NewOrders(v)) = classify(Method::POST, "/fapi/v1/batchOrders", &body) else {
            panic!("not a batch")
        };
        assert_eq!(v.len(), 2);
        assert!(v[1].reduce_only);
        let dup = r#"[{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"1","quantity":"100"}]"#;
        let r = classify(
            Method::POST,
            "/fapi/v1/batchOrders",
            &format!("batchOrders={}", urlencode(dup)),
        )
        .unwrap_err();
        assert_eq!(r.reason, RejectReason::MalformedRequest);
        let six = format!(
            "[{}]",
            [r#"{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"1"}"#; 6].join(",")
        );
        assert!(classify(
            Method::POST,
            "/fapi/v1/batchOrders",
            &format!("batchOrders={}", urlencode(&six))
        )
        .is_err());
    }

    fn urlencode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    #[test]
    fn renders_batch_refusals_per_order() {
        let orders = [
            parse_order(
                &Params::parse(
                    Some("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&newClientOrderId=a"),
                    b"",
                )
                .unwrap(),
                Endpoint::Order,
            )
            .unwrap(),
            parse_order(
                &Params::parse(
                    Some("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=2&newClientOrderId=b"),
                    b"",
                )
                .unwrap(),
                Endpoint::Order,
            )
            .unwrap(),
        ];
        let r = BinanceUsdm.render_batch_rejection(
            &orders,
            1,
            &Rejection::new(RejectReason::MaxOrderQty, "quantity 2 > 1"),
        );
        assert_eq!(r.status, 200);
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j[0]["code"], -2010);
        assert_eq!(j[1]["msg"], "riskgate: max_order_qty: quantity 2 > 1");
        assert!(j[0]["msg"].as_str().unwrap().contains("order 1 (b)"));
    }
}
