//! Instruments: the symbol a venue uses, and the assets it trades.

use std::fmt;
use std::sync::Arc;

use super::SmallStr;

/// Bytes of a symbol kept inline. Every supported venue's tradable names fit
/// (Binance allows 20; OKX's longest, dated futures, are 15); a longer name
/// is kept on the heap.
pub const SYMBOL_INLINE_BYTES: usize = 22;

/// A venue's instrument name as the bot sends it (`BTCUSDT`). Stored inline
/// (24 bytes): making and cloning one does not allocate, and a map keyed by
/// symbols compares keys without following a pointer. Hashes as its `str`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Symbol(SmallStr<SYMBOL_INLINE_BYTES>);

impl Symbol {
    pub fn new(s: &str) -> Symbol {
        Symbol(SmallStr::new(s))
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::borrow::Borrow<str> for Symbol {
    fn borrow(&self) -> &str {
        self.as_str()
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

    /// Splits any venue's instrument name into base and quote, with asset
    /// names made venue-neutral (`XBT` → `BTC`): `BTCUSDT` (Binance, Bybit),
    /// `BTC-USDT-SWAP` / `BTC-USDT` (OKX), `XBT/USD` (Kraken), `XXBTZUSD`
    /// (Kraken's legacy pair names), `BTC-USD` (Coinbase). Rules may map a
    /// symbol explicitly (`[assets]`), which wins over this.
    pub fn from_venue_symbol(symbol: &str) -> Option<Instrument> {
        let (base, quote) = if let Some((b, rest)) = symbol.split_once(['-', '/', '_']) {
            // OKX derivatives end in -SWAP / -FUTURES / a date: the quote is the second part.
            let q = rest.split(['-', '/', '_']).next().unwrap_or(rest);
            (b, q)
        } else if symbol.len() == 8
            && symbol.starts_with(['X', 'Z'])
            && symbol[4..].starts_with(['X', 'Z'])
            && symbol.is_ascii()
        {
            // Kraken legacy names: X + 3-letter base, Z/X + 3-letter quote.
            (&symbol[1..4], &symbol[5..])
        } else if let Some((alias, rest)) = ["XBT", "XDG"]
            .iter()
            .find_map(|a| Some((*a, symbol.strip_prefix(a)?)))
            .filter(|(_, rest)| !rest.is_empty())
        {
            // Kraken's own asset names, before the quote split mistakes
            // `XBTUSD` for XB + TUSD.
            (alias, rest)
        } else {
            let i = Instrument::from_concatenated(symbol)?;
            return Some(Instrument {
                base: Arc::from(normalize_asset(&i.base)),
                quote: Arc::from(normalize_asset(&i.quote)),
                symbol: i.symbol,
            });
        };
        if base.is_empty() || quote.is_empty() {
            return None;
        }
        Some(Instrument {
            symbol: Symbol::new(symbol),
            base: Arc::from(normalize_asset(base)),
            quote: Arc::from(normalize_asset(quote)),
        })
    }

    /// An instrument whose base asset the rules name explicitly.
    pub fn with_base(symbol: &str, base: &str) -> Instrument {
        let quote = Instrument::from_venue_symbol(symbol)
            .map(|i| i.quote)
            .or_else(|| {
                symbol
                    .strip_prefix(base)
                    .map(|q| q.trim_start_matches(['-', '/', '_']))
                    .filter(|q| !q.is_empty())
                    .map(Arc::from)
            })
            .unwrap_or_else(|| Arc::from("USD"));
        Instrument {
            symbol: Symbol::new(symbol),
            base: Arc::from(base),
            quote,
        }
    }

    pub fn quote_is_usd(&self) -> bool {
        USD_STABLE_ASSETS.contains(&&*self.quote)
    }
}

/// The venue-neutral name of an asset: Kraken's `XBT` is `BTC`, `XDG` is `DOGE`.
pub fn normalize_asset(asset: &str) -> &str {
    match asset {
        "XBT" => "BTC",
        "XDG" => "DOGE",
        other => other,
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

    #[test]
    fn every_venue_name_for_bitcoin_is_btc() {
        for s in [
            "BTCUSDT",
            "BTC-USDT-SWAP",
            "BTC-USDT",
            "XBT/USD",
            "XXBTZUSD",
            "XBTUSD",
            "BTC-USD",
        ] {
            let i = Instrument::from_venue_symbol(s).unwrap();
            assert_eq!(&*i.base, "BTC", "{s}");
            assert!(i.quote_is_usd(), "{s}: {}", i.quote);
        }
        let i = Instrument::with_base("1000PEPEUSDT", "PEPE");
        assert_eq!((&*i.base, &*i.quote), ("PEPE", "USDT"));
    }
}
