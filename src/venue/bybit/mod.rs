//! Bybit v5 (`api.bybit.com`): endpoints, JSON order parsing, error shape,
//! learning. Makes no decisions.
//!
//! Orders are JSON bodies: `POST /v5/order/create` and `/v5/order/create-batch`
//! are checked. `category` decides the semantics: `spot` trades balances,
//! `linear` (USDT/USDC contracts) makes signed positions. A spot market buy is
//! sized in quote currency unless `marketUnit` says `baseCoin` (Bybit's
//! default). `POST /v5/order/amend` names only the order (`orderId` or
//! `orderLinkId`) and its new `qty` (the new total, fills included), `price`
//! or `triggerPrice`: it becomes `Action::AmendRef`, which the engine checks
//! against the order it tracks. `amend-batch` is refused. Refusals are
//! HTTP 200 with `retCode` 170210 ("New order rejected"), which ccxt raises as
//! `InvalidOrder`. The signature (`X-BAPI-SIGN`) covers the raw body, which is
//! forwarded untouched.

pub mod filters;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use super::binance::futures::Pairs;
use super::binance::Params;
use super::{
    Action, Classified, Learned, Observation, PositionReport, RequestView, SyntheticResponse,
    Venue, VenueKind,
};
use crate::model::{
    exchange_order_id, AmendMode, AmendRequest, Balance, Contract, Fixed, NewOrder, OrderKind,
    OrderRef, OrderReport, OrderStatus, Side, Symbol, TimeInForce,
};
use crate::rules::{RejectReason, Rejection};

pub const API_KEY_HEADER: &str = "x-bapi-api-key";
/// "New order rejected": ccxt's Bybit table maps it to `InvalidOrder`.
pub const RET_ORDER_REJECTED: i64 = 170210;
/// "Too many visits": ccxt maps it to `RateLimitExceeded`.
pub const RET_RATE_LIMIT: i64 = 10006;
/// "Server error" / "request timeout": riskgate could not carry the request.
pub const RET_SERVER_ERROR: i64 = 10016;
/// Most orders in one create-batch (linear and option: 20; spot: 10).
pub const MAX_BATCH_ORDERS: usize = 20;

/// Fields Bybit documents for one order (create, and each batch entry).
const ORDER_FIELDS: &[&str] = &[
    "category",
    "symbol",
    "isLeverage",
    "side",
    "orderType",
    "qty",
    "marketUnit",
    "price",
    "triggerDirection",
    "orderFilter",
    "triggerPrice",
    "triggerBy",
    "orderIv",
    "timeInForce",
    "positionIdx",
    "orderLinkId",
    "takeProfit",
    "stopLoss",
    "tpTriggerBy",
    "slTriggerBy",
    "reduceOnly",
    "closeOnTrigger",
    "smpType",
    "mmp",
    "tpslMode",
    "tpLimitPrice",
    "slLimitPrice",
    "tpOrderType",
    "slOrderType",
];

/// Fields Bybit documents for `/v5/order/amend`. Take-profit and stop-loss
/// changes only move the prices at which a position closes: no exposure.
const AMEND_FIELDS: &[&str] = &[
    "category",
    "symbol",
    "orderId",
    "orderLinkId",
    "triggerPrice",
    "qty",
    "price",
    "tpslMode",
    "takeProfit",
    "stopLoss",
    "tpTriggerBy",
    "slTriggerBy",
    "triggerBy",
    "tpLimitPrice",
    "slLimitPrice",
];

fn malformed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::MalformedRequest, msg)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(24) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn decimal(p: &Params, name: &str) -> Result<Option<Fixed>, Rejection> {
    match p.get(name) {
        None | Some("") => Ok(None),
        Some(v) => match Fixed::parse(v) {
            Ok(f) if f.is_positive() => Ok(Some(f)),
            Ok(_) => Err(malformed(format!("'{name}' must be greater than zero"))),
            Err(e) => Err(malformed(format!("'{name}'='{}': {e}", truncate(v)))),
        },
    }
}

fn flag(p: &Params, name: &str) -> Result<bool, Rejection> {
    match p.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(malformed(format!(
            "'{name}' must be true or false, not '{}'",
            truncate(v)
        ))),
    }
}

fn contract_of(category: &str) -> Result<Contract, Rejection> {
    match category {
        "spot" => Ok(Contract::Spot),
        "linear" => Ok(Contract::Linear),
        // Inverse contracts are sized in USD and options in contracts on an
        // underlying: riskgate cannot value them yet.
        other => Err(malformed(format!(
            "category '{}' is not supported (spot, linear)",
            truncate(other)
        ))),
    }
}

fn symbol(p: &Params) -> Result<Symbol, Rejection> {
    let s = p
        .get("symbol")
        .ok_or_else(|| malformed("missing field 'symbol'"))?;
    if s.is_empty()
        || s.len() > 30
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(malformed(format!("invalid symbol '{}'", truncate(s))));
    }
    Ok(Symbol::new(s))
}

/// One order's fields (a create body, or a batch entry with the batch's category).
fn parse_order(p: &Params, category: &str) -> Result<NewOrder, Rejection> {
    if let Some((name, _)) = p.iter().find(|(k, _)| !ORDER_FIELDS.contains(k)) {
        return Err(malformed(format!("unknown field '{}'", truncate(name))));
    }
    let contract = contract_of(category)?;
    let symbol = symbol(p)?;
    let side = match p.get("side") {
        Some("Buy") => Side::Buy,
        Some("Sell") => Side::Sell,
        Some(o) => return Err(malformed(format!("invalid side '{}'", truncate(o)))),
        None => return Err(malformed("missing field 'side'")),
    };
    let price = decimal(p, "price")?;
    let trigger = decimal(p, "triggerPrice")?;
    for f in ["takeProfit", "stopLoss", "tpLimitPrice", "slLimitPrice"] {
        decimal(p, f)?;
    }
    let limit = match p.get("orderType") {
        Some("Market") => false,
        Some("Limit") => true,
        Some(o) => return Err(malformed(format!("invalid orderType '{}'", truncate(o)))),
        None => return Err(malformed("missing field 'orderType'")),
    };
    let kind = match (limit, trigger.is_some()) {
        (false, false) => OrderKind::Market,
        (true, false) => OrderKind::Limit,
        (false, true) => OrderKind::StopMarket,
        (true, true) => OrderKind::StopLimit,
    };
    if limit && price.is_none() {
        return Err(malformed("a Limit order needs 'price'"));
    }
    let time_in_force = match p.get("timeInForce") {
        None => None,
        Some("GTC" | "PostOnly" | "RPI") => Some(TimeInForce::Gtc),
        Some("IOC") => Some(TimeInForce::Ioc),
        Some("FOK") => Some(TimeInForce::Fok),
        Some(o) => return Err(malformed(format!("invalid timeInForce '{}'", truncate(o)))),
    };
    let qty = decimal(p, "qty")?.ok_or_else(|| malformed("missing field 'qty'"))?;
    // Spot market orders: a buy is sized in quote currency unless marketUnit
    // says baseCoin; a sell in base unless it says quoteCoin.
    let quote_sized = match (contract, kind, p.get("marketUnit")) {
        (Contract::Spot, OrderKind::Market, Some("quoteCoin")) => true,
        (Contract::Spot, OrderKind::Market, Some("baseCoin")) => false,
        (Contract::Spot, OrderKind::Market, None) => side == Side::Buy,
        (_, _, None) => false,
        (_, _, Some(u)) => {
            return Err(malformed(format!(
                "marketUnit '{}' is only valid on spot market orders",
                truncate(u)
            )))
        }
    };
    let client_order_id = match p.get("orderLinkId") {
        None | Some("") => None,
        Some(id)
            if id.len() <= 36
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) =>
        {
            Some(id.into())
        }
        Some(_) => return Err(malformed("invalid 'orderLinkId'")),
    };
    let reduce_only = flag(p, "reduceOnly")? || flag(p, "closeOnTrigger")?;
    // Hedge mode: positionIdx 1 is the long side, 2 the short side; selling
    // the long side or buying the short side can only close.
    let hedge_close = matches!(
        (p.get("positionIdx"), side),
        (Some("1"), Side::Sell) | (Some("2"), Side::Buy)
    );
    if !matches!(p.get("positionIdx"), None | Some("0" | "1" | "2")) {
        return Err(malformed("invalid 'positionIdx'"));
    }
    if contract == Contract::Spot && (reduce_only || p.get("isLeverage") == Some("1")) {
        // Spot margin borrows: a sell could open a short riskgate would read as spot.
        return Err(malformed(
            "spot margin (isLeverage=1) and reduceOnly on spot are not supported",
        ));
    }
    Ok(NewOrder {
        symbol,
        side,
        kind,
        qty: (!quote_sized).then_some(qty),
        quote_qty: quote_sized.then_some(qty),
        price: if limit { price } else { None },
        stop_price: trigger,
        time_in_force,
        client_order_id,
        reduce_only: reduce_only || hedge_close,
        contract,
        test_only: false,
    })
}

fn body_pairs(body: &[u8]) -> Result<Params<'static>, Rejection> {
    let Pairs(pairs) = serde_json::from_slice::<Pairs>(body)
        .map_err(|e| malformed(format!("body is not an order object: {e}")))?;
    Params::from_pairs(pairs).map_err(|e| malformed(e.to_string()))
}

fn category_of(p: &Params) -> Result<String, Rejection> {
    p.get("category")
        .map(str::to_string)
        .ok_or_else(|| malformed("missing field 'category'"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    category: String,
    request: Vec<Pairs>,
}

fn parse_batch(body: &[u8]) -> Result<Box<[NewOrder]>, Rejection> {
    let b: BatchBody =
        serde_json::from_slice(body).map_err(|e| malformed(format!("body is not a batch: {e}")))?;
    if b.request.is_empty() || b.request.len() > MAX_BATCH_ORDERS {
        return Err(malformed(format!(
            "a batch holds 1 to {MAX_BATCH_ORDERS} orders"
        )));
    }
    b.request
        .into_iter()
        .enumerate()
        .map(|(i, Pairs(pairs))| {
            let p =
                Params::from_pairs(pairs).map_err(|e| malformed(format!("request[{i}]: {e}")))?;
            if p.get("category").is_some_and(|c| c != b.category) {
                return Err(malformed(format!(
                    "request[{i}]: category differs from the batch"
                )));
            }
            parse_order(&p, &b.category)
                .map_err(|r| Rejection::new(r.reason, format!("request[{i}]: {}", r.message)))
        })
        .collect()
}

fn order_ref(p: &Params) -> Result<OrderRef, Rejection> {
    if let Some(id) = p.get("orderId").filter(|s| !s.is_empty()) {
        return exchange_order_id(id)
            .map(OrderRef::ExchangeId)
            .ok_or_else(|| malformed("invalid 'orderId'"));
    }
    match p.get("orderLinkId") {
        Some(id) if !id.is_empty() && id.len() <= 36 => Ok(OrderRef::ClientId(Box::from(id))),
        _ => Err(malformed("missing field 'orderId' or 'orderLinkId'")),
    }
}

/// Parses a `/v5/order/amend` body (also used by the paper exchange): the
/// order it names and the new total `qty`, `price` or `triggerPrice`.
pub fn parse_bybit_amend(body: &[u8]) -> Result<AmendRequest, Rejection> {
    let p = body_pairs(body)?;
    if let Some((name, _)) = p.iter().find(|(k, _)| !AMEND_FIELDS.contains(k)) {
        return Err(malformed(format!("unknown field '{}'", truncate(name))));
    }
    let contract = contract_of(&category_of(&p)?)?;
    let symbol = symbol(&p)?;
    let target = order_ref(&p)?;
    let label = p
        .get("orderId")
        .filter(|s| !s.is_empty())
        .or_else(|| p.get("orderLinkId"))
        .unwrap_or("");
    let new_qty = decimal(&p, "qty")?;
    let new_price = decimal(&p, "price")?;
    let new_trigger_price = decimal(&p, "triggerPrice")?;
    for f in ["takeProfit", "stopLoss", "tpLimitPrice", "slLimitPrice"] {
        // "0" clears a take-profit or stop-loss: allowed, like any price.
        if p.get(f) != Some("0") {
            decimal(&p, f)?;
        }
    }
    Ok(AmendRequest {
        target,
        target_label: truncate(label).into(),
        symbol: Some(symbol),
        contract: Some(contract),
        new_qty,
        new_price,
        new_trigger_price,
        positional_prices: None,
        mode: AmendMode::InPlace,
    })
}

/// Parses a `/v5/order/create` body (also used by the paper exchange).
pub fn parse_bybit_order(body: &[u8]) -> Result<NewOrder, Rejection> {
    let p = body_pairs(body)?;
    parse_order(&p, &category_of(&p)?)
}

/// Parses a `/v5/order/create-batch` body.
pub fn parse_bybit_batch(body: &[u8]) -> Result<Box<[NewOrder]>, Rejection> {
    parse_batch(body)
}

pub struct BybitV5;

/// Milliseconds since the epoch for the `time` field of riskgate's answers.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn envelope(
    status: u16,
    ret_code: i64,
    msg: &str,
    result: serde_json::Value,
    ext: serde_json::Value,
) -> SyntheticResponse {
    let body = serde_json::json!({
        "retCode": ret_code,
        "retMsg": msg,
        "result": result,
        "retExtInfo": ext,
        "time": now_ms(),
    });
    SyntheticResponse {
        status,
        body: Bytes::from(body.to_string()),
    }
}

impl Venue for BybitV5 {
    fn kind(&self) -> VenueKind {
        VenueKind::BybitV5
    }

    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection> {
        let api_key = req.api_key(API_KEY_HEADER);
        req.refuse_non_canonical_mutation()?;
        let query = || Params::parse(req.query, b"").map_err(|e| malformed(e.to_string()));
        let action = match (req.method, req.path) {
            (&Method::POST, "/v5/order/create") => Action::NewOrder(parse_bybit_order(req.body)?),
            (&Method::POST, "/v5/order/create-batch") => Action::NewOrders(parse_batch(req.body)?),
            (&Method::POST, "/v5/order/amend") => Action::AmendRef(parse_bybit_amend(req.body)?),
            (&Method::POST, "/v5/order/amend-batch") => return Err(Rejection::new(
                RejectReason::EndpointNotAllowed,
                "batch amends are not checked by riskgate yet; send one /v5/order/amend per order",
            )),
            (&Method::POST, "/v5/order/cancel") => {
                let p = body_pairs(req.body)?;
                Action::Cancel {
                    symbol: symbol(&p)?,
                    order: order_ref(&p)?,
                }
            }
            (&Method::POST, "/v5/order/cancel-all" | "/v5/order/cancel-batch") => {
                Action::CancelBatch
            }
            (&Method::GET, "/v5/order/realtime" | "/v5/order/history") => {
                Action::Observe(Observation::OrderStatus)
            }
            (&Method::GET, "/v5/position/list") => {
                Action::Observe(Observation::Positions { complete: false })
            }
            (&Method::GET, "/v5/account/wallet-balance") => Action::Observe(Observation::Account),
            (&Method::GET, "/v5/market/tickers") => {
                query()?;
                Action::Observe(Observation::Ticker)
            }
            (&Method::GET, "/v5/market/instruments-info") => {
                Action::Observe(Observation::Instruments)
            }
            (m, _) if m == Method::GET || m == Method::HEAD => Action::Pass,
            // Leverage and margin mode change no exposure.
            (
                &Method::POST,
                "/v5/position/set-leverage"
                | "/v5/position/switch-mode"
                | "/v5/account/set-margin-mode",
            ) => Action::Pass,
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
        let empty = || serde_json::json!({});
        match rejection.reason {
            RejectReason::RateLimit => envelope(
                200,
                RET_RATE_LIMIT,
                &format!("Too many visits! {rejection}"),
                empty(),
                empty(),
            ),
            RejectReason::Overloaded
            | RejectReason::ShuttingDown
            | RejectReason::UpstreamUnavailable
            | RejectReason::UpstreamStatusUnknown => envelope(
                503,
                RET_SERVER_ERROR,
                &rejection.to_string(),
                empty(),
                empty(),
            ),
            _ => envelope(
                200,
                RET_ORDER_REJECTED,
                &format!("New order rejected. {rejection}"),
                empty(),
                empty(),
            ),
        }
    }

    fn render_batch_rejection(
        &self,
        orders: &[NewOrder],
        refused: usize,
        rejection: &Rejection,
    ) -> SyntheticResponse {
        let whole = self.render_rejection(rejection);
        if whole.status != 200 || rejection.reason == RejectReason::RateLimit {
            return whole;
        }
        // Bybit's batch answer: `result.list` (one entry per order) and
        // `retExtInfo.list` (each order's code and message), in request order.
        let category = |o: &NewOrder| match o.contract {
            Contract::Spot => "spot",
            Contract::Linear => "linear",
        };
        let list: Vec<_> = orders
            .iter()
            .map(|o| {
                serde_json::json!({
                    "category": category(o), "symbol": o.symbol.as_str(), "orderId": "",
                    "orderLinkId": o.client_order_id.as_deref().unwrap_or(""), "createAt": "",
                })
            })
            .collect();
        let ext: Vec<_> = (0..orders.len())
            .map(|i| {
                let msg = if i == refused {
                    format!("New order rejected. {rejection}")
                } else {
                    format!(
                        "New order rejected. riskgate: batch refused whole: order {refused}{} failed {}",
                        orders[refused]
                            .client_order_id
                            .as_deref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        rejection.reason.id()
                    )
                };
                serde_json::json!({ "code": RET_ORDER_REJECTED, "msg": msg })
            })
            .collect();
        envelope(
            200,
            0,
            "OK",
            serde_json::json!({ "list": list }),
            serde_json::json!({ "list": ext }),
        )
    }

    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned {
        learn(action, status, body)
    }

    fn ticker_path(&self) -> &'static str {
        "/v5/market/tickers?category=linear"
    }

    fn instruments_paths(&self) -> &'static [&'static str] {
        &[
            "/v5/market/instruments-info?category=spot",
            "/v5/market/instruments-info?category=linear&limit=1000",
        ]
    }

    fn daily_bars_path(&self, symbol: &str, days: usize) -> String {
        format!(
            "/v5/market/kline?category=linear&symbol={symbol}&interval=D&limit={}",
            days.clamp(1, 1000)
        )
    }

    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64> {
        // result.list: [[start, open, high, low, close, volume, turnover], ...], newest first.
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Vec::new();
        };
        let mut closes: Vec<f64> = v["result"]["list"]
            .as_array()
            .map(|bars| {
                bars.iter()
                    .filter_map(|b| b.get(4)?.as_str()?.parse::<f64>().ok())
                    .filter(|c| c.is_finite() && *c > 0.0)
                    .collect()
            })
            .unwrap_or_default();
        closes.reverse();
        closes
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    ret_code: i64,
    #[serde(default)]
    result: serde_json::Value,
    #[serde(default)]
    ret_ext_info: serde_json::Value,
}

fn fixed(v: &serde_json::Value) -> Option<Fixed> {
    v.as_str().and_then(|s| Fixed::parse(s).ok())
}

fn signed(v: &serde_json::Value) -> Option<Fixed> {
    let s = v.as_str()?;
    match s.strip_prefix('-') {
        Some(abs) => Fixed::parse(abs).ok().map(|f| Fixed(-f.0)),
        None => Fixed::parse(s).ok(),
    }
}

/// One order object from create, realtime, history or cancel answers.
fn report(o: &serde_json::Value, contract: Contract) -> Option<OrderReport> {
    let symbol = o["symbol"].as_str()?;
    let executed_qty = fixed(&o["cumExecQty"]).unwrap_or(Fixed::ZERO);
    let status = match o["orderStatus"].as_str() {
        Some("Filled") => OrderStatus::Filled,
        Some("Cancelled" | "Rejected" | "Deactivated" | "PartiallyFilledCanceled") => {
            OrderStatus::Closed
        }
        // New, PartiallyFilled, Untriggered, Triggered, or a bare ack.
        _ => OrderStatus::Open,
    };
    Some(OrderReport {
        symbol: Symbol::new(symbol),
        exchange_order_id: o["orderId"].as_str().and_then(exchange_order_id),
        client_order_id: o["orderLinkId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(Into::into),
        side: match o["side"].as_str() {
            Some("Buy") => Some(Side::Buy),
            Some("Sell") => Some(Side::Sell),
            _ => None,
        },
        status,
        orig_qty: fixed(&o["qty"]),
        executed_qty,
        avg_price: fixed(&o["avgPrice"]).filter(|p| p.is_positive() && executed_qty.is_positive()),
        contract,
    })
}

fn contract_in(o: &serde_json::Value, default: Contract) -> Contract {
    match o["category"].as_str() {
        Some("spot") => Contract::Spot,
        Some("linear") => Contract::Linear,
        _ => default,
    }
}

/// Reads a Bybit answer. Order acks carry no fills: the order stays open
/// (counted as live) until an order-status answer settles it.
pub fn learn(action: &Action, status: u16, body: &[u8]) -> Learned {
    let mut learned = Learned::default();
    let Ok(env) = serde_json::from_slice::<Envelope>(body) else {
        // Not Bybit's envelope (a 5xx page): outcome unknown, not a refusal.
        return learned;
    };
    if !(200..300).contains(&status) {
        return learned;
    }
    if env.ret_code != 0 {
        // Bybit refused the request (its own error code): nothing was placed.
        learned.venue_rejected = matches!(
            action,
            Action::NewOrder(_) | Action::NewOrders(_) | Action::AmendRef(_)
        );
        return learned;
    }
    let list = env.result["list"].as_array().cloned().unwrap_or_default();
    match action {
        Action::NewOrder(o) => {
            let mut ack = env.result.clone();
            ack["symbol"] = serde_json::Value::String(o.symbol.as_str().to_string());
            learned.reports.extend(report(&ack, o.contract));
        }
        Action::NewOrders(orders) => {
            let codes = env.ret_ext_info["list"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if list.len() == orders.len() && codes.len() == orders.len() {
                learned.batch = list
                    .iter()
                    .zip(&codes)
                    .zip(orders.iter())
                    .map(|((o, c), ord)| {
                        if c["code"].as_i64() == Some(0) {
                            report(o, ord.contract)
                        } else {
                            None
                        }
                    })
                    .collect();
            }
        }
        Action::AmendRef(a) => {
            // `{"orderId":..,"orderLinkId":..}`: the amend was applied.
            if let Some(symbol) = &a.symbol {
                let mut ack = env.result.clone();
                ack["symbol"] = serde_json::Value::String(symbol.as_str().to_string());
                learned
                    .reports
                    .extend(report(&ack, a.contract.unwrap_or(Contract::Spot)));
            }
        }
        Action::Cancel { .. } => {
            if let Action::Cancel { symbol, .. } = action {
                let mut ack = env.result.clone();
                ack["symbol"] = serde_json::Value::String(symbol.as_str().to_string());
                ack["orderStatus"] = "Cancelled".into();
                learned.reports.extend(report(&ack, Contract::Spot));
            }
        }
        Action::Observe(Observation::OrderStatus) => {
            learned.reports = list
                .iter()
                .filter_map(|o| report(o, contract_in(o, Contract::Linear)))
                .collect();
        }
        Action::Observe(Observation::Positions { .. }) => {
            learned.positions = list
                .iter()
                .filter_map(|p| {
                    let size = fixed(&p["size"])?;
                    let qty = match p["side"].as_str() {
                        Some("Sell") => Fixed(-size.0),
                        _ => size,
                    };
                    Some(PositionReport {
                        symbol: Symbol::new(p["symbol"].as_str()?),
                        qty,
                        entry_price: fixed(&p["avgPrice"]).filter(|e| e.is_positive()),
                    })
                })
                .collect();
        }
        Action::Observe(Observation::Account) => {
            if let Some(coins) = list.first().and_then(|a| a["coin"].as_array()) {
                learned.balances = coins
                    .iter()
                    .filter_map(|c| {
                        Some(Balance {
                            asset: c["coin"].as_str()?.into(),
                            total: signed(&c["walletBalance"])?,
                        })
                    })
                    .collect();
            }
        }
        Action::Observe(Observation::Instruments) => {
            learned.filters = filters::instruments_info(body);
        }
        Action::Observe(Observation::Ticker) => {
            learned.prices = list
                .iter()
                .filter_map(|t| {
                    Some((
                        Symbol::new(t["symbol"].as_str()?),
                        fixed(&t["lastPrice"]).filter(|p| p.is_positive())?,
                    ))
                })
                .collect();
        }
        _ => {}
    }
    learned
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn classify(path: &str, body: &str) -> Result<Action, Rejection> {
        let headers = HeaderMap::new();
        let req = RequestView {
            method: &Method::POST,
            path,
            query: None,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        };
        BybitV5.classify(&req).map(|c| c.action)
    }

    #[test]
    fn spot_market_buys_are_quote_sized_unless_told() {
        let Ok(Action::NewOrder(o)) = classify(
            "/v5/order/create",
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"100"}"#,
        ) else {
            panic!()
        };
        assert_eq!((o.qty, o.quote_qty), (None, Some(Fixed::from_units(100))));
        let Ok(Action::NewOrder(o)) = classify(
            "/v5/order/create",
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1","marketUnit":"baseCoin"}"#,
        ) else {
            panic!()
        };
        assert!(o.qty.is_some() && o.contract == Contract::Spot);
        let Ok(Action::NewOrder(o)) = classify(
            "/v5/order/create",
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Limit","qty":"0.1","price":"70000","reduceOnly":true,"positionIdx":0}"#,
        ) else {
            panic!()
        };
        assert!(o.reduce_only && o.contract == Contract::Linear);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for b in [
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"1","qty":"100"}"#,
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Buy","orderType":"Market","qty":"1"}"#,
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"1","leverage":"100"}"#,
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1"}"#,
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"1","isLeverage":1}"#,
            r#"not json"#,
        ] {
            assert_eq!(
                classify("/v5/order/create", b).unwrap_err().reason,
                RejectReason::MalformedRequest,
                "{b}"
            );
        }
        assert_eq!(
            classify("/v5/order/amend-batch", "{}").unwrap_err().reason,
            RejectReason::EndpointNotAllowed
        );
    }

    #[test]
    fn amends_name_the_order_and_its_new_total() {
        // ccxt bybit.edit_order(id, 'BTC/USDT:USDT', 'limit', 'buy', 0.02, 61000).
        let Ok(Action::AmendRef(a)) = classify(
            "/v5/order/amend",
            r#"{"symbol":"BTCUSDT","orderId":"c6f055d9-7f21-4079-913d-e6523a9cfffa","category":"linear","qty":"0.02","price":"61000"}"#,
        ) else {
            panic!()
        };
        assert_eq!(
            a.target,
            OrderRef::ExchangeId(
                exchange_order_id("c6f055d9-7f21-4079-913d-e6523a9cfffa").unwrap()
            )
        );
        assert_eq!(a.symbol, Some(Symbol::new("BTCUSDT")));
        assert_eq!(a.contract, Some(Contract::Linear));
        assert_eq!(a.new_qty, Fixed::parse("0.02").ok());
        assert_eq!(a.new_price, Fixed::parse("61000").ok());
        assert_eq!(a.mode, AmendMode::InPlace);
        let Ok(Action::AmendRef(a)) = classify(
            "/v5/order/amend",
            r#"{"category":"spot","symbol":"ETHUSDT","orderLinkId":"my-1","triggerPrice":"2900","takeProfit":"0"}"#,
        ) else {
            panic!()
        };
        assert_eq!(a.target, OrderRef::ClientId("my-1".into()));
        assert_eq!((a.new_qty, a.new_price), (None, None));
        assert_eq!(a.new_trigger_price, Fixed::parse("2900").ok());
        for bad in [
            r#"{"category":"linear","symbol":"BTCUSDT","qty":"1"}"#,
            r#"{"category":"linear","symbol":"BTCUSDT","orderId":"1","qty":"1","qty":"9"}"#,
            r#"{"category":"linear","symbol":"BTCUSDT","orderId":"1","side":"Buy"}"#,
            r#"{"category":"option","symbol":"BTC-1JAN-1-C","orderId":"1","qty":"1"}"#,
            r#"{"category":"linear","symbol":"BTCUSDT","orderId":"1","price":"-5"}"#,
            r#"{"category":"linear","orderId":"1","qty":"1"}"#,
        ] {
            assert_eq!(
                classify("/v5/order/amend", bad).unwrap_err().reason,
                RejectReason::MalformedRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn learns_amend_answers() {
        let Ok(action) = classify(
            "/v5/order/amend",
            r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"l1","qty":"0.02"}"#,
        ) else {
            panic!()
        };
        let ok = learn(
            &action,
            200,
            br#"{"retCode":0,"retMsg":"OK","result":{"orderId":"c6f055d9","orderLinkId":"l1"},"retExtInfo":{},"time":1}"#,
        );
        assert_eq!(ok.reports.len(), 1);
        assert_eq!(ok.reports[0].client_order_id.as_deref(), Some("l1"));
        assert_eq!(ok.reports[0].status, OrderStatus::Open);
        assert!(!ok.venue_rejected);
        let refused = learn(
            &action,
            200,
            br#"{"retCode":110001,"retMsg":"order not exists or too late to replace","result":{},"retExtInfo":{},"time":1}"#,
        );
        assert!(refused.venue_rejected && refused.reports.is_empty());
        // Not Bybit's envelope: unknown, not a refusal.
        assert!(!learn(&action, 502, b"<html>").venue_rejected);
    }

    #[test]
    fn renders_bybit_refusals() {
        let r = BybitV5.render_rejection(&Rejection::new(RejectReason::MaxOrderQty, "too big"));
        assert_eq!(r.status, 200);
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["retCode"], 170210);
        assert_eq!(
            j["retMsg"],
            "New order rejected. riskgate: max_order_qty: too big"
        );
        assert!(j["result"].as_object().unwrap().is_empty());
        assert!(j["time"].as_i64().unwrap() > 0);
    }
}
