//! The paper Coinbase Advanced Trade exchange (spot): Coinbase's REST API
//! answered in Coinbase's own JSON from paper accounts and the simulated
//! market.
//!
//! Owns routing and rendering in Coinbase's shapes only. Orders are read with
//! `venue::coinbase::parse_order` / `parse_cancels` (never a second parser);
//! accounts and matching live in `paper::book`, prices in `market::sim`.
//! JWTs are not verified (paper mode has no keys), but private endpoints
//! require credentials whose key name names the paper account. Products are
//! the simulator's symbols as USDT pairs (`BTC-USDT`, ...): the USD products
//! such as `BTC-USD` do not exist on paper. Order ids are UUID-shaped strings
//! carrying the paper book's numeric id. GTD orders rest as GTC (they never
//! expire on paper).

use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use super::book::{PaperError, PaperOrder, PaperStatus, DEFAULT_MAX_ACCOUNTS};
use super::PaperCore;
use crate::clock::SharedClock;
use crate::market::sim::{KlineInterval, MarketSim, SharedMarket, SimSymbol};
use crate::model::{Fixed, OrderKind, OrderRef, Side, TimeInForce};
use crate::venue::coinbase::{auth, parse_cancels, parse_order, ProductId};
use crate::venue::{RequestView, SyntheticResponse};

/// Coinbase's candle limit per request.
const MAX_CANDLES: usize = 350;
/// Prefix of paper order ids; the last 12 hex digits are the book's id.
const ORDER_ID_PREFIX: &str = "00000000-0000-4000-8000-";

pub struct PaperCoinbase {
    core: PaperCore,
}

fn answer(status: u16, v: Value) -> SyntheticResponse {
    SyntheticResponse {
        status,
        body: Bytes::from(v.to_string()),
    }
}

fn ok(v: Value) -> SyntheticResponse {
    answer(200, v)
}

/// Coinbase's generic error (`{"error":..,"message":..}`).
fn fail(status: u16, error: &str, message: &str) -> SyntheticResponse {
    answer(
        status,
        json!({"error": error, "code": 3, "message": message, "error_details": message, "details": []}),
    )
}

fn product_id(s: &SimSymbol) -> String {
    format!("{}-{}", s.base, s.quote)
}

fn amount(v: Fixed) -> String {
    let s = v.to_string();
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub fn order_id_string(id: i64) -> String {
    format!("{ORDER_ID_PREFIX}{id:012x}")
}

fn parse_order_id(s: &str) -> Option<i64> {
    i64::from_str_radix(s.strip_prefix(ORDER_ID_PREFIX)?, 16).ok()
}

/// `2026-12-04T15:38:39.123Z` for a UTC millisecond timestamp.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

fn refusal(e: &PaperError) -> (&'static str, &'static str) {
    match e {
        PaperError::InsufficientBalance => ("INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND"),
        PaperError::InvalidSymbol => ("INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID"),
        PaperError::WouldMatch => (
            "INVALID_LIMIT_PRICE_POST_ONLY",
            "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
        ),
        PaperError::DuplicateOrder => ("INVALID_REQUEST", "UNKNOWN_PREVIEW_FAILURE_REASON"),
        _ => ("UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON"),
    }
}

fn order_configuration(o: &PaperOrder) -> Value {
    let size = amount(o.orig_qty);
    let price = amount(o.price);
    match (o.kind, o.time_in_force) {
        (OrderKind::Market, _) if o.orig_quote_qty.is_positive() && !o.orig_qty.is_positive() => {
            json!({"market_market_ioc": {"quote_size": amount(o.orig_quote_qty)}})
        }
        (OrderKind::Market, _) => json!({"market_market_ioc": {"base_size": size}}),
        (OrderKind::StopLimit, _) => json!({"stop_limit_stop_limit_gtc": {
            "base_size": size, "limit_price": price, "stop_price": amount(o.stop_price),
            "stop_direction": if o.side == Side::Buy { "STOP_DIRECTION_STOP_UP" } else { "STOP_DIRECTION_STOP_DOWN" }}}),
        (_, TimeInForce::Fok) => {
            json!({"limit_limit_fok": {"base_size": size, "limit_price": price}})
        }
        (_, TimeInForce::Ioc) => {
            json!({"sor_limit_ioc": {"base_size": size, "limit_price": price}})
        }
        (kind, _) => json!({"limit_limit_gtc": {"base_size": size, "limit_price": price,
            "post_only": kind == OrderKind::LimitMaker}}),
    }
}

fn order_json(o: &PaperOrder, m: &MarketSim) -> Value {
    let product = m
        .symbol_info(o.symbol.as_str())
        .map(product_id)
        .unwrap_or_else(|| o.symbol.as_str().to_string());
    let status = match o.status {
        PaperStatus::New => "OPEN",
        PaperStatus::Filled => "FILLED",
        PaperStatus::Canceled => "CANCELLED",
        PaperStatus::Expired => "EXPIRED",
    };
    let avg = if o.executed_qty.is_positive() {
        Fixed::from_f64(o.cumm_quote_qty.to_f64() / o.executed_qty.to_f64())
            .map(amount)
            .unwrap_or_default()
    } else {
        "0".into()
    };
    let quote_sized = o.orig_quote_qty.is_positive() && !o.orig_qty.is_positive();
    let tif = match o.time_in_force {
        TimeInForce::Gtc => "GOOD_UNTIL_CANCELLED",
        TimeInForce::Ioc => "IMMEDIATE_OR_CANCEL",
        TimeInForce::Fok => "FILL_OR_KILL",
    };
    let order_type = match o.kind {
        OrderKind::Market => "MARKET",
        OrderKind::StopLimit => "STOP_LIMIT",
        _ => "LIMIT",
    };
    json!({
        "order_id": order_id_string(o.order_id), "product_id": product, "user_id": "paper",
        "order_configuration": order_configuration(o),
        "side": o.side.as_str(), "client_order_id": o.client_order_id, "status": status,
        "time_in_force": tif, "created_time": rfc3339(o.time_ms),
        "completion_percentage": if o.status == PaperStatus::Filled { "100" } else { "0" },
        "filled_size": amount(o.executed_qty), "average_filled_price": avg, "fee": "0",
        "number_of_fills": o.fills.len().to_string(), "filled_value": amount(o.cumm_quote_qty),
        "pending_cancel": false, "size_in_quote": quote_sized, "total_fees": "0",
        "size_inclusive_of_fees": false, "total_value_after_fees": amount(o.cumm_quote_qty),
        "trigger_status": if o.kind == OrderKind::StopLimit { "STOP_PENDING" } else { "INVALID_ORDER_TYPE" },
        "order_type": order_type, "reject_reason": "", "settled": o.status != PaperStatus::New,
        "product_type": "SPOT", "reject_message": "", "cancel_message": "",
        "order_placement_source": "RETAIL_ADVANCED", "outstanding_hold_amount": "0",
        "is_liquidation": false, "last_fill_time": null, "edit_history": [],
        "leverage": "", "margin_type": "UNKNOWN_MARGIN_TYPE", "retail_portfolio_id": "",
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
    let brokerage = path.starts_with("/api/v3/brokerage/")
        && !path.starts_with("/api/v3/brokerage/market/")
        && path != "/api/v3/brokerage/time";
    brokerage || path.starts_with("/v2/accounts")
}

impl PaperCoinbase {
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
    ) -> PaperCoinbase {
        PaperCoinbase::with_max_accounts(market, clock, starting_balances, DEFAULT_MAX_ACCOUNTS)
    }

    pub fn with_max_accounts(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
        max_accounts: usize,
    ) -> PaperCoinbase {
        PaperCoinbase {
            core: PaperCore::new(market, clock, starting_balances, max_accounts),
        }
    }

    /// Answers one request as Coinbase would.
    pub fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        let now_ms = self.core.sync();
        let key = if is_private(req.path) {
            match auth::account_key(req) {
                Ok(Some(k)) => String::from_utf8_lossy(&k).into_owned(),
                _ => return fail(401, "unauthorized", "Unauthorized"),
            }
        } else {
            String::new()
        };
        let q = query_pairs(req.query);
        let m = self.core.market.read();
        let path = req.path;
        match (req.method, path) {
            (&Method::GET, "/api/v3/brokerage/time") => ok(json!({
                "iso": rfc3339(now_ms), "epochSeconds": (now_ms / 1000).to_string(),
                "epochMillis": now_ms.to_string()})),
            (&Method::GET, "/v2/time") => {
                ok(json!({"data": {"iso": rfc3339(now_ms), "epoch": now_ms / 1000}}))
            }
            (&Method::GET, "/v2/currencies") => ok(json!({"data": [
                {"id": "USD", "name": "US Dollar", "min_size": "0.01"}]})),
            (&Method::GET, "/v2/currencies/crypto") => currencies(&m),
            (&Method::GET, "/v2/exchange-rates") => exchange_rates(&m),
            (&Method::GET, "/api/v3/brokerage/market/products" | "/api/v3/brokerage/products") => {
                products(&m, &q)
            }
            (&Method::GET, p) if product_path(p).is_some() => {
                let (id, rest) = product_path(p).unwrap_or_default();
                match (m.symbol_info(&symbol_of(id)), rest) {
                    (Some(s), "") => ok(product_json(&m, s)),
                    (Some(s), "/candles") => candles(&m, s, &q),
                    (Some(s), "/ticker") => ticker(&m, s, now_ms),
                    _ => fail(404, "NOT_FOUND", "product not found"),
                }
            }
            (&Method::GET, "/api/v3/brokerage/best_bid_ask") => best_bid_ask(&m, &q, now_ms),
            (&Method::GET, "/api/v3/brokerage/transaction_summary") => ok(json!({
                "total_volume": 0, "total_fees": 0,
                "fee_tier": {"pricing_tier": "Paper", "usd_from": "0", "usd_to": "10000",
                             "taker_fee_rate": "0", "maker_fee_rate": "0", "aop_from": "", "aop_to": ""},
                "margin_rate": null, "goods_and_services_tax": null,
                "advanced_trade_only_volume": 0, "advanced_trade_only_fees": 0,
                "coinbase_pro_volume": 0, "coinbase_pro_fees": 0, "total_balance": "", "has_promo_fee": false})),
            (&Method::POST, "/api/v3/brokerage/orders") => self.place(&m, &key, req.body, now_ms),
            (&Method::POST, "/api/v3/brokerage/orders/preview") => self.preview(&m, req.body),
            (&Method::POST, "/api/v3/brokerage/orders/batch_cancel") => {
                self.cancel(&m, &key, req.body, now_ms)
            }
            (&Method::GET, "/api/v3/brokerage/orders/historical/batch") => self.list(&m, &key, &q),
            (&Method::GET, "/api/v3/brokerage/orders/historical/fills") => self.fills(&m, &key, &q),
            (&Method::GET, p) if p.starts_with("/api/v3/brokerage/orders/historical/") => {
                let id = &p["/api/v3/brokerage/orders/historical/".len()..];
                self.one(&m, &key, id)
            }
            (&Method::GET, "/api/v3/brokerage/accounts") => self.accounts(&m, &key, now_ms),
            (method, path) => fail(
                404,
                "NOT_FOUND",
                &format!("paper exchange: {method} {path} is not simulated"),
            ),
        }
    }

    fn place(&self, m: &MarketSim, key: &str, body: &[u8], now_ms: i64) -> SyntheticResponse {
        let order = match parse_order(body, false) {
            Ok(o) => o,
            Err(r) => return fail(400, "INVALID_ARGUMENT", &r.message),
        };
        let product = ProductId::parse(
            &serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["product_id"].as_str().map(str::to_owned))
                .unwrap_or_default(),
        )
        .map(|p| p.coinbase())
        .unwrap_or_default();
        let config = serde_json::from_slice::<Value>(body)
            .map(|v| v["order_configuration"].clone())
            .unwrap_or(Value::Null);
        let cl = order.client_order_id.as_deref().unwrap_or("").to_string();
        let mut books = self.core.books.lock();
        match books.place(key, &order, m, now_ms) {
            Ok(p) => {
                let id = order_id_string(p.order.order_id);
                ok(
                    json!({"success": true, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": id,
                    "success_response": {"order_id": id, "product_id": product,
                        "side": order.side.as_str(), "client_order_id": cl},
                    "order_configuration": config}),
                )
            }
            Err(e) => {
                let (error, preview) = refusal(&e);
                ok(
                    json!({"success": false, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
                    "error_response": {"error": error, "message": format!("paper exchange: {e:?}"),
                        "error_details": "", "preview_failure_reason": preview,
                        "new_order_failure_reason": error},
                    "order_configuration": config}),
                )
            }
        }
    }

    fn preview(&self, m: &MarketSim, body: &[u8]) -> SyntheticResponse {
        let order = match parse_order(body, true) {
            Ok(o) => o,
            Err(r) => return fail(400, "INVALID_ARGUMENT", &r.message),
        };
        let Some(price) = m.price(order.symbol.as_str()) else {
            return fail(400, "INVALID_ARGUMENT", "product not found");
        };
        let px = order.price.unwrap_or(price);
        let (base, quote) = match (order.qty, order.quote_qty) {
            (Some(b), _) => (
                b,
                Fixed::from_f64(b.to_f64() * px.to_f64()).unwrap_or_default(),
            ),
            (None, Some(qq)) => (Fixed::div_to_qty(qq, px).unwrap_or_default(), qq),
            (None, None) => (Fixed::ZERO, Fixed::ZERO),
        };
        ok(
            json!({"order_total": amount(quote), "commission_total": "0", "errs": [], "warning": [],
            "quote_size": amount(quote), "base_size": amount(base), "best_bid": amount(price),
            "best_ask": amount(price), "is_max": false, "order_margin_total": "0", "leverage": "1",
            "long_leverage": "1", "short_leverage": "1", "slippage": "0",
            "preview_id": "00000000-0000-4000-9000-000000000000", "current_liquidation_buffer": "",
            "projected_liquidation_buffer": "", "max_leverage": "1"}),
        )
    }

    fn cancel(&self, m: &MarketSim, key: &str, body: &[u8], now_ms: i64) -> SyntheticResponse {
        let ids = match parse_cancels(body) {
            Ok(ids) => ids,
            Err(r) => return fail(400, "INVALID_ARGUMENT", &r.message),
        };
        let mut books = self.core.books.lock();
        let results: Vec<Value> = ids
            .iter()
            .map(|id| {
                let symbol = parse_order_id(id).and_then(|n| {
                    books
                        .account(key)?
                        .open_orders(None)
                        .find(|o| o.order_id == n)
                        .map(|o| (o.symbol.clone(), n))
                });
                let done = symbol.is_some_and(|(s, n)| {
                    books
                        .cancel(key, s.as_str(), &OrderRef::ExchangeId(n), now_ms, m)
                        .is_ok()
                });
                if done {
                    json!({"success": true, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": id})
                } else {
                    json!({"success": false, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": id})
                }
            })
            .collect();
        ok(json!({ "results": results }))
    }

    fn one(&self, m: &MarketSim, key: &str, id: &str) -> SyntheticResponse {
        let books = self.core.books.lock();
        let found = parse_order_id(id).and_then(|n| {
            let acct = books.account(key)?;
            m.symbols().find_map(|s| {
                acct.find(s.symbol.as_str(), &OrderRef::ExchangeId(n))
                    .map(|o| order_json(o, m))
            })
        });
        match found {
            Some(o) => ok(json!({ "order": o })),
            None => fail(404, "NOT_FOUND", "order with this orderID was not found"),
        }
    }

    fn list(&self, m: &MarketSim, key: &str, q: &[(&str, &str)]) -> SyntheticResponse {
        let statuses: Vec<&str> = q
            .iter()
            .filter(|(k, _)| *k == "order_status")
            .map(|(_, v)| *v)
            .collect();
        let products: Vec<String> = q
            .iter()
            .filter(|(k, _)| *k == "product_ids" || *k == "product_id")
            .map(|(_, v)| symbol_of(v))
            .collect();
        let books = self.core.books.lock();
        let list: Vec<Value> = books
            .account(key)
            .map(|a| {
                m.symbols()
                    .filter(|s| {
                        products.is_empty() || products.iter().any(|p| p == s.symbol.as_str())
                    })
                    .flat_map(|s| a.all_orders(s.symbol.as_str()))
                    .map(|o| order_json(o, m))
                    .filter(|o| {
                        statuses.is_empty()
                            || statuses.iter().any(|st| o["status"].as_str() == Some(st))
                    })
                    .collect()
            })
            .unwrap_or_default();
        ok(json!({"orders": list, "sequence": "0", "has_next": false, "cursor": ""}))
    }

    fn fills(&self, m: &MarketSim, key: &str, q: &[(&str, &str)]) -> SyntheticResponse {
        let wanted: Vec<i64> = q
            .iter()
            .filter(|(k, _)| *k == "order_ids" || *k == "order_id")
            .filter_map(|(_, v)| parse_order_id(v))
            .collect();
        let books = self.core.books.lock();
        let list: Vec<Value> = books
            .account(key)
            .map(|a| {
                m.symbols()
                    .flat_map(|s| a.trades(s.symbol.as_str()).map(move |t| (s, t)))
                    .filter(|(_, t)| wanted.is_empty() || wanted.contains(&t.order_id))
                    .map(|(s, t)| {
                        json!({"entry_id": t.fill.trade_id.to_string(), "trade_id": t.fill.trade_id.to_string(),
                            "order_id": order_id_string(t.order_id), "trade_time": rfc3339(t.fill.time_ms),
                            "trade_type": "FILL", "price": amount(t.fill.price), "size": amount(t.fill.qty),
                            "commission": amount(t.fill.commission), "product_id": product_id(s),
                            "sequence_timestamp": rfc3339(t.fill.time_ms),
                            "liquidity_indicator": if t.fill.is_maker { "MAKER" } else { "TAKER" },
                            "size_in_quote": false, "user_id": "paper", "side": t.side.as_str(),
                            "retail_portfolio_id": ""})
                    })
                    .collect()
            })
            .unwrap_or_default();
        ok(json!({"fills": list, "cursor": ""}))
    }

    fn accounts(&self, m: &MarketSim, key: &str, now_ms: i64) -> SyntheticResponse {
        let mut books = self.core.books.lock();
        let acct = match books.account_mut(key, m) {
            Ok(a) => a,
            Err(_) => return fail(503, "UNAVAILABLE", "paper exchange: too many accounts"),
        };
        let list: Vec<Value> = acct
            .balances
            .iter()
            .map(|(ccy, b)| {
                json!({"uuid": format!("paper-{ccy}"), "name": format!("{ccy} Wallet"), "currency": ccy,
                    "available_balance": {"value": amount(b.free), "currency": ccy},
                    "default": false, "active": true, "created_at": rfc3339(now_ms), "updated_at": rfc3339(now_ms),
                    "deleted_at": null, "type": "ACCOUNT_TYPE_CRYPTO", "ready": true,
                    "hold": {"value": amount(b.locked), "currency": ccy}, "retail_portfolio_id": ""})
            })
            .collect();
        let n = list.len();
        ok(json!({"accounts": list, "has_next": false, "cursor": "", "size": n}))
    }
}

/// `BTC-USDT` → the simulator's `BTCUSDT` (empty when not a spot product id).
fn symbol_of(product: &str) -> String {
    ProductId::parse(product)
        .map(|p| p.symbol().as_str().to_string())
        .unwrap_or_default()
}

/// `/products/{id}[/candles|/ticker]` under either prefix: (id, rest).
fn product_path(p: &str) -> Option<(&str, &str)> {
    let rest = p
        .strip_prefix("/api/v3/brokerage/market/products/")
        .or_else(|| p.strip_prefix("/api/v3/brokerage/products/"))?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    })
}

fn product_json(m: &MarketSim, s: &SimSymbol) -> Value {
    let price = m.price(s.symbol.as_str()).map(amount).unwrap_or_default();
    let change = match (m.stats_24h(s.symbol.as_str()), m.price(s.symbol.as_str())) {
        (Some(t), Some(last)) if t.open.is_positive() => {
            format!("{:.4}", (last.to_f64() / t.open.to_f64() - 1.0) * 100.0)
        }
        _ => "0".into(),
    };
    json!({"product_id": product_id(s), "price": price, "price_percentage_change_24h": change,
        "volume_24h": format!("{:.8}", s.daily_volume_base), "volume_percentage_change_24h": "0",
        "base_increment": amount(s.step_size), "quote_increment": amount(s.tick_size),
        "quote_min_size": amount(s.min_notional), "quote_max_size": "100000000",
        "base_min_size": amount(s.min_qty), "base_max_size": amount(s.max_qty),
        "base_name": s.base, "quote_name": s.quote, "watched": false, "is_disabled": false, "new": false,
        "status": "online", "cancel_only": false, "limit_only": false, "post_only": false,
        "trading_disabled": false, "auction_mode": false, "product_type": "SPOT",
        "quote_currency_id": s.quote, "base_currency_id": s.base, "fcm_trading_session_details": null,
        "mid_market_price": "", "alias": "", "alias_to": [], "base_display_symbol": s.base,
        "quote_display_symbol": s.quote, "view_only": false, "price_increment": amount(s.tick_size),
        "display_name": product_id(s), "product_venue": "CBE"})
}

fn products(m: &MarketSim, q: &[(&str, &str)]) -> SyntheticResponse {
    // No futures or perpetuals on the paper market.
    if query_get(q, "product_type").is_some_and(|t| t != "SPOT") {
        return ok(json!({"products": [], "num_products": 0}));
    }
    let list: Vec<Value> = m.symbols().map(|s| product_json(m, s)).collect();
    let n = list.len();
    ok(json!({"products": list, "num_products": n}))
}

fn currencies(m: &MarketSim) -> SyntheticResponse {
    let mut codes: Vec<&str> = m
        .symbols()
        .flat_map(|s| [s.base.as_str(), s.quote.as_str()])
        .collect();
    codes.sort();
    codes.dedup();
    let list: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"asset_id": format!("paper-{c}"), "code": c, "name": c, "color": "#000000",
                "sort_index": i, "exponent": 8, "type": "crypto", "address_regex": ""})
        })
        .collect();
    ok(json!({ "data": list }))
}

fn exchange_rates(m: &MarketSim) -> SyntheticResponse {
    let mut rates = serde_json::Map::new();
    rates.insert("USD".into(), json!("1"));
    for s in m.symbols() {
        if let Some(p) = m.price(s.symbol.as_str()).filter(|p| p.is_positive()) {
            rates.insert(s.base.clone(), json!(format!("{:.12}", 1.0 / p.to_f64())));
        }
        rates.entry(s.quote.clone()).or_insert(json!("1"));
    }
    ok(json!({"data": {"currency": "USD", "rates": rates}}))
}

fn candles(m: &MarketSim, s: &SimSymbol, q: &[(&str, &str)]) -> SyntheticResponse {
    let interval = match query_get(q, "granularity").unwrap_or("ONE_DAY") {
        "ONE_MINUTE" => KlineInterval::M1,
        "FIVE_MINUTE" => KlineInterval::M5,
        "FIFTEEN_MINUTE" => KlineInterval::M15,
        "THIRTY_MINUTE" => KlineInterval::M30,
        "ONE_HOUR" => KlineInterval::H1,
        "TWO_HOUR" => KlineInterval::H2,
        "SIX_HOUR" => KlineInterval::H6,
        "ONE_DAY" => KlineInterval::D1,
        _ => return fail(400, "INVALID_ARGUMENT", "invalid granularity"),
    };
    let limit = query_get(q, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(MAX_CANDLES)
        .clamp(1, MAX_CANDLES);
    let mut rows: Vec<Value> = m
        .klines(s.symbol.as_str(), interval, None, None, limit)
        .iter()
        .map(|b| {
            json!({"start": (b.open_time_ms / 1000).to_string(), "low": amount(b.low), "high": amount(b.high),
                "open": amount(b.open), "close": amount(b.close), "volume": format!("{:.8}", b.volume_base)})
        })
        .collect();
    // Coinbase lists the newest candle first.
    rows.reverse();
    ok(json!({ "candles": rows }))
}

fn ticker(m: &MarketSim, s: &SimSymbol, now_ms: i64) -> SyntheticResponse {
    let p = m.price(s.symbol.as_str()).unwrap_or_default();
    ok(
        json!({"trades": [], "best_bid": amount(p), "best_ask": amount(p.saturating_add(s.tick_size)),
        "time": rfc3339(now_ms)}),
    )
}

fn best_bid_ask(m: &MarketSim, q: &[(&str, &str)], now_ms: i64) -> SyntheticResponse {
    let wanted: Vec<String> = q
        .iter()
        .filter(|(k, _)| *k == "product_ids")
        .map(|(_, v)| symbol_of(v))
        .collect();
    let books: Vec<Value> = m
        .symbols()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.symbol.as_str()))
        .filter_map(|s| {
            let p = m.price(s.symbol.as_str())?;
            Some(json!({"product_id": product_id(s), "time": rfc3339(now_ms),
                "bids": [{"price": amount(p), "size": "1"}],
                "asks": [{"price": amount(p.saturating_add(s.tick_size)), "size": "1"}]}))
        })
        .collect();
    ok(json!({ "pricebooks": books }))
}

impl crate::proxy::InProcessVenue for PaperCoinbase {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        PaperCoinbase::handle(self, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::market::sim::SimConfig;
    use crate::venue::coinbase::CoinbaseAdvanced;
    use crate::venue::{Action, Observation, Venue};
    use http::HeaderMap;

    fn paper() -> PaperCoinbase {
        let clock = ManualClock::new(1_717_243_200_000);
        let market =
            crate::market::sim::MarketSim::new(&SimConfig::default(), 1_717_243_200_000).shared();
        PaperCoinbase::new(
            market,
            clock,
            vec![("USDT".into(), Fixed::from_units(100_000))],
        )
    }

    fn call(
        p: &PaperCoinbase,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let mut headers = HeaderMap::new();
        headers.insert("cb-access-key", "paper-key".parse().unwrap());
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
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_717_243_200_123), "2024-06-01T12:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn market_buy_fills_and_riskgate_learns_it() {
        let p = paper();
        let adapter = CoinbaseAdvanced::new(false);
        let (_, t) = call(
            &p,
            Method::GET,
            "/api/v3/brokerage/market/products",
            None,
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

        let body = r#"{"client_order_id":"p1","product_id":"BTC-USDT","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"0.01"}}}"#;
        let (s, a) = call(&p, Method::POST, "/api/v3/brokerage/orders", None, body);
        assert_eq!((s, &a["success"]), (200, &json!(true)), "{a}");
        let order = Action::NewOrder(parse_order(body.as_bytes(), false).unwrap());
        let learned = adapter.learn(&order, 200, a.to_string().as_bytes());
        assert_eq!(learned.reports.len(), 1);
        let id = a["success_response"]["order_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, o) = call(
            &p,
            Method::GET,
            &format!("/api/v3/brokerage/orders/historical/{id}"),
            None,
            "",
        );
        assert_eq!(o["order"]["status"], "FILLED", "{o}");
        let learned = adapter.learn(
            &Action::Observe(Observation::OrderStatus),
            200,
            o.to_string().as_bytes(),
        );
        assert_eq!(
            learned.reports[0].executed_qty,
            Fixed::parse("0.01").unwrap()
        );
        let (_, f) = call(
            &p,
            Method::GET,
            "/api/v3/brokerage/orders/historical/fills",
            Some(&format!("order_ids={id}")),
            "",
        );
        assert_eq!(f["fills"].as_array().unwrap().len(), 1, "{f}");
        let (_, b) = call(
            &p,
            Method::GET,
            "/api/v3/brokerage/accounts",
            Some("limit=250"),
            "",
        );
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
    fn resting_orders_list_and_cancel() {
        let p = paper();
        let (_, a) = call(
            &p,
            Method::POST,
            "/api/v3/brokerage/orders",
            None,
            r#"{"client_order_id":"r1","product_id":"BTC-USDT","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"1000","post_only":false}}}"#,
        );
        let id = a["order_id"].as_str().unwrap().to_string();
        let (_, l) = call(
            &p,
            Method::GET,
            "/api/v3/brokerage/orders/historical/batch",
            Some("order_status=OPEN"),
            "",
        );
        assert_eq!(l["orders"].as_array().unwrap().len(), 1, "{l}");
        assert_eq!(l["orders"][0]["status"], "OPEN");
        let (_, c) = call(
            &p,
            Method::POST,
            "/api/v3/brokerage/orders/batch_cancel",
            None,
            &format!(r#"{{"order_ids":["{id}"]}}"#),
        );
        assert_eq!(c["results"][0]["success"], true, "{c}");
        let (_, c) = call(
            &p,
            Method::POST,
            "/api/v3/brokerage/orders/batch_cancel",
            None,
            &format!(r#"{{"order_ids":["{id}"]}}"#),
        );
        assert_eq!(c["results"][0]["success"], false);
        let (_, l) = call(
            &p,
            Method::GET,
            "/api/v3/brokerage/orders/historical/batch",
            Some("order_status=OPEN"),
            "",
        );
        assert!(l["orders"].as_array().unwrap().is_empty());
        // Too big for the balance: Coinbase's insufficient-fund failure.
        let (_, a) = call(
            &p,
            Method::POST,
            "/api/v3/brokerage/orders",
            None,
            r#"{"client_order_id":"r2","product_id":"BTC-USDT","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"100","limit_price":"50000"}}}"#,
        );
        assert_eq!(
            a["error_response"]["preview_failure_reason"], "PREVIEW_INSUFFICIENT_FUND",
            "{a}"
        );
        // Private endpoints need a key.
        let r = p.handle(&RequestView {
            method: &Method::GET,
            path: "/api/v3/brokerage/accounts",
            query: None,
            headers: &crate::venue::Headers::new(),
            body: b"",
        });
        assert_eq!(r.status, 401);
    }

    #[test]
    fn candles_newest_first() {
        let p = paper();
        let adapter = CoinbaseAdvanced::new(false);
        let path = adapter
            .daily_bars_path("BTCUSDT", 30)
            .replace("BTC-USD/", "BTC-USDT/");
        let (path, query) = path.split_once('?').unwrap();
        let (_, c) = call(&p, Method::GET, path, Some(query), "");
        assert!(!c["candles"].as_array().unwrap().is_empty(), "{c}");
        assert!(!adapter
            .parse_daily_closes(c.to_string().as_bytes())
            .is_empty());
    }
}
