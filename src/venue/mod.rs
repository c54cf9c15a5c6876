//! Venues: each exchange's wire format, behind one trait.
//!
//! A venue adapter classifies a request (order, cancel, read to learn from,
//! harmless pass-through, or refused), parses orders into `model::NewOrder`,
//! renders riskgate's refusals in the exchange's own error shape, and reads the
//! exchange's answers into venue-neutral reports. It makes no decisions: rules
//! decide, state remembers. Nothing outside `venue/` knows a wire format.

pub mod binance;
pub mod canonical;
pub mod kraken;
pub mod okx;

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::model::{Balance, Fixed, NewOrder, OrderRef, OrderReport, Symbol};
use crate::rules::Rejection;

/// The kinds of venue riskgate can front. Config names them in kebab case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VenueKind {
    BinanceSpot,
    OkxV5,
    Kraken,
}

impl VenueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VenueKind::BinanceSpot => "binance-spot",
            VenueKind::OkxV5 => "okx-v5",
            VenueKind::Kraken => "kraken",
        }
    }
}

/// A borrowed view of the bot's request, as received.
pub struct RequestView<'a> {
    pub method: &'a Method,
    /// Raw path, not decoded.
    pub path: &'a str,
    /// Raw query string without the `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// What a request is, as far as risk is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Forward untouched; nothing to learn (market data, pings, harmless posts).
    Pass,
    /// Forward untouched and learn from the answer.
    Observe(Observation),
    /// A new order: check, reserve, forward, learn.
    NewOrder(NewOrder),
    /// Cancel one order: always allowed, learn from the answer.
    Cancel { symbol: Symbol, order: OrderRef },
    /// Cancel all open orders on a symbol.
    CancelAll { symbol: Symbol },
}

/// Reads whose answers carry state worth learning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// One order's status.
    OrderStatus,
    /// The complete list of open orders (for one symbol, or all when None).
    OpenOrders { symbol: Option<Symbol> },
    /// Balances.
    Account,
    /// Public prices.
    Ticker,
}

/// A classified request: who sent it and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified<'a> {
    /// The raw API key, if the request carries one.
    pub api_key: Option<&'a [u8]>,
    pub action: Action,
}

/// What a venue's answer told us.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learned {
    pub reports: Vec<OrderReport>,
    pub balances: Vec<Balance>,
    pub prices: Vec<(Symbol, Fixed)>,
    /// The venue refused the request (its own error code), so a reservation made
    /// for it can be released.
    pub venue_rejected: bool,
    /// `reports` is the complete set of open orders for this scope.
    pub open_orders_complete: Option<Option<Symbol>>,
}

/// A response riskgate writes itself.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticResponse {
    pub status: u16,
    pub body: Bytes,
}

pub trait Venue: Send + Sync + 'static {
    fn kind(&self) -> VenueKind;

    /// Classifies a request. An `Err` is a refusal to forward (malformed, unknown
    /// or blocked endpoint) and must be answered with `render_rejection`.
    fn classify<'a>(&self, req: &RequestView<'a>) -> Result<Classified<'a>, Rejection>;

    /// riskgate's refusal in this venue's error shape, so that client libraries
    /// raise their ordinary order-rejected (non-retryable) error.
    fn render_rejection(&self, rejection: &Rejection) -> SyntheticResponse;

    /// Reads the venue's answer to a request of the given action.
    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned;

    /// Public, unsigned path that lists every symbol's last price (polled in
    /// live and shadow mode for reference prices; read with `Observation::Ticker`).
    fn ticker_path(&self) -> &'static str;

    /// Public, unsigned path for up to `days` daily bars of `symbol`.
    fn daily_bars_path(&self, symbol: &str, days: usize) -> String;

    /// Daily closes (oldest first) from the answer to `daily_bars_path`.
    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64>;
}

/// Creates the adapter for a venue kind.
pub fn adapter(kind: VenueKind, allow_withdrawals: bool) -> std::sync::Arc<dyn Venue> {
    match kind {
        VenueKind::BinanceSpot => std::sync::Arc::new(binance::BinanceSpot::new(allow_withdrawals)),
        VenueKind::OkxV5 => std::sync::Arc::new(okx::OkxV5::new(allow_withdrawals)),
        VenueKind::Kraken => std::sync::Arc::new(kraken::Kraken::new(allow_withdrawals)),
    }
}
