//! The paper Binance spot exchange: Binance's REST API answered in Binance's
//! own JSON from paper accounts and the simulated market.
//!
//! Owns routing, parameter reading (through `venue::binance::Params` and
//! `parse_new_order`, never a second parser) and rendering answers and errors in
//! Binance's formats, so that client libraries (ccxt, python-binance) and
//! riskgate's own `venue::binance::learn` read them as they read Binance's.
//! Signatures are not verified (paper mode has no secrets), but signed
//! endpoints require an API key, which names the paper account. Accounts and
//! matching live in `paper::book`; prices in `market::sim`.

use bytes::Bytes;
use http::Method;
use serde::Serialize;
use serde_json::json;

use super::book::{
    AssetBalance, Books, PaperError, PaperOrder, DEFAULT_MAX_ACCOUNTS, MAX_NOTIONAL_UNITS,
};
use super::book::{MAX_OPEN_ORDERS_PER_SYMBOL, MAX_PRICE_UNITS, MAX_STOP_ORDERS_PER_SYMBOL};
use crate::clock::SharedClock;
use crate::market::sim::{KlineInterval, MarketSim, SharedMarket, SimSymbol};
use crate::model::decimal::format_fixed_padded;
use crate::model::{Fixed, OrderKind, OrderRef, Side, TimeInForce};
use crate::rules::Rejection;
use crate::venue::binance::API_KEY_HEADER;
use crate::venue::binance::{parse_new_order, parse_order_ref, parse_symbol, ParamError, Params};
use crate::venue::{RequestView, SyntheticResponse};

/// Longest API key accepted as an account name.
const MAX_API_KEY_LEN: usize = 128;
/// Binance's kline and order-list limits.
const DEFAULT_KLINE_LIMIT: usize = 500;
const MAX_KLINE_LIMIT: usize = 1_000;
const DEFAULT_LIST_LIMIT: usize = 500;
const MAX_LIST_LIMIT: usize = 1_000;
const DEFAULT_DEPTH_LIMIT: usize = 100;
const MAX_DEPTH_LIMIT: usize = 5_000;

/// The paper exchange. Thread-safe; one per process is enough.
pub struct PaperBinance {
    market: SharedMarket,
    clock: SharedClock,
    books: parking_lot::Mutex<Books>,
}

fn px(v: Fixed) -> String {
    format_fixed_padded(v, 8)
}

fn f64_amount(v: f64) -> String {
    px(Fixed::from_f64(v).unwrap_or(Fixed::ZERO))
}

fn respond(status: u16, value: &impl Serialize) -> SyntheticResponse {
    match serde_json::to_vec(value) {
        Ok(body) => SyntheticResponse {
            status,
            body: Bytes::from(body),
        },
        Err(_) => error(
            500,
            -1000,
            "An unknown error occurred while processing the request.",
        ),
    }
}

fn ok(value: &impl Serialize) -> SyntheticResponse {
    respond(200, value)
}

/// Binance's error shape: `{"code":-1121,"msg":"Invalid symbol."}`.
pub fn error(status: u16, code: i32, msg: &str) -> SyntheticResponse {
    respond(status, &json!({ "code": code, "msg": msg }))
}

fn paper_error(e: &PaperError) -> SyntheticResponse {
    match e {
        PaperError::InvalidSymbol => error(400, -1121, "Invalid symbol."),
        PaperError::Filter(f) => error(400, -1013, &format!("Filter failure: {f}")),
        PaperError::InsufficientBalance => error(
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        PaperError::DuplicateOrder => error(400, -2010, "Duplicate order sent."),
        PaperError::UnknownOrder => error(400, -2011, "Unknown order sent."),
        PaperError::NoSuchOrder => error(400, -2013, "Order does not exist."),
        PaperError::WouldMatch => error(400, -2010, "Order would immediately match and take."),
        PaperError::StopWouldTrigger => error(400, -2010, "Stop price would trigger immediately."),
        PaperError::TooManyAccounts => error(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ),
        PaperError::Unsupported(what) => error(
            400,
            -2010,
            &format!("The paper exchange does not support '{what}'."),
        ),
    }
}

fn param_error(e: &ParamError) -> SyntheticResponse {
    match e {
        ParamError::Duplicate(name) => error(
            400,
            -1101,
            &format!("Duplicate values for parameter '{name}'."),
        ),
        other => error(
            400,
            -1100,
            &format!("Illegal characters found in a parameter: {other}."),
        ),
    }
}

/// A parse refusal from the venue parser, in Binance's parameter-error codes.
fn rejection(r: &Rejection) -> SyntheticResponse {
    let code = if r.message.starts_with("missing") {
        -1102
    } else if r.message.starts_with("unknown parameter") {
        -1104
    } else {
        -1100
    };
    error(400, code, &r.message)
}

fn mandatory(name: &str) -> SyntheticResponse {
    error(
        400,
        -1102,
        &format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

fn kind_str(k: OrderKind) -> &'static str {
    match k {
        OrderKind::Market => "MARKET",
        OrderKind::Limit => "LIMIT",
        OrderKind::LimitMaker => "LIMIT_MAKER",
        OrderKind::StopMarket => "STOP_LOSS",
        OrderKind::StopLimit => "STOP_LOSS_LIMIT",
        OrderKind::TakeProfitMarket => "TAKE_PROFIT",
        OrderKind::TakeProfitLimit => "TAKE_PROFIT_LIMIT",
    }
}

fn tif_str(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireAck<'a> {
    symbol: &'a str,
    order_id: i64,
    order_list_id: i64,
    client_order_id: &'a str,
    transact_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireFill<'a> {
    price: String,
    qty: String,
    commission: String,
    commission_asset: &'a str,
    trade_id: i64,
}

/// `newOrderRespType=RESULT|FULL` answer (FULL adds `fills`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireResult<'a> {
    symbol: &'a str,
    order_id: i64,
    order_list_id: i64,
    client_order_id: &'a str,
    transact_time: i64,
    price: String,
    orig_qty: String,
    executed_qty: String,
    orig_quote_order_qty: String,
    cummulative_quote_qty: String,
    status: &'static str,
    time_in_force: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_price: Option<String>,
    working_time: i64,
    self_trade_prevention_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fills: Option<Vec<WireFill<'a>>>,
}

/// `GET /api/v3/order`, `openOrders`, `allOrders` entries.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOrder<'a> {
    symbol: &'a str,
    order_id: i64,
    order_list_id: i64,
    client_order_id: &'a str,
    price: String,
    orig_qty: String,
    executed_qty: String,
    cummulative_quote_qty: String,
    status: &'static str,
    time_in_force: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    side: &'static str,
    stop_price: String,
    iceberg_qty: String,
    time: i64,
    update_time: i64,
    is_working: bool,
    working_time: i64,
    orig_quote_order_qty: String,
    self_trade_prevention_mode: &'static str,
}

/// `DELETE /api/v3/order` answer (and `DELETE /api/v3/openOrders` entries).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireCancel<'a> {
    symbol: &'a str,
    orig_client_order_id: &'a str,
    order_id: i64,
    order_list_id: i64,
    client_order_id: &'a str,
    transact_time: i64,
    price: String,
    orig_qty: String,
    executed_qty: String,
    orig_quote_order_qty: String,
    cummulative_quote_qty: String,
    status: &'static str,
    time_in_force: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_price: Option<String>,
    self_trade_prevention_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireTrade<'a> {
    symbol: &'a str,
    id: i64,
    order_id: i64,
    order_list_id: i64,
    price: String,
    qty: String,
    quote_qty: String,
    commission: String,
    commission_asset: &'a str,
    time: i64,
    is_buyer: bool,
    is_maker: bool,
    is_best_match: bool,
}

#[derive(Serialize)]
struct WireBalance<'a> {
    asset: &'a str,
    free: String,
    locked: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireAccount<'a> {
    maker_commission: i64,
    taker_commission: i64,
    buyer_commission: i64,
    seller_commission: i64,
    commission_rates: serde_json::Value,
    can_trade: bool,
    can_withdraw: bool,
    can_deposit: bool,
    brokered: bool,
    require_self_trade_prevention: bool,
    prevent_sor: bool,
    update_time: i64,
    account_type: &'static str,
    balances: Vec<WireBalance<'a>>,
    permissions: [&'static str; 1],
    uid: u32,
}

fn stop_of(o: &PaperOrder) -> Option<String> {
    o.is_stop().then(|| px(o.stop_price))
}

fn result_of(o: &PaperOrder, transact_time: i64, full: bool) -> WireResult<'_> {
    WireResult {
        symbol: o.symbol.as_str(),
        order_id: o.order_id,
        order_list_id: -1,
        client_order_id: &o.client_order_id,
        transact_time,
        price: px(o.price),
        orig_qty: px(o.orig_qty),
        executed_qty: px(o.executed_qty),
        orig_quote_order_qty: px(o.orig_quote_qty),
        cummulative_quote_qty: px(o.cumm_quote_qty),
        status: o.status.as_str(),
        time_in_force: tif_str(o.time_in_force),
        kind: kind_str(o.kind),
        side: o.side.as_str(),
        stop_price: stop_of(o),
        working_time: o.working_time_ms.unwrap_or(-1),
        self_trade_prevention_mode: "NONE",
        fills: full.then(|| {
            o.fills
                .iter()
                .map(|f| WireFill {
                    price: px(f.price),
                    qty: px(f.qty),
                    commission: px(f.commission),
                    commission_asset: &f.commission_asset,
                    trade_id: f.trade_id,
                })
                .collect()
        }),
    }
}

fn order_of(o: &PaperOrder) -> WireOrder<'_> {
    WireOrder {
        symbol: o.symbol.as_str(),
        order_id: o.order_id,
        order_list_id: -1,
        client_order_id: &o.client_order_id,
        price: px(o.price),
        orig_qty: px(o.orig_qty),
        executed_qty: px(o.executed_qty),
        cummulative_quote_qty: px(o.cumm_quote_qty),
        status: o.status.as_str(),
        time_in_force: tif_str(o.time_in_force),
        kind: kind_str(o.kind),
        side: o.side.as_str(),
        stop_price: px(o.stop_price),
        iceberg_qty: px(Fixed::ZERO),
        time: o.time_ms,
        update_time: o.update_time_ms,
        is_working: o.working_time_ms.is_some(),
        working_time: o.working_time_ms.unwrap_or(-1),
        orig_quote_order_qty: px(o.orig_quote_qty),
        self_trade_prevention_mode: "NONE",
    }
}

fn cancel_of<'a>(o: &'a PaperOrder, cancel_id: &'a str, now_ms: i64) -> WireCancel<'a> {
    WireCancel {
        symbol: o.symbol.as_str(),
        orig_client_order_id: &o.client_order_id,
        order_id: o.order_id,
        order_list_id: -1,
        client_order_id: cancel_id,
        transact_time: now_ms,
        price: px(o.price),
        orig_qty: px(o.orig_qty),
        executed_qty: px(o.executed_qty),
        orig_quote_order_qty: px(o.orig_quote_qty),
        cummulative_quote_qty: px(o.cumm_quote_qty),
        status: o.status.as_str(),
        time_in_force: tif_str(o.time_in_force),
        kind: kind_str(o.kind),
        side: o.side.as_str(),
        stop_price: stop_of(o),
        self_trade_prevention_mode: "NONE",
    }
}

/// A `limit` parameter within `1..=max` (default when absent).
fn limit_param(p: &Params, default: usize, max: usize) -> Result<usize, SyntheticResponse> {
    match p.get("limit") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(max)),
            _ => Err(error(
                400,
                -1100,
                "Illegal characters found in parameter 'limit'.",
            )),
        },
    }
}

fn ms_param(p: &Params, name: &str) -> Result<Option<i64>, SyntheticResponse> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            error(
                400,
                -1100,
                &format!("Illegal characters found in parameter '{name}'."),
            )
        }),
    }
}

fn id_param(p: &Params, name: &str) -> Result<Option<i64>, SyntheticResponse> {
    ms_param(p, name)
}

/// The `symbols=["A","B"]` list parameter.
fn symbols_param(p: &Params) -> Result<Option<Vec<String>>, SyntheticResponse> {
    match p.get("symbols") {
        None => Ok(None),
        Some(v) => serde_json::from_str::<Vec<String>>(v)
            .map(Some)
            .map_err(|_| {
                error(
                    400,
                    -1100,
                    "Illegal characters found in parameter 'symbols'.",
                )
            }),
    }
}

/// The symbols a market-data request names: one (`symbol`), several
/// (`symbols`), or every simulated one. An unknown name is Binance's -1121.
fn selected<'m>(
    m: &'m MarketSim,
    p: &Params,
) -> Result<(Vec<&'m SimSymbol>, bool), SyntheticResponse> {
    if p.get("symbol").is_some() {
        let s = parse_symbol(p).map_err(|r| rejection(&r))?;
        let info = m
            .symbol_info(s.as_str())
            .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))?;
        return Ok((vec![info], true));
    }
    match symbols_param(p)? {
        Some(names) => names
            .iter()
            .map(|n| {
                m.symbol_info(n)
                    .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| (v, false)),
        None => Ok((m.symbols().collect(), false)),
    }
}

/// Either one object (when `symbol` was given) or an array.
fn one_or_many(mut values: Vec<serde_json::Value>, one: bool) -> SyntheticResponse {
    if one && values.len() == 1 {
        ok(&values.remove(0))
    } else {
        ok(&values)
    }
}

fn spread(m: &MarketSim, s: &SimSymbol) -> (Fixed, Fixed, Fixed) {
    let last = m.price(s.symbol.as_str()).unwrap_or(s.tick_size);
    let bid = if last > s.tick_size {
        last.saturating_sub(s.tick_size)
    } else {
        last
    };
    (last, bid, last.saturating_add(s.tick_size))
}

/// Resting size at depth level `i` (0 = best), on step.
fn level_qty(s: &SimSymbol, i: usize) -> Fixed {
    let base = s.daily_volume_base / 20_000.0 * (1.0 + (i % 7) as f64 * 0.35 + i as f64 * 0.02);
    let q = Fixed::from_f64(base).unwrap_or(s.min_qty);
    let step = s.step_size.0.max(1);
    Fixed((q.0 - q.0.rem_euclid(step)).max(s.min_qty.0))
}

fn exchange_filters(s: &SimSymbol) -> serde_json::Value {
    json!([
        {"filterType": "PRICE_FILTER", "minPrice": px(s.tick_size),
         "maxPrice": px(Fixed::from_units(MAX_PRICE_UNITS)), "tickSize": px(s.tick_size)},
        {"filterType": "LOT_SIZE", "minQty": px(s.min_qty), "maxQty": px(s.max_qty), "stepSize": px(s.step_size)},
        {"filterType": "ICEBERG_PARTS", "limit": 10},
        {"filterType": "MARKET_LOT_SIZE", "minQty": px(Fixed::ZERO), "maxQty": px(s.max_qty), "stepSize": px(Fixed::ZERO)},
        {"filterType": "NOTIONAL", "minNotional": px(s.min_notional), "applyMinToMarket": true,
         "maxNotional": px(Fixed::from_units(MAX_NOTIONAL_UNITS)), "applyMaxToMarket": false, "avgPriceMins": 5},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": MAX_OPEN_ORDERS_PER_SYMBOL},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": MAX_STOP_ORDERS_PER_SYMBOL}
    ])
}

/// Endpoints that need an API key (Binance's USER_DATA / TRADE / USER_STREAM).
fn needs_key(method: &Method, path: &str) -> bool {
    matches!(
        (method, path),
        (&Method::POST, "/api/v3/order")
            | (&Method::POST, "/api/v3/order/test")
            | (&Method::DELETE, "/api/v3/order")
            | (&Method::GET, "/api/v3/order")
            | (&Method::DELETE, "/api/v3/openOrders")
            | (&Method::GET, "/api/v3/openOrders")
            | (&Method::GET, "/api/v3/allOrders")
            | (&Method::GET, "/api/v3/myTrades")
            | (&Method::GET, "/api/v3/account")
            | (_, "/api/v3/userDataStream")
    )
}

impl PaperBinance {
    /// A paper exchange over `market`; each API key gets an account with
    /// `starting_balances` on first use (at most 1024 accounts).
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
    ) -> PaperBinance {
        PaperBinance::with_max_accounts(market, clock, starting_balances, DEFAULT_MAX_ACCOUNTS)
    }

    pub fn with_max_accounts(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, Fixed)>,
        max_accounts: usize,
    ) -> PaperBinance {
        PaperBinance {
            market,
            clock,
            books: parking_lot::Mutex::new(Books::new(starting_balances, max_accounts)),
        }
    }

    /// Commission charged per fill, as a fraction (e.g. 0.001); zero by default.
    pub fn set_commission_rate(&self, rate: Fixed) {
        self.books.lock().set_commission_rate(rate);
    }

    /// One paper account's balance of one asset (None: no such account or asset yet).
    pub fn balance(&self, api_key: &str, asset: &str) -> Option<AssetBalance> {
        self.books
            .lock()
            .account(api_key)?
            .balances
            .get(asset)
            .copied()
    }

    /// How many orders one paper account has open.
    pub fn open_order_count(&self, api_key: &str) -> usize {
        self.books
            .lock()
            .account(api_key)
            .map_or(0, |a| a.open_orders(None).count())
    }

    /// The market this exchange trades on.
    pub fn market(&self) -> &SharedMarket {
        &self.market
    }

    /// Advances the market to the clock and fills resting orders that it crossed.
    /// Called on every request; a background task may call it too.
    pub fn sync(&self) -> i64 {
        let now_ms = self.clock.now_ms();
        // Most requests fall between steps: only take the write lock when one is due.
        if self.market.read().is_due(now_ms) {
            self.market.write().advance_to(now_ms);
        }
        let m = self.market.read();
        self.books.lock().match_resting(&m, now_ms);
        now_ms
    }

    /// Answers one request as Binance spot would.
    pub fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        let now_ms = self.sync();
        let params = match Params::parse(req.query, req.body) {
            Ok(p) => p,
            Err(e) => return param_error(&e),
        };
        let key = if needs_key(req.method, req.path) {
            match req.headers.get(API_KEY_HEADER).map(|v| v.to_str()) {
                Some(Ok(k))
                    if !k.is_empty()
                        && k.len() <= MAX_API_KEY_LEN
                        && k.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    k.to_owned()
                }
                _ => return error(401, -2014, "API-key format invalid."),
            }
        } else {
            String::new()
        };
        let m = self.market.read();
        let p = &params;
        let result = match (req.method, req.path) {
            (&Method::GET, "/api/v3/ping") => Ok(ok(&json!({}))),
            (&Method::GET, "/api/v3/time") => Ok(ok(&json!({ "serverTime": now_ms }))),
            (&Method::GET, "/api/v3/exchangeInfo") => self.exchange_info(&m, p, now_ms),
            (&Method::GET, "/api/v3/ticker/price") => ticker_price(&m, p),
            (&Method::GET, "/api/v3/ticker/bookTicker") => book_ticker(&m, p),
            (&Method::GET, "/api/v3/ticker/24hr") => ticker_24h(&m, p),
            (&Method::GET, "/api/v3/avgPrice") => avg_price(&m, p),
            (&Method::GET, "/api/v3/klines" | "/api/v3/uiKlines") => klines(&m, p),
            (&Method::GET, "/api/v3/depth") => depth(&m, p),
            (&Method::POST, "/api/v3/order") => self.new_order(&m, &key, p, now_ms, false),
            (&Method::POST, "/api/v3/order/test") => self.new_order(&m, &key, p, now_ms, true),
            (&Method::DELETE, "/api/v3/order") => self.cancel(&m, &key, p, now_ms),
            (&Method::DELETE, "/api/v3/openOrders") => self.cancel_all(&m, &key, p, now_ms),
            (&Method::GET, "/api/v3/order") => self.query_order(&m, &key, p),
            (&Method::GET, "/api/v3/openOrders") => self.open_orders(&m, &key, p),
            (&Method::GET, "/api/v3/allOrders") => self.all_orders(&m, &key, p),
            (&Method::GET, "/api/v3/myTrades") => self.my_trades(&m, &key, p),
            (&Method::GET, "/api/v3/account") => self.account(&m, &key, p, now_ms),
            (&Method::POST, "/api/v3/userDataStream") => Ok(ok(
                &json!({ "listenKey": format!("paper{:08x}", crc32fast::hash(key.as_bytes())) }),
            )),
            (&Method::PUT | &Method::DELETE, "/api/v3/userDataStream") => Ok(ok(&json!({}))),
            // Binance's front end answers unknown paths with a bare 404 (not JSON).
            (m, path) => Ok(SyntheticResponse {
                status: 404,
                body: Bytes::from(format!("paper exchange: {m} {path} is not simulated")),
            }),
        };
        result.unwrap_or_else(|e| e)
    }

    fn exchange_info(
        &self,
        m: &MarketSim,
        p: &Params,
        now_ms: i64,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let (syms, _) = selected(m, p)?;
        let symbols: Vec<serde_json::Value> = syms
            .iter()
            .map(|s| {
                json!({
                    "symbol": s.symbol.as_str(),
                    "status": "TRADING",
                    "baseAsset": s.base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": s.quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
                    "icebergAllowed": false,
                    "ocoAllowed": false,
                    "otoAllowed": false,
                    "quoteOrderQtyMarketAllowed": true,
                    "allowTrailingStop": false,
                    "cancelReplaceAllowed": false,
                    "amendAllowed": false,
                    "isSpotTradingAllowed": true,
                    "isMarginTradingAllowed": false,
                    "filters": exchange_filters(s),
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "NONE",
                    "allowedSelfTradePreventionModes": ["NONE"]
                })
            })
            .collect();
        Ok(ok(&json!({
            "timezone": "UTC",
            "serverTime": now_ms,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}
            ],
            "exchangeFilters": [],
            "symbols": symbols
        })))
    }

    fn new_order(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
        now_ms: i64,
        test_only: bool,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let order = parse_new_order(p, test_only).map_err(|r| rejection(&r))?;
        let resp_type = match p.get("newOrderRespType") {
            None if matches!(order.kind, OrderKind::Market | OrderKind::Limit) => "FULL",
            None => "ACK",
            Some(t @ ("ACK" | "RESULT" | "FULL")) => t,
            Some(_) => {
                return Err(error(
                    400,
                    -1100,
                    "Illegal characters found in parameter 'newOrderRespType'.",
                ))
            }
        };
        let mut books = self.books.lock();
        if test_only {
            // Checked against symbol and filters, never placed (Binance answers `{}`).
            m.symbol_info(order.symbol.as_str())
                .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))?;
            books.account_mut(key, m).map_err(|e| paper_error(&e))?;
            return Ok(ok(&json!({})));
        }
        let placed = books
            .place(key, &order, m, now_ms)
            .map_err(|e| paper_error(&e))?;
        let o = &placed.order;
        Ok(match resp_type {
            "ACK" => ok(&WireAck {
                symbol: o.symbol.as_str(),
                order_id: o.order_id,
                order_list_id: -1,
                client_order_id: &o.client_order_id,
                transact_time: placed.transact_time_ms,
            }),
            t => ok(&result_of(o, placed.transact_time_ms, t == "FULL")),
        })
    }

    fn symbol_and_ref(m: &MarketSim, p: &Params) -> Result<(String, OrderRef), SyntheticResponse> {
        let symbol = parse_symbol(p).map_err(|r| rejection(&r))?;
        m.symbol_info(symbol.as_str())
            .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))?;
        let r = parse_order_ref(p).map_err(|r| rejection(&r))?;
        Ok((symbol.as_str().to_owned(), r))
    }

    fn cancel_client_id(p: &Params, order_id: i64) -> String {
        p.get("newClientOrderId")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("paperx{order_id:016}"))
    }

    fn cancel(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
        now_ms: i64,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let (symbol, r) = Self::symbol_and_ref(m, p)?;
        let mut books = self.books.lock();
        let o = books
            .cancel(key, &symbol, &r, now_ms, m)
            .map_err(|e| paper_error(&e))?;
        let cancel_id = Self::cancel_client_id(p, o.order_id);
        Ok(ok(&cancel_of(&o, &cancel_id, now_ms)))
    }

    fn cancel_all(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
        now_ms: i64,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let symbol = parse_symbol(p).map_err(|r| rejection(&r))?;
        let mut books = self.books.lock();
        let orders = books
            .cancel_all(key, symbol.as_str(), now_ms, m)
            .map_err(|e| paper_error(&e))?;
        let ids: Vec<String> = orders
            .iter()
            .map(|o| Self::cancel_client_id(p, o.order_id))
            .collect();
        let answers: Vec<WireCancel<'_>> = orders
            .iter()
            .zip(&ids)
            .map(|(o, id)| cancel_of(o, id, now_ms))
            .collect();
        Ok(ok(&answers))
    }

    fn query_order(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let (symbol, r) = Self::symbol_and_ref(m, p)?;
        let mut books = self.books.lock();
        let acct = books.account_mut(key, m).map_err(|e| paper_error(&e))?;
        let o = acct
            .find(&symbol, &r)
            .ok_or_else(|| paper_error(&PaperError::NoSuchOrder))?;
        Ok(ok(&order_of(o)))
    }

    fn open_orders(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let symbol = match p.get("symbol") {
            None => None,
            Some(_) => {
                let s = parse_symbol(p).map_err(|r| rejection(&r))?;
                m.symbol_info(s.as_str())
                    .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))?;
                Some(s)
            }
        };
        let mut books = self.books.lock();
        let acct = books.account_mut(key, m).map_err(|e| paper_error(&e))?;
        let list: Vec<WireOrder<'_>> = acct
            .open_orders(symbol.as_ref().map(|s| s.as_str()))
            .map(order_of)
            .collect();
        Ok(ok(&list))
    }

    fn all_orders(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        if p.get("symbol").is_none() {
            return Err(mandatory("symbol"));
        }
        let symbol = parse_symbol(p).map_err(|r| rejection(&r))?;
        m.symbol_info(symbol.as_str())
            .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))?;
        let limit = limit_param(p, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
        let from_id = id_param(p, "orderId")?;
        let (start, end) = (ms_param(p, "startTime")?, ms_param(p, "endTime")?);
        let mut books = self.books.lock();
        let acct = books.account_mut(key, m).map_err(|e| paper_error(&e))?;
        let mut list: Vec<&PaperOrder> = acct
            .all_orders(symbol.as_str())
            .into_iter()
            .filter(|o| from_id.is_none_or(|id| o.order_id >= id))
            .filter(|o| start.is_none_or(|s| o.time_ms >= s) && end.is_none_or(|e| o.time_ms <= e))
            .collect();
        if from_id.is_some() || start.is_some() {
            list.truncate(limit);
        } else if list.len() > limit {
            list.drain(..list.len() - limit);
        }
        let wire: Vec<WireOrder<'_>> = list.into_iter().map(order_of).collect();
        Ok(ok(&wire))
    }

    fn my_trades(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        if p.get("symbol").is_none() {
            return Err(mandatory("symbol"));
        }
        let symbol = parse_symbol(p).map_err(|r| rejection(&r))?;
        m.symbol_info(symbol.as_str())
            .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))?;
        let limit = limit_param(p, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
        let from_id = id_param(p, "fromId")?;
        let order_id = id_param(p, "orderId")?;
        let (start, end) = (ms_param(p, "startTime")?, ms_param(p, "endTime")?);
        let mut books = self.books.lock();
        let acct = books.account_mut(key, m).map_err(|e| paper_error(&e))?;
        let mut list: Vec<WireTrade<'_>> = acct
            .trades(symbol.as_str())
            .filter(|t| from_id.is_none_or(|id| t.fill.trade_id >= id))
            .filter(|t| order_id.is_none_or(|id| t.order_id == id))
            .filter(|t| {
                start.is_none_or(|s| t.fill.time_ms >= s) && end.is_none_or(|e| t.fill.time_ms <= e)
            })
            .map(|t| WireTrade {
                symbol: t.symbol.as_str(),
                id: t.fill.trade_id,
                order_id: t.order_id,
                order_list_id: -1,
                price: px(t.fill.price),
                qty: px(t.fill.qty),
                quote_qty: px(t.fill.quote_qty),
                commission: px(t.fill.commission),
                commission_asset: &t.fill.commission_asset,
                time: t.fill.time_ms,
                is_buyer: t.side == Side::Buy,
                is_maker: t.fill.is_maker,
                is_best_match: true,
            })
            .collect();
        if from_id.is_some() || start.is_some() {
            list.truncate(limit);
        } else if list.len() > limit {
            list.drain(..list.len() - limit);
        }
        Ok(ok(&list))
    }

    fn account(
        &self,
        m: &MarketSim,
        key: &str,
        p: &Params,
        now_ms: i64,
    ) -> Result<SyntheticResponse, SyntheticResponse> {
        let omit_zero = p.get("omitZeroBalances") == Some("true");
        let mut books = self.books.lock();
        let rate = books.commission_rate();
        let acct = books.account_mut(key, m).map_err(|e| paper_error(&e))?;
        let bps = (rate.to_f64() * 10_000.0).round() as i64;
        let balances = acct
            .balances
            .iter()
            .filter(|(_, b)| !omit_zero || b.free.is_positive() || b.locked.is_positive())
            .map(|(asset, b)| WireBalance {
                asset,
                free: px(b.free),
                locked: px(b.locked),
            })
            .collect();
        Ok(ok(&WireAccount {
            maker_commission: bps,
            taker_commission: bps,
            buyer_commission: 0,
            seller_commission: 0,
            commission_rates: json!({"maker": px(rate), "taker": px(rate), "buyer": px(Fixed::ZERO), "seller": px(Fixed::ZERO)}),
            can_trade: true,
            can_withdraw: false,
            can_deposit: false,
            brokered: false,
            require_self_trade_prevention: false,
            prevent_sor: false,
            update_time: now_ms,
            account_type: "SPOT",
            balances,
            permissions: ["SPOT"],
            uid: crc32fast::hash(key.as_bytes()),
        }))
    }
}

impl crate::proxy::InProcessVenue for PaperBinance {
    fn handle(&self, req: &RequestView<'_>) -> SyntheticResponse {
        PaperBinance::handle(self, req)
    }
}

fn ticker_price(m: &MarketSim, p: &Params) -> Result<SyntheticResponse, SyntheticResponse> {
    let (syms, one) = selected(m, p)?;
    let v = syms
        .iter()
        .map(|s| json!({"symbol": s.symbol.as_str(), "price": px(spread(m, s).0)}))
        .collect();
    Ok(one_or_many(v, one))
}

fn book_ticker(m: &MarketSim, p: &Params) -> Result<SyntheticResponse, SyntheticResponse> {
    let (syms, one) = selected(m, p)?;
    let v = syms
        .iter()
        .map(|s| {
            let (_, bid, ask) = spread(m, s);
            json!({"symbol": s.symbol.as_str(), "bidPrice": px(bid), "bidQty": px(level_qty(s, 0)),
                   "askPrice": px(ask), "askQty": px(level_qty(s, 1))})
        })
        .collect();
    Ok(one_or_many(v, one))
}

fn ticker_24h(m: &MarketSim, p: &Params) -> Result<SyntheticResponse, SyntheticResponse> {
    let (syms, one) = selected(m, p)?;
    let v = syms
        .iter()
        .filter_map(|s| {
            let st = m.stats_24h(s.symbol.as_str())?;
            let (last, bid, ask) = spread(m, s);
            let change = Fixed(last.0 - st.open.0);
            let pct = if st.open.is_positive() {
                change.to_f64() / st.open.to_f64() * 100.0
            } else {
                0.0
            };
            let vwap = if st.volume_base > 0.0 {
                st.volume_quote / st.volume_base
            } else {
                last.to_f64()
            };
            Some(json!({
                "symbol": s.symbol.as_str(),
                "priceChange": px(change),
                "priceChangePercent": format!("{pct:.3}"),
                "weightedAvgPrice": f64_amount(vwap),
                "prevClosePrice": px(st.open),
                "lastPrice": px(last),
                "lastQty": px(s.min_qty),
                "bidPrice": px(bid),
                "bidQty": px(level_qty(s, 0)),
                "askPrice": px(ask),
                "askQty": px(level_qty(s, 1)),
                "openPrice": px(st.open),
                "highPrice": px(st.high),
                "lowPrice": px(st.low),
                "volume": f64_amount(st.volume_base),
                "quoteVolume": f64_amount(st.volume_quote),
                "openTime": st.open_time_ms,
                "closeTime": st.close_time_ms,
                "firstId": 1,
                "lastId": st.trades,
                "count": st.trades
            }))
        })
        .collect();
    Ok(one_or_many(v, one))
}

fn one_symbol<'m>(m: &'m MarketSim, p: &Params) -> Result<&'m SimSymbol, SyntheticResponse> {
    if p.get("symbol").is_none() {
        return Err(mandatory("symbol"));
    }
    let s = parse_symbol(p).map_err(|r| rejection(&r))?;
    m.symbol_info(s.as_str())
        .ok_or_else(|| paper_error(&PaperError::InvalidSymbol))
}

fn avg_price(m: &MarketSim, p: &Params) -> Result<SyntheticResponse, SyntheticResponse> {
    let s = one_symbol(m, p)?;
    let bars = m.klines(s.symbol.as_str(), KlineInterval::M1, None, None, 5);
    let avg = bars.iter().map(|b| b.close.to_f64()).sum::<f64>() / bars.len().max(1) as f64;
    let close_time = bars.last().map(|b| b.close_time_ms).unwrap_or(0);
    Ok(ok(
        &json!({"mins": 5, "price": f64_amount(avg), "closeTime": close_time}),
    ))
}

fn klines(m: &MarketSim, p: &Params) -> Result<SyntheticResponse, SyntheticResponse> {
    let s = one_symbol(m, p)?;
    let interval = match p.get("interval") {
        None => return Err(mandatory("interval")),
        Some(i) => KlineInterval::parse(i).ok_or_else(|| error(400, -1120, "Invalid interval."))?,
    };
    let limit = limit_param(p, DEFAULT_KLINE_LIMIT, MAX_KLINE_LIMIT)?;
    let (start, end) = (ms_param(p, "startTime")?, ms_param(p, "endTime")?);
    let rows: Vec<serde_json::Value> = m
        .klines(s.symbol.as_str(), interval, start, end, limit)
        .iter()
        .map(|b| {
            json!([
                b.open_time_ms,
                px(b.open),
                px(b.high),
                px(b.low),
                px(b.close),
                f64_amount(b.volume_base),
                b.close_time_ms,
                f64_amount(b.volume_quote),
                b.trades,
                f64_amount(b.volume_base / 2.0),
                f64_amount(b.volume_quote / 2.0),
                "0"
            ])
        })
        .collect();
    Ok(ok(&rows))
}

fn depth(m: &MarketSim, p: &Params) -> Result<SyntheticResponse, SyntheticResponse> {
    let s = one_symbol(m, p)?;
    let limit = limit_param(p, DEFAULT_DEPTH_LIMIT, MAX_DEPTH_LIMIT)?;
    let (_, bid, ask) = spread(m, s);
    let mut bids = Vec::with_capacity(limit);
    let mut asks = Vec::with_capacity(limit);
    for i in 0..limit {
        let offset = Fixed(s.tick_size.0.saturating_mul(i as i64));
        let b = bid.saturating_sub(offset);
        if b.is_positive() {
            bids.push([px(b), px(level_qty(s, i))]);
        }
        asks.push([px(ask.saturating_add(offset)), px(level_qty(s, i + 1))]);
    }
    Ok(ok(
        &json!({"lastUpdateId": m.tick_seq() + 1, "bids": bids, "asks": asks}),
    ))
}

#[cfg(test)]
mod tests;
