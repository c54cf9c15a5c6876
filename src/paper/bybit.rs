//! The paper Bybit v5 exchange: answers order create / create-batch / cancel,
//! order realtime and history, position list, wallet balance and tickers in
//! Bybit's envelope, from paper accounts over the simulated market.
//!
//! `linear` orders make signed positions (one-way, no fees, no liquidation);
//! `spot` orders move paper balances (not checked for sufficiency). Market
//! orders fill at the simulated price; marketable limits fill; other limits
//! rest and fill when a later request finds the price crossed them. Conditional
//! (trigger) orders rest and never trigger. Like the real exchange, the create
//! answer carries only ids: fills show in `/v5/order/realtime` and history.
//! `/v5/order/amend` changes a resting order's total `qty`, `price` or
//! `triggerPrice` in place (same id); one that becomes marketable fills.
//! Parses orders with riskgate's own Bybit parser; knows nothing of rules.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::{json, Value};

use super::binance_usdm::Positions;
use crate::clock::SharedClock;
use crate::market::sim::SharedMarket;
use crate::model::decimal::format_fixed_padded;
use crate::model::{Contract, Fixed, NewOrder, OrderKind, Side};
use crate::venue::binance::Params;
use crate::venue::bybit::{
    parse_bybit_amend, parse_bybit_batch, parse_bybit_order, API_KEY_HEADER,
};
use crate::venue::{RequestView, SyntheticResponse};

/// Orders remembered per account (open and recent), oldest dropped first.
const MAX_ORDERS: usize = 500;

struct PaperOrder {
    id: String,
    link: String,
    order: NewOrder,
    status: &'static str,
    cum_qty: f64,
    avg: f64,
    time_ms: i64,
}

#[derive(Default)]
struct Account {
    positions: Positions,
    balances: HashMap<String, f64>,
    orders: VecDeque<PaperOrder>,
}

pub struct PaperBybit {
    market: SharedMarket,
    clock: SharedClock,
    starting: Vec<(String, f64)>,
    max_accounts: usize,
    state: parking_lot::Mutex<(HashMap<String, Account>, u64)>,
}

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

fn reply(result: Value, ext: Value, now_ms: i64) -> SyntheticResponse {
    let body = json!({ "retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": ext, "time": now_ms });
    SyntheticResponse {
        status: 200,
        body: Bytes::from(body.to_string()),
    }
}

fn fail(code: i64, msg: &str, now_ms: i64) -> SyntheticResponse {
    let body =
        json!({ "retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now_ms });
    SyntheticResponse {
        status: 200,
        body: Bytes::from(body.to_string()),
    }
}

fn category(c: Contract) -> &'static str {
    match c {
        Contract::Spot => "spot",
        Contract::Linear => "linear",
    }
}

fn order_json(o: &PaperOrder) -> Value {
    json!({
        "orderId": o.id, "orderLinkId": o.link, "symbol": o.order.symbol.as_str(),
        "category": category(o.order.contract),
        "side": if o.order.side == Side::Buy { "Buy" } else { "Sell" },
        "orderType": if o.order.price.is_some() { "Limit" } else { "Market" },
        "price": s(o.order.price.map_or(0.0, |p| p.to_f64())),
        "qty": s(o.order.qty.or(o.order.quote_qty).map_or(0.0, |q| q.to_f64())),
        "orderStatus": o.status, "cumExecQty": s(o.cum_qty), "avgPrice": s(o.avg),
        "cumExecValue": s(o.cum_qty * o.avg), "reduceOnly": o.order.reduce_only,
        "createdTime": o.time_ms.to_string(), "updatedTime": o.time_ms.to_string(),
    })
}

impl PaperBybit {
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
        max_accounts: usize,
    ) -> PaperBybit {
        PaperBybit {
            market,
            clock,
            starting: starting_balances
                .into_iter()
                .map(|(a, q)| (a, q.to_f64()))
                .collect(),
            max_accounts,
            state: parking_lot::Mutex::new((HashMap::new(), 1)),
        }
    }

    fn price(&self, symbol: &str) -> Option<f64> {
        self.market.read().price(symbol).map(|p| p.to_f64())
    }

    fn fill(acct: &mut Account, o: &NewOrder, qty: f64, px: f64) {
        match o.contract {
            Contract::Linear => acct.positions.fill(o.symbol.as_str(), o.side, qty, px),
            Contract::Spot => {
                let inst = crate::model::Instrument::from_venue_symbol(o.symbol.as_str());
                if let Some(i) = inst {
                    let sign = o.side.sign() as f64;
                    *acct.balances.entry(i.base.to_string()).or_default() += sign * qty;
                    *acct.balances.entry(i.quote.to_string()).or_default() -= sign * qty * px;
                }
            }
        }
    }

    /// Advances the market and fills resting limit orders it crossed.
    fn sync(&self) -> i64 {
        let now_ms = self.clock.now_ms();
        if self.market.read().is_due(now_ms) {
            self.market.write().advance_to(now_ms);
        }
        let mut st = self.state.lock();
        for acct in st.0.values_mut() {
            let mut fills = Vec::new();
            for (i, o) in acct.orders.iter().enumerate() {
                if o.status != "New" || o.order.kind != OrderKind::Limit {
                    continue;
                }
                let (Some(limit), Some(px)) = (o.order.price, self.price(o.order.symbol.as_str()))
                else {
                    continue;
                };
                let crossed = match o.order.side {
                    Side::Buy => px <= limit.to_f64(),
                    Side::Sell => px >= limit.to_f64(),
                };
                if crossed {
                    fills.push((i, limit.to_f64()));
                }
            }
            for (i, px) in fills {
                let (order, qty) = {
                    let o = &acct.orders[i];
                    (o.order.clone(), o.order.qty.map_or(0.0, |q| q.to_f64()))
                };
                Self::fill(acct, &order, qty, px);
                let o = &mut acct.orders[i];
                o.status = "Filled";
                o.cum_qty = qty;
                o.avg = px;
            }
        }
        now_ms
    }

    fn place(&self, key: &str, o: NewOrder, now_ms: i64) -> Result<Value, (i64, String)> {
        let Some(px) = self.price(o.symbol.as_str()) else {
            return Err((10001, "params error: symbol invalid".into()));
        };
        let mut st = self.state.lock();
        let (accounts, next) = &mut *st;
        if !accounts.contains_key(key) && accounts.len() >= self.max_accounts {
            return Err((10003, "API key is invalid.".into()));
        }
        let starting = &self.starting;
        let acct = accounts.entry(key.to_string()).or_insert_with(|| Account {
            balances: starting.iter().cloned().collect(),
            ..Default::default()
        });
        let n = *next;
        *next += 1;
        // Bybit order ids are UUIDs: not numbers.
        let id = format!("{n:08x}-0000-4000-8000-paper0000000");
        let link = o.client_order_id.as_deref().unwrap_or("").to_string();
        let position = acct.positions.get(o.symbol.as_str()).map_or(0.0, |p| p.0);
        let mut qty = match (o.qty, o.quote_qty) {
            (Some(q), _) => q.to_f64(),
            (None, Some(quote)) => quote.to_f64() / px,
            _ => 0.0,
        };
        if o.reduce_only {
            let closable = if (position > 0.0 && o.side == Side::Sell)
                || (position < 0.0 && o.side == Side::Buy)
            {
                position.abs()
            } else {
                0.0
            };
            qty = qty.min(closable);
            if qty <= 0.0 {
                return Err((110017, "Reduce-only rule not satisfied".into()));
            }
        }
        let marketable = o.stop_price.is_none()
            && match (o.kind, o.price) {
                (OrderKind::Market, _) => true,
                (OrderKind::Limit, Some(limit)) => match o.side {
                    Side::Buy => limit.to_f64() >= px,
                    Side::Sell => limit.to_f64() <= px,
                },
                _ => false,
            };
        let mut po = PaperOrder {
            id: id.clone(),
            link: link.clone(),
            order: o,
            status: "New",
            cum_qty: 0.0,
            avg: 0.0,
            time_ms: now_ms,
        };
        if marketable {
            Self::fill(acct, &po.order, qty, px);
            po.status = "Filled";
            po.cum_qty = qty;
            po.avg = px;
        } else if po.stop_price_set() {
            po.status = "Untriggered";
        }
        if acct.orders.len() >= MAX_ORDERS {
            acct.orders.pop_front();
        }
        acct.orders.push_back(po);
        Ok(json!({ "orderId": id, "orderLinkId": link }))
    }

    /// `/v5/order/amend`: changes a resting order in place; a limit that
    /// becomes marketable fills at the simulated price, as a new one would.
    fn amend(&self, key: &str, body: &[u8]) -> Result<Value, (i64, String)> {
        let a = parse_bybit_amend(body).map_err(|r| (10001, r.message))?;
        let mut st = self.state.lock();
        let acct = st.0.get_mut(key).ok_or((
            110001,
            "order not exists or too late to replace".to_string(),
        ))?;
        let i = acct
            .orders
            .iter()
            .position(|o| {
                matches!(o.status, "New" | "Untriggered")
                    && Some(&o.order.symbol) == a.symbol.as_ref()
                    && match &a.target {
                        crate::model::OrderRef::ExchangeId(id) => {
                            crate::model::exchange_order_id(&o.id) == Some(*id)
                        }
                        crate::model::OrderRef::ClientId(c) => o.link == **c,
                    }
            })
            .ok_or((
                110001,
                "order not exists or too late to replace".to_string(),
            ))?;
        let o = &mut acct.orders[i];
        if let Some(q) = a.new_qty {
            o.order.qty = Some(q);
        }
        if let Some(p) = a.new_price {
            o.order.price = Some(p);
        }
        if let Some(t) = a.new_trigger_price {
            o.order.stop_price = Some(t);
        }
        let answer = json!({ "orderId": o.id, "orderLinkId": o.link });
        let px = self.price(o.order.symbol.as_str());
        let marketable = o.status == "New"
            && o.order.kind == OrderKind::Limit
            && match (o.order.price, px) {
                (Some(limit), Some(px)) => match o.order.side {
                    Side::Buy => limit.to_f64() >= px,
                    Side::Sell => limit.to_f64() <= px,
                },
                _ => false,
            };
        if let (true, Some(px)) = (marketable, px) {
            let (order, qty) = (o.order.clone(), o.order.qty.map_or(0.0, |q| q.to_f64()));
            o.status = "Filled";
            o.cum_qty = qty;
            o.avg = px;
            Self::fill(acct, &order, qty, px);
        }
        Ok(answer)
    }

    /// Answers one request as Bybit v5 would.
    pub fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        let now_ms = self.sync();
        let key = req
            .headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty() && k.len() <= 128)
            .unwrap_or("")
            .to_string();
        let q = Params::parse(req.query, b"").unwrap_or_default();
        match (req.method.as_str(), req.path) {
            ("GET", "/v5/market/time") => reply(
                json!({ "timeSecond": (now_ms / 1000).to_string(), "timeNano": (now_ms as i128 * 1_000_000).to_string() }),
                json!({}),
                now_ms,
            ),
            ("GET", "/v5/market/tickers") => {
                let m = self.market.read();
                let list: Vec<Value> = m
                    .prices()
                    .filter(|(sym, _)| q.get("symbol").is_none_or(|w| w == sym.as_str()))
                    .map(|(sym, p)| json!({ "symbol": sym.as_str(), "lastPrice": s(p.to_f64()) }))
                    .collect();
                reply(
                    json!({ "category": q.get("category").unwrap_or("linear"), "list": list }),
                    json!({}),
                    now_ms,
                )
            }
            // What ccxt asks before trading: the key's permissions and the
            // account type. The paper account is a unified trading account.
            ("GET", "/v5/user/query-api") => reply(
                json!({
                    "id": "1", "note": "riskgate paper", "apiKey": key, "readOnly": 0,
                    "secret": "", "permissions": { "Spot": ["SpotTrade"], "ContractTrade": ["Order", "Position"] },
                    "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "",
                    "createdAt": "2024-01-01T00:00:00Z", "unified": 1, "uta": 1,
                    "userID": 1, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0",
                    "affiliateID": 0, "rsaPublicKey": "", "isMaster": true,
                    "parentUid": "0", "kycLevel": "LEVEL_DEFAULT", "kycRegion": "",
                }),
                json!({}),
                now_ms,
            ),
            ("GET", "/v5/account/info") => reply(
                json!({
                    "unifiedMarginStatus": 4, "marginMode": "REGULAR_MARGIN",
                    "isMasterTrader": false, "spotHedgingStatus": "OFF",
                    "updatedTime": now_ms.to_string(), "dcpStatus": "OFF",
                    "timeWindow": 10, "smpGroup": 0,
                }),
                json!({}),
                now_ms,
            ),
            ("GET", "/v5/market/instruments-info") => {
                // The simulated symbols, as spot pairs and as the linear
                // perpetuals paper Bybit trades on the same prices, with the
                // simulator's own step, tick and minimums.
                let category = q.get("category").unwrap_or("spot");
                let m = self.market.read();
                let wanted = |i: &&crate::market::sim::SimSymbol| {
                    q.get("symbol").is_none_or(|w| w == i.symbol.as_str())
                };
                let list: Vec<Value> = if category == "linear" {
                    m.symbols()
                        .filter(wanted)
                        .map(|i| {
                            json!({
                                "symbol": i.symbol.as_str(), "contractType": "LinearPerpetual",
                                "status": "Trading", "baseCoin": i.base, "quoteCoin": i.quote,
                                "settleCoin": i.quote,
                                "lotSizeFilter": {
                                    "qtyStep": i.step_size.to_string(),
                                    "minOrderQty": i.min_qty.to_string(),
                                    "maxOrderQty": i.max_qty.to_string(),
                                    "maxMktOrderQty": i.max_qty.to_string(),
                                    "minNotionalValue": i.min_notional.to_string(),
                                },
                                "priceFilter": {
                                    "tickSize": i.tick_size.to_string(),
                                    "minPrice": i.tick_size.to_string(),
                                },
                            })
                        })
                        .collect()
                } else if category == "spot" {
                    m.symbols()
                        .filter(wanted)
                        .map(|i| {
                            json!({
                                "symbol": i.symbol.as_str(), "baseCoin": i.base, "quoteCoin": i.quote,
                                "innovation": "0", "status": "Trading", "marginTrading": "none",
                                "lotSizeFilter": {
                                    "basePrecision": i.step_size.to_string(),
                                    "quotePrecision": "0.00000001",
                                    "minOrderQty": i.min_qty.to_string(),
                                    "maxOrderQty": i.max_qty.to_string(),
                                    "minOrderAmt": i.min_notional.to_string(),
                                    "maxOrderAmt": "2000000",
                                },
                                "priceFilter": { "tickSize": i.tick_size.to_string() },
                            })
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                reply(
                    json!({ "category": category, "list": list, "nextPageCursor": "" }),
                    json!({}),
                    now_ms,
                )
            }
            ("POST", "/v5/order/create") => match parse_bybit_order(req.body) {
                Ok(o) => match self.place(&key, o, now_ms) {
                    Ok(v) => reply(v, json!({}), now_ms),
                    Err((c, m)) => fail(c, &m, now_ms),
                },
                Err(r) => fail(10001, &r.message, now_ms),
            },
            ("POST", "/v5/order/create-batch") => match parse_bybit_batch(req.body) {
                Ok(orders) => {
                    let mut list = Vec::new();
                    let mut ext = Vec::new();
                    for o in orders.into_vec() {
                        let (sym, cat, link) = (
                            o.symbol.as_str().to_string(),
                            category(o.contract),
                            o.client_order_id.as_deref().unwrap_or("").to_string(),
                        );
                        match self.place(&key, o, now_ms) {
                            Ok(v) => {
                                list.push(json!({ "category": cat, "symbol": sym, "orderId": v["orderId"], "orderLinkId": link, "createAt": now_ms.to_string() }));
                                ext.push(json!({ "code": 0, "msg": "OK" }));
                            }
                            Err((c, m)) => {
                                list.push(json!({ "category": cat, "symbol": sym, "orderId": "", "orderLinkId": link, "createAt": "" }));
                                ext.push(json!({ "code": c, "msg": m }));
                            }
                        }
                    }
                    reply(json!({ "list": list }), json!({ "list": ext }), now_ms)
                }
                Err(r) => fail(10001, &r.message, now_ms),
            },
            ("POST", "/v5/order/amend") => match self.amend(&key, req.body) {
                Ok(v) => reply(v, json!({}), now_ms),
                Err((c, m)) => fail(c, &m, now_ms),
            },
            ("POST", "/v5/order/cancel") => {
                let v: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
                let (id, link) = (
                    v["orderId"].as_str().unwrap_or(""),
                    v["orderLinkId"].as_str().unwrap_or(""),
                );
                let mut st = self.state.lock();
                let found = st.0.get_mut(&key).and_then(|a| {
                    a.orders.iter_mut().find(|o| {
                        matches!(o.status, "New" | "Untriggered")
                            && ((!id.is_empty() && o.id == id)
                                || (!link.is_empty() && o.link == link))
                    })
                });
                match found {
                    Some(o) => {
                        o.status = "Cancelled";
                        reply(
                            json!({ "orderId": o.id, "orderLinkId": o.link }),
                            json!({}),
                            now_ms,
                        )
                    }
                    None => fail(110001, "Order does not exist", now_ms),
                }
            }
            ("GET", "/v5/order/realtime" | "/v5/order/history") => {
                let open_only = req.path.ends_with("realtime")
                    && q.get("orderId").is_none()
                    && q.get("orderLinkId").is_none();
                let st = self.state.lock();
                let list: Vec<Value> =
                    st.0.get(&key)
                        .map(|a| {
                            a.orders
                                .iter()
                                .rev()
                                .filter(|o| {
                                    q.get("category")
                                        .is_none_or(|c| c == category(o.order.contract))
                                })
                                .filter(|o| {
                                    q.get("symbol")
                                        .is_none_or(|sy| sy == o.order.symbol.as_str())
                                })
                                .filter(|o| q.get("orderId").is_none_or(|i| i == o.id))
                                .filter(|o| q.get("orderLinkId").is_none_or(|l| l == o.link))
                                .filter(|o| !open_only || matches!(o.status, "New" | "Untriggered"))
                                .take(50)
                                .map(order_json)
                                .collect()
                        })
                        .unwrap_or_default();
                reply(
                    json!({ "category": q.get("category").unwrap_or(""), "list": list, "nextPageCursor": "" }),
                    json!({}),
                    now_ms,
                )
            }
            ("GET", "/v5/position/list") => {
                let st = self.state.lock();
                let mut list: Vec<Value> =
                    st.0.get(&key)
                        .map(|a| {
                            a.positions
                            .iter()
                            .filter(|(sym, _)| q.get("symbol").is_none_or(|w| w == sym.as_str()))
                            .map(|(sym, (qty, entry))| json!({
                                "symbol": sym, "side": if *qty > 0.0 { "Buy" } else { "Sell" },
                                "size": s(qty.abs()), "avgPrice": s(*entry), "positionIdx": 0,
                                "markPrice": s(self.price(sym).unwrap_or(*entry)),
                            }))
                            .collect()
                        })
                        .unwrap_or_default();
                list.sort_by(|a, b| a["symbol"].as_str().cmp(&b["symbol"].as_str()));
                reply(
                    json!({ "category": "linear", "list": list, "nextPageCursor": "" }),
                    json!({}),
                    now_ms,
                )
            }
            ("GET", "/v5/account/wallet-balance") => {
                let st = self.state.lock();
                let (mut coins, realised): (Vec<Value>, f64) = match st.0.get(&key) {
                    Some(a) => (
                        a.balances
                            .iter()
                            .map(|(c, b)| json!({ "coin": c, "walletBalance": s(*b) }))
                            .collect(),
                        a.positions.realised,
                    ),
                    None => (
                        self.starting
                            .iter()
                            .map(|(c, b)| json!({ "coin": c, "walletBalance": s(*b) }))
                            .collect(),
                        0.0,
                    ),
                };
                for c in coins.iter_mut().filter(|c| c["coin"] == "USDT") {
                    let b = c["walletBalance"]
                        .as_str()
                        .and_then(|b| b.parse::<f64>().ok())
                        .unwrap_or(0.0);
                    c["walletBalance"] = Value::String(s(b + realised));
                }
                reply(
                    json!({ "list": [{ "accountType": "UNIFIED", "coin": coins }] }),
                    json!({}),
                    now_ms,
                )
            }
            _ => fail(10001, "path not supported by the paper exchange", now_ms),
        }
    }
}

impl PaperOrder {
    fn stop_price_set(&self) -> bool {
        self.order.stop_price.is_some()
    }
}

impl crate::proxy::InProcessVenue for PaperBybit {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        PaperBybit::handle(self, req)
    }
}
