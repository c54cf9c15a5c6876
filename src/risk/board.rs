//! Published risk snapshots, one per account, read by the order path.
//!
//! The background task builds a whole new map and swaps it in; the order path
//! loads it without locking. Pure data: no I/O here.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{IncrementalVar, RiskReport};
use crate::model::AccountId;

/// One account's risk as of `computed_ms`.
#[derive(Debug, Clone)]
pub struct AccountRisk {
    pub computed_ms: i64,
    pub capital_usd: f64,
    /// Parametric normal VaR state at 99 %, 1 day, over every asset with history.
    pub incremental: IncrementalVar,
    /// Signed exposure per asset (same order as `incremental.assets`), USD:
    /// filled position plus open buys minus open sells, at reference prices.
    pub exposures_usd: Vec<f64>,
    /// Annualised EWMA (λ = 0.94) volatility per asset, same order; fraction.
    pub asset_vol_annualised: Vec<f64>,
    pub equity_usd: f64,
    pub peak_equity_usd: f64,
    pub drawdown_pct: f64,
    /// The full report (all methods), when the book is not flat and history suffices.
    pub report: Option<Arc<RiskReport>>,
    pub report_error: Option<String>,
}

impl AccountRisk {
    pub fn gross_exposure_usd(&self) -> f64 {
        self.exposures_usd.iter().map(|e| e.abs()).sum()
    }

    /// Correlation between assets `i` and `j` of the snapshot.
    pub fn correlation(&self, i: usize, j: usize) -> Option<f64> {
        self.incremental.correlation(i, j)
    }
}

/// The order-path state of an empty book: every account's starting point.
#[derive(Debug, Clone)]
pub struct FlatBook {
    pub computed_ms: i64,
    pub incremental: IncrementalVar,
    /// As [`AccountRisk::asset_vol_annualised`].
    pub asset_vol_annualised: Vec<f64>,
}

#[derive(Default)]
pub struct RiskBoard {
    flat: ArcSwap<Option<Arc<FlatBook>>>,
    snapshots: ArcSwap<HashMap<AccountId, Arc<AccountRisk>>>,
    /// Completed passes of the risk task (0 until the first).
    passes: std::sync::atomic::AtomicU64,
}

impl RiskBoard {
    pub fn new() -> RiskBoard {
        RiskBoard::default()
    }

    pub fn get(&self, account: AccountId) -> Option<Arc<AccountRisk>> {
        self.snapshots.load().get(&account).cloned()
    }

    pub fn publish(
        &self,
        snapshots: HashMap<AccountId, Arc<AccountRisk>>,
        flat: Option<Arc<FlatBook>>,
    ) {
        self.snapshots.store(Arc::new(snapshots));
        self.flat.store(Arc::new(flat));
        self.passes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many times the risk task has published.
    pub fn passes(&self) -> u64 {
        self.passes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The flat-book state, for accounts with nothing held or on order and no snapshot yet.
    pub fn flat(&self) -> Option<Arc<FlatBook>> {
        (*self.flat.load_full()).clone()
    }

    pub fn all(&self) -> Arc<HashMap<AccountId, Arc<AccountRisk>>> {
        self.snapshots.load_full()
    }
}
