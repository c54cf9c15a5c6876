//! Orders, cancels and the facts venues report about them, in venue-neutral form.

use super::{Fixed, Symbol};

/// Stable identity of an account: a hash of its API key, never the key itself.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct AccountId(pub u64);

impl std::fmt::Debug for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// +1 for buys, -1 for sells: the sign of the position change.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// Order types riskgate understands. Anything else is refused at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Market,
    Limit,
    /// Limit that must rest (post-only).
    LimitMaker,
    StopMarket,
    StopLimit,
    TakeProfitMarket,
    TakeProfitLimit,
}

impl OrderKind {
    /// Whether the order carries a limit price that the exchange will honour.
    pub fn has_limit_price(self) -> bool {
        matches!(
            self,
            OrderKind::Limit
                | OrderKind::LimitMaker
                | OrderKind::StopLimit
                | OrderKind::TakeProfitLimit
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TimeInForce {
    Gtc,
    Ioc,
    Fok,
}

/// A new order as the bot asked for it, venue quirks removed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub symbol: Symbol,
    pub side: Side,
    pub kind: OrderKind,
    /// Base quantity; None when the order is sized in quote currency.
    pub qty: Option<Fixed>,
    /// Quote-currency size (Binance `quoteOrderQty`).
    pub quote_qty: Option<Fixed>,
    pub price: Option<Fixed>,
    pub stop_price: Option<Fixed>,
    pub time_in_force: Option<TimeInForce>,
    pub client_order_id: Option<Box<str>>,
    /// The venue promises the order can only reduce (derivatives `reduceOnly`).
    pub reduce_only: bool,
    /// A test order (`/order/test`): checked, never counted or reserved.
    pub test_only: bool,
}

/// Which order a cancel or query refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderRef {
    ExchangeId(i64),
    ClientId(Box<str>),
}

/// What the venue reported about one order (from an ack, a status query, an
/// open-orders listing or a cancel answer).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderReport {
    pub symbol: Symbol,
    pub exchange_order_id: Option<i64>,
    pub client_order_id: Option<Box<str>>,
    pub side: Option<Side>,
    pub status: OrderStatus,
    /// Original quantity.
    pub orig_qty: Option<Fixed>,
    /// Cumulative filled base quantity.
    pub executed_qty: Fixed,
    /// Average fill price if known (from fills or cumulative quote).
    pub avg_price: Option<Fixed>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderStatus {
    /// Live on the book (NEW, PARTIALLY_FILLED, PENDING_NEW).
    Open,
    Filled,
    /// Canceled, expired or rejected after acceptance: no longer live.
    Closed,
}

impl OrderStatus {
    pub fn is_live(self) -> bool {
        matches!(self, OrderStatus::Open)
    }
}

/// A balance the venue reported (spot account answers).
#[derive(Clone, Debug, PartialEq)]
pub struct Balance {
    pub asset: Box<str>,
    /// free + locked
    pub total: Fixed,
}
