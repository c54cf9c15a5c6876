//! Journal events: every change to durable state, and nothing else.
//!
//! State changes only by applying an event (`Book::apply`, `Engine::apply_global`),
//! the same way live and on replay, so a restart rebuilds exactly what was there.

use std::sync::Arc;

use crate::model::{AccountId, ClientOrderId, Contract, Fixed, OrderKind, Side, Symbol};
use crate::rules::TradingState;

use super::book::{BookSnapshot, DerivPosition};

/// What an amend reservation takes over from the order it amends.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AmendOf {
    /// The reservation of the order being amended. Both count until the
    /// venue's answer releases one of them.
    pub replaces: u64,
    /// The amended order's exchange id, so answers and listings that name it
    /// find the amend (a cancel-replace venue's answer brings the new id).
    pub exchange_order_id: Option<i64>,
    /// What had already filled: in-place amends count fills toward the new
    /// total, so only `qty - executed_qty` remains.
    pub executed_qty: Fixed,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// An order passed the check and was reserved, before it was forwarded.
    Reserved {
        account: AccountId,
        reservation: u64,
        /// The configured venue it was sent to (None in journals written
        /// before riskgate knew several venues).
        #[serde(default)]
        venue: Option<Arc<str>>,
        #[serde(default)]
        contract: Contract,
        symbol: Symbol,
        base: Arc<str>,
        quote: Arc<str>,
        side: Side,
        qty: Fixed,
        price: Option<Fixed>,
        client_order_id: Option<ClientOrderId>,
        fingerprint: u64,
        ts_ms: i64,
        /// The order type, so an amend naming only the order can rebuild it
        /// (None in journals written before amends by reference).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<OrderKind>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reduce_only: bool,
        /// Set when this reservation is an amend of a tracked order: the order
        /// as it will be once the venue applies the amend.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amend: Option<AmendOf>,
    },
    /// The venue reported on an order we track (ack, partial fill, fill, cancel).
    Progress {
        account: AccountId,
        reservation: u64,
        exchange_order_id: Option<i64>,
        client_order_id: Option<ClientOrderId>,
        /// Cumulative executed base quantity.
        executed_qty: Fixed,
        avg_price: Option<Fixed>,
        live: bool,
        ts_ms: i64,
    },
    /// The order's outcome is unknown (timeout, reset): it stays counted as live.
    OutcomeUnknown {
        account: AccountId,
        reservation: u64,
        ts_ms: i64,
    },
    /// The reservation is void: the venue refused the order, it was never sent,
    /// or a complete open-orders answer no longer lists it.
    Released {
        account: AccountId,
        reservation: u64,
        why: Box<str>,
        ts_ms: i64,
    },
    /// An open order riskgate did not place (seen in an open-orders answer).
    Discovered {
        account: AccountId,
        reservation: u64,
        #[serde(default)]
        venue: Option<Arc<str>>,
        #[serde(default)]
        contract: Contract,
        symbol: Symbol,
        base: Arc<str>,
        quote: Arc<str>,
        side: Side,
        orig_qty: Fixed,
        executed_qty: Fixed,
        price: Option<Fixed>,
        exchange_order_id: Option<i64>,
        client_order_id: Option<ClientOrderId>,
        ts_ms: i64,
    },
    /// Balances the venue reported replace what riskgate believed for that
    /// venue (and any configured starting holdings). `venue` None: the
    /// configured starting holdings, or a journal from before several venues.
    Holdings {
        account: AccountId,
        #[serde(default)]
        venue: Option<Arc<str>>,
        holdings: Vec<(Arc<str>, Fixed)>,
        ts_ms: i64,
    },
    /// Derivative positions a venue reported replace riskgate's for that venue.
    Positions {
        account: AccountId,
        venue: Arc<str>,
        positions: Vec<DerivPosition>,
        ts_ms: i64,
    },
    /// Kill switch: `account` None is the global state.
    TradingState {
        account: Option<AccountId>,
        state: TradingState,
        who: Box<str>,
        why: String,
        ts_ms: i64,
    },
    /// A symbol's circuit breaker opened until `until_ms`.
    BreakerTripped {
        symbol: Symbol,
        until_ms: i64,
        move_pct: f64,
        ts_ms: i64,
    },
    /// The equity peak the drawdown limit measures from (a new high, or the
    /// current equity after an admin resumed a drawdown-tripped account).
    EquityPeak {
        account: AccountId,
        peak_usd: f64,
        ts_ms: i64,
    },
    /// Compaction: one account's whole book.
    Snapshot {
        account: AccountId,
        book: Box<BookSnapshot>,
    },
}
