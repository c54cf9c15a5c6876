//! State: accounts, their books, the global trading state and the journal.
//!
//! The engine is where a check becomes a commitment: under one account's lock it
//! gathers the facts, runs the pure `rules::check`, applies the rate limit, and
//! journals and applies the reservation, so that concurrent orders that each fit
//! but together do not can never all pass. It knows no wire format and makes no
//! network calls.

pub mod book;
pub mod client_ids;
pub mod event;
pub mod journal;
pub mod open_orders;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};

pub use book::{Book, BookSnapshot, DerivPosition, OpenOrder, OrderPhase, NO_VENUE};
pub use event::Event;
pub use journal::{Durability, Journal, JournalError, JournalIo, StateDirLock};

use crate::clock::SharedClock;
use crate::market::{Breakers, FilterBook, PriceBook};
use crate::model::{
    AccountId, AmendMode, AmendRequest, Contract, Fixed, Instrument, NewOrder, OrderKind, Symbol,
    USD_STABLE_ASSETS,
};
use crate::risk::task::Wake;
use crate::risk::RiskBoard;
use crate::rules::ruleset::RateRule;
use crate::rules::{
    self, Accepted, ExchangeView, FiltersView, InstrumentPosition, OrderContext, PortfolioView,
    RejectReason, Rejection, RiskState, RuleSet, TradingState,
};
use crate::venue::{Action, Learned};

/// Most instruments remembered (symbols split into base and quote).
pub const MAX_INSTRUMENTS: usize = 20_000;

/// Identity of an API key: the first 8 bytes of its SHA-256, never the key.
pub fn account_id_of(api_key: &[u8]) -> AccountId {
    let digest = Sha256::digest(api_key);
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    AccountId(u64::from_be_bytes(b))
}

/// An account known by configuration.
#[derive(Clone, Debug)]
pub struct KnownAccount {
    pub alias: Arc<str>,
    /// The account's id: the hash of its first API key.
    pub id: AccountId,
    /// Hashes of its other API keys (one per venue, typically): orders sent
    /// with any of them count against this one account.
    pub other_ids: Vec<AccountId>,
    /// Holdings to start from when the journal knows nothing of the account.
    pub starting_holdings: Vec<(Arc<str>, Fixed)>,
}

/// The venue an order was sent to or an answer came from: its configured name
/// (positions and open orders are kept per venue) and its exchange (exposure
/// limits are per exchange). Built once per venue; cloning is cheap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueTag {
    pub name: Arc<str>,
    pub exchange: &'static str,
}

impl VenueTag {
    pub fn new(name: &str, exchange: &'static str) -> VenueTag {
        VenueTag {
            name: Arc::from(name),
            exchange,
        }
    }
}

pub struct EngineConfig {
    /// Every configured venue (name and exchange), so exposure can be summed
    /// per exchange.
    pub venues: Vec<VenueTag>,
    pub state_dir: PathBuf,
    pub durability: Durability,
    pub max_accounts: usize,
    pub known_accounts: Vec<KnownAccount>,
}

pub struct Account {
    pub id: AccountId,
    /// Alias from the config, or the id in hex: what metrics and status show.
    pub label: Arc<str>,
    pub alias: Option<Arc<str>>,
    book: Mutex<Book>,
    limiter: Mutex<Option<(RateRule, DefaultDirectRateLimiter)>>,
    /// Accepted-order counters per venue, so the hot path does no label lookup.
    accepted: Mutex<Vec<(&'static str, metrics::Counter)>>,
}

impl Account {
    fn new(id: AccountId, alias: Option<Arc<str>>) -> Account {
        Account {
            id,
            label: alias.clone().unwrap_or_else(|| Arc::from(id.to_string())),
            alias,
            book: Mutex::new(Book::default()),
            limiter: Mutex::new(None),
            accepted: Mutex::new(Vec::new()),
        }
    }

    /// Counts an accepted order on `venue`.
    pub fn count_accepted(&self, venue: &'static str) {
        let mut cache = self.accepted.lock();
        if let Some((_, c)) = cache.iter().find(|(v, _)| *v == venue) {
            c.increment(1);
            return;
        }
        let c = crate::telemetry::accepted_counter(venue, &self.label);
        c.increment(1);
        cache.push((venue, c));
    }

    /// A copy of the book for status and metrics.
    pub fn snapshot(&self) -> BookSnapshot {
        self.book.lock().snapshot()
    }

    /// Takes one token from the account's rate limiter, rebuilt if the rule changed.
    fn take_rate_token(&self, rule: Option<RateRule>) -> bool {
        let Some(rule) = rule else { return true };
        let mut slot = self.limiter.lock();
        if slot.as_ref().is_none_or(|(r, _)| *r != rule) {
            let per_s = NonZeroU32::new(rule.orders_per_s).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(rule.burst).unwrap_or(NonZeroU32::MIN);
            *slot = Some((
                rule,
                RateLimiter::direct(Quota::per_second(per_s).allow_burst(burst)),
            ));
        }
        slot.as_ref().is_some_and(|(_, l)| l.check().is_ok())
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct GlobalState {
    pub state: TradingState,
    pub who: String,
    pub why: String,
    pub since_ms: i64,
}

/// The gross exposure on one exchange against its `[exchange_limits]` share.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangeExposure {
    pub exchange: String,
    /// A venue of this exchange is configured (else only the rules name it).
    pub configured: bool,
    pub limit_pct: f64,
    /// None when something held there has no fresh price (orders there are
    /// then refused `market_data_stale`).
    pub gross_usd: Option<f64>,
    pub capital_usd: Option<f64>,
}

impl ExchangeExposure {
    /// Gross exposure as % of capital.
    pub fn used_pct(&self) -> Option<f64> {
        match (self.gross_usd, self.capital_usd) {
            (Some(g), Some(c)) if c > 0.0 => Some(g / c * 100.0),
            _ => None,
        }
    }

    /// Used / limit (1.0 = at the limit).
    pub fn utilization(&self) -> Option<f64> {
        self.used_pct().map(|u| {
            if self.limit_pct > 0.0 {
                u / self.limit_pct
            } else {
                0.0
            }
        })
    }
}

/// An accepted order's reservation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Submitted {
    /// None for test orders, which are never reserved.
    pub reservation: Option<u64>,
    pub accepted: Accepted,
}

pub struct Engine {
    clock: SharedClock,
    pub rules: Arc<ArcSwap<RuleSet>>,
    pub prices: Arc<PriceBook>,
    /// Exchange filters per venue and instrument, for `exchange_filters`.
    pub filters: FilterBook,
    pub breakers: Breakers,
    /// Latest portfolio risk per account, published by the risk task.
    pub risk: RiskBoard,
    /// Wakes the risk task after fills.
    pub risk_wake: Arc<Wake>,
    accounts: DashMap<AccountId, Arc<Account>>,
    keys: DashMap<Box<[u8]>, Arc<Account>>,
    aliases: HashMap<AccountId, Arc<str>>,
    /// Secondary key hash → the account it belongs to.
    key_owner: HashMap<AccountId, AccountId>,
    /// Symbol → instrument, with the rules version that mapped it.
    instruments: DashMap<Box<str>, (u64, Arc<Instrument>)>,
    /// Venue name → exchange.
    venue_exchange: HashMap<Arc<str>, &'static str>,
    global: RwLock<GlobalState>,
    journal: Journal,
    max_accounts: usize,
    /// Held for the engine's life: one riskgate per state directory.
    _state_lock: StateDirLock,
}

/// FNV-1a over an order's identifying fields: stable across restarts.
fn fingerprint(o: &NewOrder, qty: Fixed) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(o.symbol.as_str().as_bytes());
    eat(&[o.side as u8, o.kind as u8]);
    eat(&qty.0.to_le_bytes());
    eat(&o.price.unwrap_or_default().0.to_le_bytes());
    eat(&o.stop_price.unwrap_or_default().0.to_le_bytes());
    h
}

impl Engine {
    /// Opens the state directory: replays the journal, compacts it, and restores.
    pub fn open(
        cfg: EngineConfig,
        clock: SharedClock,
        rules: Arc<ArcSwap<RuleSet>>,
        prices: Arc<PriceBook>,
    ) -> Result<Engine, JournalError> {
        std::fs::create_dir_all(&cfg.state_dir).map_err(|source| JournalError::Io {
            path: cfg.state_dir.clone(),
            source,
        })?;
        let state_lock = StateDirLock::acquire(&cfg.state_dir)?;
        let path = cfg.state_dir.join("journal.log");
        let replayed = Journal::replay(&path)?;
        if replayed.truncated_bytes > 0 {
            tracing::warn!(
                bytes = replayed.truncated_bytes,
                "journal had a torn tail (crash mid-write); cut it"
            );
        }
        let aliases: HashMap<AccountId, Arc<str>> = cfg
            .known_accounts
            .iter()
            .map(|a| (a.id, a.alias.clone()))
            .collect();
        let accounts: DashMap<AccountId, Arc<Account>> = DashMap::new();
        let breakers = Breakers::new();
        let mut global = GlobalState {
            state: TradingState::Active,
            who: "startup".into(),
            why: String::new(),
            since_ms: clock.now_ms(),
        };
        let get = |id: AccountId| {
            accounts
                .entry(id)
                .or_insert_with(|| Arc::new(Account::new(id, aliases.get(&id).cloned())))
                .clone()
        };
        for ev in &replayed.events {
            match ev {
                Event::TradingState {
                    account: None,
                    state,
                    who,
                    why,
                    ts_ms,
                } => {
                    global = GlobalState {
                        state: *state,
                        who: who.to_string(),
                        why: why.clone(),
                        since_ms: *ts_ms,
                    };
                }
                Event::BreakerTripped {
                    symbol, until_ms, ..
                } => breakers.restore(symbol, *until_ms),
                Event::Reserved { account, .. }
                | Event::Progress { account, .. }
                | Event::OutcomeUnknown { account, .. }
                | Event::Released { account, .. }
                | Event::Discovered { account, .. }
                | Event::Holdings { account, .. }
                | Event::EquityPeak { account, .. }
                | Event::Positions { account, .. }
                | Event::Snapshot { account, .. }
                | Event::TradingState {
                    account: Some(account),
                    ..
                } => get(*account).book.lock().apply(ev),
            }
        }
        // Nothing is in flight after a restart: an order journaled as sent whose
        // answer never came (a crash mid-request) has an unknown outcome, so a
        // later order-status or open-orders answer can settle it.
        for a in accounts.iter() {
            let mut book = a.book.lock();
            let sent: Vec<u64> = book
                .open
                .iter()
                .filter(|o| o.phase == OrderPhase::Sent)
                .map(|o| o.reservation)
                .collect();
            for reservation in sent {
                book.open
                    .update(reservation, |o| o.phase = OrderPhase::Unknown);
            }
        }
        // Configured starting holdings apply only to accounts the journal has never seen.
        let now = clock.now_ms();
        let mut seeded = Vec::new();
        for known in &cfg.known_accounts {
            if !accounts.contains_key(&known.id) && !known.starting_holdings.is_empty() {
                let ev = Event::Holdings {
                    account: known.id,
                    venue: None,
                    holdings: known.starting_holdings.clone(),
                    ts_ms: now,
                };
                get(known.id).book.lock().apply(&ev);
                seeded.push(known.id);
            }
        }
        // Compact: one snapshot per account plus the global state and open breakers.
        let mut compacted = Vec::with_capacity(accounts.len() + 2);
        compacted.push(Event::TradingState {
            account: None,
            state: global.state,
            who: global.who.clone().into(),
            why: global.why.clone(),
            ts_ms: global.since_ms,
        });
        for (symbol, until_ms) in breakers.open(now) {
            compacted.push(Event::BreakerTripped {
                symbol,
                until_ms,
                move_pct: 0.0,
                ts_ms: now,
            });
        }
        for a in accounts.iter() {
            compacted.push(Event::Snapshot {
                account: a.id,
                book: Box::new(a.snapshot()),
            });
        }
        let journal = Journal::rewrite(&path, &compacted, cfg.durability)?;
        tracing::info!(
            events = replayed.events.len(),
            accounts = accounts.len(),
            seeded = seeded.len(),
            global_state = global.state.as_str(),
            path = %path.display(),
            journal_io = journal.io().as_str(),
            "state restored from journal"
        );
        Ok(Engine {
            clock,
            rules,
            prices,
            filters: FilterBook::new(cfg.venues.iter().map(|v| &v.name)),
            breakers,
            risk: RiskBoard::new(),
            risk_wake: Arc::new(Wake::default()),
            accounts,
            keys: DashMap::new(),
            key_owner: cfg
                .known_accounts
                .iter()
                .flat_map(|a| a.other_ids.iter().map(move |o| (*o, a.id)))
                .collect(),
            aliases,
            instruments: DashMap::new(),
            venue_exchange: cfg
                .venues
                .iter()
                .map(|v| (v.name.clone(), v.exchange))
                .collect(),
            global: RwLock::new(global),
            journal,
            max_accounts: cfg.max_accounts.max(1),
            _state_lock: state_lock,
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The account for an API key, created on first sight (up to the configured maximum).
    pub fn account_for_key(&self, api_key: &[u8]) -> Result<Arc<Account>, Rejection> {
        if let Some(a) = self.keys.get(api_key) {
            return Ok(a.clone());
        }
        if self.keys.len() >= self.max_accounts * 4 {
            // Many keys for few accounts means someone is cycling keys; bound the cache.
            self.keys.clear();
        }
        let id = account_id_of(api_key);
        let id = self.key_owner.get(&id).copied().unwrap_or(id);
        let account = match self.accounts.get(&id) {
            Some(a) => a.clone(),
            None => {
                if self.accounts.len() >= self.max_accounts {
                    return Err(Rejection::new(
                        RejectReason::TooManyAccounts,
                        format!("more than {} accounts", self.max_accounts),
                    ));
                }
                self.accounts
                    .entry(id)
                    .or_insert_with(|| Arc::new(Account::new(id, self.aliases.get(&id).cloned())))
                    .clone()
            }
        };
        self.keys.insert(api_key.into(), account.clone());
        Ok(account)
    }

    pub fn account(&self, id: AccountId) -> Option<Arc<Account>> {
        self.accounts.get(&id).map(|a| a.clone())
    }

    /// The account shown as `label` (its alias or hex id). A configured alias
    /// that has not traded yet is created, so it can be halted in advance.
    pub fn account_by_label(&self, label: &str) -> Option<Arc<Account>> {
        if let Some(a) = self.accounts.iter().find(|a| &*a.label == label) {
            return Some(a.clone());
        }
        let (id, alias) = self.aliases.iter().find(|(_, alias)| &***alias == label)?;
        Some(
            self.accounts
                .entry(*id)
                .or_insert_with(|| Arc::new(Account::new(*id, Some(alias.clone()))))
                .clone(),
        )
    }

    pub fn accounts(&self) -> Vec<Arc<Account>> {
        let mut v: Vec<_> = self.accounts.iter().map(|a| a.clone()).collect();
        v.sort_by(|a, b| a.label.cmp(&b.label));
        v
    }

    /// Base and quote of a symbol: from the rules' `[assets]` map, else by
    /// splitting the venue's name (`Instrument::from_venue_symbol`).
    pub fn instrument(&self, symbol: &Symbol) -> Option<Arc<Instrument>> {
        let rules = self.rules.load();
        if let Some(i) = self.instruments.get(symbol.as_str()) {
            if i.0 == rules.version {
                return Some(i.1.clone());
            }
        }
        let inst = Arc::new(match rules.assets.get(symbol.as_str()) {
            Some(base) => Instrument::with_base(symbol.as_str(), base),
            None => Instrument::from_venue_symbol(symbol.as_str())?,
        });
        if self.instruments.len() < MAX_INSTRUMENTS
            || self.instruments.contains_key(symbol.as_str())
        {
            self.instruments
                .insert(symbol.as_str().into(), (rules.version, inst.clone()));
        }
        Some(inst)
    }

    /// The exchange a venue belongs to (None for unattributed or unknown venues).
    fn exchange_of(&self, venue: Option<&str>) -> Option<&'static str> {
        self.venue_exchange.get(venue?).copied()
    }

    /// Gross exposure on `exchange`, USD: every non-cash balance and
    /// derivative position held there at reference prices, plus every open
    /// order there as if it filled. None if something cannot be priced.
    fn exchange_gross_usd(
        &self,
        book: &Book,
        exchange: &str,
        now_ms: i64,
        max_age_ms: i64,
    ) -> Option<f64> {
        let mut gross = 0.0;
        for (venue, balances) in &book.venue_holdings {
            if self.exchange_of(Some(venue)) != Some(exchange) {
                continue;
            }
            for (asset, qty) in balances {
                if qty.is_zero() || USD_STABLE_ASSETS.contains(&&**asset) {
                    continue;
                }
                gross += qty.to_f64().abs() * self.prices.usd_rate(asset, now_ms, max_age_ms)?;
            }
        }
        for p in book.positions.values() {
            if self.exchange_of(Some(&p.venue)) != Some(exchange) {
                continue;
            }
            gross += p.qty.to_f64().abs() * self.prices.usd_rate(&p.base, now_ms, max_age_ms)?;
        }
        for o in book.open.iter() {
            if self.exchange_of(o.venue.as_deref()) != Some(exchange) {
                continue;
            }
            gross += o.remaining().to_f64() * self.prices.usd_rate(&o.base, now_ms, max_age_ms)?;
        }
        Some(gross)
    }

    /// Every exchange with an `[exchange_limits]` entry (by name, or through
    /// `*` for a configured exchange not named), with the gross exposure the
    /// `max_exchange_exposure` rule counts there now (before any new order),
    /// for status and metrics. Configured exchanges first, then the rules'
    /// other names (nothing is held there through riskgate).
    pub fn exchange_exposures(&self, account: &Account) -> Vec<ExchangeExposure> {
        let rules = self.rules.load();
        let now_ms = self.clock.now_ms();
        let book = account.book.lock();
        let account_rules = rules.account(account.alias.as_deref());
        let capital_usd = account_rules
            .capital_usd
            .or_else(|| self.equity_usd(&book, now_ms, rules.max_price_age_ms));
        let mut configured: Vec<&'static str> = self.venue_exchange.values().copied().collect();
        configured.sort_unstable();
        configured.dedup();
        let mut named: Vec<&str> = rules
            .exchange_limits
            .keys()
            .map(|k| &**k)
            .filter(|k| *k != "*" && !configured.contains(k))
            .collect();
        named.sort_unstable();
        let mut out = Vec::new();
        for (exchange, is_configured) in configured
            .iter()
            .map(|e| (*e, true))
            .chain(named.into_iter().map(|e| (e, false)))
        {
            let Some(limit_pct) = rules.exchange_limit_pct(exchange) else {
                continue;
            };
            let gross_usd =
                self.exchange_gross_usd(&book, exchange, now_ms, rules.max_price_age_ms);
            out.push(ExchangeExposure {
                exchange: exchange.to_string(),
                configured: is_configured,
                limit_pct,
                gross_usd,
                capital_usd,
            });
        }
        out
    }

    pub fn global_state(&self) -> GlobalState {
        self.global.read().clone()
    }

    /// Checks an order and, if it passes, reserves it and journals the reservation.
    pub fn submit(
        &self,
        account: &Account,
        venue: &VenueTag,
        order: &NewOrder,
    ) -> Result<Submitted, Rejection> {
        let rules = self.rules.load();
        let now_ms = self.clock.now_ms();
        let mut book = account.book.lock();
        let (submitted, ev) =
            self.check_locked(account, venue, &book, order, &rules, now_ms, false)?;
        if let Some(ev) = ev {
            // Journal before applying and before forwarding: if the journal cannot
            // take it, the order does not go out.
            if let Err(e) = self.journal.append(&ev) {
                tracing::error!(error = %e, "journal append failed; refusing order");
                return Err(Rejection::new(
                    RejectReason::Internal,
                    "state journal unavailable",
                ));
            }
            book.apply(&ev);
        }
        Ok(submitted)
    }

    /// Checks a batch of orders sent in one request, all or nothing: each order
    /// is checked with the earlier ones already counted (so five orders that
    /// each fit but together do not are refused), and if any is refused none is
    /// reserved. The error carries the index of the first refused order, which
    /// the venue needs to render its per-order error list.
    ///
    /// A refused batch may have spent rate-limit tokens for the orders before
    /// the refused one; everything else is rolled back.
    pub fn submit_batch(
        &self,
        account: &Account,
        venue: &VenueTag,
        orders: &[NewOrder],
    ) -> Result<Vec<Submitted>, (usize, Rejection)> {
        let rules = self.rules.load();
        let now_ms = self.clock.now_ms();
        let mut book = account.book.lock();
        // Batches are rare and small (5 to 20 orders): a copy of the book is the
        // simplest exact undo.
        let before = book.snapshot();
        let mut submitted = Vec::with_capacity(orders.len());
        let mut events = Vec::with_capacity(orders.len());
        for (i, order) in orders.iter().enumerate() {
            match self.check_locked(account, venue, &book, order, &rules, now_ms, false) {
                Ok((s, ev)) => {
                    if let Some(ev) = ev {
                        book.apply(&ev);
                        events.push(ev);
                    }
                    submitted.push(s);
                }
                Err(r) => {
                    book.restore(&before);
                    return Err((i, r));
                }
            }
        }
        for ev in &events {
            if let Err(e) = self.journal.append(ev) {
                // Reservations journaled before the failure stay counted after a
                // restart (as unknown outcomes): the safe side.
                tracing::error!(error = %e, "journal append failed; refusing batch");
                book.restore(&before);
                return Err((
                    0,
                    Rejection::new(RejectReason::Internal, "state journal unavailable"),
                ));
            }
        }
        Ok(submitted)
    }

    /// Checks an amend that names only the order it changes (`AmendRequest`)
    /// and, if it passes, reserves the order as it will be after the amend.
    ///
    /// - The order is looked up among the account's open orders on this
    ///   venue; one riskgate does not track (never seen, already filled or
    ///   cancelled) is refused (`unknown_order`): riskgate cannot know its side.
    /// - An amend that does not raise the remaining quantity and leaves the
    ///   limit price as it is (a size-down, or a trigger change) can only
    ///   lower the worst case: like a reducing order, only a halt refuses it.
    /// - Any other amend is checked as the order it makes (same side, type,
    ///   reduce-only; the new quantity less what has filled) with the order it
    ///   replaces left out: the venue changes that order rather than adding
    ///   one, so the worst case after the amend is the new order.
    /// - Until the venue answers, the old and the new reservation both count
    ///   (for every other order checked meanwhile); the answer releases one.
    pub fn submit_amend(
        &self,
        account: &Account,
        venue: &VenueTag,
        req: &AmendRequest,
    ) -> Result<Submitted, Rejection> {
        let rules = self.rules.load();
        let now_ms = self.clock.now_ms();
        let mut book = account.book.lock();
        let target = book
            .find_ref(&venue.name, req.symbol.as_ref(), &req.target)
            .and_then(|res| book.open.get(res))
            .cloned()
            .ok_or_else(|| {
                Rejection::new(
                    RejectReason::UnknownOrder,
                    format!(
                        "order {} is not among the open orders riskgate tracks on {}; cancel it and place a new order",
                        req.target_label, venue.name
                    ),
                )
            })?;
        if req.symbol.as_ref().is_some_and(|s| *s != target.symbol)
            || req.contract.is_some_and(|c| c != target.contract)
        {
            return Err(Rejection::new(
                RejectReason::UnknownOrder,
                format!(
                    "order {} is not among the open orders riskgate tracks on {} {}; cancel it and place a new order",
                    req.target_label,
                    venue.name,
                    req.symbol.as_ref().map_or("", |s| s.as_str())
                ),
            ));
        }
        // What the new order carries over: an in-place amend keeps the fills
        // (its quantity is the new total); a cancel-replace starts afresh.
        let executed_kept = match req.mode {
            AmendMode::InPlace => target.executed_qty,
            AmendMode::CancelReplace => Fixed::ZERO,
        };
        let (mut new_limit, mut new_trigger) = (req.new_price, req.new_trigger_price);
        if let Some((first, second)) = req.positional_prices {
            match target.kind {
                Some(OrderKind::StopMarket | OrderKind::TakeProfitMarket) => {
                    new_trigger = new_trigger.or(first)
                }
                Some(OrderKind::StopLimit | OrderKind::TakeProfitLimit) => {
                    new_trigger = new_trigger.or(first);
                    new_limit = new_limit.or(second);
                }
                // A limit order, or one discovered in a listing (type unknown:
                // the price is checked as a limit, which is the stricter reading).
                _ => new_limit = new_limit.or(first),
            }
        }
        let new_total = req.new_qty.unwrap_or(target.orig_qty);
        let new_remaining = new_total.saturating_sub(executed_kept).max(Fixed::ZERO);
        let new_price = new_limit.or(target.price);
        let shrinks = new_remaining <= target.remaining()
            && new_limit.is_none_or(|p| Some(p) == target.price);
        let order = NewOrder {
            symbol: target.symbol.clone(),
            side: target.side,
            // Orders discovered in a listing have no recorded type: one with
            // a price is checked as a limit, one without at the market.
            kind: target.kind.unwrap_or(if new_price.is_some() {
                OrderKind::Limit
            } else {
                OrderKind::Market
            }),
            qty: Some(new_remaining),
            quote_qty: None,
            price: new_price,
            stop_price: new_trigger,
            time_in_force: None,
            client_order_id: target.client_order_id.clone(),
            reduce_only: target.reduce_only,
            contract: target.contract,
            test_only: false,
        };
        let submitted = if shrinks {
            let state = self.global.read().state.max(book.trading_state);
            if state == TradingState::Halted {
                return Err(Rejection::new(
                    RejectReason::TradingHalted,
                    "trading is halted; only cancels pass",
                ));
            }
            Submitted {
                reservation: None,
                accepted: Accepted {
                    qty: new_remaining,
                    notional_usd: 0.0,
                    reducing: true,
                },
            }
        } else {
            // Checked with the amended order left out; put back whatever the
            // outcome, before anything else reads the book.
            let held = book.open.remove(target.reservation);
            let checked = self.check_locked(account, venue, &book, &order, &rules, now_ms, true);
            if let Some(o) = held {
                book.open.insert(o);
            }
            checked?.0
        };
        let Some(instrument) = self.instrument(&target.symbol) else {
            return Err(Rejection::new(
                RejectReason::MarketDataStale,
                format!("unknown instrument {}", target.symbol),
            ));
        };
        let reservation = book.next_reservation;
        let ev = Event::Reserved {
            account: account.id,
            reservation,
            venue: Some(venue.name.clone()),
            contract: target.contract,
            symbol: target.symbol.clone(),
            base: instrument.base.clone(),
            quote: instrument.quote.clone(),
            side: target.side,
            qty: new_remaining.saturating_add(executed_kept),
            price: new_price,
            client_order_id: target.client_order_id.clone(),
            fingerprint: fingerprint(&order, new_remaining),
            ts_ms: now_ms,
            kind: target.kind,
            reduce_only: target.reduce_only,
            amend: Some(event::AmendOf {
                replaces: target.reservation,
                exchange_order_id: target.exchange_order_id,
                executed_qty: executed_kept,
            }),
        };
        if let Err(e) = self.journal.append(&ev) {
            tracing::error!(error = %e, "journal append failed; refusing amend");
            return Err(Rejection::new(
                RejectReason::Internal,
                "state journal unavailable",
            ));
        }
        book.apply(&ev);
        Ok(Submitted {
            reservation: Some(reservation),
            accepted: submitted.accepted,
        })
    }

    /// Runs the check for one order against the locked book and, if it passes,
    /// builds its reservation event (None for test orders). Applies nothing.
    ///
    /// `amend`: the order is what a tracked order becomes after an amend. An
    /// amend is not a new trade (`max_daily_trades` does not count it) and
    /// not a duplicate of the order it changes (it keeps that order's ids).
    #[allow(clippy::too_many_arguments)]
    fn check_locked(
        &self,
        account: &Account,
        venue: &VenueTag,
        book: &Book,
        order: &NewOrder,
        rules: &RuleSet,
        now_ms: i64,
        amend: bool,
    ) -> Result<(Submitted, Option<Event>), Rejection> {
        let Some(instrument) = self.instrument(&order.symbol) else {
            return Err(Rejection::new(
                RejectReason::MarketDataStale,
                format!("unknown instrument {}: no reference price", order.symbol),
            ));
        };
        let account_rules = rules.account(account.alias.as_deref());
        let symbol_rules = account_rules.symbol(order.symbol.as_str());
        let price_view =
            match self
                .prices
                .view(order.symbol.as_str(), now_ms, rules.max_price_age_ms)
            {
                // A venue whose own name has no price (OKX `BTC-USDT-SWAP`, Kraken
                // `XBT/USD`) is priced by the same pair under its plain name, which
                // is how the paper market and Binance-style tickers publish it.
                crate::rules::PriceView::Missing => {
                    let mut plain =
                        String::with_capacity(instrument.base.len() + instrument.quote.len());
                    plain.push_str(&instrument.base);
                    plain.push_str(&instrument.quote);
                    self.prices.view(&plain, now_ms, rules.max_price_age_ms)
                }
                v => v,
            };
        let quote_usd = self
            .prices
            .quote_usd(&instrument, now_ms, rules.max_price_age_ms);
        let breaker_open_until_ms = self.breakers.open_until(order.symbol.as_str(), now_ms);
        let global_state = self.global.read().state;

        let risk_snapshot = account_rules
            .portfolio
            .as_ref()
            .and_then(|_| self.risk.get(account.id));
        let flat = match (&account_rules.portfolio, &risk_snapshot) {
            (Some(_), None) => self.risk.flat(),
            _ => None,
        };
        let exposure = book.open_exposure(&instrument.base);
        let qty_for_fingerprint = order.qty.or(order.quote_qty).unwrap_or_default();
        let fp = fingerprint(order, qty_for_fingerprint);
        let capital_usd = account_rules
            .capital_usd
            .or_else(|| self.equity_usd(book, now_ms, rules.max_price_age_ms));
        // A derivative order reduces only this venue's position on the
        // instrument; a reduce-only order is reducing whatever the numbers say.
        let instrument_position =
            (order.contract == Contract::Linear && !order.reduce_only).then(|| {
                let mut p = InstrumentPosition {
                    qty: book.derivative_position(&venue.name, &order.symbol),
                    ..Default::default()
                };
                for o in book
                    .open
                    .iter()
                    .filter(|o| o.symbol == order.symbol && o.on_venue(&venue.name))
                {
                    match o.side {
                        crate::model::Side::Buy => {
                            p.open_buy_qty = p.open_buy_qty.saturating_add(o.remaining())
                        }
                        crate::model::Side::Sell => {
                            p.open_sell_qty = p.open_sell_qty.saturating_add(o.remaining())
                        }
                    }
                }
                p
            });
        let exchange = rules
            .exchange_limit_pct(venue.exchange)
            .map(|limit_pct| ExchangeView {
                name: venue.exchange,
                gross_usd: self.exchange_gross_usd(
                    book,
                    venue.exchange,
                    now_ms,
                    rules.max_price_age_ms,
                ),
                limit_pct,
            });
        // Off by default: no lookup at all. On: a copy of the venue's filters,
        // looked up by borrowed keys (no allocation).
        let instrument_filters = account_rules
            .exchange_filters
            .then(|| {
                self.filters
                    .get(&venue.name, order.contract, order.symbol.as_str())
            })
            .flatten();
        let filters = match (account_rules.exchange_filters, &instrument_filters) {
            (false, _) => FiltersView::Off,
            (true, Some(f)) => FiltersView::Known(f),
            (true, None) => FiltersView::Unknown { venue: &venue.name },
        };
        let ctx = OrderContext {
            order,
            filters,
            account: account_rules,
            instrument_position,
            exchange,
            symbol: symbol_rules,
            trading_state: global_state.max(book.trading_state),
            symbol_allowed: rules.symbol_allowed(order.symbol.as_str()),
            breaker_open_until_ms,
            reference_price: price_view,
            quote_usd,
            position_qty: book.position(&instrument.base),
            open_buy_qty: exposure.buy_qty,
            open_sell_qty: exposure.sell_qty,
            open_orders: book.open.len() as u32,
            daily_trades: if amend {
                0
            } else {
                book.trades_on(now_ms.div_euclid(crate::clock::MS_PER_DAY))
            },
            client_order_id_seen: !amend
                && order
                    .client_order_id
                    .as_deref()
                    .is_some_and(|id| book.client_id_seen(id)),
            same_order_recently: !amend
                && book.seen_recently(fp, now_ms, rules.duplicate_window_ms),
            capital_usd,
            portfolio: account_rules
                .portfolio
                .as_ref()
                .filter(|p| p.checks_orders())
                .map(|p| PortfolioView {
                    rules: p,
                    risk: match (&risk_snapshot, &flat) {
                        (Some(r), _) => Some(RiskState {
                            computed_ms: r.computed_ms,
                            incremental: &r.incremental,
                            exposures_usd: &r.exposures_usd,
                            asset_vol_annualised: &r.asset_vol_annualised,
                        }),
                        // Not marked yet: only an account with nothing held or
                        // on order may be priced as the flat book.
                        (None, Some(f))
                            if book.open.is_empty()
                                && book.holdings.iter().all(|(a, q)| {
                                    q.is_zero() || USD_STABLE_ASSETS.contains(&&**a)
                                }) =>
                        {
                            Some(RiskState {
                                computed_ms: f.computed_ms,
                                incremental: &f.incremental,
                                exposures_usd: &[],
                                asset_vol_annualised: &f.asset_vol_annualised,
                            })
                        }
                        _ => None,
                    },
                    asset: &instrument.base,
                    sectors: &rules.sectors,
                    now_ms,
                    capital_usd: capital_usd.unwrap_or(0.0),
                }),
        };
        let accepted = rules::check(&ctx)?;
        if order.test_only {
            return Ok((
                Submitted {
                    reservation: None,
                    accepted,
                },
                None,
            ));
        }
        // The rate limit is the last rule: refused orders do not spend tokens.
        if !accepted.reducing && !account.take_rate_token(account_rules.rate) {
            let r = account_rules
                .rate
                .map(|r| (r.orders_per_s, r.burst))
                .unwrap_or_default();
            return Err(Rejection::new(
                RejectReason::RateLimit,
                format!("more than {} orders/s (burst {})", r.0, r.1),
            ));
        }
        let reservation = book.next_reservation;
        let ev = Event::Reserved {
            account: account.id,
            reservation,
            venue: Some(venue.name.clone()),
            contract: order.contract,
            symbol: order.symbol.clone(),
            base: instrument.base.clone(),
            quote: instrument.quote.clone(),
            side: order.side,
            qty: accepted.qty,
            price: if order.kind == OrderKind::Market {
                None
            } else {
                order.price
            },
            client_order_id: order.client_order_id.clone(),
            fingerprint: fp,
            ts_ms: now_ms,
            kind: Some(order.kind),
            reduce_only: order.reduce_only,
            amend: None,
        };
        Ok((
            Submitted {
                reservation: Some(reservation),
                accepted,
            },
            Some(ev),
        ))
    }

    /// Equity from learned holdings at reference prices; None if any holding cannot be priced.
    fn equity_usd(&self, book: &Book, now_ms: i64, max_age_ms: i64) -> Option<f64> {
        if book.holdings.is_empty() {
            return None;
        }
        book.holdings.iter().try_fold(0.0, |sum, (asset, qty)| {
            if qty.is_zero() {
                return Some(sum);
            }
            Some(sum + qty.to_f64() * self.prices.usd_rate(asset, now_ms, max_age_ms)?)
        })
    }

    fn record(&self, book: &mut Book, ev: Event) {
        if let Err(e) = self.journal.append(&ev) {
            // Learning is best effort: the in-memory book still applies it, and a
            // later answer from the venue corrects a lost record after restart.
            tracing::error!(error = %e, "journal append failed while learning");
        }
        book.apply(&ev);
    }

    /// The venue could not be reached (`sent` false: certainly not executed) or
    /// did not answer (`sent` true: outcome unknown, stays counted as live).
    pub fn upstream_failed(&self, account: &Account, reservation: u64, sent: bool) {
        let ts_ms = self.clock.now_ms();
        let mut book = account.book.lock();
        let ev = if sent {
            Event::OutcomeUnknown {
                account: account.id,
                reservation,
                ts_ms,
            }
        } else {
            Event::Released {
                account: account.id,
                reservation,
                why: "not sent: upstream unreachable".into(),
                ts_ms,
            }
        };
        self.record(&mut book, ev);
    }

    /// Learns from the venue's answer to a forwarded request.
    pub fn learn(
        &self,
        venue: &VenueTag,
        account: Option<&Account>,
        action: &Action,
        reservation: Option<u64>,
        learned: &Learned,
        request_started_ms: i64,
    ) {
        let ts_ms = self.clock.now_ms();
        for (symbol, price) in &learned.prices {
            self.on_price(symbol, *price, ts_ms);
        }
        let mut filled = false;
        for r in &learned.reports {
            if let Some(p) = r.avg_price.filter(|_| r.executed_qty.is_positive()) {
                self.prices.update(&r.symbol, p, ts_ms);
                filled = true;
            }
        }
        if filled || !learned.balances.is_empty() {
            self.risk_wake.notify();
        }
        if !learned.filters.is_empty() {
            self.filters.learn(&venue.name, &learned.filters);
        }
        let Some(account) = account else { return };
        let mut book = account.book.lock();
        let id = account.id;
        if let (Action::NewOrder(_) | Action::Amend(_) | Action::AmendRef(_), Some(res)) =
            (action, reservation)
        {
            if learned.venue_rejected {
                // A refused amend leaves the order as it was (still counted).
                self.record(
                    &mut book,
                    Event::Released {
                        account: id,
                        reservation: res,
                        why: "venue refused the order".into(),
                        ts_ms,
                    },
                );
                return;
            }
            // The order an amend by reference replaces, named by its link (not
            // by ids: an order and its pending amends share them).
            let replaced = match action {
                Action::AmendRef(_) => book.open.get(res).and_then(|o| o.amend_of),
                _ => None,
            };
            if let Some(r) = learned.reports.first() {
                let ev = Event::Progress {
                    account: id,
                    reservation: res,
                    exchange_order_id: r.exchange_order_id,
                    client_order_id: r.client_order_id.clone(),
                    executed_qty: r.executed_qty,
                    avg_price: r.avg_price,
                    live: r.status.is_live(),
                    ts_ms,
                };
                self.record(&mut book, ev);
                if let Some(old) = replaced.filter(|old| book.open.get(*old).is_some()) {
                    self.record(
                        &mut book,
                        Event::Released {
                            account: id,
                            reservation: old,
                            why: "replaced by an amend".into(),
                            ts_ms,
                        },
                    );
                }
                if matches!(action, Action::Amend(_)) {
                    // The venue answered the amend: the order as it was is gone,
                    // replaced by the one just reserved.
                    let replaced: Vec<u64> = book
                        .open
                        .iter()
                        .filter(|o| o.reservation != res && o.matches(r))
                        .map(|o| o.reservation)
                        .collect();
                    for reservation in replaced {
                        self.record(
                            &mut book,
                            Event::Released {
                                account: id,
                                reservation,
                                why: "replaced by an amend".into(),
                                ts_ms,
                            },
                        );
                    }
                }
            } else {
                // An answer that is neither a refusal nor a readable order (a 5xx:
                // "execution status unknown") leaves the outcome unknown; marking
                // it so lets an order-status or open-orders answer settle it.
                self.record(
                    &mut book,
                    Event::OutcomeUnknown {
                        account: id,
                        reservation: res,
                        ts_ms,
                    },
                );
            }
            return;
        }
        for r in &learned.reports {
            if let Some(o) = book
                .find(r)
                .and_then(|res| book.open.get(res))
                .filter(|o| o.on_venue(&venue.name))
            {
                if let Some(old) = o.amend_of.and_then(|old| book.open.get(old)) {
                    // An amend whose answer never came: the venue's own report
                    // says whether it took. It did not if the venue still lists
                    // the old quantity; otherwise the amended order stands.
                    let took = r
                        .orig_qty
                        .is_none_or(|q| q != old.orig_qty || q == o.orig_qty);
                    let (drop, why) = if took {
                        (
                            old.reservation,
                            "replaced by an amend (settled by a listing)",
                        )
                    } else {
                        (
                            o.reservation,
                            "amend did not take (the venue lists the order unchanged)",
                        )
                    };
                    self.record(
                        &mut book,
                        Event::Released {
                            account: id,
                            reservation: drop,
                            why: why.into(),
                            ts_ms,
                        },
                    );
                    if !took {
                        // The old order's turn: the next answer about it updates it.
                        continue;
                    }
                }
                let Some(o) = book
                    .find(r)
                    .and_then(|res| book.open.get(res))
                    .filter(|o| o.on_venue(&venue.name))
                else {
                    continue;
                };
                if o.executed_qty == r.executed_qty
                    && r.status.is_live()
                    && o.phase == OrderPhase::Live
                {
                    continue; // nothing new
                }
                let ev = Event::Progress {
                    account: id,
                    reservation: o.reservation,
                    exchange_order_id: r.exchange_order_id,
                    client_order_id: r.client_order_id.clone(),
                    executed_qty: r.executed_qty,
                    avg_price: r.avg_price,
                    live: r.status.is_live(),
                    ts_ms,
                };
                self.record(&mut book, ev);
            } else if r.status.is_live() {
                let (Some(side), Some(orig_qty), Some(inst)) =
                    (r.side, r.orig_qty, self.instrument(&r.symbol))
                else {
                    continue;
                };
                let reservation = book.next_reservation;
                let ev = Event::Discovered {
                    account: id,
                    reservation,
                    venue: Some(venue.name.clone()),
                    contract: r.contract,
                    symbol: r.symbol.clone(),
                    base: inst.base.clone(),
                    quote: inst.quote.clone(),
                    side,
                    orig_qty,
                    executed_qty: r.executed_qty,
                    price: None,
                    exchange_order_id: r.exchange_order_id,
                    client_order_id: r.client_order_id.clone(),
                    ts_ms,
                };
                self.record(&mut book, ev);
            }
        }
        if let Some(scope) = &learned.open_orders_complete {
            // Orders the venue no longer lists are not open. Only orders acked or
            // timed out before the listing was asked for are settled; orders still
            // in flight may simply not have reached the venue yet.
            let gone: Vec<u64> = book
                .open
                .iter()
                .filter(|o| o.on_venue(&venue.name))
                .filter(|o| scope.as_ref().is_none_or(|s| *s == o.symbol))
                .filter(|o| o.phase != OrderPhase::Sent && o.since_ms < request_started_ms)
                .filter(|o| !learned.reports.iter().any(|r| o.matches(r)))
                .map(|o| o.reservation)
                .collect();
            // An order with a pending amend and the amend are one order at the
            // venue: if both are gone, the amend alone is settled below (the
            // order it would have replaced is simply released), so one fill is
            // never counted twice.
            let superseded: Vec<u64> = book
                .open
                .iter()
                .filter(|o| gone.contains(&o.reservation))
                .filter_map(|o| o.amend_of)
                .filter(|old| gone.contains(old))
                .collect();
            for reservation in &superseded {
                self.record(
                    &mut book,
                    Event::Released {
                        account: id,
                        reservation: *reservation,
                        why: "superseded by an amend; absent from open orders".into(),
                        ts_ms,
                    },
                );
            }
            let gone: Vec<u64> = gone
                .into_iter()
                .filter(|r| !superseded.contains(r))
                .collect();
            for reservation in gone {
                // Not open any more: it was cancelled, expired, or filled without
                // riskgate seeing the fill (an ACK-only answer). Until a balance or
                // status answer says which, take the worse case: a fill that grows
                // the position is assumed to have happened; one that shrinks it is not.
                let Some(o) = book.open.get(reservation) else {
                    continue;
                };
                let position = match o.contract {
                    Contract::Spot => book.position(&o.base),
                    Contract::Linear => book.derivative_position(&venue.name, &o.symbol),
                };
                let grows =
                    position.is_zero() || (position.0 > 0) == (o.side == crate::model::Side::Buy);
                let ev = if grows {
                    Event::Progress {
                        account: id,
                        reservation,
                        exchange_order_id: o.exchange_order_id,
                        client_order_id: o.client_order_id.clone(),
                        executed_qty: o.orig_qty,
                        avg_price: o.price,
                        live: false,
                        ts_ms,
                    }
                } else {
                    Event::Released {
                        account: id,
                        reservation,
                        why: "absent from open orders".into(),
                        ts_ms,
                    }
                };
                self.record(&mut book, ev);
            }
        }
        if !learned.balances.is_empty() {
            let holdings = learned
                .balances
                .iter()
                .filter(|b| !b.total.is_zero())
                .map(|b| (Arc::<str>::from(&*b.asset), b.total))
                .collect();
            self.record(
                &mut book,
                Event::Holdings {
                    account: id,
                    venue: Some(venue.name.clone()),
                    holdings,
                    ts_ms,
                },
            );
        }
        if learned.positions_complete || !learned.positions.is_empty() {
            let mut positions: Vec<DerivPosition> = Vec::with_capacity(learned.positions.len());
            for p in &learned.positions {
                let Some(inst) = self.instrument(&p.symbol) else {
                    continue;
                };
                positions.push(DerivPosition {
                    venue: venue.name.clone(),
                    symbol: p.symbol.clone(),
                    base: inst.base.clone(),
                    quote: inst.quote.clone(),
                    qty: p.qty,
                    entry_price: p
                        .entry_price
                        .or_else(|| self.prices.get(p.symbol.as_str()).map(|pp| pp.price))
                        .unwrap_or(Fixed::ZERO),
                });
            }
            if !learned.positions_complete {
                // A partial listing (one symbol): keep the venue's other positions.
                for (key, p) in &book.positions {
                    if key.0 == venue.name && !positions.iter().any(|n| n.symbol == p.symbol) {
                        positions.push(p.clone());
                    }
                }
            }
            self.record(
                &mut book,
                Event::Positions {
                    account: id,
                    venue: venue.name.clone(),
                    positions,
                    ts_ms,
                },
            );
        }
    }

    /// Learns from the venue's answer to a batch of new orders, whose
    /// reservations are `reservations` (request order; test orders have none).
    pub fn learn_batch(
        &self,
        venue: &VenueTag,
        account: &Account,
        reservations: &[Option<u64>],
        learned: &Learned,
        request_started_ms: i64,
    ) {
        // Prices, balances, positions and any reports not tied to the batch.
        self.learn(
            venue,
            Some(account),
            &Action::CancelBatch,
            None,
            learned,
            request_started_ms,
        );
        let ts_ms = self.clock.now_ms();
        let mut book = account.book.lock();
        let id = account.id;
        for (i, res) in reservations.iter().enumerate() {
            let Some(res) = *res else { continue };
            let ev = if learned.venue_rejected {
                Event::Released {
                    account: id,
                    reservation: res,
                    why: "venue refused the batch".into(),
                    ts_ms,
                }
            } else {
                match learned.batch.get(i) {
                    Some(Some(r)) => Event::Progress {
                        account: id,
                        reservation: res,
                        exchange_order_id: r.exchange_order_id,
                        client_order_id: r.client_order_id.clone(),
                        executed_qty: r.executed_qty,
                        avg_price: r.avg_price,
                        live: r.status.is_live(),
                        ts_ms,
                    },
                    Some(None) => Event::Released {
                        account: id,
                        reservation: res,
                        why: "venue refused the order".into(),
                        ts_ms,
                    },
                    // Unreadable answer: counted as live until a status settles it.
                    None => Event::OutcomeUnknown {
                        account: id,
                        reservation: res,
                        ts_ms,
                    },
                }
            };
            self.record(&mut book, ev);
        }
    }

    /// A new reference price: updates the book and the symbol's circuit breaker.
    pub fn on_price(&self, symbol: &Symbol, price: Fixed, now_ms: i64) {
        self.prices.update(symbol, price, now_ms);
        let rules = self.rules.load();
        if let Some(trip) =
            self.breakers
                .on_price(symbol, price, now_ms, rules.breaker(symbol.as_str()))
        {
            tracing::warn!(symbol = %trip.symbol, move_pct = trip.move_pct, until_ms = trip.until_ms, "circuit breaker opened");
            let ev = Event::BreakerTripped {
                symbol: trip.symbol,
                until_ms: trip.until_ms,
                move_pct: trip.move_pct,
                ts_ms: now_ms,
            };
            if let Err(e) = self.journal.append(&ev) {
                tracing::error!(error = %e, "journal append failed for breaker trip");
            }
        }
    }

    /// Sets the trading state globally (`account` None) or for one account; journaled first.
    pub fn set_trading_state(
        &self,
        account: Option<&Account>,
        state: TradingState,
        who: &str,
        why: &str,
    ) -> Result<(), JournalError> {
        let ts_ms = self.clock.now_ms();
        let ev = Event::TradingState {
            account: account.map(|a| a.id),
            state,
            who: who.into(),
            why: why.to_string(),
            ts_ms,
        };
        match account {
            None => {
                let mut g = self.global.write();
                self.journal.append(&ev)?;
                *g = GlobalState {
                    state,
                    who: who.to_string(),
                    why: why.to_string(),
                    since_ms: ts_ms,
                };
            }
            Some(a) => {
                let mut book = a.book.lock();
                self.journal.append(&ev)?;
                book.apply(&ev);
            }
        }
        tracing::warn!(
            scope = account.map(|a| &*a.label).unwrap_or("global"),
            state = state.as_str(),
            who,
            why,
            "trading state changed"
        );
        Ok(())
    }

    /// Sets the account's equity peak for the drawdown limit; journaled first,
    /// so the peak survives a restart.
    pub fn set_equity_peak(&self, account: &Account, peak_usd: f64) -> Result<(), JournalError> {
        let ev = Event::EquityPeak {
            account: account.id,
            peak_usd,
            ts_ms: self.clock.now_ms(),
        };
        let mut book = account.book.lock();
        self.journal.append(&ev)?;
        book.apply(&ev);
        Ok(())
    }

    pub fn journal_path(&self) -> PathBuf {
        self.journal.path().to_path_buf()
    }
}

#[cfg(test)]
mod amend_tests;
#[cfg(test)]
mod venue_tests;
