//! Orders, cancels and the facts venues report about them, in venue-neutral form.

use super::{Fixed, SmallStr, Symbol};

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

/// What an order trades: the asset itself, or a contract on it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Contract {
    /// Spot: the position is the balance of the base asset.
    #[default]
    Spot,
    /// Linear (USDT/USDC-margined) perpetual or future: a signed position per
    /// venue and instrument, valued at notional for exposure and leverage.
    Linear,
}

/// Turns a venue's order id into the numeric id riskgate tracks. Numeric ids
/// (Binance, OKX) are kept as they are; others (Bybit's UUIDs, Kraken's
/// txids) become a stable 63-bit FNV-1a hash, negated so it never collides
/// with a numeric id. The id is only ever compared, never sent back.
pub fn exchange_order_id(id: &str) -> Option<i64> {
    if id.is_empty() {
        return None;
    }
    if let Ok(n) = id.parse::<i64>() {
        return Some(n);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Some(-((h & (i64::MAX as u64)) as i64) - 1)
}

/// Bytes of a client order id kept inline: Binance (36), Bybit (36), OKX
/// (32) and a UUID (36) fit; a longer id (another venue's free text) is kept
/// on the heap.
pub const CLIENT_ORDER_ID_INLINE_BYTES: usize = 38;

/// A client order id (Binance `newClientOrderId`, OKX `clOrdId`, ...): inline
/// (40 bytes), so it goes from the parsed request into the reservation, the
/// journal, the book and its indexes as copies, never a heap allocation.
pub type ClientOrderId = SmallStr<CLIENT_ORDER_ID_INLINE_BYTES>;

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
    pub client_order_id: Option<ClientOrderId>,
    /// The venue promises the order can only reduce (derivatives `reduceOnly`,
    /// `closePosition`): it always counts as reducing, so only a halt blocks it.
    /// A `closePosition` order carries no quantity (`qty` and `quote_qty` None).
    pub reduce_only: bool,
    /// Spot or derivative semantics for the position it changes.
    pub contract: Contract,
    /// A test order (`/order/test`): checked, never counted or reserved.
    pub test_only: bool,
}

/// An amend that names only the order it changes and the new size or price
/// (Bybit `/v5/order/amend`, OKX `amend-order`, Kraken `AmendOrder` and
/// `EditOrder`, Coinbase `orders/edit`): the side, type and instrument are the
/// resting order's. The engine finds the order among the open orders it tracks
/// and checks the order the amend makes.
#[derive(Clone, Debug, PartialEq)]
pub struct AmendRequest {
    /// The order to amend.
    pub target: OrderRef,
    /// The order's id as the bot wrote it (for messages; at most 40 characters).
    pub target_label: Box<str>,
    /// The instrument, when the request names it (Kraken `AmendOrder` does not).
    pub symbol: Option<Symbol>,
    /// Spot or derivative, when the request says (Bybit's `category`): an
    /// order of the other kind on the same symbol is not the one meant.
    pub contract: Option<Contract>,
    /// The new total order quantity in base units, including what has already
    /// filled (every supported venue reads it so); None leaves it unchanged.
    pub new_qty: Option<Fixed>,
    /// The new limit price; None leaves it unchanged.
    pub new_price: Option<Fixed>,
    /// The new trigger price of a conditional order; None leaves it unchanged.
    pub new_trigger_price: Option<Fixed>,
    /// Prices given by position rather than by meaning (Kraken `EditOrder`'s
    /// `price` and `price2`): the first is a limit order's limit and a stop
    /// order's trigger, the second a stop-limit's limit. The engine reads them
    /// by the type of the order it finds.
    pub positional_prices: Option<(Option<Fixed>, Option<Fixed>)>,
    pub mode: AmendMode,
}

/// How the venue applies an amend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmendMode {
    /// The same order changes in place and keeps its id; its fills count
    /// toward the new total (Bybit, OKX, Kraken `AmendOrder`).
    InPlace,
    /// The venue cancels the order and places a new one with a new id; fills
    /// so far stay with the old order (Kraken `EditOrder`).
    CancelReplace,
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
    pub client_order_id: Option<ClientOrderId>,
    pub side: Option<Side>,
    pub status: OrderStatus,
    /// Original quantity.
    pub orig_qty: Option<Fixed>,
    /// Cumulative filled base quantity.
    pub executed_qty: Fixed,
    /// Average fill price if known (from fills or cumulative quote).
    pub avg_price: Option<Fixed>,
    /// Spot or derivative (for orders riskgate discovers in a listing).
    pub contract: Contract,
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
