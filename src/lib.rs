//! riskgate: an inline pre-trade risk gateway for crypto exchange REST APIs.
//!
//! Data flows one way: a request is classified and parsed by its `venue`, checked
//! against the `rules` and reserved in `state` (atomically per account), journaled,
//! forwarded by `proxy` (or filled by the `paper` exchange), and the answer is read
//! back by the venue so `state` learns positions and open orders.
//!
//! | module | owns |
//! |---|---|
//! | `model` | venue-neutral order, instrument, price types (pure data) |
//! | `venue` | each exchange's wire format: classify, parse, render refusals, learn |
//! | `rules` | rule files → immutable rule set; pure `check()`; the `RejectReason` list |
//! | `state` | positions, open orders, counters, trading state, journal, recovery |
//! | `market` | reference prices with their age; the paper market simulator |
//! | `paper` | the built-in paper exchange that answers in a venue's format |
//! | `risk` | portfolio analytics (VaR, ES, volatility, correlation) |
//! | `proxy` | the hot path: listeners, forwarding, upstream pool |
//! | `admin` | admin API: status, kill switch, metrics endpoint |
//! | `config` | the validated, frozen runtime configuration |
//! | `telemetry` | every metric name, in one place |

pub mod admin;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod market;
pub mod model;
pub mod paper;
pub mod proxy;
pub mod risk;
pub mod rules;
pub mod state;
pub mod telemetry;
pub mod venue;
