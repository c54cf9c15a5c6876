//! Returns from close series, and the time-major returns matrix every other
//! risk module consumes.
//!
//! * log return  `r_t = ln(P_t / P_{t−1})`
//! * simple return `R_t = P_t / P_{t−1} − 1`
//!
//! Prices must be finite and strictly positive; anything else is an error
//! (never skipped or forward-filled: the caller fails closed).

use super::error::{RiskError, RiskResult};

/// Which return definition to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnKind {
    Log,
    Simple,
}

fn check_prices(what: &str, closes: &[f64]) -> RiskResult<()> {
    if closes.len() < 2 {
        return Err(RiskError::ShortHistory {
            what: what.to_string(),
            got: closes.len(),
            need: 2,
        });
    }
    match closes.iter().position(|p| !(p.is_finite() && *p > 0.0)) {
        Some(index) => Err(RiskError::BadPrice {
            what: what.to_string(),
            index,
            value: closes[index],
        }),
        None => Ok(()),
    }
}

/// Log returns of a close series (length `n − 1`).
pub fn log_returns(closes: &[f64]) -> RiskResult<Vec<f64>> {
    check_prices("closes", closes)?;
    Ok(closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect())
}

/// Simple returns of a close series (length `n − 1`).
pub fn simple_returns(closes: &[f64]) -> RiskResult<Vec<f64>> {
    check_prices("closes", closes)?;
    Ok(closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect())
}

/// Daily returns of N assets over T days, stored time-major (`data[t·N + i]`)
/// so a day's cross-section — what a portfolio P&L needs — is contiguous.
/// Oldest observation first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnsMatrix {
    n_obs: usize,
    n_assets: usize,
    data: Vec<f64>,
}

impl ReturnsMatrix {
    /// From per-asset aligned close series (same length, oldest first).
    pub fn from_closes<S: AsRef<[f64]>>(
        names: &[&str],
        closes: &[S],
        kind: ReturnKind,
    ) -> RiskResult<Self> {
        if closes.is_empty() {
            return Err(RiskError::NoAssets);
        }
        if names.len() != closes.len() {
            return Err(RiskError::DimensionMismatch {
                what: "asset names vs close series".into(),
                expected: closes.len(),
                got: names.len(),
            });
        }
        let len = closes[0].as_ref().len();
        let n_assets = closes.len();
        for (name, c) in names.iter().zip(closes) {
            let c = c.as_ref();
            if c.len() != len {
                return Err(RiskError::DimensionMismatch {
                    what: format!("close history of {name}"),
                    expected: len,
                    got: c.len(),
                });
            }
            check_prices(&format!("closes of {name}"), c)?;
        }
        let n_obs = len - 1;
        let mut data = vec![0.0; n_obs * n_assets];
        for (i, c) in closes.iter().enumerate() {
            let c = c.as_ref();
            for t in 0..n_obs {
                data[t * n_assets + i] = match kind {
                    ReturnKind::Log => (c[t + 1] / c[t]).ln(),
                    ReturnKind::Simple => c[t + 1] / c[t] - 1.0,
                };
            }
        }
        Ok(ReturnsMatrix {
            n_obs,
            n_assets,
            data,
        })
    }

    /// From per-asset return columns (same length).
    pub fn from_columns<S: AsRef<[f64]>>(columns: &[S]) -> RiskResult<Self> {
        if columns.is_empty() {
            return Err(RiskError::NoAssets);
        }
        let n_obs = columns[0].as_ref().len();
        let n_assets = columns.len();
        let mut data = vec![0.0; n_obs * n_assets];
        for (i, c) in columns.iter().enumerate() {
            let c = c.as_ref();
            if c.len() != n_obs {
                return Err(RiskError::DimensionMismatch {
                    what: format!("return column {i}"),
                    expected: n_obs,
                    got: c.len(),
                });
            }
            super::error::check_finite(&format!("return column {i}"), c)?;
            for (t, &x) in c.iter().enumerate() {
                data[t * n_assets + i] = x;
            }
        }
        Ok(ReturnsMatrix {
            n_obs,
            n_assets,
            data,
        })
    }

    pub fn n_obs(&self) -> usize {
        self.n_obs
    }

    pub fn n_assets(&self) -> usize {
        self.n_assets
    }

    /// The cross-section of day `t` (0 = oldest).
    #[inline]
    pub fn row(&self, t: usize) -> &[f64] {
        &self.data[t * self.n_assets..(t + 1) * self.n_assets]
    }

    /// All data, time-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Copy of asset `i`'s return series, oldest first.
    pub fn column(&self, i: usize) -> Vec<f64> {
        (0..self.n_obs)
            .map(|t| self.data[t * self.n_assets + i])
            .collect()
    }

    /// The most recent `n` observations, or a `ShortHistory` error.
    pub fn last(&self, n: usize) -> RiskResult<ReturnsMatrix> {
        if n == 0 || n > self.n_obs {
            return Err(RiskError::ShortHistory {
                what: "returns lookback".into(),
                got: self.n_obs,
                need: n.max(1),
            });
        }
        Ok(ReturnsMatrix {
            n_obs: n,
            n_assets: self.n_assets,
            data: self.data[(self.n_obs - n) * self.n_assets..].to_vec(),
        })
    }

    /// Daily portfolio P&L in USD: `pnl_t = Σ_i w_i r_{t,i}` (delta-linear in
    /// the returns; see docs/risk-analytics.md).
    pub fn portfolio_pnl(&self, exposures_usd: &[f64]) -> Vec<f64> {
        (0..self.n_obs)
            .map(|t| dot(self.row(t), exposures_usd))
            .collect()
    }

    /// P&L of every overlapping `h`-day window: `Σ_i w_i Σ_{k<h} r_{t+k,i}`,
    /// `T − h + 1` scenarios (the historical-simulation horizon rule).
    pub fn overlapping_pnl(&self, exposures_usd: &[f64], h: usize) -> RiskResult<Vec<f64>> {
        if h == 0 || h > self.n_obs {
            return Err(RiskError::ShortHistory {
                what: format!("{h}-day overlapping windows"),
                got: self.n_obs,
                need: h.max(1),
            });
        }
        let daily = self.portfolio_pnl(exposures_usd);
        if h == 1 {
            return Ok(daily);
        }
        // the P&L is linear, so the window sum of daily portfolio P&L equals
        // the P&L of the window's summed log returns; direct sums (O(T·h))
        // avoid the cancellation of differencing long prefix sums
        Ok(daily.windows(h).map(|w| w.iter().sum()).collect())
    }
}

#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_returns() {
        let r = log_returns(&[100.0, 110.0, 99.0]).unwrap();
        assert!((r[0] - 1.1f64.ln()).abs() < 1e-15);
        let s = simple_returns(&[100.0, 110.0, 99.0]).unwrap();
        assert!((s[1] - (-0.1)).abs() < 1e-15);
        assert!(matches!(
            log_returns(&[1.0, 0.0]),
            Err(RiskError::BadPrice { index: 1, .. })
        ));
        assert!(matches!(
            log_returns(&[1.0]),
            Err(RiskError::ShortHistory { .. })
        ));
        assert!(log_returns(&[1.0, f64::NAN]).is_err());
    }
}
