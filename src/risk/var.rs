//! Value at Risk and Expected Shortfall of a linear portfolio.
//!
//! Conventions (all methods):
//! * Results are **positive loss numbers in USD** (`var_usd`, `es_usd`); a
//!   negative VaR would mean the quantile of the P&L is a gain.
//! * `confidence` c ∈ (0.5, 1), e.g. 0.95 / 0.99 / 0.999; the loss tail has
//!   probability `a = 1 − c`.
//! * P&L is delta-linear in daily **log** returns: `pnl = Σ_i w_i r_i` with
//!   `w_i` the signed USD exposure of asset i.
//! * ES is the average loss beyond VaR.
//!
//! Horizon (`h` days) per method:
//! * historical: overlapping `h`-day windows of summed log returns (`T−h+1`
//!   scenarios); VaR = −type-7 quantile of the window P&L at `a`
//!   ([`super::stats`]), ES = −mean of window P&L `<=` that quantile.
//! * parametric normal, Cornish–Fisher, Student-t: zero mean, i.i.d. days, so
//!   the daily dispersion scales by `√h` (square-root-of-time).
//! * Monte Carlo: explicit `h`-step path simulation (see [`super::montecarlo`]).
//!
//! Formulas (z_a = Φ⁻¹(a) < 0, σ = daily P&L std in USD):
//! * normal: `VaR = −√h σ z_a`, `ES = √h σ φ(z_a)/a`
//! * Cornish–Fisher with skew S and excess kurtosis K of daily P&L:
//!   `z_cf = z + (z²−1)S/6 + (z³−3z)K/24 − (2z³−5z)S²/36`, `VaR = −√h σ z_cf(z_a)`;
//!   `ES = −√h σ/a · E[z_cf(Z); Z < z_a]`, closed form from the truncated
//!   normal moments `E[Zᵏ; Z<q]`: k=0 `Φ(q)`, 1 `−φ(q)`, 2 `Φ(q)−qφ(q)`,
//!   3 `−(q²+2)φ(q)`.
//! * Student-t, df ν and scale s (daily, USD; location 0), q = t_ν⁻¹(c):
//!   `VaR = √h s q`, `ES = √h s f_ν(q)/a · (ν+q²)/(ν−1)` (needs ν > 1).

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::error::{check_confidence, check_horizon, RiskError, RiskResult};
use super::returns::ReturnsMatrix;
use super::stats;

/// A VaR / ES pair, positive USD losses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VarEs {
    pub var_usd: f64,
    pub es_usd: f64,
}

/// Every VaR method the library implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarMethod {
    Historical,
    Normal,
    CornishFisher,
    StudentT,
    MonteCarlo,
}

/// Historical VaR/ES from a P&L scenario vector (USD); reorders `pnl_usd`.
pub fn var_es_from_pnl_scenarios(pnl_usd: &mut [f64], confidence: f64) -> RiskResult<VarEs> {
    check_confidence(confidence)?;
    if pnl_usd.is_empty() {
        return Err(RiskError::ShortHistory {
            what: "P&L scenarios".into(),
            got: 0,
            need: 1,
        });
    }
    super::error::check_finite("P&L scenarios", pnl_usd)?;
    let (q, tail_mean) = stats::lower_tail_quantile_and_mean(pnl_usd, 1.0 - confidence);
    Ok(VarEs {
        var_usd: -q,
        es_usd: -tail_mean,
    })
}

/// Historical-simulation VaR/ES over all observations of `returns`
/// (overlapping `h`-day windows).
pub fn historical_var_es(
    returns: &ReturnsMatrix,
    exposures_usd: &[f64],
    confidence: f64,
    horizon_days: usize,
) -> RiskResult<VarEs> {
    check_horizon(horizon_days)?;
    check_exposures(exposures_usd, returns.n_assets())?;
    let mut pnl = returns.overlapping_pnl(exposures_usd, horizon_days)?;
    var_es_from_pnl_scenarios(&mut pnl, confidence)
}

pub(crate) fn check_exposures(exposures_usd: &[f64], n_assets: usize) -> RiskResult<()> {
    if exposures_usd.len() != n_assets {
        return Err(RiskError::DimensionMismatch {
            what: "exposures_usd".into(),
            expected: n_assets,
            got: exposures_usd.len(),
        });
    }
    super::error::check_finite("exposures_usd", exposures_usd)
}

/// Daily portfolio P&L standard deviation in USD: `sqrt(wᵀ Σ w)`.
pub fn portfolio_sigma_usd(cov: &DMatrix<f64>, exposures_usd: &[f64]) -> RiskResult<f64> {
    check_exposures(exposures_usd, cov.nrows())?;
    let n = cov.nrows();
    let mut v = 0.0;
    for j in 0..n {
        let mut s = 0.0;
        for i in 0..n {
            s += cov[(i, j)] * exposures_usd[i];
        }
        v += s * exposures_usd[j];
    }
    Ok(v.max(0.0).sqrt())
}

/// Parametric normal VaR/ES (zero mean, √h scaling).
pub fn normal_var_es(
    sigma_daily_usd: f64,
    confidence: f64,
    horizon_days: usize,
) -> RiskResult<VarEs> {
    check_confidence(confidence)?;
    check_horizon(horizon_days)?;
    let a = 1.0 - confidence;
    let z = stats::norm_ppf(a);
    let s = sigma_daily_usd * (horizon_days as f64).sqrt();
    Ok(VarEs {
        var_usd: -s * z,
        es_usd: s * stats::norm_pdf(z) / a,
    })
}

/// The Cornish–Fisher adjusted standard-normal quantile.
pub fn cornish_fisher_z(z: f64, skew: f64, excess_kurtosis: f64) -> f64 {
    let z2 = z * z;
    let z3 = z2 * z;
    z + (z2 - 1.0) * skew / 6.0 + (z3 - 3.0 * z) * excess_kurtosis / 24.0
        - (2.0 * z3 - 5.0 * z) * skew * skew / 36.0
}

/// Cornish–Fisher VaR/ES (zero mean, √h scaling of σ; S, K of daily P&L).
pub fn cornish_fisher_var_es(
    sigma_daily_usd: f64,
    skew: f64,
    excess_kurtosis: f64,
    confidence: f64,
    horizon_days: usize,
) -> RiskResult<VarEs> {
    check_confidence(confidence)?;
    check_horizon(horizon_days)?;
    if !(skew.is_finite() && excess_kurtosis.is_finite()) {
        return Err(RiskError::InvalidParam {
            name: "skew/kurtosis",
            reason: "non-finite".into(),
        });
    }
    let a = 1.0 - confidence;
    let q = stats::norm_ppf(a);
    let s = sigma_daily_usd * (horizon_days as f64).sqrt();
    let phi = stats::norm_pdf(q);
    let m0 = a;
    let m1 = -phi;
    let m2 = a - q * phi;
    let m3 = -(q * q + 2.0) * phi;
    let partial = m1 + (m2 - m0) * skew / 6.0 + (m3 - 3.0 * m1) * excess_kurtosis / 24.0
        - (2.0 * m3 - 5.0 * m1) * skew * skew / 36.0;
    Ok(VarEs {
        var_usd: -s * cornish_fisher_z(q, skew, excess_kurtosis),
        es_usd: -s * partial / a,
    })
}

/// Student-t VaR/ES for daily P&L ~ s·t_ν (zero location), √h scaling.
pub fn student_t_var_es(
    df: f64,
    scale_daily_usd: f64,
    confidence: f64,
    horizon_days: usize,
) -> RiskResult<VarEs> {
    check_confidence(confidence)?;
    check_horizon(horizon_days)?;
    if !(df.is_finite() && df > 1.0) {
        return Err(RiskError::InfiniteExpectedShortfall { df });
    }
    let a = 1.0 - confidence;
    let q = stats::t_ppf_std(confidence, df);
    let s = scale_daily_usd * (horizon_days as f64).sqrt();
    Ok(VarEs {
        var_usd: s * q,
        es_usd: s * stats::t_pdf_std(q, df) / a * (df + q * q) / (df - 1.0),
    })
}
