//! One call that runs every analytic for a book and returns an immutable,
//! serialisable [`RiskReport`] (for `GET /v1/risk`, metrics, and the
//! order-path [`IncrementalVar`]).
//!
//! Windows (T = number of daily returns available, all assets aligned):
//! * historical simulation, Student-t fit, P&L skew/kurtosis: the last
//!   `hs_lookback_days` returns (default: all T)
//! * covariance for normal / Cornish–Fisher σ, attribution, incremental
//!   check, Monte Carlo and the reported correlation: sample covariance over
//!   the last `cov_lookback_days` (default 60), or EWMA(λ) over the HS window
//! * per-asset sample vol over the covariance lookback; EWMA vol and GARCH
//!   over the HS window.
//!
//! Every input problem (no assets, duplicate symbols, misaligned or short
//! history, bad prices, zero variance, invalid parameters, GARCH/t fits that
//! fail) is a [`RiskError`]: no partial report is produced.

use std::collections::BTreeMap;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::attribution::{group_attribution, parametric_euler, GroupRisk};
use super::covariance::{correlation_from_covariance, ewma_covariance, sample_covariance, to_rows};
use super::error::{check_confidence, check_horizon, RiskError, RiskResult};
use super::garch::{fit_garch11, GarchFit};
use super::incremental::IncrementalVar;
use super::montecarlo::{var_es_from_simulation, MonteCarloModel, Shocks};
use super::performance::{performance, PerformanceStats};
use super::returns::{ReturnKind, ReturnsMatrix};
use super::stats::skew_excess_kurtosis;
use super::student_t::fit_student_t_fixed_loc;
use super::var::{self, VarMethod};
use super::volatility::{annualise_vol, ewma_vol_daily, sample_vol_daily};

/// One asset of the book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetInput {
    /// Venue-neutral symbol, e.g. "BTC".
    pub symbol: String,
    /// Signed USD exposure (long > 0).
    pub exposure_usd: f64,
    /// Daily closes in USD, oldest first, aligned with every other asset.
    pub closes: Vec<f64>,
}

/// Everything `compute_snapshot` needs; no venue concepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskInputs {
    pub assets: Vec<AssetInput>,
    /// Account capital (USD) for the `*_frac_of_capital` figures; > 0.
    pub capital_usd: f64,
    /// Daily account equity (USD), oldest first; at least 2 points.
    pub equity_curve_usd: Vec<f64>,
    /// Benchmark closes aligned with the equity curve (e.g. BTC), optional.
    pub benchmark_closes: Option<Vec<f64>>,
    /// Asset symbol → group (sector or exchange); unmapped → "unassigned".
    pub groups: BTreeMap<String, String>,
}

/// Covariance estimator for the parametric / MC methods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovEstimator {
    /// Sample covariance over `cov_lookback_days`.
    Sample,
    /// EWMA (zero-mean) with `ewma_lambda` over the HS window.
    Ewma,
}

/// Monte Carlo shock choice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McShocks {
    Normal,
    /// Student-t with the df fitted to the portfolio P&L, floored at `mc_min_df`.
    StudentTFitted,
}

/// Tunables; `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskParams {
    pub confidences: Vec<f64>,
    pub horizons_days: Vec<usize>,
    pub cov_lookback_days: usize,
    /// `None`: all available returns.
    pub hs_lookback_days: Option<usize>,
    /// Fewer daily returns than this is a `ShortHistory` error.
    pub min_history_days: usize,
    pub cov_estimator: CovEstimator,
    pub ewma_lambda: f64,
    pub mc_sims: usize,
    pub mc_seed: u64,
    pub mc_shocks: McShocks,
    /// Floor on the MC Student-t df (variance-matched shocks need df > 2).
    pub mc_min_df: f64,
    /// Simulate GARCH(1,1) volatility clustering along MC paths.
    pub mc_garch: bool,
    /// Fit GARCH(1,1) per asset (needed by `mc_garch`).
    pub fit_garch: bool,
    /// Confidence and horizon of the attribution and the incremental check.
    pub attribution_confidence: f64,
    pub attribution_horizon_days: usize,
}

impl Default for RiskParams {
    fn default() -> Self {
        RiskParams {
            confidences: vec![0.95, 0.99, 0.999],
            horizons_days: vec![1, 5, 30],
            cov_lookback_days: 60,
            hs_lookback_days: None,
            min_history_days: 180,
            cov_estimator: CovEstimator::Sample,
            ewma_lambda: 0.94,
            mc_sims: super::montecarlo::DEFAULT_SIMS,
            mc_seed: 0x5EED_2024,
            mc_shocks: McShocks::StudentTFitted,
            mc_min_df: 3.0,
            mc_garch: false,
            fit_garch: true,
            attribution_confidence: 0.99,
            attribution_horizon_days: 1,
        }
    }
}

/// One VaR/ES figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VarEstimate {
    pub method: VarMethod,
    pub confidence: f64,
    pub horizon_days: usize,
    pub var_usd: f64,
    pub es_usd: f64,
    pub var_frac_of_capital: f64,
}

/// GARCH(1,1) summary for one asset (daily variance units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GarchSummary {
    pub omega: f64,
    pub alpha: f64,
    pub beta: f64,
    pub loglik: f64,
    pub vol_next_day_annualised: f64,
    pub vol_long_run_annualised: f64,
}

/// Per-asset figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRisk {
    pub symbol: String,
    pub exposure_usd: f64,
    /// Sample vol over the covariance lookback.
    pub vol_daily: f64,
    pub vol_annualised: f64,
    pub ewma_vol_annualised: f64,
    pub garch: Option<GarchSummary>,
    /// ∂VaR/∂exposure (USD VaR per USD), at the attribution confidence/horizon.
    pub marginal_var: f64,
    pub component_var_usd: f64,
    /// Share of total parametric VaR (components sum to 1).
    pub component_var_frac: f64,
}

/// Fitted distribution shape of the daily portfolio P&L (HS window).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PnlDistribution {
    pub skew: f64,
    pub excess_kurtosis: f64,
    pub t_df: f64,
    pub t_scale_daily_usd: f64,
    /// df used for Monte Carlo t shocks (`max(t_df, mc_min_df)`); `None`
    /// when MC uses normal shocks.
    pub mc_df: Option<f64>,
}

/// The immutable result of [`compute_snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    pub assets: Vec<String>,
    /// Daily returns in the HS window / covariance window.
    pub hs_window_days: usize,
    pub cov_window_days: usize,
    pub capital_usd: f64,
    pub gross_exposure_usd: f64,
    pub net_exposure_usd: f64,
    pub portfolio_vol_daily_usd: f64,
    pub portfolio_vol_annualised_usd: f64,
    pub portfolio_vol_annualised_frac_of_capital: f64,
    pub var: Vec<VarEstimate>,
    pub per_asset: Vec<AssetRisk>,
    pub groups: Vec<GroupRisk>,
    pub attribution_confidence: f64,
    pub attribution_horizon_days: usize,
    pub attribution_var_usd: f64,
    /// Correlation matrix, rows/columns in `assets` order.
    pub correlation: Vec<Vec<f64>>,
    pub correlation_repaired: bool,
    pub pnl_distribution: PnlDistribution,
    pub performance: PerformanceStats,
    /// Snapshot for the order-path check (not serialised in full).
    #[serde(skip_serializing, default)]
    pub incremental: Option<IncrementalVar>,
}

impl RiskReport {
    /// Look up one figure.
    pub fn var(
        &self,
        method: VarMethod,
        confidence: f64,
        horizon_days: usize,
    ) -> Option<&VarEstimate> {
        self.var.iter().find(|v| {
            v.method == method && v.confidence == confidence && v.horizon_days == horizon_days
        })
    }
}

fn validate(inputs: &RiskInputs, params: &RiskParams) -> RiskResult<()> {
    if inputs.assets.is_empty() {
        return Err(RiskError::NoAssets);
    }
    for (i, a) in inputs.assets.iter().enumerate() {
        if inputs.assets[..i].iter().any(|b| b.symbol == a.symbol) {
            return Err(RiskError::DuplicateAsset {
                asset: a.symbol.clone(),
            });
        }
    }
    if !(inputs.capital_usd.is_finite() && inputs.capital_usd > 0.0) {
        return Err(RiskError::InvalidParam {
            name: "capital_usd",
            reason: format!("{} must be finite and > 0", inputs.capital_usd),
        });
    }
    if params.confidences.is_empty() || params.horizons_days.is_empty() {
        return Err(RiskError::InvalidParam {
            name: "confidences/horizons_days",
            reason: "must not be empty".into(),
        });
    }
    for &c in params
        .confidences
        .iter()
        .chain([&params.attribution_confidence])
    {
        check_confidence(c)?;
    }
    for &h in params
        .horizons_days
        .iter()
        .chain([&params.attribution_horizon_days])
    {
        check_horizon(h)?;
    }
    if params.cov_lookback_days < 2 {
        return Err(RiskError::InvalidParam {
            name: "cov_lookback_days",
            reason: "must be >= 2".into(),
        });
    }
    if params.mc_garch && !params.fit_garch {
        return Err(RiskError::InvalidParam {
            name: "mc_garch",
            reason: "requires fit_garch".into(),
        });
    }
    Ok(())
}

/// Run every analytic (see module doc) for the book in `inputs`.
pub fn compute_snapshot(inputs: &RiskInputs, params: &RiskParams) -> RiskResult<RiskReport> {
    validate(inputs, params)?;
    let names: Vec<String> = inputs.assets.iter().map(|a| a.symbol.clone()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let closes: Vec<&[f64]> = inputs.assets.iter().map(|a| a.closes.as_slice()).collect();
    let w: Vec<f64> = inputs.assets.iter().map(|a| a.exposure_usd).collect();
    super::error::check_finite("exposures_usd", &w)?;
    for (a, c) in refs.iter().zip(&closes) {
        if c.len() < 2 {
            return Err(RiskError::ShortHistory {
                what: format!("closes of {a}"),
                got: c.len(),
                need: params.min_history_days + 1,
            });
        }
    }
    let all = ReturnsMatrix::from_closes(&refs, &closes, ReturnKind::Log)?;
    let max_h = *params.horizons_days.iter().max().unwrap_or(&1);
    let need = params
        .min_history_days
        .max(params.cov_lookback_days)
        .max(params.hs_lookback_days.unwrap_or(0))
        .max(max_h);
    if all.n_obs() < need {
        return Err(RiskError::ShortHistory {
            what: "daily returns".into(),
            got: all.n_obs(),
            need,
        });
    }
    let hs = match params.hs_lookback_days {
        Some(n) => all.last(n)?,
        None => all.clone(),
    };
    let cov_window = all.last(params.cov_lookback_days)?;
    let cov: DMatrix<f64> = match params.cov_estimator {
        CovEstimator::Sample => sample_covariance(&cov_window)?,
        CovEstimator::Ewma => ewma_covariance(&hs, params.ewma_lambda)?,
    };
    let (corr, corr_repaired) = correlation_from_covariance(&cov, &refs)?;

    // ---- portfolio distribution
    let sigma_p = var::portfolio_sigma_usd(&cov, &w)?;
    let pnl_daily = hs.portfolio_pnl(&w);
    let (skew, exkurt) = skew_excess_kurtosis(&pnl_daily);
    if !(skew.is_finite() && exkurt.is_finite()) {
        return Err(RiskError::ZeroVariance {
            what: "portfolio P&L (flat book or constant prices)".into(),
        });
    }
    let tfit = fit_student_t_fixed_loc(&pnl_daily, 0.0)?;

    // ---- per-asset vol and GARCH
    let mut garch_fits: Vec<GarchFit> = Vec::new();
    let mut per_asset = Vec::with_capacity(names.len());
    for i in 0..names.len() {
        let col_hs = hs.column(i);
        let col_cov = cov_window.column(i);
        let vol_daily = sample_vol_daily(&col_cov)?;
        let garch = if params.fit_garch {
            let g = fit_garch11(&col_hs).map_err(|e| match e {
                RiskError::NoConvergence { .. } => RiskError::NoConvergence {
                    what: format!("GARCH(1,1) of {}", names[i]),
                },
                other => other,
            })?;
            garch_fits.push(g);
            Some(GarchSummary {
                omega: g.omega,
                alpha: g.alpha,
                beta: g.beta,
                loglik: g.loglik,
                vol_next_day_annualised: g.next_vol_annualised(),
                vol_long_run_annualised: annualise_vol(g.unconditional_variance().sqrt()),
            })
        } else {
            None
        };
        per_asset.push(AssetRisk {
            symbol: names[i].clone(),
            exposure_usd: w[i],
            vol_daily,
            vol_annualised: annualise_vol(vol_daily),
            ewma_vol_annualised: annualise_vol(ewma_vol_daily(&col_hs, params.ewma_lambda)?),
            garch,
            marginal_var: 0.0,
            component_var_usd: 0.0,
            component_var_frac: 0.0,
        });
    }

    // ---- VaR / ES, every method × confidence × horizon
    let cap = inputs.capital_usd;
    let mut out = Vec::new();
    let mut push = |method, c, h, ve: var::VarEs| {
        out.push(VarEstimate {
            method,
            confidence: c,
            horizon_days: h,
            var_usd: ve.var_usd,
            es_usd: ve.es_usd,
            var_frac_of_capital: ve.var_usd / cap,
        })
    };
    for &h in &params.horizons_days {
        let mut hs_pnl = hs.overlapping_pnl(&w, h)?;
        for &c in &params.confidences {
            push(
                VarMethod::Historical,
                c,
                h,
                var::var_es_from_pnl_scenarios(&mut hs_pnl, c)?,
            );
            push(VarMethod::Normal, c, h, var::normal_var_es(sigma_p, c, h)?);
            push(
                VarMethod::CornishFisher,
                c,
                h,
                var::cornish_fisher_var_es(sigma_p, skew, exkurt, c, h)?,
            );
            push(
                VarMethod::StudentT,
                c,
                h,
                var::student_t_var_es(tfit.df, tfit.scale, c, h)?,
            );
        }
    }
    let shocks = match params.mc_shocks {
        McShocks::Normal => Shocks::Normal,
        McShocks::StudentTFitted => Shocks::StudentT {
            df: tfit.df.max(params.mc_min_df),
        },
    };
    let model = if params.mc_garch {
        MonteCarloModel::with_garch(&cov, shocks, &garch_fits)?
    } else {
        MonteCarloModel::new(&cov, shocks)?
    };
    for &h in &params.horizons_days {
        let mut sim = model.simulate_pnl(&w, h, params.mc_sims, params.mc_seed)?;
        let ves = var_es_from_simulation(&mut sim, &params.confidences)?;
        for (&c, ve) in params.confidences.iter().zip(ves) {
            push(VarMethod::MonteCarlo, c, h, ve);
        }
    }

    // ---- attribution and the order-path snapshot
    let euler = parametric_euler(
        &cov,
        &w,
        params.attribution_confidence,
        params.attribution_horizon_days,
    )?;
    for (i, a) in per_asset.iter_mut().enumerate() {
        a.marginal_var = euler.marginal_var[i];
        a.component_var_usd = euler.component_var_usd[i];
        a.component_var_frac = if euler.var_usd > 0.0 {
            euler.component_var_usd[i] / euler.var_usd
        } else {
            0.0
        };
    }
    let groups = group_attribution(&names, &w, &euler.component_var_usd, &inputs.groups);
    let incremental = IncrementalVar::new(
        &names,
        &cov,
        &w,
        params.attribution_confidence,
        params.attribution_horizon_days,
    )?;

    let perf = performance(&inputs.equity_curve_usd, inputs.benchmark_closes.as_deref())?;
    let vol_ann_usd = annualise_vol(sigma_p);
    Ok(RiskReport {
        assets: names,
        hs_window_days: hs.n_obs(),
        cov_window_days: match params.cov_estimator {
            CovEstimator::Sample => cov_window.n_obs(),
            CovEstimator::Ewma => hs.n_obs(),
        },
        capital_usd: cap,
        gross_exposure_usd: w.iter().map(|x| x.abs()).sum(),
        net_exposure_usd: w.iter().sum(),
        portfolio_vol_daily_usd: sigma_p,
        portfolio_vol_annualised_usd: vol_ann_usd,
        portfolio_vol_annualised_frac_of_capital: vol_ann_usd / cap,
        var: out,
        per_asset,
        groups,
        attribution_confidence: params.attribution_confidence,
        attribution_horizon_days: params.attribution_horizon_days,
        attribution_var_usd: euler.var_usd,
        correlation: to_rows(&corr),
        correlation_repaired: corr_repaired,
        pnl_distribution: PnlDistribution {
            skew,
            excess_kurtosis: exkurt,
            t_df: tfit.df,
            t_scale_daily_usd: tfit.scale,
            mc_df: match shocks {
                Shocks::StudentT { df } => Some(df),
                Shocks::Normal => None,
            },
        },
        performance: perf,
        incremental: Some(incremental),
    })
}
