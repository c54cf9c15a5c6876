//! Market data: reference prices with their age, and the paper market simulator.
//!
//! Owns the latest price per symbol and when it was seen. Knows no venue wire
//! format (venues hand it parsed prices) and makes no decisions (rules read ages).

pub mod sim;
