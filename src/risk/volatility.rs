//! Univariate volatility estimators on a daily return series.
//!
//! * sample: `σ = sqrt(Σ (r_t − r̄)² / (n − 1))` (ddof = 1, as `np.std(ddof=1)`)
//! * EWMA (RiskMetrics, zero mean): `σ² = Σ_{k=0}^{n−1} w_k r_{T−k}²` with
//!   `w_k = (1−λ) λ^k / (1 − λ^n)` — the weights are normalised over the `n`
//!   returns supplied, so a short window is not biased low.
//! * annualisation: crypto trades every day, so `σ_annual = σ_daily · √365`.
//!
//! All `*_daily` values are per-day standard deviations of log returns
//! (fractions, 0.03 = 3 %/day); `*_annualised` are per-year.

use super::error::{check_finite, RiskError, RiskResult};
use super::stats;

/// Trading days per year for annualisation (crypto: every calendar day).
pub const DAYS_PER_YEAR: f64 = 365.0;

/// `σ_daily · √365`.
pub fn annualise_vol(vol_daily: f64) -> f64 {
    vol_daily * DAYS_PER_YEAR.sqrt()
}

/// Sample standard deviation (ddof = 1) of daily returns.
pub fn sample_vol_daily(returns: &[f64]) -> RiskResult<f64> {
    if returns.len() < 2 {
        return Err(RiskError::ShortHistory {
            what: "sample volatility".into(),
            got: returns.len(),
            need: 2,
        });
    }
    check_finite("returns", returns)?;
    Ok(stats::variance(returns, 1).sqrt())
}

/// Checks `0 < λ < 1`.
pub fn check_lambda(lambda: f64) -> RiskResult<()> {
    if lambda > 0.0 && lambda < 1.0 {
        Ok(())
    } else {
        Err(RiskError::InvalidParam {
            name: "ewma_lambda",
            reason: format!("{lambda} not in (0, 1)"),
        })
    }
}

/// EWMA weights for `n` returns, oldest first (so `weights[n−1]` is the
/// weight of the most recent return), normalised to sum to one.
pub fn ewma_weights_oldest_first(n: usize, lambda: f64) -> Vec<f64> {
    let norm = (1.0 - lambda) / (1.0 - lambda.powi(n as i32));
    let mut w = vec![0.0; n];
    let mut lk = 1.0;
    for k in 0..n {
        w[n - 1 - k] = norm * lk;
        lk *= lambda;
    }
    w
}

/// EWMA (zero-mean) daily variance of the series, `λ` e.g. 0.94.
pub fn ewma_variance_daily(returns: &[f64], lambda: f64) -> RiskResult<f64> {
    check_lambda(lambda)?;
    if returns.is_empty() {
        return Err(RiskError::ShortHistory {
            what: "EWMA volatility".into(),
            got: 0,
            need: 1,
        });
    }
    check_finite("returns", returns)?;
    let w = ewma_weights_oldest_first(returns.len(), lambda);
    Ok(returns.iter().zip(&w).map(|(r, w)| w * r * r).sum())
}

/// EWMA daily volatility (square root of [`ewma_variance_daily`]).
pub fn ewma_vol_daily(returns: &[f64], lambda: f64) -> RiskResult<f64> {
    Ok(ewma_variance_daily(returns, lambda)?.sqrt())
}
