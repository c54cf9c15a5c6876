//! Reference prices: the latest price per symbol and when it was seen.

use dashmap::DashMap;

use crate::model::{Fixed, Instrument, Symbol, USD_STABLE_ASSETS};
use crate::rules::PriceView;

/// Most symbols priced (a full Binance ticker answer is ~3000).
pub const MAX_PRICED_SYMBOLS: usize = 20_000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PricePoint {
    pub price: Fixed,
    pub seen_ms: i64,
}

#[derive(Default)]
pub struct PriceBook {
    prices: DashMap<Symbol, PricePoint>,
}

impl PriceBook {
    pub fn new() -> PriceBook {
        PriceBook::default()
    }

    /// Records a price; ignores non-positive prices and older observations.
    /// Returns false when the symbol is new and the book is full.
    pub fn update(&self, symbol: &Symbol, price: Fixed, seen_ms: i64) -> bool {
        if !price.is_positive() {
            return true;
        }
        if let Some(mut p) = self.prices.get_mut(symbol.as_str()) {
            if seen_ms >= p.seen_ms {
                *p = PricePoint { price, seen_ms };
            }
            return true;
        }
        if self.prices.len() >= MAX_PRICED_SYMBOLS {
            return false;
        }
        self.prices
            .insert(symbol.clone(), PricePoint { price, seen_ms });
        true
    }

    pub fn get(&self, symbol: &str) -> Option<PricePoint> {
        self.prices.get(symbol).map(|p| *p)
    }

    /// The price as the rules see it: fresh, stale (with its age) or missing.
    pub fn view(&self, symbol: &str, now_ms: i64, max_age_ms: i64) -> PriceView {
        match self.get(symbol) {
            None => PriceView::Missing,
            Some(p) => {
                let age_ms = now_ms - p.seen_ms;
                if age_ms > max_age_ms {
                    PriceView::Stale { age_ms, max_age_ms }
                } else {
                    PriceView::Fresh(p.price)
                }
            }
        }
    }

    /// USD per unit of `asset`: 1 for USD stablecoins, else `<asset>USDT` if fresh.
    pub fn usd_rate(&self, asset: &str, now_ms: i64, max_age_ms: i64) -> Option<f64> {
        if USD_STABLE_ASSETS.contains(&asset) {
            return Some(1.0);
        }
        // `<ASSET>USDT`, built on the stack: this runs per asset on the order
        // path (exchange exposure, quote conversion).
        let mut buf = [0u8; 64];
        let key_len = asset.len() + 4;
        let heap;
        let key = if key_len <= buf.len() {
            buf[..asset.len()].copy_from_slice(asset.as_bytes());
            buf[asset.len()..key_len].copy_from_slice(b"USDT");
            std::str::from_utf8(&buf[..key_len]).ok()?
        } else {
            heap = format!("{asset}USDT");
            heap.as_str()
        };
        match self.view(key, now_ms, max_age_ms) {
            PriceView::Fresh(p) => Some(p.to_f64()),
            _ => None,
        }
    }

    /// USD per unit of the instrument's quote currency.
    pub fn quote_usd(&self, instrument: &Instrument, now_ms: i64, max_age_ms: i64) -> Option<f64> {
        if instrument.quote_is_usd() {
            Some(1.0)
        } else {
            self.usd_rate(&instrument.quote, now_ms, max_age_ms)
        }
    }

    pub fn len(&self) -> usize {
        self.prices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    pub fn all(&self) -> Vec<(Symbol, PricePoint)> {
        self.prices
            .iter()
            .map(|e| (e.key().clone(), *e.value()))
            .collect()
    }
}
