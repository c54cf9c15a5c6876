//! The paper OKX v5 exchange (spot): OKX's REST API answered in OKX's own JSON
//! from paper accounts and the simulated market.
//!
//! Owns routing and rendering in OKX's shapes only. Orders are read with
//! `venue::okx::parse_orders` / `parse_cancels` (never a second parser);
//! accounts and matching live in `paper::book`, prices in `market::sim`.
//! Signatures are not verified (paper mode has no secrets), but private
//! endpoints require `OK-ACCESS-KEY`, which names the paper account. Only SPOT
//! instruments exist here (the simulated market has no perpetuals): SWAP
//! orders are refused by the adapter (contract value unknown) before they come here.
//! `amend-order` changes a resting order in place (same `ordId`, `newSz` the
//! new total); one that becomes marketable fills.

use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use super::book::{PaperError, PaperOrder, PaperStatus, DEFAULT_MAX_ACCOUNTS};
use super::PaperCore;
use crate::clock::SharedClock;
use crate::market::sim::{KlineInterval, MarketSim, SharedMarket, SimSymbol};
use crate::model::{Fixed, OrderKind, OrderRef, Side, Symbol, TimeInForce};
use crate::venue::okx::{
    parse_amend, parse_cancels, parse_orders, ContractValues, InstId, API_KEY_HEADER,
};
use crate::venue::{RequestView, SyntheticResponse};

const MAX_API_KEY_LEN: usize = 128;
/// OKX's candle limits.
const DEFAULT_CANDLE_LIMIT: usize = 100;
const MAX_CANDLE_LIMIT: usize = 300;

pub struct PaperOkx {
    core: PaperCore,
    /// Always empty: the paper market has no perpetuals.
    no_contracts: ContractValues,
}

fn answer(status: u16, v: Value) -> SyntheticResponse {
    SyntheticResponse {
        status,
        body: Bytes::from(v.to_string()),
    }
}

/// `{"code":"0","msg":"","data":[..]}`
fn ok(data: Value) -> SyntheticResponse {
    answer(200, json!({"code": "0", "msg": "", "data": data}))
}

fn fail(status: u16, code: &str, msg: &str) -> SyntheticResponse {
    answer(status, json!({"code": code, "msg": msg, "data": []}))
}

fn inst_id(s: &SimSymbol) -> String {
    format!("{}-{}", s.base, s.quote)
}

fn amount(v: Fixed) -> String {
    // OKX prints plain decimals without trailing zeros.
    let s = v.to_string();
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// OKX's per-order code for a paper refusal.
fn s_code(e: &PaperError) -> (&'static str, &'static str) {
    match e {
        PaperError::InsufficientBalance => ("51008", "Order failed. Insufficient balance."),
        PaperError::InvalidSymbol => ("51001", "Instrument ID does not exist."),
        PaperError::DuplicateOrder => ("51016", "Duplicated clOrdId."),
        PaperError::UnknownOrder | PaperError::NoSuchOrder => (
            "51400",
            "Cancellation failed as the order has been filled, canceled or does not exist.",
        ),
        PaperError::WouldMatch => ("51000", "Post-only order would take liquidity."),
        PaperError::TooManyAccounts => ("50001", "Service temporarily unavailable."),
        PaperError::Filter(_) | PaperError::StopWouldTrigger | PaperError::Unsupported(_) => {
            ("51000", "Parameter error.")
        }
    }
}

fn ord_type(o: &PaperOrder) -> &'static str {
    match (o.kind, o.time_in_force) {
        (OrderKind::Market, _) => "market",
        (OrderKind::LimitMaker, _) => "post_only",
        (_, TimeInForce::Fok) => "fok",
        (_, TimeInForce::Ioc) => "ioc",
        _ => "limit",
    }
}

fn order_json(o: &PaperOrder, m: &MarketSim) -> Value {
    let inst = m
        .symbol_info(o.symbol.as_str())
        .map(inst_id)
        .unwrap_or_else(|| o.symbol.as_str().to_string());
    let quote_sized = o.orig_quote_qty.is_positive() && !o.orig_qty.is_positive();
    let state = match o.status {
        PaperStatus::New if o.executed_qty.is_positive() => "partially_filled",
        PaperStatus::New => "live",
        PaperStatus::Filled => "filled",
        PaperStatus::Canceled | PaperStatus::Expired => "canceled",
    };
    let avg_px = if o.executed_qty.is_positive() {
        Fixed::from_f64(o.cumm_quote_qty.to_f64() / o.executed_qty.to_f64())
            .map(amount)
            .unwrap_or_default()
    } else {
        String::new()
    };
    json!({
        "instType": "SPOT", "instId": inst, "ordId": o.order_id.to_string(),
        "clOrdId": o.client_order_id, "tag": "", "side": match o.side { Side::Buy => "buy", Side::Sell => "sell" },
        "posSide": "net", "tdMode": "cash", "ordType": ord_type(o),
        "sz": amount(if quote_sized { o.orig_quote_qty } else { o.orig_qty }),
        "tgtCcy": if quote_sized { "quote_ccy" } else { "" },
        "px": if o.price.is_positive() { amount(o.price) } else { String::new() },
        "accFillSz": amount(o.executed_qty), "avgPx": avg_px, "state": state,
        "fillSz": "", "fillPx": "", "fee": "0", "feeCcy": "", "reduceOnly": "false",
        "cTime": o.time_ms.to_string(), "uTime": o.update_time_ms.to_string(),
    })
}

fn query_pairs(q: Option<&str>) -> Vec<(&str, &str)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

fn query_get<'a>(q: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

fn is_private(path: &str) -> bool {
    ["/api/v5/trade/", "/api/v5/account/", "/api/v5/asset/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Batch answer: "0" all placed, "1" all failed, "2" some failed.
fn batch_answer(entries: Vec<Value>) -> SyntheticResponse {
    let failed = entries.iter().filter(|e| e["sCode"] != "0").count();
    let (code, msg) = match failed {
        0 => ("0", ""),
        n if n == entries.len() => ("1", "All operations failed"),
        _ => ("2", "Bulk operation partially succeeded"),
    };
    answer(
        200,
        json!({"code": code, "msg": msg, "data": entries, "inTime": "", "outTime": ""}),
    )
}

impl PaperOkx {
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
    ) -> PaperOkx {
        PaperOkx::with_max_accounts(market, clock, starting_balances, DEFAULT_MAX_ACCOUNTS)
    }

    pub fn with_max_accounts(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
        max_accounts: usize,
    ) -> PaperOkx {
        PaperOkx {
            core: PaperCore::new(market, clock, starting_balances, max_accounts),
            no_contracts: ContractValues::default(),
        }
    }

    /// Answers one request as OKX would.
    pub fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        let now_ms = self.core.sync();
        let key = if is_private(req.path) {
            match req.headers.get(API_KEY_HEADER).map(|v| v.to_str()) {
                Some(Ok(k))
                    if !k.is_empty()
                        && k.len() <= MAX_API_KEY_LEN
                        && k.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    k.to_owned()
                }
                _ => {
                    return fail(
                        401,
                        "50103",
                        "Request header OK-ACCESS-KEY can not be empty.",
                    )
                }
            }
        } else {
            String::new()
        };
        let q = query_pairs(req.query);
        let m = self.core.market.read();
        match (req.method, req.path) {
            (&Method::GET, "/api/v5/public/time") => ok(json!([{"ts": now_ms.to_string()}])),
            (&Method::GET, "/api/v5/public/instruments") => instruments(&m, &q),
            (&Method::GET, "/api/v5/market/tickers") => tickers(&m, None, now_ms),
            (&Method::GET, "/api/v5/market/ticker") => match query_get(&q, "instId") {
                Some(i) => tickers(&m, Some(i), now_ms),
                None => fail(200, "50014", "Parameter instId can not be empty."),
            },
            (&Method::GET, "/api/v5/market/candles" | "/api/v5/market/history-candles") => {
                candles(&m, &q)
            }
            (&Method::GET, "/api/v5/asset/currencies") => ok(json!([])),
            (&Method::POST, "/api/v5/trade/order") => self.place(&m, &key, req.body, false, now_ms),
            (&Method::POST, "/api/v5/trade/batch-orders") => {
                self.place(&m, &key, req.body, true, now_ms)
            }
            (&Method::POST, "/api/v5/trade/cancel-order") => {
                self.cancel(&m, &key, req.body, false, now_ms)
            }
            (&Method::POST, "/api/v5/trade/cancel-batch-orders") => {
                self.cancel(&m, &key, req.body, true, now_ms)
            }
            (&Method::POST, "/api/v5/trade/amend-order") => self.amend(&m, &key, req.body, now_ms),
            (&Method::GET, "/api/v5/trade/order") => self.query_order(&m, &key, &q),
            (&Method::GET, "/api/v5/trade/orders-pending") => self.pending(&m, &key, &q),
            (&Method::GET, "/api/v5/account/balance") => self.balance(&m, &key, now_ms),
            (method, path) => answer(
                404,
                json!({"code": "404", "msg": format!("paper exchange: {method} {path} is not simulated")}),
            ),
        }
    }

    fn place(
        &self,
        m: &MarketSim,
        key: &str,
        body: &[u8],
        batch: bool,
        now_ms: i64,
    ) -> SyntheticResponse {
        let orders = match parse_orders(body, batch, &self.no_contracts) {
            Ok(o) => o,
            Err(r) => return fail(200, "51000", &r.message),
        };
        let mut books = self.core.books.lock();
        let entries = orders
            .iter()
            .map(|o| {
                let cl = o.client_order_id.as_deref().unwrap_or("");
                match books.place(key, o, m, now_ms) {
                    Ok(p) => json!({"clOrdId": cl, "ordId": p.order.order_id.to_string(), "sCode": "0", "sMsg": "Order placed", "tag": "", "ts": now_ms.to_string()}),
                    Err(e) => {
                        let (code, msg) = s_code(&e);
                        json!({"clOrdId": cl, "ordId": "", "sCode": code, "sMsg": msg, "tag": "", "ts": now_ms.to_string()})
                    }
                }
            })
            .collect();
        batch_answer(entries)
    }

    /// `amend-order`: the resting order changes in place (same `ordId`);
    /// `newSz` is its new total size. A limit that becomes marketable fills.
    fn amend(&self, m: &MarketSim, key: &str, body: &[u8], now_ms: i64) -> SyntheticResponse {
        let a = match parse_amend(body, &self.no_contracts) {
            Ok(a) => a,
            Err(r) => return fail(200, "51000", &r.message),
        };
        let req_id = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["reqId"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let (ord_id, cl) = match &a.target {
            OrderRef::ExchangeId(i) => (i.to_string(), String::new()),
            OrderRef::ClientId(c) => (String::new(), c.to_string()),
        };
        let symbol = a.symbol.as_ref().map(|s| s.as_str());
        let r = self.core.books.lock().amend(
            false,
            key,
            symbol,
            &a.target,
            a.new_qty,
            a.new_price,
            None,
            m,
            now_ms,
        );
        let entry = match r {
            Ok(o) => {
                json!({"clOrdId": o.client_order_id, "ordId": o.order_id.to_string(), "reqId": req_id, "sCode": "0", "sMsg": "", "ts": now_ms.to_string()})
            }
            Err(e) => {
                let (code, msg) = match e {
                    PaperError::UnknownOrder | PaperError::NoSuchOrder => (
                        "51503",
                        "Order modification failed as the order has been filled, canceled or does not exist.",
                    ),
                    other => s_code(&other),
                };
                json!({"clOrdId": cl, "ordId": ord_id, "reqId": req_id, "sCode": code, "sMsg": msg, "ts": now_ms.to_string()})
            }
        };
        batch_answer(vec![entry])
    }

    fn cancel(
        &self,
        m: &MarketSim,
        key: &str,
        body: &[u8],
        batch: bool,
        now_ms: i64,
    ) -> SyntheticResponse {
        let cancels = match parse_cancels(body, batch) {
            Ok(c) => c,
            Err(r) => return fail(200, "51000", &r.message),
        };
        let mut books = self.core.books.lock();
        let entries = cancels
            .iter()
            .map(|c| {
                let (ord_id, cl) = match &c.order {
                    OrderRef::ExchangeId(i) => (i.to_string(), String::new()),
                    OrderRef::ClientId(s) => (String::new(), s.to_string()),
                };
                match books.cancel(key, c.symbol.as_str(), &c.order, now_ms, m) {
                    Ok(o) => json!({"clOrdId": o.client_order_id, "ordId": o.order_id.to_string(), "sCode": "0", "sMsg": ""}),
                    Err(e) => {
                        let (code, msg) = s_code(&e);
                        json!({"clOrdId": cl, "ordId": ord_id, "sCode": code, "sMsg": msg})
                    }
                }
            })
            .collect();
        batch_answer(entries)
    }

    fn query_order(&self, m: &MarketSim, key: &str, q: &[(&str, &str)]) -> SyntheticResponse {
        let Some(inst) = query_get(q, "instId").and_then(|i| InstId::parse(i).ok()) else {
            return fail(200, "51001", "Instrument ID does not exist.");
        };
        let r = match (query_get(q, "ordId"), query_get(q, "clOrdId")) {
            (Some(id), _) => match id.parse::<i64>() {
                Ok(v) => OrderRef::ExchangeId(v),
                Err(_) => return fail(200, "51000", "Parameter ordId error"),
            },
            (None, Some(c)) => OrderRef::ClientId(c.into()),
            (None, None) => return fail(200, "51000", "Parameter ordId error"),
        };
        let symbol: Symbol = inst.symbol();
        let books = self.core.books.lock();
        match books.account(key).and_then(|a| a.find(symbol.as_str(), &r)) {
            Some(o) => ok(json!([order_json(o, m)])),
            None => fail(200, "51603", "Order does not exist."),
        }
    }

    fn pending(&self, m: &MarketSim, key: &str, q: &[(&str, &str)]) -> SyntheticResponse {
        let symbol = match query_get(q, "instId") {
            Some(i) => match InstId::parse(i) {
                Ok(inst) => Some(inst.symbol()),
                Err(_) => return fail(200, "51001", "Instrument ID does not exist."),
            },
            None => None,
        };
        let books = self.core.books.lock();
        let list: Vec<Value> = books
            .account(key)
            .map(|a| {
                a.open_orders(symbol.as_ref().map(Symbol::as_str))
                    .map(|o| order_json(o, m))
                    .collect()
            })
            .unwrap_or_default();
        ok(Value::Array(list))
    }

    fn balance(&self, m: &MarketSim, key: &str, now_ms: i64) -> SyntheticResponse {
        let mut books = self.core.books.lock();
        let acct = match books.account_mut(key, m) {
            Ok(a) => a,
            Err(e) => {
                let (code, msg) = s_code(&e);
                return fail(200, code, msg);
            }
        };
        let details: Vec<Value> = acct
            .balances
            .iter()
            .map(|(ccy, b)| {
                let total = b.free.saturating_add(b.locked);
                json!({"ccy": ccy, "cashBal": amount(total), "eq": amount(total), "availBal": amount(b.free),
                       "frozenBal": amount(b.locked), "ordFrozen": amount(b.locked), "uTime": now_ms.to_string()})
            })
            .collect();
        ok(json!([{"totalEq": "", "uTime": now_ms.to_string(), "details": details}]))
    }
}

fn instruments(m: &MarketSim, q: &[(&str, &str)]) -> SyntheticResponse {
    if query_get(q, "instType") != Some("SPOT") {
        // No perpetuals, futures or options on the paper market.
        return ok(json!([]));
    }
    let list: Vec<Value> = m
        .symbols()
        .map(|s| {
            json!({"instType": "SPOT", "instId": inst_id(s), "baseCcy": s.base, "quoteCcy": s.quote,
                   "tickSz": amount(s.tick_size), "lotSz": amount(s.step_size), "minSz": amount(s.min_qty),
                   "maxMktSz": amount(s.max_qty), "maxLmtSz": amount(s.max_qty), "state": "live",
                   "ctVal": "", "ctMult": "", "ctValCcy": "", "ctType": "", "settleCcy": "", "uly": "", "instFamily": "",
                   "lever": "", "listTime": "1606468572000", "expTime": "", "alias": "", "category": "1"})
        })
        .collect();
    ok(Value::Array(list))
}

fn tickers(m: &MarketSim, only: Option<&str>, now_ms: i64) -> SyntheticResponse {
    let list: Vec<Value> = m
        .symbols()
        .filter(|s| only.is_none_or(|i| i == inst_id(s)))
        .filter_map(|s| {
            let last = m.price(s.symbol.as_str())?;
            let st = m.stats_24h(s.symbol.as_str());
            let (open, high, low, vol) = st
                .map(|t| (t.open, t.high, t.low, t.volume_base))
                .unwrap_or((last, last, last, 0.0));
            Some(json!({"instType": "SPOT", "instId": inst_id(s), "last": amount(last), "lastSz": "0",
                        "askPx": amount(last.saturating_add(s.tick_size)), "askSz": "1",
                        "bidPx": amount(last), "bidSz": "1", "open24h": amount(open), "high24h": amount(high),
                        "low24h": amount(low), "vol24h": format!("{vol:.8}"), "volCcy24h": "0",
                        "sodUtc0": amount(open), "sodUtc8": amount(open), "ts": now_ms.to_string()}))
        })
        .collect();
    ok(Value::Array(list))
}

fn candles(m: &MarketSim, q: &[(&str, &str)]) -> SyntheticResponse {
    let Some(s) = query_get(q, "instId")
        .and_then(|i| InstId::parse(i).ok())
        .and_then(|i| m.symbol_info(i.symbol().as_str()))
    else {
        return fail(200, "51001", "Instrument ID does not exist.");
    };
    // OKX bars: 1m 3m 5m 15m 30m 1H 2H 4H 6H 12H 1D 1W 1M (plus `utc` variants).
    let bar = query_get(q, "bar").unwrap_or("1m");
    let binance_style = bar
        .trim_end_matches("utc")
        .replace('H', "h")
        .replace('D', "d")
        .replace('W', "w");
    let Some(interval) = KlineInterval::parse(&binance_style) else {
        return fail(200, "51000", "Parameter bar error");
    };
    let limit = match query_get(q, "limit").map(str::parse::<usize>) {
        None => DEFAULT_CANDLE_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_CANDLE_LIMIT),
        Some(_) => return fail(200, "51000", "Parameter limit error"),
    };
    let mut rows: Vec<Value> = m
        .klines(s.symbol.as_str(), interval, None, None, limit)
        .iter()
        .map(|b| {
            json!([
                b.open_time_ms.to_string(),
                amount(b.open),
                amount(b.high),
                amount(b.low),
                amount(b.close),
                format!("{:.8}", b.volume_base),
                format!("{:.8}", b.volume_quote),
                format!("{:.8}", b.volume_quote),
                "1"
            ])
        })
        .collect();
    // OKX lists the newest bar first.
    rows.reverse();
    ok(Value::Array(rows))
}

impl crate::proxy::InProcessVenue for PaperOkx {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        PaperOkx::handle(self, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::market::sim::SimConfig;
    use crate::venue::okx::OkxV5;
    use crate::venue::{Action, Observation, Venue};
    use http::HeaderMap;

    fn paper() -> (PaperOkx, std::sync::Arc<ManualClock>) {
        let clock = ManualClock::new(1_717_243_200_000);
        let market =
            crate::market::sim::MarketSim::new(&SimConfig::default(), 1_717_243_200_000).shared();
        let p = PaperOkx::new(
            market,
            clock.clone(),
            vec![("USDT".into(), Fixed::from_units(100_000))],
        );
        (p, clock)
    }

    fn call(
        p: &PaperOkx,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, "paper-key".parse().unwrap());
        let r = p.handle(&RequestView {
            method: &method,
            path,
            query,
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: body.as_bytes(),
        });
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    #[test]
    fn market_buy_fills_and_riskgate_learns_it() {
        let (p, _) = paper();
        let adapter = OkxV5::new(false);
        let (_, t) = call(
            &p,
            Method::GET,
            "/api/v5/market/tickers",
            Some("instType=SPOT"),
            "",
        );
        let learned = adapter.learn(
            &Action::Observe(Observation::Ticker),
            200,
            t.to_string().as_bytes(),
        );
        assert!(
            learned.prices.iter().any(|(s, _)| s.as_str() == "BTCUSDT"),
            "{t}"
        );

        let (s, a) = call(
            &p,
            Method::POST,
            "/api/v5/trade/batch-orders",
            None,
            r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.01","tgtCcy":"base_ccy","clOrdId":"p1"}]"#,
        );
        assert_eq!((s, &a["code"]), (200, &json!("0")), "{a}");
        let id = a["data"][0]["ordId"].as_str().unwrap().to_string();
        let (_, o) = call(
            &p,
            Method::GET,
            "/api/v5/trade/order",
            Some(&format!("instId=BTC-USDT&ordId={id}")),
            "",
        );
        assert_eq!(o["data"][0]["state"], "filled", "{o}");
        let learned = adapter.learn(
            &Action::Observe(Observation::OrderStatus),
            200,
            o.to_string().as_bytes(),
        );
        assert_eq!(
            learned.reports[0].executed_qty,
            Fixed::parse("0.01").unwrap()
        );
        let (_, b) = call(&p, Method::GET, "/api/v5/account/balance", None, "");
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
    }

    #[test]
    fn amends_change_the_resting_order_in_place_and_fill_when_marketable() {
        let (p, _) = paper();
        let (_, a) = call(
            &p,
            Method::POST,
            "/api/v5/trade/order",
            None,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.01","px":"1000","clOrdId":"pa1"}"#,
        );
        let id = a["data"][0]["ordId"].as_str().unwrap().to_string();
        let (_, r) = call(
            &p,
            Method::POST,
            "/api/v5/trade/amend-order",
            None,
            r#"{"instId":"BTC-USDT","clOrdId":"pa1","newSz":"0.02","reqId":"q1"}"#,
        );
        assert_eq!(r["code"], "0", "{r}");
        assert_eq!(
            (
                r["data"][0]["ordId"].as_str(),
                r["data"][0]["reqId"].as_str()
            ),
            (Some(id.as_str()), Some("q1"))
        );
        let (_, l) = call(&p, Method::GET, "/api/v5/trade/orders-pending", None, "");
        assert_eq!(l["data"][0]["sz"], "0.02", "{l}");
        assert_eq!(l["data"][0]["ordId"], id.as_str());
        // Unknown order: OKX's amend-failed code, nothing changed.
        let (_, r) = call(
            &p,
            Method::POST,
            "/api/v5/trade/amend-order",
            None,
            r#"{"instId":"BTC-USDT","ordId":"999999","newSz":"0.02"}"#,
        );
        assert_eq!(
            (r["code"].as_str(), r["data"][0]["sCode"].as_str()),
            (Some("1"), Some("51503"))
        );
        // A price through the market makes it marketable: it fills.
        let (_, t) = call(
            &p,
            Method::GET,
            "/api/v5/market/ticker",
            Some("instId=BTC-USDT"),
            "",
        );
        let last: f64 = t["data"][0]["last"].as_str().unwrap().parse().unwrap();
        let (_, r) = call(
            &p,
            Method::POST,
            "/api/v5/trade/amend-order",
            None,
            &format!(
                r#"{{"instId":"BTC-USDT","ordId":"{id}","newPx":"{:.2}"}}"#,
                last * 1.01
            ),
        );
        assert_eq!(r["code"], "0", "{r}");
        let (_, o) = call(
            &p,
            Method::GET,
            "/api/v5/trade/order",
            Some(&format!("instId=BTC-USDT&ordId={id}")),
            "",
        );
        assert_eq!(o["data"][0]["state"], "filled", "{o}");
        assert_eq!(o["data"][0]["accFillSz"], "0.02", "{o}");
    }

    #[test]
    fn resting_orders_list_and_cancel() {
        let (p, _) = paper();
        let (_, a) = call(
            &p,
            Method::POST,
            "/api/v5/trade/order",
            None,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.01","px":"1000"}"#,
        );
        let id = a["data"][0]["ordId"].as_str().unwrap().to_string();
        let (_, l) = call(&p, Method::GET, "/api/v5/trade/orders-pending", None, "");
        assert_eq!(l["data"].as_array().unwrap().len(), 1);
        assert_eq!(l["data"][0]["state"], "live");
        let (_, c) = call(
            &p,
            Method::POST,
            "/api/v5/trade/cancel-order",
            None,
            &format!(r#"{{"instId":"BTC-USDT","ordId":"{id}"}}"#),
        );
        assert_eq!(c["code"], "0", "{c}");
        let (_, c) = call(
            &p,
            Method::POST,
            "/api/v5/trade/cancel-order",
            None,
            &format!(r#"{{"instId":"BTC-USDT","ordId":"{id}"}}"#),
        );
        assert_eq!(
            (c["code"].as_str(), c["data"][0]["sCode"].as_str()),
            (Some("1"), Some("51400"))
        );
        let (_, l) = call(&p, Method::GET, "/api/v5/trade/orders-pending", None, "");
        assert!(l["data"].as_array().unwrap().is_empty());
        // Too big for the balance: OKX's insufficient-balance code.
        let (_, a) = call(
            &p,
            Method::POST,
            "/api/v5/trade/order",
            None,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"100","px":"50000"}"#,
        );
        assert_eq!(a["data"][0]["sCode"], "51008", "{a}");
        // Private endpoints need a key.
        let r = p.handle(&RequestView {
            method: &Method::GET,
            path: "/api/v5/account/balance",
            query: None,
            headers: &crate::venue::Headers::new(),
            body: b"",
        });
        assert_eq!(r.status, 401);
    }

    #[test]
    fn candles_newest_first() {
        let (p, _) = paper();
        let adapter = OkxV5::new(false);
        let path = adapter.daily_bars_path("BTCUSDT", 30);
        let (path, query) = path.split_once('?').unwrap();
        let (_, c) = call(&p, Method::GET, path, Some(query), "");
        let rows = c["data"].as_array().unwrap();
        assert!(!rows.is_empty(), "{c}");
        let t0: i64 = rows[0][0].as_str().unwrap().parse().unwrap();
        let t1: i64 = rows[rows.len() - 1][0].as_str().unwrap().parse().unwrap();
        assert!(t0 >= t1);
        assert!(!adapter
            .parse_daily_closes(c.to_string().as_bytes())
            .is_empty());
    }
}
