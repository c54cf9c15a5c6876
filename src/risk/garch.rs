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
//! Optimiser: maximum likelihood on an unconstrained reparametrisation that
//! enforces the constraints by construction: `ω = v·e^{x₀}` (v = sample
//! second moment), persistence `p = α+β = logistic(x₁)`, share
//! `α/(α+β) = logistic(x₂)`. A coarse grid of 16 (α, α+β) points with
//! variance targeting picks starting values; BFGS with the analytic gradient
//! (derivative recursions of σ²_t) runs from the best three, and the best
//! optimum is kept — the likelihood can be multi-modal (an interior local
//! optimum beside a better one on the α = 0 boundary). Nelder–Mead is the
//! fallback if BFGS ends on a non-finite value. A boundary optimum (α = 0 or
//! β = 0) is approached asymptotically (α ≈ 1e−7 instead of exactly 0; the
//! likelihood difference is negligible).
//!
//! Forecast: `σ²_{T+1} = ω + α r²_T + β σ²_T`, then
//! `σ²_{T+k} = ω + (α+β) σ²_{T+k−1}` (k ≥ 2), the expected per-day variance.

use serde::{Deserialize, Serialize};

use super::error::{check_finite, RiskError, RiskResult};
use super::optimize::{bfgs, nelder_mead, BfgsOptions, NmOptions};
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

/// Log-likelihood and its gradient with respect to (ω, α, β), from the
/// derivative recursions `∂σ²_t/∂θ = (1, r²_{t−1}, σ²_{t−1}) + β ∂σ²_{t−1}/∂θ`.
pub fn garch_loglik_grad(
    r: &[f64],
    omega: f64,
    alpha: f64,
    beta: f64,
    backcast: f64,
) -> (f64, [f64; 3]) {
    const LN_2PI: f64 = 1.837_877_066_409_345_5;
    let (mut prev_e2, mut prev_s2) = (backcast, backcast);
    let (mut d_o, mut d_a, mut d_b) = (0.0, 0.0, 0.0);
    let mut acc = 0.0;
    let mut g = [0.0; 3];
    for &x in r {
        d_o = 1.0 + beta * d_o;
        d_a = prev_e2 + beta * d_a;
        d_b = prev_s2 + beta * d_b;
        let s2 = omega + alpha * prev_e2 + beta * prev_s2;
        let e2 = x * x;
        let inv = 1.0 / s2;
        acc += s2.ln() + e2 * inv;
        // ∂ℓ_t/∂σ²_t = −½ (1/σ² − r²/σ⁴)
        let k = -0.5 * inv * (1.0 - e2 * inv);
        g[0] += k * d_o;
        g[1] += k * d_a;
        g[2] += k * d_b;
        prev_e2 = e2;
        prev_s2 = s2;
    }
    (-0.5 * (r.len() as f64 * LN_2PI + acc), g)
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
    // finite inputs make v finite; it can only fail by being zero
    if v <= 0.0 {
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
    // negative log-likelihood and its gradient in the unconstrained x
    let fg = |p: &[f64], grad: &mut [f64]| {
        let pers = logistic(p[1]);
        let share = logistic(p[2]);
        let (omega, alpha, beta) = (v * p[0].exp(), pers * share, pers * (1.0 - share));
        let (ll, d) = garch_loglik_grad(r, omega, alpha, beta, bc);
        // chain rule: dω/dx₀ = ω; α = p·s, β = p·(1−s)
        let dp = pers * (1.0 - pers);
        let ds = share * (1.0 - share);
        grad[0] = -d[0] * omega;
        grad[1] = -(d[1] * share + d[2] * (1.0 - share)) * dp;
        grad[2] = -(d[1] - d[2]) * pers * ds;
        -ll
    };
    // coarse grid with variance targeting (ω = v(1 − α − β)) for the starts
    let mut grid: Vec<(f64, [f64; 3])> = Vec::with_capacity(16);
    for &pers in &[0.8_f64, 0.9, 0.95, 0.99] {
        for &share in &[0.02_f64, 0.06, 0.12, 0.25] {
            let x = [(1.0 - pers).ln(), logit(pers), logit(share)];
            let (o, a, b) = unpack(&x);
            grid.push((-garch_loglik(r, o, a, b, bc).0, x));
        }
    }
    grid.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(Vec<f64>, f64)> = None;
    for (_, x0) in grid.iter().take(3) {
        let mut m = bfgs(fg, x0, BfgsOptions::default());
        if !m.f.is_finite() {
            let objective = |p: &[f64]| {
                let (o, a, b) = unpack(p);
                -garch_loglik(r, o, a, b, bc).0
            };
            m = nelder_mead(objective, x0, &[0.5, 0.5, 0.5], NmOptions::default());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        // deterministic pseudo-returns with some clustering
        let mut s = 0.01_f64;
        let r: Vec<f64> = (0..300)
            .map(|t| {
                let u = ((t as f64 * 12.9898).sin() * 43_758.545_3).fract() - 0.5;
                s = 0.9 * s + 0.1 * (0.01 + u.abs() * 0.05);
                s * u * 3.0
            })
            .collect();
        let bc = backcast(&r);
        let p = [2e-5, 0.08, 0.88];
        let (_, g) = garch_loglik_grad(&r, p[0], p[1], p[2], bc);
        for k in 0..3 {
            let h = p[k] * 1e-6;
            let mut up = p;
            let mut dn = p;
            up[k] += h;
            dn[k] -= h;
            let fd = (garch_loglik(&r, up[0], up[1], up[2], bc).0
                - garch_loglik(&r, dn[0], dn[1], dn[2], bc).0)
                / (2.0 * h);
            assert!(
                (fd - g[k]).abs() <= 1e-5 * g[k].abs().max(1.0),
                "k={k}: {fd} vs {}",
                g[k]
            );
        }
        let fit = fit_garch11(&r).unwrap();
        assert!(fit.persistence() < 1.0 && fit.alpha >= 0.0 && fit.beta >= 0.0 && fit.omega > 0.0);
    }
}
