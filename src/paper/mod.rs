//! The built-in paper exchange: answers a venue's API in its own format from
//! paper accounts filled against the simulated market.
//!
//! Owns `paper::book` (accounts, orders, matching) and `paper::binance` (the
//! Binance spot wire format). Reads prices from `market::sim`; knows nothing of
//! rules or state: riskgate checks and learns from paper answers exactly as it
//! does from the real exchange's.

pub mod binance;
pub mod book;

//pub use binance::PaperBinance;
