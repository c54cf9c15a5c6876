//! The paper Kraken spot exchange: Kraken's REST API answered in Kraken's own
//! JSON from paper accounts and the simulated market.
//!
//! Owns routing and rendering in Kraken's shapes only. Orders are read with
//! `venue::kraken::parse_add_order` / `parse_add_order_batch` (never a second
//! parser); accounts and matching live in `paper::book`, prices in
//! `market::sim`. The simulated market's symbols are offered as Kraken's USDT
//! pairs (`XBTUSDT` = BTC/USDT, `ETHUSDT`, ...), which riskgate reads as the
//! same `BTCUSDT` the simulator prices. Signatures are not verified (paper mode
//! has no secrets), but private calls require `API-Key`, which names the paper
//! account. Paper txids are `OP<order id>-PAPER`. `AmendOrder` changes a
//! resting order in place (same txid); `EditOrder` answers with a new txid for
//! the changed order, as Kraken's cancel-and-replace does.

use bytes::Bytes;
use http::Method;
use serde_json::{json, Map, Value};

use super::book::{Books, PaperError, PaperOrder, PaperStatus, DEFAULT_MAX_ACCOUNTS};
use super::PaperCore;
use crate::clock::SharedClock;
use crate::market::sim::{KlineInterval, MarketSim, SharedMarket, SimSymbol};
use crate::model::{Fixed, NewOrder, OrderKind, OrderRef, Side};
use crate::venue::kraken::{
    pair_symbol, parse_add_order, parse_add_order_batch, parse_amend_order, parse_edit_order,
    API_KEY_HEADER,
};
use crate::venue::{RequestView, SyntheticResponse};

const MAX_API_KEY_LEN: usize = 128;
/// Kraken answers at most 720 OHLC bars.
const MAX_OHLC_BARS: usize = 720;

pub struct PaperKraken {
    core: PaperCore,
}

fn answer(result: Value) -> SyntheticResponse {
    SyntheticResponse {
        status: 200,
        body: Bytes::from(json!({"error": [], "result": result}).to_string()),
    }
}

fn error(e: &str) -> SyntheticResponse {
    SyntheticResponse {
        status: 200,
        body: Bytes::from(json!({"error": [e]}).to_string()),
    }
}

fn paper_error(e: &PaperError) -> &'static str {
    match e {
        PaperError::InsufficientBalance => "EOrder:Insufficient funds",
        PaperError::InvalidSymbol => "EQuery:Unknown asset pair",
        PaperError::UnknownOrder | PaperError::NoSuchOrder => "EOrder:Unknown order",
        PaperError::Filter(_) => "EOrder:Order minimum not met",
        PaperError::WouldMatch => "EOrder:Post only order",
        PaperError::TooManyAccounts => "EService:Unavailable",
        PaperError::DuplicateOrder | PaperError::StopWouldTrigger | PaperError::Unsupported(_) => {
            "EGeneral:Invalid arguments"
        }
    }
}

/// Kraken's name for an asset (`BTC` → `XBT`).
fn kraken_asset(a: &str) -> &str {
    match a {
        "BTC" => "XBT",
        "DOGE" => "XDG",
        other => other,
    }
}

/// The paper pair name of a simulated symbol: `XBTUSDT`.
fn pair_name(s: &SimSymbol) -> String {
    format!("{}{}", kraken_asset(&s.base), kraken_asset(&s.quote))
}

/// Balance keys as Kraken shows them: legacy X/Z codes for the old assets.
fn balance_key(a: &str) -> String {
    match a {
        "BTC" => "XXBT".into(),
        "ETH" => "XETH".into(),
        "USD" => "ZUSD".into(),
        "EUR" => "ZEUR".into(),
        other => other.into(),
    }
}

fn amount(v: Fixed) -> String {
    crate::model::decimal::format_fixed_padded(v, 8)
}

fn txid(order_id: i64) -> String {
    format!("OP{order_id:010}-PAPER")
}

fn order_id_of(txid: &str) -> Option<i64> {
    txid.strip_prefix("OP")?
        .strip_suffix("-PAPER")?
        .parse()
        .ok()
}

fn order_json(o: &PaperOrder, m: &MarketSim) -> Value {
    let pair = m
        .symbol_info(o.symbol.as_str())
        .map(pair_name)
        .unwrap_or_else(|| o.symbol.as_str().to_string());
    let quote_sized = o.orig_quote_qty.is_positive() && !o.orig_qty.is_positive();
    let status = match o.status {
        PaperStatus::New => "open",
        PaperStatus::Filled => "closed",
        PaperStatus::Canceled => "canceled",
        PaperStatus::Expired => "expired",
    };
    let avg = if o.executed_qty.is_positive() {
        Fixed::from_f64(o.cumm_quote_qty.to_f64() / o.executed_qty.to_f64()).unwrap_or(Fixed::ZERO)
    } else {
        Fixed::ZERO
    };
    let side = match o.side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    };
    let ordertype = match o.kind {
        OrderKind::Market => "market",
        OrderKind::StopMarket => "stop-loss",
        OrderKind::TakeProfitMarket => "take-profit",
        OrderKind::StopLimit => "stop-loss-limit",
        OrderKind::TakeProfitLimit => "take-profit-limit",
        OrderKind::Limit | OrderKind::LimitMaker => "limit",
    };
    let vol = if quote_sized {
        o.orig_quote_qty
    } else {
        o.orig_qty
    };
    let mut flags = vec!["fciq"];
    if quote_sized {
        flags.push("viqc");
    }
    if o.kind == OrderKind::LimitMaker {
        flags.push("post");
    }
    json!({
        "refid": null, "userref": 0, "cl_ord_id": o.client_order_id, "status": status,
        "opentm": o.time_ms as f64 / 1000.0, "starttm": 0, "expiretm": 0,
        "descr": {"pair": pair, "type": side, "ordertype": ordertype, "price": amount(o.price),
                  "price2": "0", "leverage": "none",
                  "order": format!("{side} {} {pair} @ {ordertype} {}", amount(vol), amount(o.price)), "close": ""},
        "vol": amount(vol), "vol_exec": amount(o.executed_qty), "cost": amount(o.cumm_quote_qty),
        "fee": "0.00000000", "price": amount(avg), "stopprice": amount(o.stop_price),
        "limitprice": amount(o.price), "misc": "", "oflags": flags.join(","),
    })
}

impl PaperKraken {
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
    ) -> PaperKraken {
        PaperKraken::with_max_accounts(market, clock, starting_balances, DEFAULT_MAX_ACCOUNTS)
    }

    pub fn with_max_accounts(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
        max_accounts: usize,
    ) -> PaperKraken {
        PaperKraken {
            core: PaperCore::new(market, clock, starting_balances, max_accounts),
        }
    }

    /// Answers one request as Kraken would.
    pub fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        let now_ms = self.core.sync();
        let m = self.core.market.read();
        if req.path.starts_with("/0/public/") {
            return public(&m, req, now_ms);
        }
        if req.method != Method::POST || !req.path.starts_with("/0/private/") {
            return error("EGeneral:Unknown method");
        }
        let key = match req.headers.get(API_KEY_HEADER).map(|v| v.to_str()) {
            Some(Ok(k))
                if !k.is_empty()
                    && k.len() <= MAX_API_KEY_LEN
                    && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                k.to_owned()
            }
            _ => return error("EAPI:Invalid key"),
        };
        let form = form_pairs(req.body);
        let param = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match req.path {
            "/0/private/AddOrder" => match parse_add_order(req.body) {
                Ok(o) => {
                    let mut books = self.core.books.lock();
                    match self.place(&mut books, &m, &key, &o, now_ms) {
                        Ok(v) => answer(v),
                        Err(e) => error(e),
                    }
                }
                Err(r) => error(&format!("EGeneral:Invalid arguments:{}", r.message)),
            },
            "/0/private/AddOrderBatch" => match parse_add_order_batch(req.body) {
                Ok(orders) => {
                    let mut books = self.core.books.lock();
                    let entries: Vec<Value> = orders
                        .iter()
                        .map(|o| match self.place(&mut books, &m, &key, o, now_ms) {
                            Ok(v) => v,
                            Err(e) => json!({"error": e}),
                        })
                        .collect();
                    answer(json!({"orders": entries}))
                }
                Err(r) => error(&format!("EGeneral:Invalid arguments:{}", r.message)),
            },
            // The order changes in place and keeps its txid.
            "/0/private/AmendOrder" => match parse_amend_order(req.body) {
                Ok(a) => {
                    let target = match (&a.target, order_id_of(&a.target_label)) {
                        (OrderRef::ClientId(_), _) => a.target.clone(),
                        (_, Some(id)) => OrderRef::ExchangeId(id),
                        (_, None) => return error("EOrder:Unknown order"),
                    };
                    let r = self.core.books.lock().amend(
                        false,
                        &key,
                        None,
                        &target,
                        a.new_qty,
                        a.new_price,
                        a.new_trigger_price,
                        &m,
                        now_ms,
                    );
                    match r {
                        Ok(o) => {
                            answer(json!({"amend_id": format!("TPAPER-{:010}", o.update_time_ms)}))
                        }
                        Err(e) => error(paper_error(&e)),
                    }
                }
                Err(r) => error(&format!("EGeneral:Invalid arguments:{}", r.message)),
            },
            // Cancel and replace: the order comes back under a new txid.
            "/0/private/EditOrder" => match parse_edit_order(req.body) {
                Ok(None) => answer(json!({"status": "ok", "descr": {"order": "validated"}})),
                Ok(Some(e)) => {
                    let Some(id) = order_id_of(&e.target_label) else {
                        return error("EOrder:Unknown order");
                    };
                    let mut books = self.core.books.lock();
                    let kind = books
                        .account(&key)
                        .and_then(|a| a.open_orders(None).find(|o| o.order_id == id))
                        .map(|o| o.kind);
                    let (first, second) = e.positional_prices.unwrap_or((None, None));
                    let (limit, stop) = match kind {
                        Some(OrderKind::StopMarket | OrderKind::TakeProfitMarket) => (None, first),
                        Some(OrderKind::StopLimit | OrderKind::TakeProfitLimit) => (second, first),
                        _ => (first, None),
                    };
                    let symbol = e.symbol.as_ref().map(|s| s.as_str());
                    match books.amend(
                        true,
                        &key,
                        symbol,
                        &OrderRef::ExchangeId(id),
                        e.new_qty,
                        limit,
                        stop,
                        &m,
                        now_ms,
                    ) {
                        Ok(o) => {
                            let j = order_json(&o, &m);
                            answer(json!({
                                "status": "ok", "txid": txid(o.order_id), "originaltxid": txid(id),
                                "volume": amount(o.orig_qty), "price": amount(o.price),
                                "price2": "0", "orders_cancelled": 1,
                                "descr": {"order": j["descr"]["order"]},
                            }))
                        }
                        Err(err) => error(paper_error(&err)),
                    }
                }
                Err(r) => error(&format!("EGeneral:Invalid arguments:{}", r.message)),
            },
            "/0/private/CancelOrder" => {
                let Some(id) = param("txid") else {
                    return error("EGeneral:Invalid arguments:txid");
                };
                let mut books = self.core.books.lock();
                let found = books.account(&key).and_then(|a| {
                    a.open_orders(None)
                        .find(|o| Some(o.order_id) == order_id_of(id) || o.client_order_id == id)
                        .map(|o| (o.symbol.clone(), o.order_id))
                });
                let Some((symbol, oid)) = found else {
                    return error("EOrder:Unknown order");
                };
                match books.cancel(
                    &key,
                    symbol.as_str(),
                    &OrderRef::ExchangeId(oid),
                    now_ms,
                    &m,
                ) {
                    Ok(_) => answer(json!({"count": 1})),
                    Err(e) => error(paper_error(&e)),
                }
            }
            "/0/private/CancelAll" => {
                let mut books = self.core.books.lock();
                let symbols: Vec<String> = books
                    .account(&key)
                    .map(|a| {
                        a.open_orders(None)
                            .map(|o| o.symbol.as_str().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut count = 0;
                let mut done: Vec<String> = Vec::new();
                for s in symbols {
                    if done.contains(&s) {
                        continue;
                    }
                    count += books
                        .cancel_all(&key, &s, now_ms, &m)
                        .map_or(0, |v| v.len());
                    done.push(s);
                }
                answer(json!({"count": count}))
            }
            "/0/private/OpenOrders" => {
                let books = self.core.books.lock();
                let open: Map<String, Value> = books
                    .account(&key)
                    .map(|a| {
                        a.open_orders(None)
                            .map(|o| (txid(o.order_id), order_json(o, &m)))
                            .collect()
                    })
                    .unwrap_or_default();
                answer(json!({"open": open}))
            }
            "/0/private/QueryOrders" => {
                let ids: Vec<i64> = param("txid")
                    .unwrap_or("")
                    .split(',')
                    .filter_map(order_id_of)
                    .collect();
                let books = self.core.books.lock();
                let found: Map<String, Value> = books
                    .account(&key)
                    .map(|a| {
                        m.symbols()
                            .flat_map(|s| a.all_orders(s.symbol.as_str()))
                            .filter(|o| ids.contains(&o.order_id))
                            .map(|o| (txid(o.order_id), order_json(o, &m)))
                            .collect()
                    })
                    .unwrap_or_default();
                answer(Value::Object(found))
            }
            "/0/private/ClosedOrders" => {
                let books = self.core.books.lock();
                let closed: Map<String, Value> = books
                    .account(&key)
                    .map(|a| {
                        m.symbols()
                            .flat_map(|s| a.all_orders(s.symbol.as_str()))
                            .filter(|o| o.status != PaperStatus::New)
                            .map(|o| (txid(o.order_id), order_json(o, &m)))
                            .collect()
                    })
                    .unwrap_or_default();
                let count = closed.len();
                answer(json!({"closed": closed, "count": count}))
            }
            "/0/private/Balance" => {
                let mut books = self.core.books.lock();
                match books.account_mut(&key, &m) {
                    Ok(a) => {
                        let b: Map<String, Value> = a
                            .balances
                            .iter()
                            .map(|(asset, b)| {
                                (
                                    balance_key(asset),
                                    Value::String(amount(b.free.saturating_add(b.locked))),
                                )
                            })
                            .collect();
                        answer(Value::Object(b))
                    }
                    Err(e) => error(paper_error(&e)),
                }
            }
            _ => error("EGeneral:Unknown method"),
        }
    }

    fn place(
        &self,
        books: &mut Books,
        m: &MarketSim,
        key: &str,
        o: &NewOrder,
        now_ms: i64,
    ) -> Result<Value, &'static str> {
        if o.test_only {
            return Ok(json!({"descr": {"order": "validated"}}));
        }
        let p = books
            .place(key, o, m, now_ms)
            .map_err(|e| paper_error(&e))?;
        let j = order_json(&p.order, m);
        Ok(json!({"descr": {"order": j["descr"]["order"]}, "txid": [txid(p.order.order_id)]}))
    }
}

/// `name=value` pairs of a form body, decoded leniently (only for `txid`).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let Ok(s) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    s.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2C", ",").replace("%2c", ",")))
        .collect()
}

fn public(m: &MarketSim, req: &RequestView<'_>, now_ms: i64) -> SyntheticResponse {
    let q: Vec<(&str, &str)> = req
        .query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .collect();
    let get = |k: &str| q.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let wanted = |s: &SimSymbol| {
        get("pair").is_none_or(|p| {
            p.split(',')
                .any(|one| pair_symbol(&one.replace("%2F", "/")).is_some_and(|x| x == s.symbol))
        })
    };
    match req.path {
        "/0/public/Time" => answer(json!({"unixtime": now_ms / 1000})),
        "/0/public/SystemStatus" => answer(json!({"status": "online"})),
        "/0/public/Assets" => {
            let mut assets = Map::new();
            for s in m.symbols() {
                for a in [&s.base, &s.quote] {
                    assets.insert(
                        kraken_asset(a).to_string(),
                        json!({"aclass": "currency", "altname": kraken_asset(a), "decimals": 8, "display_decimals": 5, "status": "enabled"}),
                    );
                }
            }
            answer(Value::Object(assets))
        }
        "/0/public/AssetPairs" => {
            let pairs: Map<String, Value> = m
                .symbols()
                .filter(|s| wanted(s))
                .map(|s| {
                    (pair_name(s), json!({
                        "altname": pair_name(s), "wsname": format!("{}/{}", kraken_asset(&s.base), kraken_asset(&s.quote)),
                        "aclass_base": "currency", "base": kraken_asset(&s.base), "aclass_quote": "currency",
                        "quote": kraken_asset(&s.quote), "pair_decimals": 2, "cost_decimals": 5, "lot_decimals": 8,
                        "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [],
                        "fees": [[0, 0.0]], "fees_maker": [[0, 0.0]], "fee_volume_currency": "ZUSD",
                        "margin_call": 80, "margin_stop": 40, "ordermin": amount(s.min_qty),
                        "costmin": amount(s.min_notional), "tick_size": amount(s.tick_size), "status": "online",
                    }))
                })
                .collect();
            answer(Value::Object(pairs))
        }
        "/0/public/Ticker" => {
            let t: Map<String, Value> = m
                .symbols()
                .filter(|s| wanted(s))
                .filter_map(|s| {
                    let last = m.price(s.symbol.as_str())?;
                    let st = m.stats_24h(s.symbol.as_str());
                    let (open, high, low) = st.map(|x| (x.open, x.high, x.low)).unwrap_or((last, last, last));
                    Some((pair_name(s), json!({
                        "a": [amount(last.saturating_add(s.tick_size)), "1", "1.000"], "b": [amount(last), "1", "1.000"],
                        "c": [amount(last), "0.00100000"], "v": ["0", "0"], "p": [amount(last), amount(last)],
                        "t": [0, 0], "l": [amount(low), amount(low)], "h": [amount(high), amount(high)], "o": amount(open),
                    })))
                })
                .collect();
            answer(Value::Object(t))
        }
        "/0/public/OHLC" => {
            let Some(s) = m.symbols().find(|s| get("pair").is_some() && wanted(s)) else {
                return error("EQuery:Unknown asset pair");
            };
            let minutes = get("interval").unwrap_or("1");
            let interval = match minutes {
                "1" => KlineInterval::parse("1m"),
                "5" => KlineInterval::parse("5m"),
                "15" => KlineInterval::parse("15m"),
                "30" => KlineInterval::parse("30m"),
                "60" => KlineInterval::parse("1h"),
                "240" => KlineInterval::parse("4h"),
                "1440" => KlineInterval::parse("1d"),
                "10080" => KlineInterval::parse("1w"),
                _ => None,
            };
            let Some(interval) = interval else {
                return error("EGeneral:Invalid arguments:interval");
            };
            let bars: Vec<Value> = m
                .klines(s.symbol.as_str(), interval, None, None, MAX_OHLC_BARS)
                .iter()
                .map(|b| {
                    json!([
                        b.open_time_ms / 1000,
                        amount(b.open),
                        amount(b.high),
                        amount(b.low),
                        amount(b.close),
                        amount(b.close),
                        format!("{:.8}", b.volume_base),
                        b.trades
                    ])
                })
                .collect();
            let last = bars.last().and_then(|b| b[0].as_i64()).unwrap_or(0);
            let mut r = Map::new();
            r.insert(pair_name(s), Value::Array(bars));
            r.insert("last".into(), json!(last));
            answer(Value::Object(r))
        }
        _ => error("EGeneral:Unknown method"),
    }
}

impl crate::proxy::InProcessVenue for PaperKraken {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        PaperKraken::handle(self, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::market::sim::SimConfig;
    use crate::venue::kraken::Kraken;
    use crate::venue::{Action, Observation, Venue};
    use http::HeaderMap;

    fn paper() -> PaperKraken {
        let clock = ManualClock::new(1_717_243_200_000);
        let market = MarketSim::new(&SimConfig::default(), 1_717_243_200_000).shared();
        PaperKraken::new(
            market,
            clock,
            vec![("USDT".into(), Fixed::from_units(100_000))],
        )
    }

    fn call(p: &PaperKraken, method: Method, path: &str, query: Option<&str>, body: &str) -> Value {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, "paper-key".parse().unwrap());
        let r = p.handle(&RequestView {
            method: &method,
            path,
            query,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        });
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn orders_fill_list_cancel_and_riskgate_learns_them() {
        let p = paper();
        let adapter = Kraken::new(false);
        let t = call(&p, Method::GET, "/0/public/Ticker", None, "");
        let learned = adapter.learn(
            &Action::Observe(Observation::Ticker),
            200,
            t.to_string().as_bytes(),
        );
        assert!(
            learned.prices.iter().any(|(s, _)| s.as_str() == "BTCUSDT"),
            "{t}"
        );

        let a = call(
            &p,
            Method::POST,
            "/0/private/AddOrder",
            None,
            "nonce=1&pair=XBTUSDT&type=buy&ordertype=market&volume=0.01",
        );
        assert_eq!(a["error"], json!([]), "{a}");
        let id = a["result"]["txid"][0].as_str().unwrap().to_string();
        let q = call(
            &p,
            Method::POST,
            "/0/private/QueryOrders",
            None,
            &format!("nonce=2&txid={id}"),
        );
        assert_eq!(q["result"][&id]["status"], "closed", "{q}");
        let learned = adapter.learn(
            &Action::Observe(Observation::OrderStatus),
            200,
            q.to_string().as_bytes(),
        );
        assert_eq!(
            learned.reports[0].executed_qty,
            Fixed::parse("0.01").unwrap()
        );
        assert_eq!(learned.reports[0].symbol.as_str(), "BTCUSDT");
        let b = call(&p, Method::POST, "/0/private/Balance", None, "nonce=3");
        let learned = adapter.learn(
            &Action::Observe(Observation::Account),
            200,
            b.to_string().as_bytes(),
        );
        assert!(
            learned
                .balances
                .iter()
                .any(|x| &*x.asset == "BTC" && x.total == Fixed::parse("0.01").unwrap()),
            "{b}"
        );

        let a = call(
            &p,
            Method::POST,
            "/0/private/AddOrder",
            None,
            "nonce=4&pair=XBT/USDT&type=buy&ordertype=limit&volume=0.01&price=1000",
        );
        let id = a["result"]["txid"][0].as_str().unwrap().to_string();
        let o = call(&p, Method::POST, "/0/private/OpenOrders", None, "nonce=5");
        assert!(o["result"]["open"].get(&id).is_some(), "{o}");
        let c = call(
            &p,
            Method::POST,
            "/0/private/CancelOrder",
            None,
            &format!("nonce=6&txid={id}"),
        );
        assert_eq!(c["result"]["count"], 1, "{c}");
        let o = call(&p, Method::POST, "/0/private/OpenOrders", None, "nonce=7");
        assert_eq!(o["result"]["open"], json!({}));
        let e = call(
            &p,
            Method::POST,
            "/0/private/AddOrder",
            None,
            "nonce=8&pair=XBTUSDT&type=buy&ordertype=limit&volume=100&price=50000",
        );
        assert_eq!(e["error"][0], "EOrder:Insufficient funds");
        let e = call(
            &p,
            Method::POST,
            "/0/private/AddOrder",
            None,
            "nonce=9&pair=XBTUSD&type=buy&ordertype=market&volume=1",
        );
        assert_eq!(e["error"][0], "EQuery:Unknown asset pair");
    }

    #[test]
    fn amend_keeps_the_txid_and_edit_replaces_it() {
        let p = paper();
        let a = call(
            &p,
            Method::POST,
            "/0/private/AddOrder",
            None,
            "nonce=1&pair=XBTUSDT&type=buy&ordertype=limit&volume=0.01&price=1000",
        );
        let id = a["result"]["txid"][0].as_str().unwrap().to_string();
        let r = call(
            &p,
            Method::POST,
            "/0/private/AmendOrder",
            None,
            &format!("nonce=2&txid={id}&order_qty=0.02&limit_price=1100"),
        );
        assert!(r["result"]["amend_id"].is_string(), "{r}");
        let o = call(&p, Method::POST, "/0/private/OpenOrders", None, "nonce=3");
        assert_eq!(o["result"]["open"][&id]["vol"], "0.02000000", "{o}");
        let r = call(
            &p,
            Method::POST,
            "/0/private/EditOrder",
            None,
            &format!("nonce=4&txid={id}&pair=XBTUSDT&volume=0.03&price=1200"),
        );
        let new_id = r["result"]["txid"].as_str().unwrap().to_string();
        assert_ne!(new_id, id);
        assert_eq!(r["result"]["originaltxid"], id.as_str());
        let o = call(&p, Method::POST, "/0/private/OpenOrders", None, "nonce=5");
        let open = o["result"]["open"].as_object().unwrap();
        assert_eq!(open.len(), 1, "{o}");
        assert_eq!(open[&new_id]["vol"], "0.03000000", "{o}");
        let e = call(
            &p,
            Method::POST,
            "/0/private/AmendOrder",
            None,
            &format!("nonce=6&txid={id}&order_qty=0.02"),
        );
        assert_eq!(e["error"][0], "EOrder:Unknown order");
    }

    #[test]
    fn ohlc_and_pairs() {
        let p = paper();
        let adapter = Kraken::new(false);
        let path = adapter.daily_bars_path("BTCUSDT", 30);
        let (path, query) = path.split_once('?').unwrap();
        let o = call(&p, Method::GET, path, Some(query), "");
        assert!(
            !adapter
                .parse_daily_closes(o.to_string().as_bytes())
                .is_empty(),
            "{o}"
        );
        let pairs = call(&p, Method::GET, "/0/public/AssetPairs", None, "");
        assert_eq!(pairs["result"]["XBTUSDT"]["wsname"], "XBT/USDT");
    }
}
