//! GARCH(1,1) with zero mean and Gaussian innovations, fitted by maximum
//! likelihood, and its variance forecasts.
//!
//! Model on daily log returns r_t: `σ²_t = ω + α r²_{t−1} + β σ²_{t−1}`,
//! `ω > 0, α ≥ 0, β ≥ 0, α + β < 1`; log-likelihood
//! `ℓ = −½ Σ_t [ln 2π + ln σ²_t + r²_t/σ²_t]`.
//!
//! Initialisation follows the `arch` package (so likelihoods are comparable):
//! `r²_{−1}` and `σ²_{−1}` are both replaced by the backcast
//! `Σ_{k<τ} w_k r²_k`, `w_k ∝ 0.94^k`, τ = min(75, n) over the *first*
//! returns. (`arch` also clips σ²_t to very loose bounds, ×10⁶ around an EWMA;
//! those never bind on sane data and are not reproduced.)
//!
//! Optimiser: Nelder–Mead on an unconstrained reparametrisation that enforces
//! the constraints by construction: `ω = v·e^{x₀}` (v = sample second moment),
//! persistence `p = α+β = logistic(x₁)`, share `α/(α+β) = logistic(x₂)`;
//! several starts, best kept. An optimum on the boundary α = 0 or β = 0 is
//! approached asymptotically (α ≈ 1e−7 instead of exactly 0; the likelihood
//! difference is negligible).
//!
//! Forecast: `σ²_{T+1} = ω + α r²_T + β σ²_T`, then
//! `σ²_{T+k} = ω + (α+β) σ²_{T+k−1}` (k ≥ 2), the expected per-day variance.

use serde::{Deserialize, Serialize};

use super::error::{check_finite, RiskError, RiskResult};
use super::optimize::{nelder_mead, NmOptions};
use super::volatility::DAYS_PER_YEAR;

/// A fitted GARCH(1,1), daily units (variances of daily log returns).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GarchFit {
    pub omega: f64,
    pub alpha: f64,
    pub beta: f64,
    /// Maximised Gaussian log-likelihood on the raw (unscaled) returns.
    pub loglik: f64,
    pub n_obs: usize,
    /// Conditional variance of the last in-sample day, σ²_T.
    pub last_variance: f64,
    /// Last in-sample return r_T.
    pub last_return: f64,
}

impl GarchFit {
    /// α + β.
    pub fn persistence(&self) -> f64 {
        self.alpha + self.beta
    }

    /// Long-run daily variance ω / (1 − α − β).
    pub fn unconditional_variance(&self) -> f64 {
        self.omega / (1.0 - self.persistence())
    }

    /// Next-day conditional variance σ²_{T+1}.
    pub fn next_variance(&self) -> f64 {
        self.omega
            + self.alpha * self.last_return * self.last_return
            + self.beta * self.last_variance
    }

    /// Expected daily variances for days T+1 … T+h.
    pub fn forecast_variance(&self, h: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(h);
        let mut v = self.next_variance();
        for _ in 0..h {
            out.push(v);
            v = self.omega + self.persistence() * v;
        }
        out
    }

    /// Annualised volatility implied by the next-day variance forecast.
    pub fn next_vol_annualised(&self) -> f64 {
        (self.next_variance() * DAYS_PER_YEAR).sqrt()
    }
}

/// `arch`'s backcast: 0.94-weighted mean of the first min(75, n) squared returns.
pub fn backcast(r: &[f64]) -> f64 {
    let tau = r.len().min(75);
    let (mut num, mut den, mut w) = (0.0, 0.0, 1.0);
    for x in &r[..tau] {
        num += w * x * x;
        den += w;
        w *= 0.94;
    }
    num / den
}

/// Gaussian log-likelihood of GARCH(1,1) parameters, with σ²_T of the last day.
pub fn garch_loglik(r: &[f64], omega: f64, alpha: f64, beta: f64, backcast: f64) -> (f64, f64) {
    const LN_2PI: f64 = 1.837_877_066_409_345_5;
    let mut prev_e2 = backcast;
    let mut prev_s2 = backcast;
    let mut acc = 0.0;
    for &x in r {
        let s2 = omega + alpha * prev_e2 + beta * prev_s2;
        let e2 = x * x;
        acc += s2.ln() + e2 / s2;
        prev_e2 = e2;
        prev_s2 = s2;
    }
    (-0.5 * (r.len() as f64 * LN_2PI + acc), prev_s2)
}

#[inline]
fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[inline]
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Fit GARCH(1,1) by Gaussian MLE (see module doc). Needs ≥ 30 returns.
pub fn fit_garch11(r: &[f64]) -> RiskResult<GarchFit> {
    const MIN_OBS: usize = 30;
    if r.len() < MIN_OBS {
        return Err(RiskError::ShortHistory {
            what: "GARCH(1,1) fit".into(),
            got: r.len(),
            need: MIN_OBS,
        });
    }
    check_finite("GARCH returns", r)?;
    let v = r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64;
    if !(v > 0.0) {
        return Err(RiskError::ZeroVariance {
            what: "GARCH returns".into(),
        });
    }
    let bc = backcast(r);
    let unpack = |p: &[f64]| {
        let omega = v * p[0].exp();
        let pers = logistic(p[1]);
        let share = logistic(p[2]);
        (omega, pers * share, pers * (1.0 - share))
    };
    let objective = |p: &[f64]| {
        let (o, a, b) = unpack(p);
        -garch_loglik(r, o, a, b, bc).0
    };
    let opts = NmOptions {
        f_tol_rel: 1e-13,
        f_tol_abs: 1e-11,
        x_tol: 1e-8,
        max_evaluations: 6_000,
        max_restarts: 3,
    };
    let mut best: Option<(Vec<f64>, f64)> = None;
    for &(a0, b0) in &[(0.08_f64, 0.90_f64), (0.15, 0.75), (0.03, 0.95)] {
        let pers = a0 + b0;
        let x0 = [(1.0 - pers).ln(), logit(pers), logit(a0 / pers)];
        let m = nelder_mead(objective, &x0, &[0.5, 0.5, 0.5], opts);
        if best.as_ref().is_none_or(|(_, f)| m.f < *f) {
            best = Some((m.x, m.f));
        }
    }
    let (p, f) = best.ok_or_else(|| RiskError::NoConvergence {
        what: "GARCH(1,1)".into(),
    })?;
    if !f.is_finite() {
        return Err(RiskError::NoConvergence {
            what: "GARCH(1,1)".into(),
        });
    }
    let (omega, alpha, beta) = unpack(&p);
    let (loglik, last_variance) = garch_loglik(r, omega, alpha, beta, bc);
    Ok(GarchFit {
        omega,
        alpha,
        beta,
        loglik,
        n_obs: r.len(),
        last_variance,
        last_return: r[r.len() - 1],
    })
}
