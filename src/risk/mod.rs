//! Portfolio risk analytics (issue 3): returns, volatility (sample, EWMA,
//! GARCH(1,1)), covariance/correlation, VaR and expected shortfall (historical,
//! parametric normal, Student-t, Cornish–Fisher, Monte Carlo), performance
//! ratios on an equity curve, Euler attribution, and the O(1) incremental-VaR
//! check used on the order path.
//!
//! Owns: pure numerical functions over `f64` slices and matrices, and the
//! serialisable [`snapshot::RiskReport`] built by [`snapshot::compute_snapshot`].
//!
//! `board` holds the published per-account snapshots the order path reads, and
//! `task` is the background loop that builds them: the only part of `risk/`
//! that runs on a thread, reads state, logs and changes trading state.
//!
//! Everything else must not touch: I/O (files, network, clocks), async or threads, logging,
//! global state, or any knowledge of venues, HTTP or order formats. Inputs are
//! venue-neutral: assets are plain strings, exposures are signed USD notionals,
//! history is aligned daily closes. The caller (a background task elsewhere)
//! gathers the inputs, runs [`snapshot::compute_snapshot`] and publishes the
//! report; the order path only calls [`incremental::IncrementalVar`].
//!
//! Bad or short data is an error ([`RiskError`]), never a silently computed
//! number: the gateway fails closed. Formulas and conventions are documented
//! per module and collected in `docs/risk-analytics.md`.

pub mod alert;
pub mod attribution;
pub mod board;
pub mod covariance;
pub mod error;
pub mod garch;
pub mod incremental;
pub mod montecarlo;
pub mod optimize;
pub mod performance;
pub mod returns;
pub mod snapshot;
pub mod stats;
pub mod student_t;
pub mod task;
pub mod var;
pub mod volatility;

pub use board::{AccountRisk, RiskBoard};
pub use error::{RiskError, RiskResult};
pub use incremental::IncrementalVar;
pub use returns::{ReturnKind, ReturnsMatrix};
pub use snapshot::{compute_snapshot, RiskInputs, RiskParams, RiskReport};
