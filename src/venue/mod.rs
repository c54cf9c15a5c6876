//! Venues: each exchange's wire format, behind one trait.
//!
//! A venue adapter classifies a request (order, cancel, read to learn from,
//! harmless pass-through, or refused), parses orders into `model::NewOrder`,
//! renders riskgate's refusals in the exchange's own error shape, and reads the
//! exchange's answers into venue-neutral reports. It makes no decisions: rules
//! decide, state remembers. Nothing outside `venue/` knows a wire format.

pub mod binance;
pub mod bybit;
pub mod canonical;
pub mod coinbase;
pub mod headers;
pub mod kraken;
pub mod okx;

use std::borrow::Cow;

use bytes::Bytes;
use http::Method;

pub use headers::Headers;

use crate::model::{
    AmendRequest, Balance, FilterReport, Fixed, NewOrder, OrderRef, OrderReport, Symbol,
};
use crate::rules::Rejection;

/// The kinds of venue riskgate can front. Config names them in kebab case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VenueKind {
    BinanceSpot,
    BinanceUsdm,
    BybitV5,
    OkxV5,
    Kraken,
    CoinbaseAdvanced,
}

impl VenueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VenueKind::BinanceSpot => "binance-spot",
            VenueKind::BinanceUsdm => "binance-usdm",
            VenueKind::BybitV5 => "bybit-v5",
            VenueKind::OkxV5 => "okx-v5",
            VenueKind::Kraken => "kraken",
            VenueKind::CoinbaseAdvanced => "coinbase-advanced",
        }
    }

    /// The exchange (counterparty) this kind trades with: Binance spot and
    /// USD-M futures are one counterparty. Per-exchange exposure limits are
    /// keyed by this name.
    pub fn exchange(self) -> &'static str {
        match self {
            VenueKind::BinanceSpot | VenueKind::BinanceUsdm => "binance",
            VenueKind::BybitV5 => "bybit",
            VenueKind::OkxV5 => "okx",
            VenueKind::Kraken => "kraken",
            VenueKind::CoinbaseAdvanced => "coinbase",
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
    pub headers: &'a Headers,
    pub body: &'a [u8],
}

impl<'a> RequestView<'a> {
    /// The API key from the venue's key header, when present and not empty.
    pub fn api_key(&self, header: &str) -> Option<Cow<'a, [u8]>> {
        let headers: &'a Headers = self.headers;
        headers
            .get(header)
            .map(|v| v.as_bytes())
            .filter(|k| !k.is_empty())
            .map(Cow::Borrowed)
    }

    /// GET and HEAD: reads, which change nothing at the exchange.
    pub fn is_read(&self) -> bool {
        *self.method == Method::GET || *self.method == Method::HEAD
    }

    /// A mutating request to a path an exchange could read another way is
    /// refused: it might be normalised upstream into an order endpoint.
    pub fn refuse_non_canonical_mutation(&self) -> Result<(), Rejection> {
        if self.is_read() || canonical::is_canonical_path(self.path) {
            Ok(())
        } else {
            Err(Rejection::new(
                crate::rules::RejectReason::EndpointNotAllowed,
                "non-canonical path refused",
            ))
        }
    }
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
    /// Several new orders in one request (a batch endpoint). Every order is
    /// checked; if any is refused the whole batch is refused (nothing reserved,
    /// nothing forwarded) and answered with `Venue::render_batch_rejection`.
    /// Accepted batches reserve all their orders atomically.
    NewOrders(Box<[NewOrder]>),
    /// An amend/edit of a resting order, parsed as the order it becomes. It is
    /// checked and reserved as a new order: until the venue's answer settles it,
    /// the old and the new order both count (the worst case). An amend that
    /// cannot be parsed into a whole order is refused at classification.
    Amend(NewOrder),
    /// An amend that names only the resting order and its new size or price
    /// (Bybit, OKX, Kraken; Coinbase `orders/edit`). The engine resolves the
    /// order among the account's tracked open orders on this venue, builds the
    /// order the amend makes (same side, type and reduce-only) and checks it;
    /// an order it does not track is refused. Until the venue answers, the old
    /// and the new order both count; the answer releases one of them.
    AmendRef(AmendRequest),
    /// Cancel one order: always allowed, learn from the answer.
    Cancel { symbol: Symbol, order: OrderRef },
    /// Cancel all open orders on a symbol.
    CancelAll { symbol: Symbol },
    /// Cancel several orders in one request: always allowed, learn from the answer.
    CancelBatch,
}

impl Action {
    /// The orders this action asks to place (one for an order or an amend,
    /// several for a batch, none otherwise).
    pub fn new_orders(&self) -> &[NewOrder] {
        match self {
            Action::NewOrder(o) | Action::Amend(o) => std::slice::from_ref(o),
            Action::NewOrders(v) => v,
            _ => &[],
        }
    }
}

/// Reads whose answers carry state worth learning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// One order's status.
    OrderStatus,
    /// The complete list of open orders (for one symbol, or all when None).
    OpenOrders { symbol: Option<Symbol> },
    /// Balances (and, on derivatives venues, positions).
    Account,
    /// Derivative positions: every position when `complete`, else one symbol's.
    Positions { complete: bool },
    /// Public prices.
    Ticker,
    /// The public instrument list with its exchange filters (Binance
    /// `exchangeInfo`, Bybit `instruments-info`, OKX `public/instruments`,
    /// Kraken `AssetPairs`).
    Instruments,
}

/// A classified request: who sent it and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified<'a> {
    /// The raw API key, if the request carries one: borrowed from a header,
    /// or owned when the venue derives it (Coinbase: the key name inside a JWT).
    pub api_key: Option<Cow<'a, [u8]>>,
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
    /// For a batch (`Action::NewOrders`): one entry per order, in request
    /// order. `Some(report)` when the venue took that order, `None` when it
    /// refused that one order. Empty when the answer could not be read per
    /// order (then every order's outcome is unknown), or the whole batch was
    /// refused (`venue_rejected`).
    pub batch: Vec<Option<OrderReport>>,
    /// Derivative positions the venue reported (signed; 0 = flat). When
    /// `positions_complete`, they replace every derivative position riskgate
    /// holds for this venue (a listing of all positions).
    pub positions: Vec<PositionReport>,
    pub positions_complete: bool,
    /// Exchange filters from an instrument list (`Observation::Instruments`).
    pub filters: Vec<FilterReport>,
}

/// One derivative position as the venue reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionReport {
    pub symbol: Symbol,
    /// Signed base quantity: negative for shorts.
    pub qty: Fixed,
    /// Average entry price, when the venue gives it.
    pub entry_price: Option<Fixed>,
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

    /// riskgate's refusal of a whole batch because order `refused` (an index
    /// into `orders`) failed `rejection`. Venues whose batch endpoints answer
    /// per order (Bybit, OKX, Binance futures) list every order, each with its
    /// client id; the default is the single-order shape.
    fn render_batch_rejection(
        &self,
        orders: &[NewOrder],
        refused: usize,
        rejection: &Rejection,
    ) -> SyntheticResponse {
        let _ = (orders, refused);
        self.render_rejection(rejection)
    }

    /// Reads the venue's answer to a request of the given action.
    fn learn(&self, action: &Action, status: u16, body: &[u8]) -> Learned;

    /// Public, unsigned path that lists every symbol's last price (polled in
    /// live and shadow mode for reference prices; read with `Observation::Ticker`).
    fn ticker_path(&self) -> &'static str;

    /// Public, unsigned path for up to `days` daily bars of `symbol`.
    fn daily_bars_path(&self, symbol: &str, days: usize) -> String;

    /// Daily closes (oldest first) from the answer to `daily_bars_path`.
    fn parse_daily_closes(&self, body: &[u8]) -> Vec<f64>;

    /// Public, unsigned paths whose answers list every instrument's exchange
    /// filters (read with `Observation::Instruments`): fetched at start and
    /// refreshed in live and shadow mode, asked of the paper venue in paper
    /// mode. Empty: the venue publishes none riskgate can read, so with
    /// `exchange_filters` on its orders are refused.
    fn instruments_paths(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Creates the adapter for a venue kind.
pub fn adapter(kind: VenueKind, allow_withdrawals: bool) -> std::sync::Arc<dyn Venue> {
    match kind {
        VenueKind::BinanceSpot => std::sync::Arc::new(binance::BinanceSpot::new(allow_withdrawals)),
        // USD-M has no withdrawal endpoints (they live on the spot host).
        VenueKind::BinanceUsdm => std::sync::Arc::new(binance::BinanceUsdm),
        // Bybit withdrawals are not order endpoints: refused like any unknown mutation.
        VenueKind::BybitV5 => std::sync::Arc::new(bybit::BybitV5),
        VenueKind::OkxV5 => std::sync::Arc::new(okx::OkxV5::new(allow_withdrawals)),
        VenueKind::Kraken => std::sync::Arc::new(kraken::Kraken::new(allow_withdrawals)),
        VenueKind::CoinbaseAdvanced => {
            std::sync::Arc::new(coinbase::CoinbaseAdvanced::new(allow_withdrawals))
        }
    }
}
