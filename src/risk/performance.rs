//! Performance ratios of a daily equity curve (USD, oldest first).
//!
//! With simple daily returns `R_t = E_t/E_{t−1} − 1` (n of them), risk-free 0,
//! annualisation A = 365 (crypto trades daily) — the `empyrical` definitions:
//! * max drawdown `max_t (1 − E_t / max_{s≤t} E_s)`, current drawdown
//!   `1 − E_T / max_s E_s`; both fractions (0.25 = 25 % below peak)
//! * Sharpe `mean(R)/std(R, ddof=1) · √A`
//! * Sortino `mean(R)·A / (sqrt(mean(min(R,0)²))·√A)` (downside deviation
//!   over all n days, target 0)
//! * annual return (CAGR) `(E_T/E_0)^{A/n} − 1`; Calmar `CAGR / max drawdown`
//! * beta `cov(R, B)/var(B)` and Pearson correlation against benchmark simple
//!   returns B over the same days.
//!
//! Ratios that are undefined (zero dispersion, no drawdown, no downside)
//! are `None`, never a made-up number.

use serde::{Deserialize, Serialize};

use super::error::{RiskError, RiskResult};
use super::returns::simple_returns;
use super::stats;
use super::volatility::DAYS_PER_YEAR;

/// Equity-curve statistics; fractions are 0.1 = 10 %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PerformanceStats {
    pub max_drawdown_frac: f64,
    pub current_drawdown_frac: f64,
    pub annual_return_frac: f64,
    pub sharpe_annualised: Option<f64>,
    pub sortino_annualised: Option<f64>,
    pub calmar: Option<f64>,
    pub beta: Option<f64>,
    pub correlation: Option<f64>,
}

/// Maximum drawdown of an equity curve, as a fraction of the running peak.
pub fn max_drawdown_frac(equity_usd: &[f64]) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    let mut worst = 0.0_f64;
    for &e in equity_usd {
        peak = peak.max(e);
        worst = worst.max(1.0 - e / peak);
    }
    worst
}

/// Drawdown of the last point from the all-time peak, as a fraction.
pub fn current_drawdown_frac(equity_usd: &[f64]) -> f64 {
    let peak = equity_usd.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match equity_usd.last() {
        Some(&last) => 1.0 - last / peak,
        None => 0.0,
    }
}

/// Annualised Sharpe ratio of daily simple returns (risk-free 0).
pub fn sharpe_ratio(returns: &[f64]) -> Option<f64> {
    let sd = stats::variance(returns, 1).sqrt();
    (sd > 0.0 && sd.is_finite()).then(|| stats::mean(returns) / sd * DAYS_PER_YEAR.sqrt())
}

/// Annualised Sortino ratio of daily simple returns (target 0).
pub fn sortino_ratio(returns: &[f64]) -> Option<f64> {
    if returns.is_empty() {
        return None;
    }
    let dd =
        (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / returns.len() as f64).sqrt();
    (dd > 0.0).then(|| stats::mean(returns) * DAYS_PER_YEAR / (dd * DAYS_PER_YEAR.sqrt()))
}

/// Compound annual growth rate of daily simple returns.
pub fn annual_return_frac(returns: &[f64]) -> f64 {
    let growth: f64 = returns.iter().map(|r| 1.0 + r).product();
    growth.powf(DAYS_PER_YEAR / returns.len() as f64) - 1.0
}

/// (beta, correlation) of `returns` against `benchmark` (same length).
pub fn beta_correlation(returns: &[f64], benchmark: &[f64]) -> (Option<f64>, Option<f64>) {
    let (mr, mb) = (stats::mean(returns), stats::mean(benchmark));
    let (mut c, mut vb, mut vr) = (0.0, 0.0, 0.0);
    for (r, b) in returns.iter().zip(benchmark) {
        c += (r - mr) * (b - mb);
        vb += (b - mb) * (b - mb);
        vr += (r - mr) * (r - mr);
    }
    let beta = (vb > 0.0).then(|| c / vb);
    let corr = (vb > 0.0 && vr > 0.0).then(|| c / (vb * vr).sqrt());
    (beta, corr)
}

/// All statistics of an equity curve, optionally against benchmark closes
/// aligned with it (same days, same length).
pub fn performance(
    equity_usd: &[f64],
    benchmark_closes: Option<&[f64]>,
) -> RiskResult<PerformanceStats> {
    let returns = simple_returns(equity_usd).map_err(|e| match e {
        RiskError::ShortHistory { got, need, .. } => RiskError::ShortHistory {
            what: "equity curve".into(),
            got,
            need,
        },
        RiskError::BadPrice { index, value, .. } => RiskError::BadPrice {
            what: "equity curve".into(),
            index,
            value,
        },
        other => other,
    })?;
    let max_dd = max_drawdown_frac(equity_usd);
    let cagr = annual_return_frac(&returns);
    let (beta, correlation) = match benchmark_closes {
        None => (None, None),
        Some(b) => {
            if b.len() != equity_usd.len() {
                return Err(RiskError::DimensionMismatch {
                    what: "benchmark closes vs equity curve".into(),
                    expected: equity_usd.len(),
                    got: b.len(),
                });
            }
            beta_correlation(&returns, &simple_returns(b)?)
        }
    };
    Ok(PerformanceStats {
        max_drawdown_frac: max_dd,
        current_drawdown_frac: current_drawdown_frac(equity_usd),
        annual_return_frac: cagr,
        sharpe_annualised: sharpe_ratio(&returns),
        sortino_annualised: sortino_ratio(&returns),
        calmar: (max_dd > 0.0).then(|| cagr / max_dd),
        beta,
        correlation,
    })
}
