//! Binance spot (`api.binance.com`): endpoints, order parsing, error shape, learning.

pub mod params;

pub use params::{ParamError, Params};
