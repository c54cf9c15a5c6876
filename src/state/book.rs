//! One account's book: holdings, open orders, today's count, duplicate memory,
//! trading state. Changes only through `apply(&Event)`.
//!
//! Several venues: spot balances are kept per venue (a venue's balance answer
//! replaces only that venue's), derivative positions per (venue, instrument),
//! signed. `holdings` is the sum the rules and the risk task read: every
//! venue's balances plus each derivative position as if bought with borrowed
//! quote (base += qty, quote -= qty x entry price), which gives a linear
//! contract's exposure and, marked to market, its P&L.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::clock::MS_PER_DAY;
use crate::model::{
    ClientOrderId, Contract, Fixed, OrderKind, OrderRef, OrderReport, Side, Symbol,
};
use crate::rules::TradingState;

use super::client_ids::ClientIdMemory;
use super::event::Event;
use super::open_orders::OpenOrders;

/// Client order ids remembered per account for duplicate detection.
pub const MAX_REMEMBERED_CLIENT_IDS: usize = 50_000;
/// Recent order fingerprints kept for the duplicate-order window.
pub const MAX_RECENT_FINGERPRINTS: usize = 4096;
/// Open orders tracked per account (beyond what any rule allows, as a backstop).
pub const MAX_TRACKED_ORDERS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderPhase {
    /// Forwarded, no answer yet.
    Sent,
    /// The venue acknowledged it; it may rest on the book.
    Live,
    /// No answer (timeout, reset): counted as live until an answer settles it.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenOrder {
    pub reservation: u64,
    /// The configured venue (None: journaled before several venues).
    #[serde(default)]
    pub venue: Option<Arc<str>>,
    #[serde(default)]
    pub contract: Contract,
    pub symbol: Symbol,
    pub base: Arc<str>,
    pub quote: Arc<str>,
    pub side: Side,
    pub orig_qty: Fixed,
    pub executed_qty: Fixed,
    pub price: Option<Fixed>,
    pub exchange_order_id: Option<i64>,
    pub client_order_id: Option<ClientOrderId>,
    pub phase: OrderPhase,
    pub since_ms: i64,
    /// The order type as placed (None: discovered in a listing, or journaled
    /// before amends by reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<OrderKind>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reduce_only: bool,
    /// This order is an amend of that reservation. While both are open the
    /// venue has not answered the amend, and both count (the worst case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amend_of: Option<u64>,
}

impl OpenOrder {
    pub fn remaining(&self) -> Fixed {
        self.orig_qty
            .saturating_sub(self.executed_qty)
            .max(Fixed::ZERO)
    }

    /// Whether the order is on `venue` (orders journaled before venues were
    /// recorded belong to every venue: there was only one).
    pub fn on_venue(&self, venue: &str) -> bool {
        self.venue.as_deref().is_none_or(|v| v == venue)
    }

    pub fn matches(&self, r: &OrderReport) -> bool {
        if self.symbol != r.symbol {
            return false;
        }
        match (self.exchange_order_id, r.exchange_order_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.client_order_id.is_some() && self.client_order_id == r.client_order_id,
        }
    }
}

/// The serialisable part of a book (journal snapshots, status).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BookSnapshot {
    pub day: i64,
    pub daily_trades: u32,
    pub holdings: Vec<(Arc<str>, Fixed)>,
    pub open_orders: Vec<OpenOrder>,
    pub next_reservation: u64,
    pub client_order_ids: Vec<Box<str>>,
    pub recent: Vec<(u64, i64)>,
    pub trading_state: Option<TradingState>,
    pub trading_state_why: String,
    /// Holdings changes from fills only (for P&L and drawdown).
    #[serde(default)]
    pub fill_deltas: Vec<(Arc<str>, Fixed)>,
    /// Equity peak for the drawdown limit (USD); None until the risk task sets one.
    #[serde(default)]
    pub equity_peak_usd: Option<f64>,
    /// Spot balances per venue ("" = configured starting holdings). Empty in
    /// snapshots from before several venues: then `holdings` is used.
    #[serde(default)]
    pub venue_holdings: Vec<(Arc<str>, Balances)>,
    #[serde(default)]
    pub positions: Vec<DerivPosition>,
}

/// Asset balances, sorted by asset.
pub type Balances = Vec<(Arc<str>, Fixed)>;

/// A derivative position on one venue's instrument.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DerivPosition {
    pub venue: Arc<str>,
    pub symbol: Symbol,
    pub base: Arc<str>,
    pub quote: Arc<str>,
    /// Signed base quantity: negative is short.
    pub qty: Fixed,
    /// Average entry price (quote per base).
    pub entry_price: Fixed,
}

/// Unattributed balances: configured starting holdings, or balances from a
/// journal written before venues were recorded.
pub const NO_VENUE: &str = "";

#[derive(Debug)]
pub struct Book {
    pub day: i64,
    pub daily_trades: u32,
    /// Every asset's balance over all venues (base assets are positions; quote
    /// assets are cash), derivative positions included (see the module doc).
    /// Derived: recomputed from `venue_holdings` and `positions`.
    pub holdings: HashMap<Arc<str>, Fixed>,
    /// Spot balances per venue.
    pub venue_holdings: HashMap<Arc<str>, HashMap<Arc<str>, Fixed>>,
    /// Derivative positions by (venue, symbol).
    pub positions: HashMap<(Arc<str>, Symbol), DerivPosition>,
    pub open: OpenOrders,
    pub next_reservation: u64,
    /// The last `MAX_REMEMBERED_CLIENT_IDS` client ids, inline in a ring
    /// (no allocation per order; see client_ids.rs).
    client_ids: ClientIdMemory,
    /// (fingerprint, ts_ms) of recently accepted orders, oldest first, and the
    /// latest time each fingerprint was seen: the duplicate check is one probe.
    recent: VecDeque<(u64, i64)>,
    /// hashbrown (foldhash): probed on every order; see open_orders.rs.
    recent_last_ms: hashbrown::HashMap<u64, i64>,
    pub trading_state: TradingState,
    pub trading_state_why: String,
    /// Holdings changes from fills only, never replaced by balance answers:
    /// marked to market, they are the P&L since riskgate first saw the account.
    pub fill_deltas: HashMap<Arc<str>, Fixed>,
    /// The equity peak the drawdown limit measures from, journaled by the risk
    /// task so a restart does not reset drawdown to zero.
    pub equity_peak_usd: Option<f64>,
}

impl Default for Book {
    fn default() -> Book {
        Book {
            day: 0,
            daily_trades: 0,
            holdings: HashMap::new(),
            venue_holdings: HashMap::new(),
            positions: HashMap::new(),
            open: OpenOrders::default(),
            next_reservation: 1,
            client_ids: ClientIdMemory::new(MAX_REMEMBERED_CLIENT_IDS),
            recent: VecDeque::new(),
            recent_last_ms: hashbrown::HashMap::new(),
            trading_state: TradingState::Active,
            trading_state_why: String::new(),
            fill_deltas: HashMap::new(),
            equity_peak_usd: None,
        }
    }
}

/// Totals over one base asset's open orders.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpenExposure {
    pub buy_qty: Fixed,
    pub sell_qty: Fixed,
}

impl Book {
    /// The account's position in a base asset over every venue and contract.
    pub fn position(&self, base: &str) -> Fixed {
        self.holdings.get(base).copied().unwrap_or(Fixed::ZERO)
    }

    /// One venue's derivative position on one instrument (zero if flat).
    pub fn derivative_position(&self, venue: &str, symbol: &Symbol) -> Fixed {
        self.positions
            .iter()
            .find(|((v, s), _)| &**v == venue && s == symbol)
            .map(|(_, p)| p.qty)
            .unwrap_or(Fixed::ZERO)
    }

    /// Recomputes `holdings` from the per-venue balances and the positions.
    fn recompute_holdings(&mut self) {
        self.holdings.clear();
        for balances in self.venue_holdings.values() {
            for (asset, qty) in balances {
                let h = self.holdings.entry(asset.clone()).or_default();
                *h = h.saturating_add(*qty);
            }
        }
        for p in self.positions.values() {
            let h = self.holdings.entry(p.base.clone()).or_default();
            *h = h.saturating_add(p.qty);
            if let Some(cost) = Fixed::from_f64(p.qty.mul_f64(p.entry_price)) {
                let q = self.holdings.entry(p.quote.clone()).or_default();
                *q = q.saturating_sub(cost);
            }
        }
        self.holdings.retain(|_, q| !q.is_zero());
    }

    pub fn open_exposure(&self, base: &str) -> OpenExposure {
        self.open.exposure(base)
    }

    /// Today's accepted-order count, zero if the last one was on an earlier UTC day.
    pub fn trades_on(&self, day: i64) -> u32 {
        if self.day == day {
            self.daily_trades
        } else {
            0
        }
    }

    pub fn client_id_seen(&self, id: &str) -> bool {
        self.client_ids.contains(id)
    }

    pub fn seen_recently(&self, fingerprint: u64, now_ms: i64, window_ms: i64) -> bool {
        self.recent_last_ms
            .get(&fingerprint)
            .is_some_and(|ts| now_ms - ts <= window_ms)
    }

    fn remember_fingerprint(&mut self, fingerprint: u64, ts_ms: i64) {
        self.recent.push_back((fingerprint, ts_ms));
        self.recent_last_ms.insert(fingerprint, ts_ms);
        if self.recent.len() > MAX_RECENT_FINGERPRINTS {
            if let Some((old, old_ts)) = self.recent.pop_front() {
                if self.recent_last_ms.get(&old) == Some(&old_ts) {
                    self.recent_last_ms.remove(&old);
                }
            }
        }
    }

    /// The reservation an answer refers to.
    pub fn find(&self, r: &OrderReport) -> Option<u64> {
        self.open.find(r)
    }

    /// The open order on `venue` an amend or cancel names: by the index when
    /// the instrument is known, else by a scan (Kraken `AmendOrder` names no
    /// pair; amends are rare and open orders bounded).
    pub fn find_ref(&self, venue: &str, symbol: Option<&Symbol>, r: &OrderRef) -> Option<u64> {
        // The index keys ids by instrument only: an id another venue also
        // uses may point there, and then the scan below finds this venue's.
        if let Some(res) = symbol
            .and_then(|s| self.open.find_ref(s, r))
            .filter(|res| self.open.get(*res).is_some_and(|o| o.on_venue(venue)))
        {
            return Some(res);
        }
        // Without the instrument (or when the index named another venue's
        // order), scan. An id naming orders on two instruments is ambiguous:
        // not found. An order and its pending amend share ids: the newest
        // reservation (the amend) is the order as the bot last asked for it.
        let hits: Vec<&OpenOrder> = self
            .open
            .iter()
            .filter(|o| o.on_venue(venue))
            .filter(|o| symbol.is_none_or(|s| *s == o.symbol))
            .filter(|o| match r {
                OrderRef::ExchangeId(id) => o.exchange_order_id == Some(*id),
                OrderRef::ClientId(c) => o.client_order_id.as_deref() == Some(&**c),
            })
            .collect();
        if hits.iter().any(|o| o.symbol != hits[0].symbol) {
            return None;
        }
        hits.iter()
            .max_by_key(|o| o.reservation)
            .map(|o| o.reservation)
    }

    pub fn find_reservation(&self, reservation: u64) -> Option<&OpenOrder> {
        self.open.get(reservation)
    }

    fn remember_client_id(&mut self, id: &str) {
        self.client_ids.remember(id);
    }

    #[allow(clippy::too_many_arguments)]
    fn add_fill(
        &mut self,
        venue: Option<&Arc<str>>,
        contract: Contract,
        symbol: &Symbol,
        base: &Arc<str>,
        quote: &Arc<str>,
        side: Side,
        qty: Fixed,
        price: Option<Fixed>,
    ) {
        if qty.is_zero() {
            return;
        }
        let signed = Fixed(qty.0 * side.sign());
        let cash = price
            .and_then(|p| Fixed::from_f64(qty.mul_f64(p)))
            .map(|c| Fixed(-c.0 * side.sign()));
        let venue = venue.cloned().unwrap_or_else(|| Arc::from(NO_VENUE));
        // P&L: a linear contract's fill moves base and quote exactly as a spot
        // fill on borrowed quote would.
        let d = self.fill_deltas.entry(base.clone()).or_default();
        *d = d.saturating_add(signed);
        if let Some(cash) = cash {
            let q = self.fill_deltas.entry(quote.clone()).or_default();
            *q = q.saturating_add(cash);
        }
        match contract {
            Contract::Spot => {
                let balances = self.venue_holdings.entry(venue).or_default();
                let b = balances.entry(base.clone()).or_default();
                *b = b.saturating_add(signed);
                if let Some(cash) = cash {
                    let q = balances.entry(quote.clone()).or_default();
                    *q = q.saturating_add(cash);
                }
            }
            Contract::Linear => {
                let fill_price = price.unwrap_or(Fixed::ZERO);
                let key = (venue.clone(), symbol.clone());
                let p = self
                    .positions
                    .entry(key.clone())
                    .or_insert_with(|| DerivPosition {
                        venue,
                        symbol: symbol.clone(),
                        base: base.clone(),
                        quote: quote.clone(),
                        qty: Fixed::ZERO,
                        entry_price: fill_price,
                    });
                let before = p.qty;
                let after = before.saturating_add(signed);
                if before.is_zero() || ((before.0 > 0) != (after.0 > 0) && !after.is_zero()) {
                    // Opened, or flipped through zero: the new side enters here.
                    p.entry_price = fill_price;
                } else if (before.0 > 0) == (signed.0 > 0) {
                    // Grew: the entry is the quantity-weighted average.
                    let total = before.to_f64().abs() + qty.to_f64();
                    if total > 0.0 {
                        let avg = (before.to_f64().abs() * p.entry_price.to_f64()
                            + qty.to_f64() * fill_price.to_f64())
                            / total;
                        p.entry_price = Fixed::from_f64(avg).unwrap_or(p.entry_price);
                    }
                }
                p.qty = after;
                if after.is_zero() {
                    self.positions.remove(&key);
                }
            }
        }
        self.recompute_holdings();
    }

    /// Applies one account event. Events for other accounts must not be passed.
    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::Reserved {
                reservation,
                venue,
                contract,
                symbol,
                base,
                quote,
                side,
                qty,
                price,
                client_order_id,
                fingerprint,
                ts_ms,
                kind,
                reduce_only,
                amend,
                ..
            } => {
                self.next_reservation = self.next_reservation.max(reservation + 1);
                if amend.is_none() {
                    // An amend is not a new trade and not a new order to
                    // detect duplicates of.
                    let day = ts_ms.div_euclid(MS_PER_DAY);
                    if day != self.day {
                        self.day = day;
                        self.daily_trades = 0;
                    }
                    self.daily_trades += 1;
                    if let Some(id) = client_order_id {
                        self.remember_client_id(id);
                    }
                    self.remember_fingerprint(*fingerprint, *ts_ms);
                }
                if self.open.len() < MAX_TRACKED_ORDERS {
                    self.open.insert(OpenOrder {
                        reservation: *reservation,
                        venue: venue.clone(),
                        contract: *contract,
                        symbol: symbol.clone(),
                        base: base.clone(),
                        quote: quote.clone(),
                        side: *side,
                        orig_qty: *qty,
                        executed_qty: amend.as_ref().map_or(Fixed::ZERO, |a| a.executed_qty),
                        price: *price,
                        exchange_order_id: amend.as_ref().and_then(|a| a.exchange_order_id),
                        client_order_id: client_order_id.clone(),
                        phase: OrderPhase::Sent,
                        since_ms: *ts_ms,
                        kind: *kind,
                        reduce_only: *reduce_only,
                        amend_of: amend.as_ref().map(|a| a.replaces),
                    });
                }
            }
            Event::Progress {
                reservation,
                exchange_order_id,
                client_order_id,
                executed_qty,
                avg_price,
                live,
                ts_ms,
                ..
            } => {
                let Some((delta, done, (venue, contract, symbol), base, quote, side, limit)) =
                    self.open.update(*reservation, |o| {
                        let delta = executed_qty.saturating_sub(o.executed_qty).max(Fixed::ZERO);
                        o.executed_qty = o.executed_qty.max(*executed_qty);
                        if exchange_order_id.is_some() {
                            o.exchange_order_id = *exchange_order_id;
                        }
                        if client_order_id.is_some() {
                            o.client_order_id = client_order_id.clone();
                        }
                        o.phase = OrderPhase::Live;
                        o.since_ms = *ts_ms;
                        let done = !live || o.remaining().is_zero();
                        (
                            delta,
                            done,
                            (o.venue.clone(), o.contract, o.symbol.clone()),
                            o.base.clone(),
                            o.quote.clone(),
                            o.side,
                            o.price,
                        )
                    })
                else {
                    return;
                };
                if done {
                    self.open.remove(*reservation);
                }
                self.add_fill(
                    venue.as_ref(),
                    contract,
                    &symbol,
                    &base,
                    &quote,
                    side,
                    delta,
                    avg_price.or(limit),
                );
            }
            Event::OutcomeUnknown {
                reservation, ts_ms, ..
            } => {
                self.open.update(*reservation, |o| {
                    if o.phase == OrderPhase::Sent {
                        o.phase = OrderPhase::Unknown;
                        o.since_ms = *ts_ms;
                    }
                });
            }
            Event::Released { reservation, .. } => {
                let removed = self.open.remove(*reservation);
                // An amend the venue refused (or that did not take): the
                // order it would have replaced is again the one its ids name.
                if let Some(old) = removed.and_then(|o| o.amend_of) {
                    self.open.reindex(old);
                }
            }
            Event::Discovered {
                reservation,
                venue,
                contract,
                symbol,
                base,
                quote,
                side,
                orig_qty,
                executed_qty,
                price,
                exchange_order_id,
                client_order_id,
                ts_ms,
                ..
            } => {
                self.next_reservation = self.next_reservation.max(reservation + 1);
                if self.open.len() < MAX_TRACKED_ORDERS {
                    self.open.insert(OpenOrder {
                        reservation: *reservation,
                        venue: venue.clone(),
                        contract: *contract,
                        symbol: symbol.clone(),
                        base: base.clone(),
                        quote: quote.clone(),
                        side: *side,
                        orig_qty: *orig_qty,
                        executed_qty: *executed_qty,
                        price: *price,
                        exchange_order_id: *exchange_order_id,
                        client_order_id: client_order_id.clone(),
                        phase: OrderPhase::Live,
                        since_ms: *ts_ms,
                        kind: None,
                        reduce_only: false,
                        amend_of: None,
                    });
                }
            }
            Event::Holdings {
                holdings, venue, ..
            } => {
                // A venue's answer replaces that venue's balances and the
                // configured starting holdings, which were only a guess until
                // a venue reported.
                let venue = venue.clone().unwrap_or_else(|| Arc::from(NO_VENUE));
                self.venue_holdings.remove(NO_VENUE);
                self.venue_holdings
                    .insert(venue, holdings.iter().cloned().collect());
                self.recompute_holdings();
            }
            Event::Positions {
                venue, positions, ..
            } => {
                self.positions.retain(|(v, _), _| v != venue);
                for p in positions.iter().filter(|p| !p.qty.is_zero()) {
                    self.positions
                        .insert((venue.clone(), p.symbol.clone()), p.clone());
                }
                self.recompute_holdings();
            }
            Event::TradingState { state, why, .. } => {
                self.trading_state = *state;
                self.trading_state_why = why.clone();
            }
            Event::EquityPeak { peak_usd, .. } => self.equity_peak_usd = Some(*peak_usd),
            Event::Snapshot { book, .. } => self.restore(book),
            Event::BreakerTripped { .. } => {}
        }
    }

    pub fn snapshot(&self) -> BookSnapshot {
        let mut holdings: Vec<_> = self.holdings.iter().map(|(k, v)| (k.clone(), *v)).collect();
        holdings.sort();
        BookSnapshot {
            day: self.day,
            daily_trades: self.daily_trades,
            holdings,
            open_orders: self.open.iter().cloned().collect(),
            next_reservation: self.next_reservation,
            client_order_ids: self.client_ids.iter().map(|id| Box::from(&**id)).collect(),
            recent: self.recent.iter().copied().collect(),
            trading_state: Some(self.trading_state),
            trading_state_why: self.trading_state_why.clone(),
            fill_deltas: {
                let mut v: Vec<_> = self
                    .fill_deltas
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                v.sort();
                v
            },
            equity_peak_usd: self.equity_peak_usd,
            venue_holdings: {
                let mut v: Vec<_> = self
                    .venue_holdings
                    .iter()
                    .map(|(venue, b)| {
                        let mut b: Vec<_> = b.iter().map(|(k, v)| (k.clone(), *v)).collect();
                        b.sort();
                        (venue.clone(), b)
                    })
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            },
            positions: {
                let mut v: Vec<_> = self.positions.values().cloned().collect();
                v.sort_by(|a, b| (&a.venue, &a.symbol).cmp(&(&b.venue, &b.symbol)));
                v
            },
        }
    }

    pub(crate) fn restore(&mut self, s: &BookSnapshot) {
        *self = Book::default();
        self.day = s.day;
        self.daily_trades = s.daily_trades;
        if s.venue_holdings.is_empty() && s.positions.is_empty() {
            // A snapshot from before several venues: its balances are unattributed.
            if !s.holdings.is_empty() {
                self.venue_holdings
                    .insert(Arc::from(NO_VENUE), s.holdings.iter().cloned().collect());
            }
        } else {
            for (venue, b) in &s.venue_holdings {
                self.venue_holdings
                    .insert(venue.clone(), b.iter().cloned().collect());
            }
            for p in &s.positions {
                self.positions
                    .insert((p.venue.clone(), p.symbol.clone()), p.clone());
            }
        }
        self.recompute_holdings();
        for o in &s.open_orders {
            self.open.insert(o.clone());
        }
        self.next_reservation = s.next_reservation.max(1);
        for id in &s.client_order_ids {
            self.remember_client_id(id);
        }
        for (fp, ts) in &s.recent {
            self.remember_fingerprint(*fp, *ts);
        }
        self.trading_state = s.trading_state.unwrap_or(TradingState::Active);
        self.trading_state_why = s.trading_state_why.clone();
        self.fill_deltas = s.fill_deltas.iter().cloned().collect();
        self.equity_peak_usd = s.equity_peak_usd;
    }
}
