//! The paper Binance USD-M futures exchange: answers `/fapi` order, cancel,
//! open-orders, status, position, account and ticker endpoints in Binance's
//! futures format, from paper accounts over the simulated market.
//!
//! One-way mode, USDT-margined, no fees, no margin calls or liquidation:
//! market orders fill at the simulated price, marketable limit orders fill at
//! it, other limit orders rest and fill when a later request finds the price
//! crossed them. Stop, take-profit and algo orders rest as NEW and never
//! trigger (paper mode does not simulate them). Parses orders with riskgate's
//! own futures parser; knows nothing of rules or state.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::clock::SharedClock;
use crate::market::sim::SharedMarket;
use crate::model::decimal::format_fixed_padded;
use crate::model::{Fixed, NewOrder, OrderKind, OrderRef, Side};
use crate::venue::binance::futures::{parse_futures_batch, parse_futures_order};
use crate::venue::binance::{parse_order_ref, parse_symbol, Params, API_KEY_HEADER};
use crate::venue::{RequestView, SyntheticResponse};

/// Resting orders kept per paper account.
const MAX_RESTING_ORDERS: usize = 200;

struct Resting {
    order_id: i64,
    client_order_id: String,
    order: NewOrder,
    time_ms: i64,
}

#[derive(Default)]
struct Account {
    wallet_usdt: f64,
    positions: Positions,
    open: Vec<Resting>,
}

/// Linear-contract positions of one paper account (shared with paper Bybit).
#[derive(Default)]
pub(crate) struct Positions {
    /// Symbol → (signed qty, entry price).
    pub(crate) map: HashMap<String, (f64, f64)>,
    /// Realised P&L, quote currency.
    pub(crate) realised: f64,
}

impl Positions {
    pub(crate) fn get(&self, symbol: &str) -> Option<&(f64, f64)> {
        self.map.get(symbol)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &(f64, f64))> {
        self.map.iter()
    }

    /// Books a fill: the position moves; realised P&L accumulates.
    pub(crate) fn fill(&mut self, symbol: &str, side: Side, qty: f64, price: f64) {
        let signed = qty * side.sign() as f64;
        let (q, entry) = self.map.get(symbol).copied().unwrap_or((0.0, 0.0));
        let after = q + signed;
        let new_entry = if q == 0.0 || (q > 0.0) != (after > 0.0) {
            price
        } else if (q > 0.0) == (signed > 0.0) {
            (q.abs() * entry + qty * price) / (q.abs() + qty)
        } else {
            entry
        };
        // Realised P&L on the part that closed.
        let closed = if (q > 0.0) != (signed > 0.0) {
            q.abs().min(qty)
        } else {
            0.0
        };
        self.realised += closed * (price - entry) * q.signum();
        if after.abs() < 1e-12 {
            self.map.remove(symbol);
        } else {
            self.map.insert(symbol.to_string(), (after, new_entry));
        }
    }
}

pub struct PaperBinanceUsdm {
    market: SharedMarket,
    clock: SharedClock,
    starting_usdt: f64,
    max_accounts: usize,
    state: parking_lot::Mutex<(HashMap<String, Account>, i64)>,
}

/// A decimal as Binance writes it (`-0.5`, `61000.12`).
fn s(v: f64) -> String {
    let f = Fixed::from_f64(v.abs()).unwrap_or(Fixed::ZERO);
    let t = format_fixed_padded(f, 8);
    let t = t.trim_end_matches('0').trim_end_matches('.');
    match (t, v < 0.0) {
        ("" | "0", _) => "0".to_string(),
        (t, true) => format!("-{t}"),
        (t, false) => t.to_string(),
    }
}

fn answer(status: u16, v: Value) -> SyntheticResponse {
    SyntheticResponse {
        status,
        body: Bytes::from(v.to_string()),
    }
}

fn error(status: u16, code: i32, msg: &str) -> SyntheticResponse {
    answer(status, json!({ "code": code, "msg": msg }))
}

fn order_json(
    id: i64,
    cid: &str,
    o: &NewOrder,
    status: &str,
    executed: f64,
    avg: f64,
    time_ms: i64,
) -> Value {
    let orig = o.qty.map(|q| q.to_f64()).unwrap_or(0.0);
    json!({
        "orderId": id,
        "symbol": o.symbol.as_str(),
        "status": status,
        "clientOrderId": cid,
        "price": s(o.price.map(|p| p.to_f64()).unwrap_or(0.0)),
        "avgPrice": s(avg),
        "origQty": s(orig),
        "executedQty": s(executed),
        "cumQty": s(executed),
        "cumQuote": s(executed * avg),
        "timeInForce": "GTC",
        "type": kind_name(o.kind),
        "reduceOnly": o.reduce_only,
        "closePosition": o.qty.is_none(),
        "side": o.side.as_str(),
        "positionSide": "BOTH",
        "stopPrice": s(o.stop_price.map(|p| p.to_f64()).unwrap_or(0.0)),
        "updateTime": time_ms,
    })
}

fn kind_name(k: OrderKind) -> &'static str {
    match k {
        OrderKind::Market => "MARKET",
        OrderKind::Limit | OrderKind::LimitMaker => "LIMIT",
        OrderKind::StopMarket => "STOP_MARKET",
        OrderKind::StopLimit => "STOP",
        OrderKind::TakeProfitMarket => "TAKE_PROFIT_MARKET",
        OrderKind::TakeProfitLimit => "TAKE_PROFIT",
    }
}

impl PaperBinanceUsdm {
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
        max_accounts: usize,
    ) -> PaperBinanceUsdm {
        let starting_usdt = starting_balances
            .iter()
            .find(|(a, _)| a == "USDT")
            .map(|(_, q)| q.to_f64())
            .unwrap_or(10_000.0);
        PaperBinanceUsdm {
            market,
            clock,
            starting_usdt,
            max_accounts,
            state: parking_lot::Mutex::new((HashMap::new(), 1)),
        }
    }

    fn price(&self, symbol: &str) -> Option<f64> {
        self.market.read().price(symbol).map(|p| p.to_f64())
    }

    /// Advances the market and fills resting limit orders it crossed.
    fn sync(&self) -> i64 {
        let now_ms = self.clock.now_ms();
        if self.market.read().is_due(now_ms) {
            self.market.write().advance_to(now_ms);
        }
        let mut st = self.state.lock();
        for acct in st.0.values_mut() {
            let mut i = 0;
            while i < acct.open.len() {
                let r = &acct.open[i];
                let crossed = match (
                    r.order.kind,
                    r.order.price,
                    self.price(r.order.symbol.as_str()),
                ) {
                    (OrderKind::Limit, Some(limit), Some(px)) => match r.order.side {
                        Side::Buy => px <= limit.to_f64(),
                        Side::Sell => px >= limit.to_f64(),
                    },
                    _ => false,
                };
                if crossed {
                    let r = acct.open.remove(i);
                    let qty = r.order.qty.map(|q| q.to_f64()).unwrap_or(0.0);
                    let limit = r.order.price.map(|p| p.to_f64()).unwrap_or(0.0);
                    acct.positions
                        .fill(r.order.symbol.as_str(), r.order.side, qty, limit);
                } else {
                    i += 1;
                }
            }
        }
        now_ms
    }

    /// Places one parsed order; returns its answer (order JSON or error JSON).
    fn place(&self, key: &str, o: NewOrder, now_ms: i64) -> Result<Value, (u16, i32, String)> {
        let Some(px) = self.price(o.symbol.as_str()) else {
            return Err((400, -1121, "Invalid symbol.".into()));
        };
        let mut st = self.state.lock();
        let (accounts, next_id) = &mut *st;
        if !accounts.contains_key(key) && accounts.len() >= self.max_accounts {
            return Err((
                400,
                -2015,
                "Invalid API-key, IP, or permissions for action.".into(),
            ));
        }
        let starting = self.starting_usdt;
        let acct = accounts.entry(key.to_string()).or_insert_with(|| Account {
            wallet_usdt: starting,
            ..Default::default()
        });
        let id = *next_id;
        *next_id += 1;
        let cid = o
            .client_order_id
            .as_deref()
            .map(str::to_string)
            .unwrap_or_else(|| format!("paper{id}"));
        let position = acct.positions.get(o.symbol.as_str()).map_or(0.0, |p| p.0);
        // reduceOnly / closePosition: at most what closes the position.
        let mut qty = o.qty.map(|q| q.to_f64()).unwrap_or(position.abs());
        if o.reduce_only {
            let closable = if (position > 0.0 && o.side == Side::Sell)
                || (position < 0.0 && o.side == Side::Buy)
            {
                position.abs()
            } else {
                0.0
            };
            qty = qty.min(closable);
            if qty <= 0.0 && o.kind == OrderKind::Market {
                return Err((400, -2022, "ReduceOnly Order is rejected.".into()));
            }
        }
        let marketable = match (o.kind, o.price) {
            (OrderKind::Market, _) => true,
            (OrderKind::Limit, Some(limit)) => match o.side {
                Side::Buy => limit.to_f64() >= px,
                Side::Sell => limit.to_f64() <= px,
            },
            _ => false,
        };
        if marketable {
            acct.positions.fill(o.symbol.as_str(), o.side, qty, px);
            return Ok(order_json(id, &cid, &o, "FILLED", qty, px, now_ms));
        }
        if acct.open.len() >= MAX_RESTING_ORDERS {
            return Err((400, -2010, "Too many open orders.".into()));
        }
        let v = order_json(id, &cid, &o, "NEW", 0.0, 0.0, now_ms);
        acct.open.push(Resting {
            order_id: id,
            client_order_id: cid,
            order: o,
            time_ms: now_ms,
        });
        Ok(v)
    }

    fn find(acct: &Account, r: &OrderRef) -> Option<usize> {
        acct.open.iter().position(|o| match r {
            OrderRef::ExchangeId(id) => o.order_id == *id,
            OrderRef::ClientId(c) => *o.client_order_id == **c,
        })
    }

    /// Answers one request as Binance USD-M would.
    pub fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        let now_ms = self.sync();
        let params = match Params::parse(req.query, req.body) {
            Ok(p) => p,
            Err(e) => return error(400, -1102, &e.to_string()),
        };
        let key = req
            .headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty() && k.len() <= 128)
            .unwrap_or("");
        let m = req.method.as_str();
        match (m, req.path) {
            ("GET", "/fapi/v1/ping") => answer(200, json!({})),
            ("GET", "/fapi/v1/time") => answer(200, json!({ "serverTime": now_ms })),
            ("GET", "/fapi/v1/ticker/price") => {
                let market = self.market.read();
                let one = params.get("symbol");
                let list: Vec<Value> = market
                    .prices()
                    .filter(|(sym, _)| one.is_none_or(|o| o == sym.as_str()))
                    .map(|(sym, p)| json!({ "symbol": sym.as_str(), "price": s(p.to_f64()), "time": now_ms }))
                    .collect();
                match (one, list.len()) {
                    (Some(_), 0) => error(400, -1121, "Invalid symbol."),
                    (Some(_), _) => answer(200, list[0].clone()),
                    (None, _) => answer(200, Value::Array(list)),
                }
            }
            ("GET", "/fapi/v1/exchangeInfo") => {
                let market = self.market.read();
                let symbols: Vec<Value> = market
                    .symbols()
                    .map(|sy| json!({
                        "symbol": sy.symbol.as_str(), "pair": sy.symbol.as_str(),
                        "contractType": "PERPETUAL", "status": "TRADING",
                        "baseAsset": sy.base, "quoteAsset": sy.quote, "marginAsset": sy.quote,
                        "pricePrecision": 2, "quantityPrecision": 3,
                        "filters": [
                            { "filterType": "PRICE_FILTER", "tickSize": s(sy.tick_size.to_f64()), "minPrice": "0.01", "maxPrice": "10000000" },
                            { "filterType": "LOT_SIZE", "stepSize": s(sy.step_size.to_f64()), "minQty": s(sy.min_qty.to_f64()), "maxQty": s(sy.max_qty.to_f64()) },
                        ],
                        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
                        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                    }))
                    .collect();
                answer(
                    200,
                    json!({ "timezone": "UTC", "serverTime": now_ms, "symbols": symbols }),
                )
            }
            ("POST", "/fapi/v1/order/test") => match parse_futures_order(&params, false) {
                Ok(_) => answer(200, json!({})),
                Err(r) => error(400, -1102, &r.message),
            },
            ("POST", "/fapi/v1/order") | ("POST", "/fapi/v1/algoOrder") => {
                match parse_futures_order(&params, req.path.ends_with("algoOrder")) {
                    Ok(o) => match self.place(key, o, now_ms) {
                        Ok(v) => answer(200, v),
                        Err((st, code, msg)) => error(st, code, &msg),
                    },
                    Err(r) => error(400, -1102, &r.message),
                }
            }
            ("POST", "/fapi/v1/batchOrders") => match parse_futures_batch(&params) {
                Ok(orders) => {
                    let list: Vec<Value> = orders
                        .into_vec()
                        .into_iter()
                        .map(|o| match self.place(key, o, now_ms) {
                            Ok(v) => v,
                            Err((_, code, msg)) => json!({ "code": code, "msg": msg }),
                        })
                        .collect();
                    answer(200, Value::Array(list))
                }
                Err(r) => error(400, -1102, &r.message),
            },
            ("DELETE", "/fapi/v1/order") | ("GET", "/fapi/v1/order") => {
                let (Ok(_), Ok(r)) = (parse_symbol(&params), parse_order_ref(&params)) else {
                    return error(
                        400,
                        -1102,
                        "Mandatory parameter 'symbol' or 'orderId' was not sent.",
                    );
                };
                let mut st = self.state.lock();
                let Some(acct) = st.0.get_mut(key) else {
                    return error(400, -2011, "Unknown order sent.");
                };
                let Some(i) = Self::find(acct, &r) else {
                    return error(400, -2011, "Unknown order sent.");
                };
                if m == "GET" {
                    let o = &acct.open[i];
                    return answer(
                        200,
                        order_json(
                            o.order_id,
                            &o.client_order_id,
                            &o.order,
                            "NEW",
                            0.0,
                            0.0,
                            o.time_ms,
                        ),
                    );
                }
                let o = acct.open.remove(i);
                answer(
                    200,
                    order_json(
                        o.order_id,
                        &o.client_order_id,
                        &o.order,
                        "CANCELED",
                        0.0,
                        0.0,
                        now_ms,
                    ),
                )
            }
            ("PUT", "/fapi/v1/order") => {
                // Modify a resting limit order: new quantity and price, same ids.
                let (Ok(r), Ok(Some(qty)), Ok(Some(price))) = (
                    parse_order_ref(&params),
                    crate::venue::binance::order::decimal(&params, "quantity"),
                    crate::venue::binance::order::decimal(&params, "price"),
                ) else {
                    return error(
                        400,
                        -1102,
                        "Mandatory parameter 'quantity' or 'price' was not sent.",
                    );
                };
                let mut st = self.state.lock();
                let Some(acct) = st.0.get_mut(key) else {
                    return error(400, -2013, "Order does not exist.");
                };
                let Some(i) = Self::find(acct, &r) else {
                    return error(400, -2013, "Order does not exist.");
                };
                let o = &mut acct.open[i];
                o.order.qty = Some(qty);
                o.order.price = Some(price);
                o.time_ms = now_ms;
                answer(
                    200,
                    order_json(
                        o.order_id,
                        &o.client_order_id,
                        &o.order,
                        "NEW",
                        0.0,
                        0.0,
                        now_ms,
                    ),
                )
            }
            ("DELETE", "/fapi/v1/allOpenOrders") => {
                let Ok(sym) = parse_symbol(&params) else {
                    return error(400, -1102, "Mandatory parameter 'symbol' was not sent.");
                };
                if let Some(acct) = self.state.lock().0.get_mut(key) {
                    acct.open.retain(|o| o.order.symbol != sym);
                }
                answer(
                    200,
                    json!({ "code": 200, "msg": "The operation of cancel all open order is done." }),
                )
            }
            ("GET", "/fapi/v1/openOrders") => {
                let one = params.get("symbol");
                let st = self.state.lock();
                let list: Vec<Value> =
                    st.0.get(key)
                        .map(|a| {
                            a.open
                                .iter()
                                .filter(|o| one.is_none_or(|s| s == o.order.symbol.as_str()))
                                .map(|o| {
                                    order_json(
                                        o.order_id,
                                        &o.client_order_id,
                                        &o.order,
                                        "NEW",
                                        0.0,
                                        0.0,
                                        o.time_ms,
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                answer(200, Value::Array(list))
            }
            ("GET", "/fapi/v2/positionRisk" | "/fapi/v3/positionRisk") => answer(
                200,
                Value::Array(self.positions_json(key, params.get("symbol"))),
            ),
            ("GET", "/fapi/v2/account" | "/fapi/v3/account") => {
                let wallet = self
                    .state
                    .lock()
                    .0
                    .get(key)
                    .map_or(self.starting_usdt, |a| a.wallet_usdt);
                answer(
                    200,
                    json!({
                        "assets": [{ "asset": "USDT", "walletBalance": s(wallet), "availableBalance": s(wallet) }],
                        "positions": self.positions_json(key, None),
                    }),
                )
            }
            ("POST", "/fapi/v1/leverage") => answer(
                200,
                json!({
                    "symbol": params.get("symbol").unwrap_or(""), "leverage": params.get("leverage").and_then(|l| l.parse::<u32>().ok()).unwrap_or(1),
                    "maxNotionalValue": "1000000",
                }),
            ),
            _ => error(404, -5000, "Path not supported by the paper exchange."),
        }
    }

    fn positions_json(&self, key: &str, one: Option<&str>) -> Vec<Value> {
        let st = self.state.lock();
        let Some(a) = st.0.get(key) else {
            return Vec::new();
        };
        let mut v: Vec<(&String, &(f64, f64))> = a
            .positions
            .iter()
            .filter(|(sym, _)| one.is_none_or(|o| o == sym.as_str()))
            .collect();
        v.sort_by(|x, y| x.0.cmp(y.0));
        v.into_iter()
            .map(|(sym, (q, e))| {
                let mark = self.price(sym).unwrap_or(*e);
                json!({
                    "symbol": sym, "positionAmt": s(*q), "entryPrice": s(*e), "markPrice": s(mark),
                    "unRealizedProfit": s(q * (mark - e)), "positionSide": "BOTH", "leverage": "1",
                })
            })
            .collect()
    }
}

impl crate::proxy::InProcessVenue for PaperBinanceUsdm {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        PaperBinanceUsdm::handle(self, req)
    }
}
