//! Alerts on limit utilisation: how much of each portfolio limit an account's
//! latest risk snapshot uses, and a once-per-crossing state machine over it.
//!
//! Pure: no logging, metrics or clocks. The risk task publishes the
//! utilisations as `riskgate_limit_utilization_ratio`, and logs
//! (`riskgate::alert`) and counts (`riskgate_alerts_total`) what
//! [`AlertState::crossed`] reports. It must not decide on orders.

use std::collections::HashMap;

use super::AccountRisk;
use crate::rules::portfolio::Z95_OVER_Z99;
use crate::rules::{AlertLevels, PortfolioRules};

/// One limit's utilisation (used / limit; 1.0 = at the limit) and its alert level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utilisation {
    /// The rule-file key of the limit (`daily_var_95_pct`).
    pub limit: &'static str,
    pub utilisation: f64,
    /// Alert level as a share of the limit (0.9 = 90 %).
    pub threshold: f64,
}

/// The utilisation of every limit set for the account, from its snapshot.
///
/// * VaR limits (95 % and 99 %, 1 day; 95 %, 30 days by square-root-of-time)
///   and portfolio volatility use the parametric normal figures the order path
///   checks against, at the VaR alert level.
/// * `max_single_position_pct` (largest |exposure| / capital, filled plus open
///   orders), `max_sector_exposure_pct` (the largest sector) and `max_leverage`
///   (gross / capital) at the concentration level.
/// * `max_drawdown_pct` at the drawdown level.
/// * `correlation_limit_pct`: the highest correlation between the largest
///   position and another position in the same direction (the bet the
///   correlation limit refuses to add to), at the correlation level.
///
/// `max_single_position_pct` is an account limit: it is reported with the
/// default alert levels when the account has no portfolio rules.
pub fn utilisations(
    risk: &AccountRisk,
    portfolio: Option<&PortfolioRules>,
    max_single_position_pct: f64,
    sectors: &HashMap<Box<str>, Box<str>>,
) -> Vec<Utilisation> {
    let levels = portfolio.map_or_else(AlertLevels::default, |p| p.alert_levels);
    let capital = risk.capital_usd;
    let mut out = Vec::new();
    if capital.is_nan() || capital <= 0.0 {
        return out;
    }
    let mut push = |limit: &'static str, used: f64, max: Option<f64>, threshold: f64| {
        if let Some(max) = max.filter(|m| *m > 0.0) {
            out.push(Utilisation {
                limit,
                utilisation: used / max,
                threshold,
            });
        }
    };
    let largest_usd = risk
        .exposures_usd
        .iter()
        .map(|e| e.abs())
        .fold(0.0, f64::max);
    push(
        "max_single_position_pct",
        largest_usd / capital * 100.0,
        Some(max_single_position_pct),
        levels.concentration,
    );
    let Some(p) = portfolio else {
        return out;
    };
    let inc = &risk.incremental;
    let var99 = inc.var_usd;
    let var95 = var99 * Z95_OVER_Z99;
    let pct = |x: Option<f64>| x.map(|p| p / 100.0 * capital);
    push(
        "daily_var_limit_usd",
        var95,
        p.daily_var_limit_usd,
        levels.var,
    );
    push(
        "daily_var_95_pct",
        var95,
        pct(p.daily_var_95_pct),
        levels.var,
    );
    push(
        "daily_var_99_pct",
        var99,
        pct(p.daily_var_99_pct),
        levels.var,
    );
    push(
        "monthly_var_95_pct",
        var95 * 30f64.sqrt(),
        pct(p.monthly_var_95_pct),
        levels.var,
    );
    if inc.k > 0.0 {
        let vol_pct = var99 / inc.k * 365f64.sqrt() / capital * 100.0;
        push(
            "max_portfolio_volatility_pct",
            vol_pct,
            p.max_portfolio_volatility_pct,
            levels.var,
        );
    }
    if p.max_sector_exposure_pct.is_some() {
        let mut by_sector: HashMap<&str, f64> = HashMap::new();
        for (asset, e) in inc.assets.iter().zip(&risk.exposures_usd) {
            if let Some(sector) = sectors.get(asset.as_str()) {
                *by_sector.entry(sector).or_default() += e.abs();
            }
        }
        let largest = by_sector.values().copied().fold(0.0, f64::max);
        push(
            "max_sector_exposure_pct",
            largest / capital * 100.0,
            p.max_sector_exposure_pct,
            levels.concentration,
        );
    }
    push(
        "max_leverage",
        risk.gross_exposure_usd() / capital,
        p.max_leverage,
        levels.concentration,
    );
    push(
        "max_drawdown_pct",
        risk.drawdown_pct,
        p.max_drawdown_pct,
        levels.drawdown,
    );
    if p.correlation_limit_pct.is_some() {
        push(
            "correlation_limit_pct",
            same_bet_correlation(risk) * 100.0,
            p.correlation_limit_pct,
            levels.correlation,
        );
    }
    out
}

/// The highest correlation between the largest position and another position
/// in the same direction; 0 when there is none.
fn same_bet_correlation(risk: &AccountRisk) -> f64 {
    let e = &risk.exposures_usd;
    let Some(d) = e
        .iter()
        .enumerate()
        .filter(|(_, x)| **x != 0.0)
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(i, _)| i)
    else {
        return 0.0;
    };
    e.iter()
        .enumerate()
        .filter(|(j, x)| *j != d && **x != 0.0 && x.signum() == e[d].signum())
        .filter_map(|(j, _)| risk.correlation(j, d))
        .fold(0.0, f64::max)
}

/// Which limits of one account are at or over their alert level.
///
/// An alert fires when a limit's utilisation goes from below its level to at
/// or above it, and not again until it has dropped below the level (re-armed).
/// A NaN utilisation changes nothing. Bounded: one entry per limit key.
#[derive(Debug, Default, Clone)]
pub struct AlertState {
    above: HashMap<&'static str, bool>,
}

impl AlertState {
    /// Records one observation; true when it is an upward crossing (alert).
    pub fn crossed(&mut self, u: &Utilisation) -> bool {
        if u.utilisation.is_nan() {
            return false;
        }
        let now_above = u.utilisation >= u.threshold;
        let was_above = self.above.insert(u.limit, now_above).unwrap_or(false);
        now_above && !was_above
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::IncrementalVar;

    fn at(utilisation: f64) -> Utilisation {
        Utilisation {
            limit: "daily_var_95_pct",
            utilisation,
            threshold: 0.9,
        }
    }

    #[test]
    fn fires_once_per_upward_crossing_and_rearms_below_the_level() {
        let mut s = AlertState::default();
        let fired: Vec<bool> = [
            0.5,
            0.89,
            0.9,
            0.95,
            1.2,
            0.91,
            0.89,
            0.92,
            f64::NAN,
            0.93,
            0.1,
            0.99,
        ]
        .into_iter()
        .map(|u| s.crossed(&at(u)))
        .collect();
        assert_eq!(
            fired,
            [false, false, true, false, false, false, false, true, false, false, false, true]
        );
    }

    #[test]
    fn limits_are_tracked_independently() {
        let mut s = AlertState::default();
        let other = Utilisation {
            limit: "max_drawdown_pct",
            utilisation: 0.85,
            threshold: 0.8,
        };
        assert!(s.crossed(&at(0.95)));
        assert!(s.crossed(&other));
        assert!(!s.crossed(&at(0.95)));
        assert!(!s.crossed(&other));
        // Starting above the level is a crossing (from "no observation").
        let mut fresh = AlertState::default();
        assert!(fresh.crossed(&other));
    }

    fn rules(text: &str) -> crate::rules::RuleSet {
        crate::rules::file::build(
            &[("p.toml".into(), text.into())],
            &[],
            &Default::default(),
            1,
        )
        .unwrap()
    }

    /// BTC and ETH (daily vol 2 % and 3 %, correlation 0.8), SOL uncorrelated;
    /// long 100k BTC, long 50k ETH, short 20k SOL, capital 1M.
    fn risk() -> AccountRisk {
        let names: Vec<String> = ["BTC", "ETH", "SOL"].map(String::from).to_vec();
        let (a, b) = (0.02, 0.03);
        let cov = nalgebra::DMatrix::from_row_slice(
            3,
            3,
            &[
                a * a,
                0.8 * a * b,
                0.0,
                0.8 * a * b,
                b * b,
                0.0,
                0.0,
                0.0,
                0.0016,
            ],
        );
        let exposures = vec![100_000.0, 50_000.0, -20_000.0];
        let incremental = IncrementalVar::new(&names, &cov, &exposures, 0.99, 1).unwrap();
        AccountRisk {
            computed_ms: 0,
            capital_usd: 1_000_000.0,
            incremental,
            exposures_usd: exposures,
            asset_vol_annualised: vec![0.38, 0.57, 0.76],
            equity_usd: 880_000.0,
            peak_equity_usd: 1_000_000.0,
            drawdown_pct: 12.0,
            report: None,
            report_error: None,
        }
    }

    #[test]
    fn utilisation_of_each_limit_from_the_snapshot() {
        let rs = rules(
            "[portfolio.\"*\"]\ndaily_var_95_pct = 1.0\ndaily_var_99_pct = 2.0\n\
             max_sector_exposure_pct = 20.0\nmax_leverage = 0.5\nmax_drawdown_pct = 15.0\n\
             correlation_limit_pct = 100.0\nalert_drawdown_pct = 70.0\n\
             [sectors]\nL1 = [\"BTC\", \"ETH\"]\nL0 = [\"SOL\"]\n",
        );
        let p = rs.account(None).portfolio.clone().expect("portfolio");
        let r = risk();
        let got = utilisations(&r, Some(&p), 20.0, &rs.sectors);
        let get = |k: &str| {
            got.iter()
                .find(|u| u.limit == k)
                .unwrap_or_else(|| panic!("{k} missing from {got:?}"))
        };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        // σ² = 100k²·4e-4 + 50k²·9e-4 + 2·100k·50k·0.8·6e-4 + 20k²·16e-4
        let sigma = (4.0e6f64 + 2.25e6 + 4.8e6 + 0.64e6).sqrt();
        let z99 = 2.326_347_874_040_840_8;
        let z95 = 1.644_853_626_951_472_2;
        assert!(close(
            get("daily_var_95_pct").utilisation,
            z95 * sigma / 10_000.0
        ));
        assert!(close(
            get("daily_var_99_pct").utilisation,
            z99 * sigma / 20_000.0
        ));
        assert_eq!(get("daily_var_95_pct").threshold, 0.9);
        // Largest position 100k = 10 % of capital against 20 %.
        assert!(close(get("max_single_position_pct").utilisation, 0.5));
        assert_eq!(get("max_single_position_pct").threshold, 0.85);
        // L1 = 150k = 15 % against 20 %.
        assert!(close(get("max_sector_exposure_pct").utilisation, 0.75));
        // Gross 170k = 0.17x against 0.5x.
        assert!(close(get("max_leverage").utilisation, 0.34));
        assert!(close(get("max_drawdown_pct").utilisation, 0.8));
        assert_eq!(get("max_drawdown_pct").threshold, 0.7);
        // ETH (long, like BTC) correlates 0.8; short SOL does not count.
        assert!(close(get("correlation_limit_pct").utilisation, 0.8));
        assert_eq!(get("correlation_limit_pct").threshold, 0.75);
        // Limits not set are not reported.
        assert!(got.iter().all(|u| u.limit != "daily_var_limit_usd"));
        assert!(got
            .iter()
            .all(|u| u.limit != "max_portfolio_volatility_pct"));

        // Without portfolio rules only the account's single-position limit remains.
        let only = utilisations(&r, None, 20.0, &rs.sectors);
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].limit, "max_single_position_pct");
    }
}
