//! Exchange filters: the precision and size rules a venue publishes for one
//! instrument (Binance `LOT_SIZE`/`PRICE_FILTER`/`NOTIONAL`, Bybit
//! `lotSizeFilter`/`priceFilter`, OKX `lotSz`/`tickSz`, Kraken `lot_decimals`/
//! `ordermin`), in venue-neutral form.
//!
//! Pure data plus the arithmetic to test one number against a step or a range.
//! Venues fill it from their instrument answers; `rules::check` decides with it.
//! Every field is optional: a venue that does not publish a bound (or publishes
//! 0, which Binance uses for "disabled") leaves it `None`, and it is not checked.

use super::{Contract, Fixed, Symbol};

/// The venue's name for each field, so that a refusal can say which of the
/// venue's own filters it applied (`BTCUSDT LOT_SIZE stepSize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterNames {
    pub qty_step: &'static str,
    pub min_qty: &'static str,
    pub max_qty: &'static str,
    pub market_qty_step: &'static str,
    pub market_min_qty: &'static str,
    pub market_max_qty: &'static str,
    pub limit_max_qty: &'static str,
    pub price_tick: &'static str,
    pub min_price: &'static str,
    pub max_price: &'static str,
    pub min_notional: &'static str,
    pub max_notional: &'static str,
}

impl FilterNames {
    /// Generic names, for filters built by hand (tests).
    pub const GENERIC: FilterNames = FilterNames {
        qty_step: "quantity step",
        min_qty: "minimum quantity",
        max_qty: "maximum quantity",
        market_qty_step: "market quantity step",
        market_min_qty: "market minimum quantity",
        market_max_qty: "market maximum quantity",
        limit_max_qty: "limit maximum quantity",
        price_tick: "price tick",
        min_price: "minimum price",
        max_price: "maximum price",
        min_notional: "minimum notional",
        max_notional: "maximum notional",
    };
}

impl Default for FilterNames {
    fn default() -> Self {
        FilterNames::GENERIC
    }
}

/// One instrument's filters. Quantities are in the base asset (an OKX swap's
/// contract counts already multiplied by the contract value), prices and
/// notionals in the quote currency. `Copy`, so the order path copies it out of
/// its map without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InstrumentFilters {
    /// Every order's base quantity is a multiple of this.
    pub qty_step: Option<Fixed>,
    pub min_qty: Option<Fixed>,
    pub max_qty: Option<Fixed>,
    /// Extra rules for market orders only (Binance `MARKET_LOT_SIZE`, Bybit
    /// `maxMktOrderQty` / `maxMarketOrderQty`, OKX swap `maxMktSz`).
    pub market_qty_step: Option<Fixed>,
    pub market_min_qty: Option<Fixed>,
    pub market_max_qty: Option<Fixed>,
    /// Extra maximum for orders with a limit price, except post-only ones
    /// (Bybit `maxOrderQty` / `maxLimitOrderQty`, OKX `maxLmtSz`): post-only
    /// orders have their own, larger, maximum on Bybit.
    pub limit_max_qty: Option<Fixed>,
    /// The limit price is a multiple of this and within [min_price, max_price].
    pub price_tick: Option<Fixed>,
    pub min_price: Option<Fixed>,
    pub max_price: Option<Fixed>,
    /// Order value (quantity × price, quote currency) bounds.
    pub min_notional: Option<Fixed>,
    pub max_notional: Option<Fixed>,
    /// Whether the notional bounds also apply to market orders (valued at the
    /// reference price; Binance uses a recent average, so an order right at the
    /// boundary may be judged differently).
    pub min_notional_applies_to_market: bool,
    pub max_notional_applies_to_market: bool,
    pub names: FilterNames,
}

/// Filters for one instrument as a venue's answer listed them.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterReport {
    /// The symbol as riskgate's orders name it (after the venue's own
    /// normalisation: OKX `BTC-USDT` is `BTCUSDT`).
    pub symbol: Symbol,
    /// Bybit lists spot and linear `BTCUSDT` under one name.
    pub contract: Contract,
    pub filters: InstrumentFilters,
}

/// A positive value, or None (0 and negatives mean "not set").
pub fn positive(v: Option<Fixed>) -> Option<Fixed> {
    v.filter(|f| f.is_positive())
}

/// Whether `value` is on a grid of `step`: a multiple of it, or (Binance
/// futures' definition) of it above `min`. Either passes, so neither venue
/// convention refuses an order the venue accepts.
pub fn on_step(value: Fixed, step: Fixed, min: Option<Fixed>) -> bool {
    if step.0 <= 0 {
        return true;
    }
    value.0 % step.0 == 0
        || min.is_some_and(|m| m.0 > 0 && value.0 >= m.0 && (value.0 - m.0) % step.0 == 0)
}

/// `qty × price` in the quote currency, exact (i128), saturating at the i64 range.
pub fn notional(qty: Fixed, price: Fixed) -> Fixed {
    let v = qty.0 as i128 * price.0 as i128 / super::decimal::FIXED_SCALE as i128;
    Fixed(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// `a × b` exactly, when the product is representable at 1e-8 (OKX: lot size
/// in contracts × contract value); None when it would lose digits or overflow.
pub fn mul_exact(a: Fixed, b: Fixed) -> Option<Fixed> {
    let p = a.0 as i128 * b.0 as i128;
    let scale = super::decimal::FIXED_SCALE as i128;
    if p % scale != 0 {
        return None;
    }
    i64::try_from(p / scale).ok().map(Fixed)
}

/// 10^-decimals as a step (Kraken `lot_decimals`, `pair_decimals`); None beyond 8.
pub fn step_of_decimals(decimals: u32) -> Option<Fixed> {
    (decimals <= super::decimal::FIXED_DECIMALS)
        .then(|| Fixed(10i64.pow(super::decimal::FIXED_DECIMALS - decimals)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn steps_accept_either_convention() {
        assert!(on_step(f("0.00012"), f("0.00001"), None));
        assert!(!on_step(f("0.00012345"), f("0.00001"), None));
        // Binance futures: (qty - minQty) % step.
        assert!(on_step(f("1.5"), f("1"), Some(f("0.5"))));
        assert!(!on_step(f("1.4"), f("1"), Some(f("0.5"))));
        assert!(on_step(f("1.4"), Fixed::ZERO, None));
    }

    #[test]
    fn products_are_exact() {
        assert_eq!(notional(f("0.5"), f("60000.5")), f("30000.25"));
        assert_eq!(mul_exact(f("0.01"), f("0.01")), Some(f("0.0001")));
        assert_eq!(mul_exact(f("0.0001"), f("0.0001")), Some(Fixed(1)));
        assert_eq!(mul_exact(f("0.0001"), f("0.00001")), None);
        assert_eq!(step_of_decimals(8), Some(Fixed(1)));
        assert_eq!(step_of_decimals(2), Some(f("0.01")));
        assert_eq!(step_of_decimals(0), Some(f("1")));
        assert_eq!(step_of_decimals(9), None);
    }
}
