//! Circuit breakers: pause a symbol after its price moves too far too fast.
//!
//! Fed by every reference-price update (off the order path). Keeps a bounded
//! window of samples per symbol; trips when max/min over the window exceeds the
//! rule's move. Trips are journaled by the caller so a pause survives restarts.

use std::collections::VecDeque;

use dashmap::DashMap;

use crate::model::{Fixed, Symbol};
use crate::rules::ruleset::BreakerRule;

/// Samples kept per symbol; updates closer than `MIN_SAMPLE_SPACING_MS` replace the last one.
const MAX_SAMPLES: usize = 1024;
const MIN_SAMPLE_SPACING_MS: i64 = 100;

#[derive(Default)]
struct Window {
    samples: VecDeque<(i64, f64)>,
    open_until_ms: Option<i64>,
}

#[derive(Default)]
pub struct Breakers {
    windows: DashMap<Symbol, Window>,
}

/// A breaker that just opened.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    pub symbol: Symbol,
    pub until_ms: i64,
    pub move_pct: f64,
}

impl Breakers {
    pub fn new() -> Breakers {
        Breakers::default()
    }

    /// Records a price; returns a trip if this update opens the breaker.
    pub fn on_price(
        &self,
        symbol: &Symbol,
        price: Fixed,
        now_ms: i64,
        rule: &BreakerRule,
    ) -> Option<Trip> {
        if !rule.enabled || !price.is_positive() {
            return None;
        }
        let mut w = self.windows.entry(symbol.clone()).or_default();
        let p = price.to_f64();
        match w.samples.back_mut() {
            Some(last) if now_ms - last.0 < MIN_SAMPLE_SPACING_MS => last.1 = p,
            _ => w.samples.push_back((now_ms, p)),
        }
        while w
            .samples
            .front()
            .is_some_and(|(t, _)| now_ms - t > rule.window_ms)
            || w.samples.len() > MAX_SAMPLES
        {
            w.samples.pop_front();
        }
        if w.open_until_ms.is_some_and(|until| now_ms < until) {
            return None;
        }
        let (lo, hi) = w
            .samples
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), (_, p)| {
                (lo.min(*p), hi.max(*p))
            });
        let move_pct = (hi / lo - 1.0) * 100.0;
        if move_pct > rule.max_move_pct {
            let until_ms = now_ms + rule.pause_ms;
            w.open_until_ms = Some(until_ms);
            // Start a fresh window so the same move does not re-trip on reopening.
            w.samples.clear();
            w.samples.push_back((now_ms, p));
            return Some(Trip {
                symbol: symbol.clone(),
                until_ms,
                move_pct,
            });
        }
        None
    }

    /// Restores a journaled trip.
    pub fn restore(&self, symbol: &Symbol, until_ms: i64) {
        self.windows
            .entry(symbol.clone())
            .or_default()
            .open_until_ms = Some(until_ms);
    }

    /// When the symbol's breaker closes, if it is open at `now_ms`.
    pub fn open_until(&self, symbol: &str, now_ms: i64) -> Option<i64> {
        self.windows
            .get(symbol)
            .and_then(|w| w.open_until_ms.filter(|until| now_ms < *until))
    }

    /// Every breaker open at `now_ms`.
    pub fn open(&self, now_ms: i64) -> Vec<(Symbol, i64)> {
        self.windows
            .iter()
            .filter_map(|e| {
                e.value()
                    .open_until_ms
                    .filter(|u| now_ms < *u)
                    .map(|u| (e.key().clone(), u))
            })
            .collect()
    }

    /// Closes a breaker by hand (admin resume).
    pub fn reset(&self, symbol: &str) -> bool {
        self.windows
            .get_mut(symbol)
            .map(|mut w| w.open_until_ms.take().is_some())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_on_a_fast_move_and_reopens_after_the_pause() {
        let b = Breakers::new();
        let rule = BreakerRule {
            enabled: true,
            max_move_pct: 10.0,
            window_ms: 60_000,
            pause_ms: 300_000,
        };
        let s = Symbol::new("BTCUSDT");
        assert!(b.on_price(&s, Fixed::from_units(100), 0, &rule).is_none());
        assert!(b
            .on_price(&s, Fixed::from_units(105), 10_000, &rule)
            .is_none());
        let trip = b
            .on_price(&s, Fixed::from_units(111), 20_000, &rule)
            .unwrap();
        assert_eq!(trip.until_ms, 320_000);
        assert_eq!(b.open_until("BTCUSDT", 100_000), Some(320_000));
        assert_eq!(b.open_until("BTCUSDT", 320_000), None);
        // A slow move over longer than the window does not trip.
        let s2 = Symbol::new("ETHUSDT");
        for i in 0..10 {
            assert!(b
                .on_price(&s2, Fixed::from_units(100 + 3 * i), i * 61_000, &rule)
                .is_none());
        }
    }
}
