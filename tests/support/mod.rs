//! Shared integration-test support: `mod support;` in a test file brings in the
//! mock Binance exchange (`support::MockBinance`) and the client helpers.
//!
//! Owns nothing riskgate runs in production. Each test binary uses a different
//! subset, hence the blanket `dead_code` allowance.
#![allow(dead_code, unused_imports)]

pub mod gateway;
pub mod mock_binance;
pub mod mock_bybit;
pub mod mock_coinbase;
pub mod mock_http;
pub mod mock_kraken;
pub mod mock_okx;
pub mod process;

pub use gateway::*;
pub use mock_binance::*;
pub use mock_bybit::*;
pub use process::*;
pub mod orders;
pub mod venue_gateway;
pub use orders::*;
