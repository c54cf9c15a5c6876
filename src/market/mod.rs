//! Market data: reference prices with their age, circuit breakers on price moves,
//! the venues' exchange filters, and the paper market simulator.
//!
//! Owns the latest price per symbol and when it was seen. Knows no venue wire
//! format (venues hand it parsed prices) and makes no order decisions (the rules
//! read the ages and breaker states it keeps).

pub mod breaker;
pub mod filters;
pub mod history;
pub mod prices;
pub mod sim;

pub use breaker::{Breakers, Trip};
pub use filters::FilterBook;
pub use prices::{PriceBook, PricePoint};
