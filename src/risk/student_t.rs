//! Maximum-likelihood fit of a location-scale Student-t,
//! `x = μ + s·T`, `T ~ t_ν`, log-likelihood
//! `Σ [ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln s − (ν+1)/2 · ln(1 + ((x−μ)/s)²/ν)]`.
//!
//! Same model and objective as `scipy.stats.t.fit` (optionally with `floc`).
//! The data are first standardised (MLE is affine-equivariant, so this is
//! exact and only improves conditioning), then Nelder–Mead searches over
//! `(ln ν, μ, ln s)` from several starting values of ν.

use serde::{Deserialize, Serialize};

use super::error::{check_finite, RiskError, RiskResult};
use super::optimize::{nelder_mead, NmOptions};
use super::stats;

/// Fitted parameters, in the units of the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StudentTFit {
    pub df: f64,
    pub loc: f64,
    pub scale: f64,
    pub loglik: f64,
}

/// Log-likelihood of `x` under `loc + scale·t_df`.
pub fn t_loglik(x: &[f64], df: f64, loc: f64, scale: f64) -> f64 {
    if !(df > 0.0 && scale > 0.0) {
        return f64::NEG_INFINITY;
    }
    let c = stats::t_ln_norm_const(df) - scale.ln();
    let k = 0.5 * (df + 1.0);
    let inv = 1.0 / (scale * scale * df);
    let mut acc = 0.0;
    for &v in x {
        let d = v - loc;
        acc += (d * d * inv).ln_1p();
    }
    x.len() as f64 * c - k * acc
}

/// Full three-parameter MLE (`scipy.stats.t.fit(x)`).
pub fn fit_student_t(x: &[f64]) -> RiskResult<StudentTFit> {
    fit(x, None)
}

/// MLE of (ν, s) with the location fixed (`scipy.stats.t.fit(x, floc=loc)`).
pub fn fit_student_t_fixed_loc(x: &[f64], loc: f64) -> RiskResult<StudentTFit> {
    fit(x, Some(loc))
}

fn fit(x: &[f64], fixed_loc: Option<f64>) -> RiskResult<StudentTFit> {
    if x.len() < 10 {
        return Err(RiskError::ShortHistory {
            what: "Student-t fit".into(),
            got: x.len(),
            need: 10,
        });
    }
    check_finite("Student-t fit data", x)?;
    // standardise: y = (x − centre) / s0
    let centre = fixed_loc.unwrap_or_else(|| stats::mean(x));
    let s0 = (x.iter().map(|v| (v - centre) * (v - centre)).sum::<f64>() / x.len() as f64).sqrt();
    if !(s0 > 0.0 && s0.is_finite()) {
        return Err(RiskError::ZeroVariance {
            what: "Student-t fit data".into(),
        });
    }
    let y: Vec<f64> = x.iter().map(|v| (v - centre) / s0).collect();
    let opts = NmOptions {
        f_tol_rel: 1e-14,
        f_tol_abs: 1e-12,
        x_tol: 1e-10,
        ..NmOptions::default()
    };
    let mut best: Option<(Vec<f64>, f64)> = None;
    for &df0 in &[2.5_f64, 5.0, 15.0] {
        // start the scale where the t variance matches the sample variance
        let s_start = ((df0 - 2.0) / df0).sqrt();
        let m = match fixed_loc {
            Some(_) => nelder_mead(
                |p| -t_loglik(&y, p[0].exp(), 0.0, p[1].exp()),
                &[df0.ln(), s_start.ln()],
                &[0.3, 0.2],
                opts,
            ),
            None => nelder_mead(
                |p| -t_loglik(&y, p[0].exp(), p[1], p[2].exp()),
                &[df0.ln(), 0.0, s_start.ln()],
                &[0.3, 0.1, 0.2],
                opts,
            ),
        };
        if best.as_ref().is_none_or(|(_, f)| m.f < *f) {
            best = Some((m.x, m.f));
        }
    }
    let (p, f) = best.ok_or_else(|| RiskError::NoConvergence {
        what: "Student-t fit".into(),
    })?;
    if !f.is_finite() {
        return Err(RiskError::NoConvergence {
            what: "Student-t fit".into(),
        });
    }
    let (df, loc_y, scale_y) = match fixed_loc {
        Some(_) => (p[0].exp(), 0.0, p[1].exp()),
        None => (p[0].exp(), p[1], p[2].exp()),
    };
    let loc = centre + s0 * loc_y;
    let scale = s0 * scale_y;
    Ok(StudentTFit {
        df,
        loc,
        scale,
        loglik: t_loglik(x, df, loc, scale),
    })
}
