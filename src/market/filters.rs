//! Exchange filters per (venue, contract, instrument), as the venues published
//! them: learned from instrument answers passing through, and loaded at start
//! (paper venues' own definitions; in live and shadow mode, the venue's public
//! instrument list, refreshed by the background task).
//!
//! Owns only the table (bounded per venue). Knows no wire format (venues parse)
//! and decides nothing (the rules read a copy). A lookup on the order path is
//! two hash probes on borrowed keys: it does not allocate.

use std::sync::Arc;

use dashmap::DashMap;

use crate::model::{Contract, FilterReport, InstrumentFilters, Symbol};

/// Most instruments remembered per venue and contract (Binance spot lists ~3000).
pub const MAX_FILTERED_INSTRUMENTS: usize = 20_000;

/// Spot and linear instruments of one venue: Bybit names both `BTCUSDT`.
type PerContract = [DashMap<Symbol, InstrumentFilters>; 2];

fn slot(contract: Contract) -> usize {
    match contract {
        Contract::Spot => 0,
        Contract::Linear => 1,
    }
}

pub struct FilterBook {
    /// Configured venues by name (a handful: a linear scan beats a hash).
    venues: Vec<(Arc<str>, PerContract)>,
}

impl FilterBook {
    /// A book for these venue names; answers from other venues are ignored.
    pub fn new<'a>(venue_names: impl IntoIterator<Item = &'a Arc<str>>) -> FilterBook {
        FilterBook {
            venues: venue_names
                .into_iter()
                .map(|n| (n.clone(), Default::default()))
                .collect(),
        }
    }

    fn venue(&self, venue: &str) -> Option<&PerContract> {
        self.venues
            .iter()
            .find(|(n, _)| &**n == venue)
            .map(|(_, m)| m)
    }

    /// The filters of `symbol` on `venue`, if known.
    pub fn get(&self, venue: &str, contract: Contract, symbol: &str) -> Option<InstrumentFilters> {
        self.venue(venue)?[slot(contract)].get(symbol).map(|f| *f)
    }

    /// Records what a venue's answer listed (replacing earlier filters for the
    /// same instrument). Returns how many were stored.
    pub fn learn(&self, venue: &str, reports: &[FilterReport]) -> usize {
        let Some(maps) = self.venue(venue) else {
            return 0;
        };
        let mut stored = 0;
        for r in reports {
            let map = &maps[slot(r.contract)];
            if map.len() >= MAX_FILTERED_INSTRUMENTS && !map.contains_key(r.symbol.as_str()) {
                continue;
            }
            map.insert(r.symbol.clone(), r.filters);
            stored += 1;
        }
        stored
    }

    /// How many instruments have filters on `venue` (status and logs).
    pub fn count(&self, venue: &str) -> usize {
        self.venue(venue)
            .map(|m| m.iter().map(|x| x.len()).sum())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Fixed;

    #[test]
    fn keeps_spot_and_linear_apart_and_ignores_unknown_venues() {
        let name: Arc<str> = Arc::from("bybit");
        let book = FilterBook::new([&name]);
        let spot = InstrumentFilters {
            qty_step: Some(Fixed(100)),
            ..Default::default()
        };
        let linear = InstrumentFilters {
            qty_step: Some(Fixed(100_000)),
            ..Default::default()
        };
        let r = |contract, filters| FilterReport {
            symbol: Symbol::new("BTCUSDT"),
            contract,
            filters,
        };
        assert_eq!(
            book.learn(
                "bybit",
                &[r(Contract::Spot, spot), r(Contract::Linear, linear)]
            ),
            2
        );
        assert_eq!(book.learn("other", &[r(Contract::Spot, spot)]), 0);
        assert_eq!(book.get("bybit", Contract::Spot, "BTCUSDT"), Some(spot));
        assert_eq!(book.get("bybit", Contract::Linear, "BTCUSDT"), Some(linear));
        assert_eq!(book.get("bybit", Contract::Spot, "ETHUSDT"), None);
        assert_eq!(book.get("other", Contract::Spot, "BTCUSDT"), None);
        assert_eq!(book.count("bybit"), 2);
    }
}
