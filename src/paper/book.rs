//! Paper accounts: balances, open orders, fills and history, matched against the
//! simulated market.
//!
//! Owns the bookkeeping of the paper exchange (spot semantics: buys spend quote,
//! sells spend base, resting orders lock what they may spend). Knows no wire
//! format (`paper::binance` renders answers) and no clock (callers pass times and
//! a market snapshot). Every collection is bounded. Must not touch `market::sim`
//! state: it only reads prices handed to it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::market::sim::{MarketSim, SimSymbol};
use crate::model::{Fixed, NewOrder, OrderKind, OrderRef, Side, Symbol, TimeInForce};

/// Paper accounts kept (one per API key).
pub const DEFAULT_MAX_ACCOUNTS: usize = 1024;
/// Open orders per symbol per account (Binance's MAX_NUM_ORDERS).
pub const MAX_OPEN_ORDERS_PER_SYMBOL: usize = 200;
/// Untriggered stop orders per symbol per account (Binance's MAX_NUM_ALGO_ORDERS).
pub const MAX_STOP_ORDERS_PER_SYMBOL: usize = 5;
/// Closed orders remembered per account (for order queries and allOrders).
pub const MAX_CLOSED_ORDERS: usize = 500;
/// Trades remembered per account (for myTrades).
pub const MAX_TRADES: usize = 500;
/// Highest price any symbol accepts (PRICE_FILTER maxPrice).
pub const MAX_PRICE_UNITS: i64 = 1_000_000;
/// Highest notional accepted (NOTIONAL maxNotional).
pub const MAX_NOTIONAL_UNITS: i64 = 9_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaperStatus {
    New,
    Filled,
    Canceled,
    Expired,
}

impl PaperStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaperStatus::New => "NEW",
            PaperStatus::Filled => "FILLED",
            PaperStatus::Canceled => "CANCELED",
            PaperStatus::Expired => "EXPIRED",
        }
    }
}

/// Why the paper exchange refused something (rendered in the venue's error shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaperError {
    InvalidSymbol,
    /// An exchange filter failed (`PRICE_FILTER`, `LOT_SIZE`, `NOTIONAL`, ...).
    Filter(&'static str),
    InsufficientBalance,
    DuplicateOrder,
    /// Cancel of an order that is not open.
    UnknownOrder,
    /// Query of an order never seen (or forgotten).
    NoSuchOrder,
    WouldMatch,
    StopWouldTrigger,
    TooManyAccounts,
    Unsupported(&'static str),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    pub trade_id: i64,
    pub price: Fixed,
    pub qty: Fixed,
    pub quote_qty: Fixed,
    pub commission: Fixed,
    pub commission_asset: String,
    pub is_maker: bool,
    pub time_ms: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PaperOrder {
    pub symbol: Symbol,
    pub order_id: i64,
    pub client_order_id: String,
    pub side: Side,
    pub kind: OrderKind,
    pub time_in_force: TimeInForce,
    /// Limit price (zero for market orders, as Binance shows it).
    pub price: Fixed,
    pub stop_price: Fixed,
    pub orig_qty: Fixed,
    pub orig_quote_qty: Fixed,
    pub executed_qty: Fixed,
    pub cumm_quote_qty: Fixed,
    pub status: PaperStatus,
    pub time_ms: i64,
    pub update_time_ms: i64,
    /// When the order joined the book (None: a stop not yet triggered).
    pub working_time_ms: Option<i64>,
    pub fills: Vec<Fill>,
    locked_asset: String,
    locked: Fixed,
    /// Market step time at placement: only later steps can fill it.
    placed_tick_ms: i64,
}

impl PaperOrder {
    pub fn is_stop(&self) -> bool {
        matches!(
            self.kind,
            OrderKind::StopMarket
                | OrderKind::StopLimit
                | OrderKind::TakeProfitMarket
                | OrderKind::TakeProfitLimit
        )
    }

    fn untriggered(&self) -> bool {
        self.is_stop() && self.working_time_ms.is_none()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trade {
    pub symbol: Symbol,
    pub order_id: i64,
    pub side: Side,
    pub fill: Fill,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssetBalance {
    pub free: Fixed,
    pub locked: Fixed,
}

#[derive(Debug, Default)]
pub struct Account {
    pub balances: BTreeMap<String, AssetBalance>,
    open: BTreeMap<i64, PaperOrder>,
    closed: VecDeque<PaperOrder>,
    trades: VecDeque<Trade>,
}

impl Account {
    pub fn open_orders<'a>(
        &'a self,
        symbol: Option<&'a str>,
    ) -> impl Iterator<Item = &'a PaperOrder> + 'a {
        self.open
            .values()
            .filter(move |o| symbol.is_none_or(|s| o.symbol.as_str() == s))
    }

    /// Every remembered order of a symbol, oldest first.
    pub fn all_orders(&self, symbol: &str) -> Vec<&PaperOrder> {
        let mut v: Vec<&PaperOrder> = self
            .closed
            .iter()
            .chain(self.open.values())
            .filter(|o| o.symbol.as_str() == symbol)
            .collect();
        v.sort_by_key(|o| o.order_id);
        v
    }

    pub fn trades<'a>(&'a self, symbol: &'a str) -> impl Iterator<Item = &'a Trade> + 'a {
        self.trades
            .iter()
            .filter(move |t| t.symbol.as_str() == symbol)
    }

    pub fn find(&self, symbol: &str, r: &OrderRef) -> Option<&PaperOrder> {
        let matches = |o: &&PaperOrder| {
            o.symbol.as_str() == symbol
                && match r {
                    OrderRef::ExchangeId(id) => o.order_id == *id,
                    OrderRef::ClientId(c) => o.client_order_id == **c,
                }
        };
        self.open
            .values()
            .find(matches)
            .or_else(|| self.closed.iter().rev().find(matches))
    }

    fn balance(&mut self, asset: &str) -> &mut AssetBalance {
        self.balances.entry(asset.to_owned()).or_default()
    }

    fn remember_closed(&mut self, order: PaperOrder) {
        if self.closed.len() == MAX_CLOSED_ORDERS {
            self.closed.pop_front();
        }
        self.closed.push_back(order);
    }

    fn remember_trade(&mut self, trade: Trade) {
        if self.trades.len() == MAX_TRADES {
            self.trades.pop_front();
        }
        self.trades.push_back(trade);
    }
}

/// `a × b` rounded half up to 8 decimals; None on overflow.
pub fn mul(a: Fixed, b: Fixed) -> Option<Fixed> {
    let scale = crate::model::decimal::FIXED_SCALE as i128;
    let p = a.0 as i128 * b.0 as i128;
    i64::try_from((p + scale / 2).div_euclid(scale))
        .ok()
        .map(Fixed)
}

/// Rounds down to a multiple of `step`.
fn floor_to(v: Fixed, step: Fixed) -> Fixed {
    if step.0 <= 0 {
        return v;
    }
    Fixed(v.0 - v.0.rem_euclid(step.0))
}

/// What a new order did.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    pub order: PaperOrder,
    pub transact_time_ms: i64,
}

/// Every paper account plus the id counters. Not thread-safe by itself.
#[derive(Debug)]
pub struct Books {
    accounts: HashMap<String, Account>,
    max_accounts: usize,
    starting_balances: Vec<(String, Fixed)>,
    commission_rate: Fixed,
    next_order_id: i64,
    next_trade_id: i64,
    /// Market step time up to which resting orders have been matched.
    matched_through_ms: i64,
}

impl Books {
    pub fn new(starting_balances: Vec<(String, Fixed)>, max_accounts: usize) -> Books {
        Books {
            accounts: HashMap::new(),
            max_accounts: max_accounts.max(1),
            starting_balances,
            commission_rate: Fixed::ZERO,
            next_order_id: 1,
            next_trade_id: 1,
            matched_through_ms: i64::MIN,
        }
    }

    /// Commission per fill as a fraction (Binance's default is 0.001); zero by default
    /// so that paper balances move exactly by the executed quantities.
    pub fn set_commission_rate(&mut self, rate: Fixed) {
        self.commission_rate = rate;
    }

    pub fn commission_rate(&self) -> Fixed {
        self.commission_rate
    }

    pub fn account(&self, key: &str) -> Option<&Account> {
        self.accounts.get(key)
    }

    /// The account for an API key, created with the starting balances on first use.
    pub fn account_mut(
        &mut self,
        key: &str,
        market: &MarketSim,
    ) -> Result<&mut Account, PaperError> {
        if !self.accounts.contains_key(key) {
            if self.accounts.len() >= self.max_accounts {
                return Err(PaperError::TooManyAccounts);
            }
            let mut acct = Account::default();
            for s in market.symbols() {
                acct.balance(&s.base);
                acct.balance(&s.quote);
            }
            for (asset, amount) in &self.starting_balances {
                acct.balance(asset).free = *amount;
            }
            self.accounts.insert(key.to_owned(), acct);
        }
        self.accounts
            .get_mut(key)
            .ok_or(PaperError::TooManyAccounts)
    }

    /// Places a new order for `key` at the market's current price.
    pub fn place(
        &mut self,
        key: &str,
        req: &NewOrder,
        market: &MarketSim,
        now_ms: i64,
    ) -> Result<Placed, PaperError> {
        let info = market
            .symbol_info(req.symbol.as_str())
            .ok_or(PaperError::InvalidSymbol)?
            .clone();
        let last = market
            .price(req.symbol.as_str())
            .ok_or(PaperError::InvalidSymbol)?;
        let order = validate(req, &info, last)?;
        let commission_rate = self.commission_rate;
        let order_id = self.next_order_id;
        self.account_mut(key, market)?;
        let acct = self
            .accounts
            .get_mut(key)
            .ok_or(PaperError::TooManyAccounts)?;
        if let Some(id) = &req.client_order_id {
            if acct.open.values().any(|o| o.client_order_id == **id) {
                return Err(PaperError::DuplicateOrder);
            }
        }
        let same_symbol = acct.open_orders(Some(req.symbol.as_str()));
        let (open_n, stop_n) = same_symbol.fold((0, 0), |(n, s), o| {
            (n + 1, s + usize::from(o.untriggered()))
        });
        if open_n >= MAX_OPEN_ORDERS_PER_SYMBOL {
            return Err(PaperError::Filter("MAX_NUM_ORDERS"));
        }
        let mut order = PaperOrder {
            symbol: req.symbol.clone(),
            order_id,
            client_order_id: req
                .client_order_id
                .as_deref()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("paper{order_id:017}")),
            side: req.side,
            kind: req.kind,
            time_in_force: req.time_in_force.unwrap_or(TimeInForce::Gtc),
            price: order.price,
            stop_price: order.stop_price,
            orig_qty: order.qty,
            orig_quote_qty: req.quote_qty.unwrap_or(Fixed::ZERO),
            executed_qty: Fixed::ZERO,
            cumm_quote_qty: Fixed::ZERO,
            status: PaperStatus::New,
            time_ms: now_ms,
            update_time_ms: now_ms,
            working_time_ms: Some(now_ms),
            fills: Vec::new(),
            locked_asset: String::new(),
            locked: Fixed::ZERO,
            placed_tick_ms: market.last_tick_ms(),
        };
        let mut trade_id = self.next_trade_id;
        let fill_now = match order.kind {
            OrderKind::Market => Some(last),
            _ if order.is_stop() => {
                if stop_triggered(order.kind, order.side, order.stop_price, last, last) {
                    return Err(PaperError::StopWouldTrigger);
                }
                if stop_n >= MAX_STOP_ORDERS_PER_SYMBOL {
                    return Err(PaperError::Filter("MAX_NUM_ALGO_ORDERS"));
                }
                order.working_time_ms = None;
                None
            }
            _ => {
                let marketable = limit_crossed(order.side, order.price, last, last);
                if marketable && order.kind == OrderKind::LimitMaker {
                    return Err(PaperError::WouldMatch);
                }
                if marketable {
                    Some(last)
                } else if matches!(order.time_in_force, TimeInForce::Ioc | TimeInForce::Fok) {
                    order.status = PaperStatus::Expired;
                    None
                } else {
                    None
                }
            }
        };
        if let Some(px) = fill_now {
            execute(
                acct,
                &info,
                &mut order,
                px,
                false,
                commission_rate,
                &mut trade_id,
                now_ms,
            )?;
        } else if order.status == PaperStatus::New {
            lock(acct, &info, &mut order)?;
        }
        self.next_trade_id = trade_id;
        self.next_order_id = order_id + 1;
        let placed = Placed {
            order: order.clone(),
            transact_time_ms: now_ms,
        };
        if order.status == PaperStatus::New {
            acct.open.insert(order.order_id, order);
        } else {
            acct.remember_closed(order);
        }
        Ok(placed)
    }

    /// Cancels one open order.
    pub fn cancel(
        &mut self,
        key: &str,
        symbol: &str,
        r: &OrderRef,
        now_ms: i64,
        market: &MarketSim,
    ) -> Result<PaperOrder, PaperError> {
        market
            .symbol_info(symbol)
            .ok_or(PaperError::InvalidSymbol)?;
        let acct = self.account_mut(key, market)?;
        let id = acct
            .open
            .values()
            .find(|o| {
                o.symbol.as_str() == symbol
                    && match r {
                        OrderRef::ExchangeId(id) => o.order_id == *id,
                        OrderRef::ClientId(c) => o.client_order_id == **c,
                    }
            })
            .map(|o| o.order_id)
            .ok_or(PaperError::UnknownOrder)?;
        close(acct, id, PaperStatus::Canceled, now_ms).ok_or(PaperError::UnknownOrder)
    }

    /// Changes a resting order in place (same id): a new total quantity, limit
    /// or trigger price, checked against the symbol's filters like a new
    /// order. A limit that becomes marketable fills at the market price, as a
    /// new one would. On any error the order stays as it was. `new_id`: the
    /// venue cancels and replaces (Kraken `EditOrder`), so the order comes
    /// back under a new id.
    #[allow(clippy::too_many_arguments)]
    pub fn amend(
        &mut self,
        new_id: bool,
        key: &str,
        symbol: Option<&str>,
        r: &OrderRef,
        new_qty: Option<Fixed>,
        new_price: Option<Fixed>,
        new_stop_price: Option<Fixed>,
        market: &MarketSim,
        now_ms: i64,
    ) -> Result<PaperOrder, PaperError> {
        let commission_rate = self.commission_rate;
        let mut trade_id = self.next_trade_id;
        let replacement_id = self.next_order_id;
        self.account_mut(key, market)?;
        let acct = self
            .accounts
            .get_mut(key)
            .ok_or(PaperError::TooManyAccounts)?;
        let id = acct
            .open
            .values()
            .find(|o| {
                symbol.is_none_or(|s| o.symbol.as_str() == s)
                    && match r {
                        OrderRef::ExchangeId(id) => o.order_id == *id,
                        OrderRef::ClientId(c) => o.client_order_id == **c,
                    }
            })
            .map(|o| o.order_id)
            .ok_or(PaperError::UnknownOrder)?;
        let mut order = acct.open.remove(&id).ok_or(PaperError::UnknownOrder)?;
        let info = market
            .symbol_info(order.symbol.as_str())
            .ok_or(PaperError::InvalidSymbol)?
            .clone();
        let last = market
            .price(order.symbol.as_str())
            .ok_or(PaperError::InvalidSymbol)?;
        unlock(acct, &mut order);
        let before = order.clone();
        let positive = |v: Fixed| v.is_positive().then_some(v);
        let req = NewOrder {
            symbol: order.symbol.clone(),
            side: order.side,
            kind: order.kind,
            qty: Some(new_qty.unwrap_or(order.orig_qty)),
            quote_qty: None,
            price: new_price.or(positive(order.price)),
            stop_price: new_stop_price.or(positive(order.stop_price)),
            time_in_force: Some(order.time_in_force),
            client_order_id: None,
            reduce_only: false,
            contract: crate::model::Contract::Spot,
            test_only: false,
        };
        let result = (|| {
            let checked = validate(&req, &info, last)?;
            order.orig_qty = checked.qty;
            order.price = checked.price;
            order.stop_price = checked.stop_price;
            order.update_time_ms = now_ms;
            let marketable = !order.untriggered()
                && order.kind.has_limit_price()
                && limit_crossed(order.side, order.price, last, last);
            if marketable && order.kind == OrderKind::LimitMaker {
                return Err(PaperError::WouldMatch);
            }
            if marketable {
                execute(
                    acct,
                    &info,
                    &mut order,
                    last,
                    false,
                    commission_rate,
                    &mut trade_id,
                    now_ms,
                )?;
            } else {
                lock(acct, &info, &mut order)?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.next_trade_id = trade_id;
                if new_id {
                    order.order_id = replacement_id;
                    self.next_order_id = replacement_id + 1;
                }
                let out = order.clone();
                if order.status == PaperStatus::New {
                    acct.open.insert(order.order_id, order);
                } else {
                    acct.remember_closed(order);
                }
                Ok(out)
            }
            Err(e) => {
                // As it was: the same amount locks again (it was just freed).
                let mut order = before;
                let _ = lock(acct, &info, &mut order);
                acct.open.insert(order.order_id, order);
                Err(e)
            }
        }
    }

    /// Cancels every open order on a symbol (oldest first); none open is an error, as on Binance.
    pub fn cancel_all(
        &mut self,
        key: &str,
        symbol: &str,
        now_ms: i64,
        market: &MarketSim,
    ) -> Result<Vec<PaperOrder>, PaperError> {
        market
            .symbol_info(symbol)
            .ok_or(PaperError::InvalidSymbol)?;
        let acct = self.account_mut(key, market)?;
        let ids: Vec<i64> = acct.open_orders(Some(symbol)).map(|o| o.order_id).collect();
        if ids.is_empty() {
            return Err(PaperError::UnknownOrder);
        }
        Ok(ids
            .into_iter()
            .filter_map(|id| close(acct, id, PaperStatus::Canceled, now_ms))
            .collect())
    }

    /// Fills and triggers resting orders against the prices the market took
    /// since the last call. Deterministic: accounts and orders in a fixed order.
    pub fn match_resting(&mut self, market: &MarketSim, now_ms: i64) {
        let through = market.last_tick_ms();
        if through <= self.matched_through_ms {
            return;
        }
        let since = self.matched_through_ms;
        self.matched_through_ms = through;
        let commission_rate = self.commission_rate;
        let mut trade_id = self.next_trade_id;
        let mut keys: Vec<&String> = self
            .accounts
            .iter()
            .filter(|(_, a)| !a.open.is_empty())
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        let keys: Vec<String> = keys.into_iter().cloned().collect();
        let mut ranges: HashMap<(Symbol, i64), Option<(Fixed, Fixed)>> = HashMap::new();
        for key in keys {
            let Some(acct) = self.accounts.get_mut(&key) else {
                continue;
            };
            let ids: Vec<i64> = acct.open.keys().copied().collect();
            for id in ids {
                let Some(o) = acct.open.get(&id) else {
                    continue;
                };
                let after = since.max(o.placed_tick_ms);
                let range = *ranges
                    .entry((o.symbol.clone(), after))
                    .or_insert_with(|| market.range_since(o.symbol.as_str(), after));
                let (Some((low, high)), Some(info), Some(last)) = (
                    range,
                    market.symbol_info(o.symbol.as_str()),
                    market.price(o.symbol.as_str()),
                ) else {
                    continue;
                };
                let info = info.clone();
                let Some(mut order) = acct.open.remove(&id) else {
                    continue;
                };
                let mut price = None;
                let mut is_maker = true;
                if order.untriggered() {
                    if stop_triggered(order.kind, order.side, order.stop_price, low, high) {
                        order.working_time_ms = Some(now_ms);
                        order.update_time_ms = now_ms;
                        if order.kind.has_limit_price() {
                            if limit_crossed(order.side, order.price, last, last) {
                                price = Some(last);
                                is_maker = false;
                            }
                        } else {
                            price = Some(last);
                            is_maker = false;
                        }
                    }
                } else if limit_crossed(order.side, order.price, low, high) {
                    price = Some(order.price);
                }
                let Some(px) = price else {
                    acct.open.insert(id, order);
                    continue;
                };
                // Release what this order locked, then settle it like a fresh fill.
                unlock(acct, &mut order);
                match execute(
                    acct,
                    &info,
                    &mut order,
                    px,
                    is_maker,
                    commission_rate,
                    &mut trade_id,
                    now_ms,
                ) {
                    Ok(()) => acct.remember_closed(order),
                    Err(_) => {
                        order.status = PaperStatus::Expired;
                        order.update_time_ms = now_ms;
                        acct.remember_closed(order);
                    }
                }
            }
        }
        self.next_trade_id = trade_id;
    }
}

/// Sizes and prices checked against the symbol's filters, as Binance does.
struct Checked {
    qty: Fixed,
    price: Fixed,
    stop_price: Fixed,
}

fn validate(req: &NewOrder, info: &SimSymbol, last: Fixed) -> Result<Checked, PaperError> {
    if req.stop_price.is_none() && req.kind != OrderKind::Market && !req.kind.has_limit_price() {
        return Err(PaperError::Unsupported("trailingDelta"));
    }
    if matches!(req.kind, OrderKind::StopLimit | OrderKind::TakeProfitLimit)
        && req.stop_price.is_none()
    {
        return Err(PaperError::Unsupported("trailingDelta"));
    }
    let on_tick = |p: Fixed| {
        p.0 % info.tick_size.0.max(1) == 0
            && p >= info.tick_size
            && p <= Fixed::from_units(MAX_PRICE_UNITS)
    };
    let price = req.price.unwrap_or(Fixed::ZERO);
    let stop_price = req.stop_price.unwrap_or(Fixed::ZERO);
    if req.price.is_some_and(|p| !on_tick(p)) || req.stop_price.is_some_and(|p| !on_tick(p)) {
        return Err(PaperError::Filter("PRICE_FILTER"));
    }
    let qty = match (req.qty, req.quote_qty) {
        (Some(q), _) => {
            if q < info.min_qty
                || q > info.max_qty
                || (q.0 - info.min_qty.0) % info.step_size.0.max(1) != 0
            {
                return Err(PaperError::Filter("LOT_SIZE"));
            }
            q
        }
        (None, Some(quote)) => {
            let q = Fixed::div_to_qty(quote, last).ok_or(PaperError::Filter("MARKET_LOT_SIZE"))?;
            let q = floor_to(q, info.step_size);
            if q.is_zero() || q > info.max_qty {
                return Err(PaperError::Filter("MARKET_LOT_SIZE"));
            }
            q
        }
        (None, None) => return Err(PaperError::Filter("LOT_SIZE")),
    };
    let reference = if req.kind.has_limit_price() {
        price
    } else if req.kind == OrderKind::Market {
        last
    } else {
        stop_price
    };
    let notional = mul(qty, reference).ok_or(PaperError::Filter("NOTIONAL"))?;
    if notional < info.min_notional
        || (req.kind != OrderKind::Market && notional > Fixed::from_units(MAX_NOTIONAL_UNITS))
    {
        return Err(PaperError::Filter("NOTIONAL"));
    }
    Ok(Checked {
        qty,
        price,
        stop_price,
    })
}

/// Whether a limit at `limit` trades when the price ranges over `[low, high]`.
fn limit_crossed(side: Side, limit: Fixed, low: Fixed, high: Fixed) -> bool {
    match side {
        Side::Buy => low <= limit,
        Side::Sell => high >= limit,
    }
}

/// Whether a stop at `stop` fires when the price ranges over `[low, high]`.
fn stop_triggered(kind: OrderKind, side: Side, stop: Fixed, low: Fixed, high: Fixed) -> bool {
    let stop_loss = matches!(kind, OrderKind::StopMarket | OrderKind::StopLimit);
    match (stop_loss, side) {
        (true, Side::Buy) | (false, Side::Sell) => high >= stop,
        (true, Side::Sell) | (false, Side::Buy) => low <= stop,
    }
}

/// What a resting order locks: base for sells, quote at its limit (or stop) price for buys.
fn lock(acct: &mut Account, info: &SimSymbol, order: &mut PaperOrder) -> Result<(), PaperError> {
    let (asset, amount) = match order.side {
        Side::Sell => (info.base.clone(), order.orig_qty),
        Side::Buy => {
            let px = if order.kind.has_limit_price() {
                order.price
            } else {
                order.stop_price
            };
            (
                info.quote.clone(),
                mul(order.orig_qty, px).ok_or(PaperError::InsufficientBalance)?,
            )
        }
    };
    let bal = acct.balance(&asset);
    if bal.free < amount {
        return Err(PaperError::InsufficientBalance);
    }
    bal.free = bal.free.saturating_sub(amount);
    bal.locked = bal.locked.saturating_add(amount);
    order.locked_asset = asset;
    order.locked = amount;
    Ok(())
}

fn unlock(acct: &mut Account, order: &mut PaperOrder) {
    if order.locked.is_positive() {
        let asset = std::mem::take(&mut order.locked_asset);
        let bal = acct.balance(&asset);
        bal.locked = bal.locked.saturating_sub(order.locked);
        bal.free = bal.free.saturating_add(order.locked);
        order.locked = Fixed::ZERO;
    }
}

/// Removes an open order, releases its lock and files it as closed.
fn close(acct: &mut Account, id: i64, status: PaperStatus, now_ms: i64) -> Option<PaperOrder> {
    let mut order = acct.open.remove(&id)?;
    unlock(acct, &mut order);
    order.status = status;
    order.update_time_ms = now_ms;
    acct.remember_closed(order.clone());
    Some(order)
}

/// Fills the whole order at `price`, moving balances; fails (touching nothing)
/// if the account cannot pay.
#[allow(clippy::too_many_arguments)]
fn execute(
    acct: &mut Account,
    info: &SimSymbol,
    order: &mut PaperOrder,
    price: Fixed,
    is_maker: bool,
    commission_rate: Fixed,
    trade_id: &mut i64,
    now_ms: i64,
) -> Result<(), PaperError> {
    let qty = order.orig_qty;
    let quote = mul(qty, price).ok_or(PaperError::InsufficientBalance)?;
    let (pay_asset, pay, get_asset, get) = match order.side {
        Side::Buy => (&info.quote, quote, &info.base, qty),
        Side::Sell => (&info.base, qty, &info.quote, quote),
    };
    if acct.balance(pay_asset).free < pay {
        return Err(PaperError::InsufficientBalance);
    }
    let commission = mul(get, commission_rate).unwrap_or(Fixed::ZERO);
    let pay_bal = acct.balance(pay_asset);
    pay_bal.free = pay_bal.free.saturating_sub(pay);
    let get_bal = acct.balance(get_asset);
    get_bal.free = get_bal.free.saturating_add(get.saturating_sub(commission));
    let fill = Fill {
        trade_id: *trade_id,
        price,
        qty,
        quote_qty: quote,
        commission,
        commission_asset: get_asset.clone(),
        is_maker,
        time_ms: now_ms,
    };
    *trade_id += 1;
    order.executed_qty = qty;
    order.cumm_quote_qty = quote;
    order.status = PaperStatus::Filled;
    order.update_time_ms = now_ms;
    order.working_time_ms.get_or_insert(now_ms);
    order.fills.push(fill.clone());
    acct.remember_trade(Trade {
        symbol: order.symbol.clone(),
        order_id: order.order_id,
        side: order.side,
        fill,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::sim::SimConfig;

    const T0: i64 = 1_717_243_200_000;

    fn order(kind: OrderKind, side: Side, qty: &str, price: Option<&str>) -> NewOrder {
        NewOrder {
            symbol: Symbol::new("BTCUSDT"),
            side,
            kind,
            qty: Some(Fixed::parse(qty).unwrap()),
            quote_qty: None,
            price: price.map(|p| Fixed::parse(p).unwrap()),
            stop_price: None,
            time_in_force: kind.has_limit_price().then_some(TimeInForce::Gtc),
            client_order_id: None,
            reduce_only: false,
            contract: crate::model::Contract::Spot,
            test_only: false,
        }
    }

    fn setup() -> (MarketSim, Books) {
        let sim = MarketSim::new(&SimConfig::default(), T0);
        let books = Books::new(vec![("USDT".into(), Fixed::from_units(100_000))], 4);
        (sim, books)
    }

    fn bal(b: &Books, asset: &str) -> AssetBalance {
        b.account("k").unwrap().balances[asset]
    }

    #[test]
    fn market_buy_moves_balances_exactly() {
        let (sim, mut b) = setup();
        let p = b
            .place(
                "k",
                &order(OrderKind::Market, Side::Buy, "0.5", None),
                &sim,
                T0,
            )
            .unwrap();
        assert_eq!(p.order.status, PaperStatus::Filled);
        assert_eq!(p.order.cumm_quote_qty, Fixed::from_units(30_000));
        assert_eq!(bal(&b, "USDT").free, Fixed::from_units(70_000));
        assert_eq!(bal(&b, "BTC").free, Fixed::parse("0.5").unwrap());
        let e = b.place(
            "k",
            &order(OrderKind::Market, Side::Buy, "2", None),
            &sim,
            T0,
        );
        assert_eq!(e.unwrap_err(), PaperError::InsufficientBalance);
        let e = b.place(
            "k",
            &order(OrderKind::Market, Side::Sell, "0.6", None),
            &sim,
            T0,
        );
        assert_eq!(e.unwrap_err(), PaperError::InsufficientBalance);
    }

    #[test]
    fn filters_are_enforced() {
        let (sim, mut b) = setup();
        let cases = [
            (
                order(OrderKind::Market, Side::Buy, "0.000001", None),
                "LOT_SIZE",
            ),
            (
                order(OrderKind::Market, Side::Buy, "0.000015", None),
                "LOT_SIZE",
            ),
            (
                order(OrderKind::Market, Side::Buy, "0.00005", None),
                "NOTIONAL",
            ),
            (
                order(OrderKind::Limit, Side::Buy, "0.001", Some("50000.001")),
                "PRICE_FILTER",
            ),
        ];
        for (o, f) in cases {
            assert_eq!(
                b.place("k", &o, &sim, T0).unwrap_err(),
                PaperError::Filter(f)
            );
        }
    }

    #[test]
    fn resting_limit_locks_then_fills_when_crossed_or_cancels() {
        let (mut sim, mut b) = setup();
        let buy = order(OrderKind::Limit, Side::Buy, "1", Some("59990"));
        let p = b.place("k", &buy, &sim, T0).unwrap();
        assert_eq!(p.order.status, PaperStatus::New);
        assert_eq!(bal(&b, "USDT").locked, Fixed::from_units(59_990));
        assert_eq!(bal(&b, "USDT").free, Fixed::from_units(40_010));
        // Run the market until the price has traded at or below the limit.
        let mut t = T0;
        while b.account("k").unwrap().open_orders(None).count() == 1 {
            t += 1_000;
            sim.advance_to(t);
            b.match_resting(&sim, t);
            assert!(t < T0 + 30 * 86_400_000, "never crossed");
        }
        let acct = b.account("k").unwrap();
        let filled = acct
            .find("BTCUSDT", &OrderRef::ExchangeId(p.order.order_id))
            .unwrap();
        assert_eq!(filled.status, PaperStatus::Filled);
        assert_eq!(filled.fills[0].price, Fixed::from_units(59_990));
        assert!(filled.fills[0].is_maker);
        assert_eq!(bal(&b, "USDT").locked, Fixed::ZERO);
        assert_eq!(bal(&b, "USDT").free, Fixed::from_units(40_010));
        assert_eq!(bal(&b, "BTC").free, Fixed::from_units(1));

        let sell = order(OrderKind::Limit, Side::Sell, "1", Some("999999"));
        let p = b.place("k", &sell, &sim, t).unwrap();
        assert_eq!(bal(&b, "BTC").locked, Fixed::from_units(1));
        let c = b
            .cancel(
                "k",
                "BTCUSDT",
                &OrderRef::ClientId(p.order.client_order_id.clone().into()),
                t,
                &sim,
            )
            .unwrap();
        assert_eq!(c.status, PaperStatus::Canceled);
        assert_eq!(bal(&b, "BTC").free, Fixed::from_units(1));
        assert_eq!(
            b.cancel("k", "BTCUSDT", &OrderRef::ExchangeId(c.order_id), t, &sim)
                .unwrap_err(),
            PaperError::UnknownOrder
        );
    }

    #[test]
    fn duplicates_makers_stops_and_account_limits() {
        let (sim, mut b) = setup();
        let mut o = order(OrderKind::Limit, Side::Buy, "0.001", Some("50000"));
        o.client_order_id = Some("dup".into());
        b.place("k", &o, &sim, T0).unwrap();
        assert_eq!(
            b.place("k", &o, &sim, T0).unwrap_err(),
            PaperError::DuplicateOrder
        );
        let maker = order(OrderKind::LimitMaker, Side::Buy, "0.001", Some("61000"));
        assert_eq!(
            b.place("k", &maker, &sim, T0).unwrap_err(),
            PaperError::WouldMatch
        );
        let mut stop = order(OrderKind::StopMarket, Side::Sell, "0.001", None);
        stop.stop_price = Some(Fixed::from_units(61_000));
        assert_eq!(
            b.place("k", &stop, &sim, T0).unwrap_err(),
            PaperError::StopWouldTrigger
        );
        for k in ["a", "b", "c"] {
            b.account_mut(k, &sim).unwrap();
        }
        assert_eq!(
            b.account_mut("e", &sim).unwrap_err(),
            PaperError::TooManyAccounts
        );
        let mut ioc = order(OrderKind::Limit, Side::Buy, "0.001", Some("50000"));
        ioc.time_in_force = Some(TimeInForce::Ioc);
        assert_eq!(
            b.place("k", &ioc, &sim, T0).unwrap().order.status,
            PaperStatus::Expired
        );
    }

    #[test]
    fn quote_sized_market_orders_round_down_to_step() {
        let (sim, mut b) = setup();
        let mut o = order(OrderKind::Market, Side::Buy, "1", None);
        o.qty = None;
        o.quote_qty = Some(Fixed::from_units(100));
        let p = b.place("k", &o, &sim, T0).unwrap();
        assert_eq!(p.order.executed_qty, Fixed::parse("0.00166").unwrap());
        assert_eq!(p.order.cumm_quote_qty, Fixed::parse("99.6").unwrap());
    }
}
