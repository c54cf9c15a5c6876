//! Rules: rule files → an immutable rule set; a pure `check()` → decision.
//!
//! Knows no venue and does no I/O on the order path. Reloading builds a whole new
//! rule set and swaps it in; a bad file never replaces good rules.

pub mod check;
pub mod file;
pub mod portfolio;
pub mod reason;
pub mod ruleset;

pub use check::{
    check, Accepted, Decision, ExchangeView, FiltersView, InstrumentPosition, OrderContext,
    PriceView, TradingState,
};
pub use portfolio::{PortfolioView, RiskState};
pub use reason::{Fault, RejectReason, Rejection};
pub use ruleset::{
    AccountRules, AlertLevels, EnvOverrides, PortfolioRules, RuleSet, SymbolRules,
    VolatilityScaling,
};
