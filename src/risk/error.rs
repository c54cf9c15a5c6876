//! Typed errors of the risk library. Every data problem (missing or short
//! history, bad prices, degenerate variance, bad parameters) is an error: the
//! caller fails closed rather than trading on numbers computed from bad data.

use thiserror::Error;

/// Why a risk computation refused to produce numbers.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RiskError {
    #[error("no assets given")]
    NoAssets,
    #[error("{what}: have {got} observations, need at least {need}")]
    ShortHistory {
        what: String,
        got: usize,
        need: usize,
    },
    #[error("{what}: length {got} does not match expected {expected}")]
    DimensionMismatch {
        what: String,
        expected: usize,
        got: usize,
    },
    #[error("{what}: bad value {value} at index {index} (must be finite and > 0)")]
    BadPrice {
        what: String,
        index: usize,
        value: f64,
    },
    #[error("{what}: non-finite value at index {index}")]
    NonFinite { what: String, index: usize },
    #[error("{what}: zero variance")]
    ZeroVariance { what: String },
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam { name: &'static str, reason: String },
    #[error("{what}: optimiser did not converge")]
    NoConvergence { what: String },
    #[error("expected shortfall is infinite for a Student-t with df = {df} <= 1")]
    InfiniteExpectedShortfall { df: f64 },
    #[error("duplicate asset {asset}")]
    DuplicateAsset { asset: String },
}

/// Shorthand used throughout `risk`.
pub type RiskResult<T> = Result<T, RiskError>;

pub(crate) fn check_finite(what: &str, xs: &[f64]) -> RiskResult<()> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(RiskError::NonFinite {
            what: what.to_string(),
            index,
        }),
        None => Ok(()),
    }
}

pub(crate) fn check_confidence(confidence: f64) -> RiskResult<()> {
    if confidence > 0.5 && confidence < 1.0 {
        Ok(())
    } else {
        Err(RiskError::InvalidParam {
            name: "confidence",
            reason: format!("{confidence} not in (0.5, 1)"),
        })
    }
}

pub(crate) fn check_horizon(horizon_days: usize) -> RiskResult<()> {
    if horizon_days >= 1 {
        Ok(())
    } else {
        Err(RiskError::InvalidParam {
            name: "horizon_days",
            reason: "must be >= 1".into(),
        })
    }
}
