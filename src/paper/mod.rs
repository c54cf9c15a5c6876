//! The built-in paper exchange: answers a venue's API in its own format from
//! paper accounts filled against the simulated market.
//!
//! Owns `paper::book` (accounts, orders, matching), `paper::binance` (the
//! Binance spot wire format), `paper::okx` (OKX v5 spot), `paper::kraken`
//! (Kraken spot, the simulated symbols as USDT pairs) and `paper::coinbase`
//! (Coinbase Advanced Trade spot, `BTC-USDT`, ...). Reads prices from `market::sim`; knows nothing of
//! rules or state: riskgate checks and learns from paper answers exactly as it
//! does from the real exchange's.

pub mod binance;
pub mod binance_usdm;
pub mod book;
pub mod bybit;
pub mod coinbase;
pub mod kraken;
pub mod okx;

use std::sync::Arc;

pub use binance::PaperBinance;
pub use binance_usdm::PaperBinanceUsdm;
pub use bybit::PaperBybit;
pub use coinbase::PaperCoinbase;
pub use kraken::PaperKraken;
pub use okx::PaperOkx;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::market::sim::{MarketSim, SharedMarket, SimConfig};
use crate::proxy::InProcessVenue;
use crate::venue::VenueKind;

/// The simulated market a configuration asks for, starting at the clock's now.
/// What the paper exchanges that share `book::Books` hold in common (OKX,
/// Kraken, Coinbase): the simulated market, the clock and the accounts.
pub(crate) struct PaperCore {
    pub market: SharedMarket,
    pub clock: SharedClock,
    pub books: parking_lot::Mutex<book::Books>,
}

impl PaperCore {
    pub fn new(
        market: SharedMarket,
        clock: SharedClock,
        starting_balances: Vec<(String, crate::model::Fixed)>,
        max_accounts: usize,
    ) -> PaperCore {
        PaperCore {
            market,
            clock,
            books: parking_lot::Mutex::new(book::Books::new(starting_balances, max_accounts)),
        }
    }

    /// Advances the market to the clock and fills resting orders it crossed.
    pub fn sync(&self) -> i64 {
        let now_ms = self.clock.now_ms();
        if self.market.read().is_due(now_ms) {
            self.market.write().advance_to(now_ms);
        }
        let m = self.market.read();
        self.books.lock().match_resting(&m, now_ms);
        now_ms
    }
}

pub fn market_for(config: &Config, clock: &SharedClock) -> SharedMarket {
    let sim = SimConfig {
        seed: config.sim_seed,
        tick_ms: config.sim_tick_ms,
        symbols: SimConfig::default_symbols(),
    };
    MarketSim::new(&sim, clock.now_ms()).shared()
}

/// The paper venue for a venue kind over a given market (share one market
/// between venues and the risk engine).
pub fn venue_with_market(
    kind: VenueKind,
    market: SharedMarket,
    clock: SharedClock,
    starting_balances: Vec<(String, crate::model::Fixed)>,
) -> Option<Arc<dyn InProcessVenue>> {
    venue_with_limits(
        kind,
        market,
        clock,
        starting_balances,
        book::DEFAULT_MAX_ACCOUNTS,
    )
}

/// As `venue_with_market`, with at most `max_accounts` paper accounts.
pub fn venue_with_limits(
    kind: VenueKind,
    market: SharedMarket,
    clock: SharedClock,
    starting_balances: Vec<(String, crate::model::Fixed)>,
    max_accounts: usize,
) -> Option<Arc<dyn InProcessVenue>> {
    match kind {
        VenueKind::BybitV5 => Some(Arc::new(PaperBybit::new(
            market,
            clock,
            starting_balances,
            max_accounts,
        ))),
        VenueKind::BinanceUsdm => Some(Arc::new(PaperBinanceUsdm::new(
            market,
            clock,
            starting_balances,
            max_accounts,
        ))),
        VenueKind::BinanceSpot => Some(Arc::new(PaperBinance::with_max_accounts(
            market,
            clock,
            starting_balances,
            max_accounts,
        ))),
        VenueKind::OkxV5 => Some(Arc::new(PaperOkx::with_max_accounts(
            market,
            clock,
            starting_balances,
            max_accounts,
        ))),
        VenueKind::Kraken => Some(Arc::new(PaperKraken::with_max_accounts(
            market,
            clock,
            starting_balances,
            max_accounts,
        ))),
        VenueKind::CoinbaseAdvanced => Some(Arc::new(PaperCoinbase::with_max_accounts(
            market,
            clock,
            starting_balances,
            max_accounts,
        ))),
    }
}
