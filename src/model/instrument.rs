//! Instruments: the symbol a venue uses, and the assets it trades.

use std::fmt;
use std::sync::Arc;

/// A venue's instrument name as the bot sends it (`BTCUSDT`). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Symbol(Arc<str>);

impl Symbol {
    pub fn new(s: &str) -> Symbol {
        Symbol(Arc::from(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl std::borrow::Borrow<str> for Symbol {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Dense index of a known instrument (position in the instrument table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstrumentId(pub u32);

/// What an instrument trades: `base` priced in `quote`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instrument {
    pub symbol: Symbol,
    pub base: Arc<str>,
    pub quote: Arc<str>,
}

/// Quote assets worth one US dollar for risk purposes.
pub const USD_STABLE_ASSETS: &[&str] = &[
    "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "USD",
];

/// Quote assets recognised when splitting a concatenated symbol, longest first
/// so that `FDUSD` wins over `USD`.
const KNOWN_QUOTES: &[&str] = &[
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY",
    "BRL", "JPY", "GBP", "USD",
];

impl Instrument {
    /// Splits a concatenated symbol such as `BTCUSDT` into base and quote.
    /// Returns None when no known quote asset ends the symbol.
    pub fn from_concatenated(symbol: &str) -> Option<Instrument> {
        KNOWN_QUOTES.iter().find_map(|q| {
            let base = symbol.strip_suffix(q)?;
            (!base.is_empty()).then(|| Instrument {
                symbol: Symbol::new(symbol),
                base: Arc::from(base),
                quote: Arc::from(*q),
            })
        })
    }

    pub fn quote_is_usd(&self) -> bool {
        USD_STABLE_ASSETS.contains(&&*self.quote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_binance_symbols() {
        let i = Instrument::from_concatenated("BTCUSDT").unwrap();
        assert_eq!((&*i.base, &*i.quote), ("BTC", "USDT"));
        let i = Instrument::from_concatenated("ETHFDUSD").unwrap();
        assert_eq!((&*i.base, &*i.quote), ("ETH", "FDUSD"));
        let i = Instrument::from_concatenated("ETHBTC").unwrap();
        assert_eq!((&*i.base, &*i.quote), ("ETH", "BTC"));
        assert!(Instrument::from_concatenated("USDT").is_none());
        assert!(Instrument::from_concatenated("FOO").is_none());
    }
}
