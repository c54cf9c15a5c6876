//! Monte Carlo VaR/ES by path simulation with correlated normal or
//! Student-t shocks, optionally with GARCH(1,1) volatility clustering.
//!
//! Model (daily log returns r ∈ ℝᴺ, P&L delta-linear `w·r`, zero mean):
//! * constant volatility: `r = A z m`, `A Aᵀ = Σ` (Cholesky, cached in the
//!   model), `z ~ N(0, I)`; `m = 1` for normal shocks, `m = sqrt((ν−2)/W)`,
//!   `W ~ χ²_ν` shared by all assets for multivariate-t shocks (ν > 2), so the
//!   covariance of r is still Σ while tails are fat and jointly heavy.
//!   Because P&L is linear, `w·(A z) = (Aᵀw)·z`: the model precomputes
//!   `v = Aᵀw` and a day costs N normals and N multiply-adds.
//! * Paths are simulated in batches of 64 with asset-major buffers so the
//!   arithmetic vectorises over paths (no allocation inside the loops).
//! * GARCH clustering: per-asset conditional variance `h_i` starts at the
//!   fitted one-day-ahead forecast σ²_{T+1,i}; each day
//!   `r_i = sqrt(h_i)·(L_R z m)_i` with `L_R` the Cholesky factor of the
//!   *correlation* matrix, then `h_i ← ω_i + α_i r_i² + β_i h_i`.
//! * `h`-day horizon: `h` simulated days per path, P&L summed (log returns
//!   add), not √h scaling.
//!
//! Randomness: `Xoshiro256PlusPlus::seed_from_u64(seed)` (portable, fixed
//! algorithm), normals by `rand_distr`'s ziggurat, χ² by `rand_distr`
//! (Marsaglia–Tsang gamma). Same seed and inputs ⇒ identical output on every
//! platform for the pinned crate versions. Single-threaded.
//!
//! VaR/ES of the simulated P&L use the same type-7 quantile convention as
//! historical simulation ([`super::var::var_es_from_pnl_scenarios`]).

use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::covariance::factor;
use super::error::{RiskError, RiskResult};
use super::garch::GarchFit;
use super::var::{check_exposures, var_es_from_pnl_scenarios, VarEs};

/// Default number of simulated paths.
pub const DEFAULT_SIMS: usize = 10_000;

/// Shock distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Shocks {
    Normal,
    /// Multivariate Student-t, variance-matched; requires `df > 2`.
    StudentT {
        df: f64,
    },
}

#[derive(Debug, Clone)]
struct GarchPaths {
    omega: Vec<f64>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
    h0: Vec<f64>,
    /// Factor of the correlation matrix, dense row-major.
    corr_factor: Vec<f64>,
    /// Entries used from row i: `i + 1` for a Cholesky (lower-triangular)
    /// factor, `n` for the eigen-decomposition fallback.
    row_len: Vec<usize>,
}

/// A prepared simulation model: factorisations are computed once and reused
/// for every exposure vector and horizon.
#[derive(Debug, Clone)]
pub struct MonteCarloModel {
    n_assets: usize,
    /// Factor of the covariance, dense row-major, `A Aᵀ = Σ`.
    cov_factor: Vec<f64>,
    shocks: Shocks,
    chi2: Option<ChiSquared<f64>>,
    garch: Option<GarchPaths>,
}

impl MonteCarloModel {
    /// Constant-volatility model with covariance `cov` (daily).
    pub fn new(cov: &DMatrix<f64>, shocks: Shocks) -> RiskResult<Self> {
        let n = cov.nrows();
        if n == 0 || cov.ncols() != n {
            return Err(RiskError::NoAssets);
        }
        super::error::check_finite("covariance", cov.as_slice())?;
        let a = factor(cov);
        let chi2 = match shocks {
            Shocks::Normal => None,
            Shocks::StudentT { df } => {
                if !(df.is_finite() && df > 2.0) {
                    return Err(RiskError::InvalidParam {
                        name: "mc df",
                        reason: format!("{df}: variance-matched t shocks need df > 2"),
                    });
                }
                Some(ChiSquared::new(df).map_err(|e| RiskError::InvalidParam {
                    name: "mc df",
                    reason: e.to_string(),
                })?)
            }
        };
        Ok(MonteCarloModel {
            n_assets: n,
            cov_factor: row_major(&a),
            shocks,
            chi2,
            garch: None,
        })
    }

    /// GARCH-clustered model: correlation from `cov`, per-asset dynamics
    /// from `fits` (one per asset, same order).
    pub fn with_garch(cov: &DMatrix<f64>, shocks: Shocks, fits: &[GarchFit]) -> RiskResult<Self> {
        let mut m = Self::new(cov, shocks)?;
        let n = m.n_assets;
        if fits.len() != n {
            return Err(RiskError::DimensionMismatch {
                what: "GARCH fits".into(),
                expected: n,
                got: fits.len(),
            });
        }
        let names: Vec<String> = (0..n).map(|i| format!("#{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (corr, _) = super::covariance::correlation_from_covariance(cov, &refs)?;
        let cf = factor(&corr);
        m.garch = Some(GarchPaths {
            omega: fits.iter().map(|f| f.omega).collect(),
            alpha: fits.iter().map(|f| f.alpha).collect(),
            beta: fits.iter().map(|f| f.beta).collect(),
            h0: fits.iter().map(|f| f.next_variance()).collect(),
            row_len: row_lengths(&cf),
            corr_factor: row_major(&cf),
        });
        Ok(m)
    }

    pub fn n_assets(&self) -> usize {
        self.n_assets
    }

    pub fn shocks(&self) -> Shocks {
        self.shocks
    }

    /// Simulated `horizon_days` P&L (USD) of `n_sims` paths.
    pub fn simulate_pnl(
        &self,
        exposures_usd: &[f64],
        horizon_days: usize,
        n_sims: usize,
        seed: u64,
    ) -> RiskResult<Vec<f64>> {
        check_exposures(exposures_usd, self.n_assets)?;
        super::error::check_horizon(horizon_days)?;
        if n_sims < 100 {
            return Err(RiskError::InvalidParam {
                name: "mc sims",
                reason: format!("{n_sims} < 100"),
            });
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut out = vec![0.0; n_sims];
        match &self.garch {
            None => self.run_constant(exposures_usd, horizon_days, &mut rng, &mut out),
            Some(g) => self.run_garch(g, exposures_usd, horizon_days, &mut rng, &mut out),
        }
        Ok(out)
    }

    #[inline]
    fn mixing(&self, rng: &mut Xoshiro256PlusPlus) -> f64 {
        match (self.shocks, &self.chi2) {
            (Shocks::StudentT { df }, Some(chi2)) => ((df - 2.0) / chi2.sample(rng)).sqrt(),
            _ => 1.0,
        }
    }

    /// Draw one day's shocks for a batch of `b` paths: normals in path-major
    /// order (path p's N normals, then path p+1's …) stored asset-major
    /// (`z[i·b + p]`) so the arithmetic vectorises over paths; then the `b`
    /// mixing factors. Both models use this, so they consume the random
    /// stream identically.
    #[inline]
    fn draw_day(&self, rng: &mut Xoshiro256PlusPlus, b: usize, z: &mut [f64], m: &mut [f64]) {
        let n = self.n_assets;
        for p in 0..b {
            for i in 0..n {
                z[i * b + p] = rng.sample(StandardNormal);
            }
        }
        for mp in m[..b].iter_mut() {
            *mp = self.mixing(rng);
        }
    }

    fn run_constant(&self, w: &[f64], h: usize, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        let n = self.n_assets;
        // v = Aᵀ w, so that w·(A z) = v·z
        let mut v = vec![0.0; n];
        for (row, wi) in self.cov_factor.chunks_exact(n).zip(w) {
            for (vj, aij) in v.iter_mut().zip(row) {
                *vj += aij * wi;
            }
        }
        let mut z = vec![0.0; n * BATCH];
        let mut m = vec![0.0; BATCH];
        let mut acc = vec![0.0; BATCH];
        for chunk in out.chunks_mut(BATCH) {
            let b = chunk.len();
            chunk.iter_mut().for_each(|x| *x = 0.0);
            for _ in 0..h {
                self.draw_day(rng, b, &mut z, &mut m);
                acc[..b].iter_mut().for_each(|x| *x = 0.0);
                for (vi, zi) in v.iter().zip(z.chunks_exact(b)) {
                    for (a, zp) in acc[..b].iter_mut().zip(zi) {
                        *a += vi * zp;
                    }
                }
                for ((t, a), mp) in chunk.iter_mut().zip(&acc[..b]).zip(&m[..b]) {
                    *t += a * mp;
                }
            }
        }
    }

    fn run_garch(
        &self,
        g: &GarchPaths,
        w: &[f64],
        h: usize,
        rng: &mut Xoshiro256PlusPlus,
        out: &mut [f64],
    ) {
        let n = self.n_assets;
        let mut var = vec![0.0; n * BATCH];
        let mut z = vec![0.0; n * BATCH];
        let mut eps = vec![0.0; BATCH];
        let mut m = vec![0.0; BATCH];
        for chunk in out.chunks_mut(BATCH) {
            let b = chunk.len();
            chunk.iter_mut().for_each(|x| *x = 0.0);
            for i in 0..n {
                var[i * b..(i + 1) * b]
                    .iter_mut()
                    .for_each(|x| *x = g.h0[i]);
            }
            for _ in 0..h {
                self.draw_day(rng, b, &mut z, &mut m);
                for i in 0..n {
                    // eps = (L_R z)_i for every path of the batch
                    let e = &mut eps[..b];
                    e.iter_mut().for_each(|x| *x = 0.0);
                    let row = &g.corr_factor[i * n..i * n + g.row_len[i]];
                    for (lij, zj) in row.iter().zip(z.chunks_exact(b)) {
                        for (ep, zp) in e.iter_mut().zip(zj) {
                            *ep += lij * zp;
                        }
                    }
                    let (om, al, be, wi) = (g.omega[i], g.alpha[i], g.beta[i], w[i]);
                    let vi = &mut var[i * b..(i + 1) * b];
                    for (((vp, ep), mp), t) in vi
                        .iter_mut()
                        .zip(e.iter())
                        .zip(&m[..b])
                        .zip(chunk.iter_mut())
                    {
                        let r = vp.sqrt() * ep * mp;
                        *t += wi * r;
                        *vp = om + al * r * r + be * *vp;
                    }
                }
            }
        }
    }
}

/// Paths simulated together; the inner loops vectorise over them.
const BATCH: usize = 64;

/// Number of leading entries of each row up to its last non-zero.
fn row_lengths(a: &DMatrix<f64>) -> Vec<usize> {
    (0..a.nrows())
        .map(|i| {
            (0..a.ncols())
                .rposition(|j| a[(i, j)] != 0.0)
                .map_or(0, |j| j + 1)
        })
        .collect()
}

fn row_major(a: &DMatrix<f64>) -> Vec<f64> {
    let (r, c) = a.shape();
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            out[i * c + j] = a[(i, j)];
        }
    }
    out
}

/// VaR/ES at each confidence from simulated P&L (reorders `pnl_usd`).
pub fn var_es_from_simulation(pnl_usd: &mut [f64], confidences: &[f64]) -> RiskResult<Vec<VarEs>> {
    confidences
        .iter()
        .map(|&c| var_es_from_pnl_scenarios(pnl_usd, c))
        .collect()
}
