//! The order-path VaR check: an immutable, precomputed snapshot that answers
//! "what is parametric VaR after changing asset i's exposure by Δ USD?" in
//! O(1) with no allocation.
//!
//! * estimate (first order): `VaR' ≈ VaR + m_i·Δ`, `m_i` the marginal VaR
//! * exact (parametric normal, same Σ):
//!   `VaR' = k·sqrt(wᵀΣw + 2Δ(Σw)_i + Δ²Σ_ii)`, `k = −z_{1−c}√h`;
//!   O(1) because `Σw` and `diag Σ` are stored. Several simultaneous changes
//!   (a multi-leg order): `wᵀΣw + 2Δᵀ(Σw) + ΔᵀΣΔ`, O(k²) for k legs.
//!
//! Asset indexes are positions in the snapshot's asset list; resolve the
//! symbol once with [`IncrementalVar::index_of`]. An index out of range
//! returns `None`, which the caller must treat as "unknown asset: reject".
//! The estimate is linear and can understate VaR for large Δ (VaR is convex
//! in w); prefer the exact check for limits, it costs the same.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::attribution::parametric_euler;
use super::error::{RiskError, RiskResult};

/// Precomputed parametric-VaR state (daily covariance in USD² per USD²).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncrementalVar {
    pub assets: Vec<String>,
    pub confidence: f64,
    pub horizon_days: usize,
    pub var_usd: f64,
    /// `k = −z_{1−c}·√h`.
    pub k: f64,
    /// `wᵀΣw` (daily USD²).
    pub variance_usd2: f64,
    pub marginal_var: Vec<f64>,
    /// `(Σw)_i`.
    pub cov_times_exposure: Vec<f64>,
    /// `Σ_ii`.
    pub cov_diag: Vec<f64>,
    /// Dense row-major Σ for multi-leg checks.
    #[serde(skip)]
    pub cov: Vec<f64>,
}

impl IncrementalVar {
    /// Build from the covariance and current exposures.
    pub fn new(
        assets: &[String],
        cov: &DMatrix<f64>,
        exposures_usd: &[f64],
        confidence: f64,
        horizon_days: usize,
    ) -> RiskResult<Self> {
        let n = cov.nrows();
        if assets.len() != n {
            return Err(RiskError::DimensionMismatch {
                what: "assets vs covariance".into(),
                expected: n,
                got: assets.len(),
            });
        }
        let e = parametric_euler(cov, exposures_usd, confidence, horizon_days)?;
        let k = -super::stats::norm_ppf(1.0 - confidence) * (horizon_days as f64).sqrt();
        let mut dense = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                dense[i * n + j] = cov[(i, j)];
            }
        }
        Ok(IncrementalVar {
            assets: assets.to_vec(),
            confidence,
            horizon_days,
            var_usd: e.var_usd,
            k,
            variance_usd2: e.sigma_daily_usd * e.sigma_daily_usd,
            marginal_var: e.marginal_var,
            cov_diag: (0..n).map(|i| cov[(i, i)]).collect(),
            cov_times_exposure: e.cov_times_exposure,
            cov: dense,
        })
    }

    /// Correlation between assets `i` and `j` from the covariance (None if
    /// either index is unknown, Σ was not kept, or a variance is zero).
    pub fn correlation(&self, i: usize, j: usize) -> Option<f64> {
        let n = self.cov_diag.len();
        let cov = *self.cov.get(i * n + j)?;
        let d = (self.cov_diag.get(i)? * self.cov_diag.get(j)?).sqrt();
        (d > 0.0).then(|| cov / d)
    }

    /// Position of `symbol` in the snapshot (linear scan; call once per order).
    pub fn index_of(&self, symbol: &str) -> Option<usize> {
        self.assets.iter().position(|a| a == symbol)
    }

    /// First-order estimate `VaR + m_i Δ` (USD).
    #[inline]
    pub fn estimate_var_usd(&self, asset: usize, delta_usd: f64) -> Option<f64> {
        self.marginal_var
            .get(asset)
            .map(|m| self.var_usd + m * delta_usd)
    }

    /// Exact parametric VaR after the change (USD).
    #[inline]
    pub fn exact_var_usd(&self, asset: usize, delta_usd: f64) -> Option<f64> {
        let sw = *self.cov_times_exposure.get(asset)?;
        let sii = *self.cov_diag.get(asset)?;
        let v = self.variance_usd2 + delta_usd * (2.0 * sw + delta_usd * sii);
        Some(self.k * v.max(0.0).sqrt())
    }

    /// Exact parametric VaR after several simultaneous changes `(index, Δ)`;
    /// `None` for an unknown index (or a snapshot deserialised without Σ).
    pub fn exact_var_usd_multi(&self, changes: &[(usize, f64)]) -> Option<f64> {
        let n = self.cov_diag.len();
        // `cov` is not serialised: a deserialised snapshot cannot do multi-leg
        if self.cov.len() != n * n {
            return None;
        }
        let mut v = self.variance_usd2;
        for &(i, di) in changes {
            if i >= n {
                return None;
            }
            v += 2.0 * di * self.cov_times_exposure[i];
            for &(j, dj) in changes {
                if j >= n {
                    return None;
                }
                v += di * dj * self.cov[i * n + j];
            }
        }
        Some(self.k * v.max(0.0).sqrt())
    }
}
