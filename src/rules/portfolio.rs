//! Portfolio limits checked on each order against the latest risk snapshot.
//!
//! Pure: the snapshot (`risk::AccountRisk`) is built off the order path; here
//! one order's change in exposure is priced against it in O(N) at most.
//! Every limit refuses only an order that makes its figure worse: an order that
//! lowers VaR, volatility, sector exposure or leverage passes even when the book
//! is already over a limit (reducing orders never get here at all).
//! Also the volatility-scaling factor on per-symbol position limits
//! ([`volatility_scale`]); `check` applies it to the limits it owns.

use std::collections::HashMap;

use super::ruleset::PortfolioRules;
use super::{RejectReason, Rejection};
use crate::risk::IncrementalVar;

/// `z(0.95) / z(0.99)`: turns the snapshot's 99 % parametric VaR into 95 %.
pub const Z95_OVER_Z99: f64 = 1.644_853_626_951_472_2 / 2.326_347_874_040_840_8;

/// The risk state an order is priced against.
#[derive(Debug, Clone, Copy)]
pub struct RiskState<'a> {
    pub computed_ms: i64,
    pub incremental: &'a IncrementalVar,
    /// Signed exposure per asset, in `incremental.assets` order; empty for a flat book.
    pub exposures_usd: &'a [f64],
    /// Annualised EWMA volatility per asset (fraction, 0.4 = 40 %), in
    /// `incremental.assets` order.
    pub asset_vol_annualised: &'a [f64],
}

impl RiskState<'_> {
    fn exposure(&self, i: usize) -> f64 {
        self.exposures_usd.get(i).copied().unwrap_or(0.0)
    }

    fn gross_exposure_usd(&self) -> f64 {
        self.exposures_usd.iter().map(|e| e.abs()).sum()
    }

    fn dominant(&self) -> Option<usize> {
        self.exposures_usd
            .iter()
            .enumerate()
            .filter(|(_, e)| **e != 0.0)
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
    }

    fn correlation(&self, i: usize, j: usize) -> Option<f64> {
        self.incremental.correlation(i, j)
    }
}

/// The portfolio side of an order's context.
#[derive(Debug, Clone, Copy)]
pub struct PortfolioView<'a> {
    pub rules: &'a PortfolioRules,
    /// None: no risk state has been published for the account.
    pub risk: Option<RiskState<'a>>,
    /// Base asset the order trades (`BTC`).
    pub asset: &'a str,
    /// Asset → sector.
    pub sectors: &'a HashMap<Box<str>, Box<str>>,
    pub now_ms: i64,
    /// The account's capital (configured, or equity learned from balances).
    pub capital_usd: f64,
}

fn refuse(reason: RejectReason, msg: String) -> Result<(), Rejection> {
    Err(Rejection::new(reason, msg))
}

/// The risk state if it is there and fresh enough to price an order.
fn fresh_state<'a>(view: &PortfolioView<'a>) -> Result<RiskState<'a>, Rejection> {
    let Some(risk) = view.risk else {
        return Err(Rejection::new(
            RejectReason::PortfolioRiskUnavailable,
            "no risk snapshot yet for this account",
        ));
    };
    let age_ms = view.now_ms - risk.computed_ms;
    if age_ms > view.rules.max_snapshot_age_ms {
        return Err(Rejection::new(
            RejectReason::PortfolioRiskUnavailable,
            format!(
                "risk snapshot is {:.0} s old (max {:.0} s)",
                age_ms as f64 / 1000.0,
                view.rules.max_snapshot_age_ms as f64 / 1000.0
            ),
        ));
    }
    Ok(risk)
}

/// The volatility scale applied to one order's per-symbol position limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolScale {
    /// `min(target / asset volatility, max_scale)`.
    pub factor: f64,
    pub target_volatility_pct: f64,
    /// The asset's annualised EWMA volatility, %.
    pub asset_vol_pct: f64,
}

impl VolScale {
    /// Explains an effective limit in a rejection: `configured × factor`.
    pub fn describe(&self, configured: impl std::fmt::Display) -> String {
        format!(
            "configured {configured} x volatility scale {:.4} (target {}% / asset volatility {:.2}%, EWMA annualised)",
            self.factor, self.target_volatility_pct, self.asset_vol_pct
        )
    }
}

/// The factor on the asset's position limits when `volatility_scaling` is on
/// (None when it is off). An asset with no usable volatility in a fresh
/// snapshot is refused: a limit that cannot be scaled is not applied unscaled.
pub fn volatility_scale(view: &PortfolioView<'_>) -> Result<Option<VolScale>, Rejection> {
    let Some(scaling) = view.rules.volatility_scaling else {
        return Ok(None);
    };
    let risk = fresh_state(view)?;
    let vol = risk
        .incremental
        .index_of(view.asset)
        .and_then(|i| risk.asset_vol_annualised.get(i).copied())
        .filter(|v| v.is_finite() && *v > 0.0);
    let Some(vol) = vol else {
        return refuse(
            RejectReason::PortfolioRiskUnavailable,
            format!(
                "volatility of {} unknown (no price history in the risk snapshot): position limits cannot be volatility-scaled",
                view.asset
            ),
        )
        .map(|()| None);
    };
    let asset_vol_pct = vol * 100.0;
    Ok(Some(VolScale {
        factor: scaling.factor(asset_vol_pct),
        target_volatility_pct: scaling.target_volatility_pct,
        asset_vol_pct,
    }))
}

/// Checks a change of `delta_usd` in the exposure to `view.asset`, which is
/// `current_usd` now. The snapshot may predate fills and orders accepted since:
/// the difference between `current_usd` and the snapshot's exposure to the asset
/// is counted as already in the book, so orders between two risk passes cannot
/// add up past a limit unseen.
pub fn check_portfolio(
    view: &PortfolioView<'_>,
    current_usd: f64,
    delta_usd: f64,
) -> Result<(), Rejection> {
    let rules = view.rules;
    if !rules.checks_orders() {
        return Ok(());
    }
    let risk = fresh_state(view)?;
    let inc = risk.incremental;
    let Some(i) = inc.index_of(view.asset) else {
        return refuse(
            RejectReason::PortfolioRiskUnavailable,
            format!("no price history for {} in the risk snapshot", view.asset),
        );
    };
    let capital = view.capital_usd;
    if capital <= 0.0 {
        return refuse(
            RejectReason::PortfolioRiskUnavailable,
            "risk snapshot cannot price this order".into(),
        );
    }
    let base = risk.exposure(i);
    let drift = current_usd - base;
    let (Some(var99_new), Some(var99_now)) = (
        inc.exact_var_usd(i, drift + delta_usd),
        inc.exact_var_usd(i, drift),
    ) else {
        return refuse(
            RejectReason::PortfolioRiskUnavailable,
            "risk snapshot cannot price this order".into(),
        );
    };
    if var99_new > var99_now {
        let var95_new = var99_new * Z95_OVER_Z99;
        let checks: [(Option<f64>, f64, &str); 4] = [
            (rules.daily_var_limit_usd, var95_new, "1-day 95% VaR"),
            (
                rules.daily_var_95_pct.map(|p| p / 100.0 * capital),
                var95_new,
                "1-day 95% VaR",
            ),
            (
                rules.daily_var_99_pct.map(|p| p / 100.0 * capital),
                var99_new,
                "1-day 99% VaR",
            ),
            (
                rules.monthly_var_95_pct.map(|p| p / 100.0 * capital),
                var95_new * 30f64.sqrt(),
                "30-day 95% VaR",
            ),
        ];
        for (limit, value, what) in checks {
            if let Some(limit) = limit {
                if value > limit {
                    return refuse(
                        RejectReason::VarLimit,
                        format!(
                            "{what} would be {:.2} USD ({:.2}% of capital {:.2}), limit {:.2} USD",
                            value,
                            value / capital * 100.0,
                            capital,
                            limit
                        ),
                    );
                }
            }
        }
        if let Some(max_pct) = rules.max_portfolio_volatility_pct {
            let vol_pct = var99_new / inc.k * 365f64.sqrt() / capital * 100.0;
            if inc.k > 0.0 && vol_pct > max_pct {
                return refuse(
                    RejectReason::PortfolioVolatility,
                    format!(
                        "annualised portfolio volatility would be {:.2}% of capital (limit {}%)",
                        vol_pct, max_pct
                    ),
                );
            }
        }
    }
    let now = current_usd;
    let after = now + delta_usd;
    let grows = after.abs() > now.abs();
    if let (Some(limit_pct), Some(d)) = (rules.correlation_limit_pct, risk.dominant()) {
        let dominant_exposure = risk.exposure(d);
        // Adding to the same bet as the dominant position through a highly
        // correlated asset concentrates the book; hedging against it does not.
        if d != i && grows && after.signum() == dominant_exposure.signum() {
            if let Some(rho) = risk.correlation(i, d) {
                if rho * 100.0 > limit_pct {
                    return refuse(
                        RejectReason::CorrelationLimit,
                        format!(
                            "{} is {:.0}% correlated with the book's largest position {} (limit {}%)",
                            view.asset,
                            rho * 100.0,
                            inc.assets[d],
                            limit_pct
                        ),
                    );
                }
            }
        }
    }
    if !grows {
        return Ok(());
    }
    if let (Some(max_pct), Some(sector)) =
        (rules.max_sector_exposure_pct, view.sectors.get(view.asset))
    {
        let sector_usd: f64 = inc
            .assets
            .iter()
            .enumerate()
            .filter(|(_, a)| view.sectors.get(a.as_str()) == Some(sector))
            .map(|(j, a)| {
                if a == view.asset {
                    after.abs()
                } else {
                    risk.exposure(j).abs()
                }
            })
            .sum();
        let pct = sector_usd / capital * 100.0;
        if pct > max_pct {
            return refuse(
                RejectReason::SectorExposure,
                format!(
                    "sector {sector} exposure would be {:.2} USD, {:.2}% of capital (limit {}%)",
                    sector_usd, pct, max_pct
                ),
            );
        }
    }
    if let Some(max) = rules.max_leverage {
        let gross = risk.gross_exposure_usd() - base.abs() + after.abs();
        let leverage = gross / capital;
        if leverage > max {
            return refuse(
                RejectReason::LeverageLimit,
                format!(
                    "gross exposure would be {:.2} USD, leverage {:.2}x (limit {}x)",
                    gross, leverage, max
                ),
            );
        }
    }
    Ok(())
}
