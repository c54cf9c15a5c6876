//! Parametric (normal, zero-mean) VaR attribution by Euler allocation.
//!
//! With `σ_p = sqrt(wᵀΣw)` (daily USD) and `k = −z_{1−c}·√h`:
//! * VaR = k σ_p
//! * marginal VaR `∂VaR/∂w_i = k (Σw)_i / σ_p` (USD of VaR per USD of exposure)
//! * component VaR `w_i · ∂VaR/∂w_i`; VaR is homogeneous of degree one in w,
//!   so the components sum to VaR (up to rounding).
//! * group VaR: sum of the components of the assets mapped to a group;
//!   assets without a mapping go to the group `"unassigned"`.
//!
//! For a flat book (σ_p = 0) the derivative is not defined; the marginal is
//! reported as the one-sided derivative of adding a long, `k·sqrt(Σ_ii)`, and
//! every component is 0.

use std::collections::BTreeMap;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::error::{check_confidence, check_horizon, RiskResult};
use super::stats;
use super::var::check_exposures;

/// Group name used for assets absent from the group mapping.
pub const UNASSIGNED_GROUP: &str = "unassigned";

/// Euler decomposition of parametric VaR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EulerAttribution {
    pub confidence: f64,
    pub horizon_days: usize,
    pub var_usd: f64,
    pub sigma_daily_usd: f64,
    /// ∂VaR/∂w_i, dimensionless (USD of VaR per USD of exposure).
    pub marginal_var: Vec<f64>,
    pub component_var_usd: Vec<f64>,
    /// `(Σw)_i` in USD² per USD (kept for the incremental check).
    #[serde(skip)]
    pub cov_times_exposure: Vec<f64>,
}

/// Euler attribution of normal VaR for exposures `w` and daily covariance.
pub fn parametric_euler(
    cov: &DMatrix<f64>,
    exposures_usd: &[f64],
    confidence: f64,
    horizon_days: usize,
) -> RiskResult<EulerAttribution> {
    check_confidence(confidence)?;
    check_horizon(horizon_days)?;
    check_exposures(exposures_usd, cov.nrows())?;
    let n = cov.nrows();
    let k = -stats::norm_ppf(1.0 - confidence) * (horizon_days as f64).sqrt();
    let sw: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| cov[(i, j)] * exposures_usd[j]).sum())
        .collect();
    let variance: f64 = sw.iter().zip(exposures_usd).map(|(s, w)| s * w).sum();
    let sigma = variance.max(0.0).sqrt();
    let (marginal, component): (Vec<f64>, Vec<f64>) = if sigma > 0.0 {
        (0..n)
            .map(|i| {
                let m = k * sw[i] / sigma;
                (m, m * exposures_usd[i])
            })
            .unzip()
    } else {
        (0..n)
            .map(|i| (k * cov[(i, i)].max(0.0).sqrt(), 0.0))
            .unzip()
    };
    Ok(EulerAttribution {
        confidence,
        horizon_days,
        var_usd: k * sigma,
        sigma_daily_usd: sigma,
        marginal_var: marginal,
        component_var_usd: component,
        cov_times_exposure: sw,
    })
}

/// Per-group sums of exposure and component VaR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRisk {
    pub group: String,
    pub exposure_usd: f64,
    pub component_var_usd: f64,
}

/// Sum components by group (sorted by group name).
pub fn group_attribution(
    assets: &[String],
    exposures_usd: &[f64],
    component_var_usd: &[f64],
    groups: &BTreeMap<String, String>,
) -> Vec<GroupRisk> {
    let mut acc: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((a, e), c) in assets.iter().zip(exposures_usd).zip(component_var_usd) {
        let g = groups.get(a).map_or(UNASSIGNED_GROUP, String::as_str);
        let slot = acc.entry(g).or_insert((0.0, 0.0));
        slot.0 += e;
        slot.1 += c;
    }
    acc.into_iter()
        .map(|(g, (e, c))| GroupRisk {
            group: g.to_string(),
            exposure_usd: e,
            component_var_usd: c,
        })
        .collect()
}
