//! The immutable, fully resolved rule set the order path reads.
//!
//! Built once per (re)load by `file::build`; shared behind an `ArcSwap` so the
//! order path reads it without locking. Every per-account and per-symbol value is
//! resolved at build time, so a lookup is one or two hash probes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::model::Fixed;

/// Built-in values used where no rule file and no environment variable sets one.
pub struct Defaults {
    pub max_order_notional_usd: f64,
    pub max_single_position_pct: f64,
    pub max_open_orders: u32,
    pub max_daily_trades: u32,
    pub rate_limit_orders_per_s: u32,
    pub rate_limit_burst: u32,
    pub price_band_pct: f64,
    pub max_price_age_s: f64,
    pub duplicate_window_s: f64,
    pub breaker_enabled: bool,
    pub breaker_max_move_pct: f64,
    pub breaker_window_s: f64,
    pub breaker_pause_s: f64,
    pub portfolio_max_snapshot_age_s: f64,
}

/// The seed's defaults (MAX_ORDER_SIZE_USD 10000, MAX_SINGLE_POSITION_PCT 20,
/// MAX_DAILY_TRADES 50) and conservative values for the rest.
pub const DEFAULTS: Defaults = Defaults {
    max_order_notional_usd: 10_000.0,
    max_single_position_pct: 20.0,
    max_open_orders: 20,
    max_daily_trades: 50,
    rate_limit_orders_per_s: 10,
    rate_limit_burst: 20,
    price_band_pct: 5.0,
    max_price_age_s: 10.0,
    duplicate_window_s: 2.0,
    breaker_enabled: true,
    breaker_max_move_pct: 10.0,
    breaker_window_s: 60.0,
    breaker_pause_s: 300.0,
    portfolio_max_snapshot_age_s: 300.0,
};

/// Values from the environment that override the rule files for every account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvOverrides {
    pub max_single_position_pct: Option<f64>,
    pub max_daily_trades: Option<u32>,
    pub max_order_size_usd: Option<f64>,
    pub circuit_breaker_enabled: Option<bool>,
    pub daily_var_limit_usd: Option<f64>,
    pub correlation_limit_pct: Option<f64>,
    pub max_sector_exposure_pct: Option<f64>,
    pub max_leverage: Option<f64>,
    pub max_drawdown_pct: Option<f64>,
}

/// Portfolio limits checked against the latest risk snapshot. Every limit is
/// optional; an account with none set is not checked against the snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PortfolioRules {
    pub daily_var_limit_usd: Option<f64>,
    pub daily_var_95_pct: Option<f64>,
    pub daily_var_99_pct: Option<f64>,
    pub monthly_var_95_pct: Option<f64>,
    /// Annualised portfolio volatility as % of capital.
    pub max_portfolio_volatility_pct: Option<f64>,
    /// Max correlation (%) between the asset an order adds to and the book's largest position.
    pub correlation_limit_pct: Option<f64>,
    pub max_sector_exposure_pct: Option<f64>,
    /// Gross exposure / capital.
    pub max_leverage: Option<f64>,
    /// Equity drawdown from peak (%) that switches the account to reduce-only.
    pub max_drawdown_pct: Option<f64>,
    /// A snapshot older than this is treated as missing (fail closed).
    pub max_snapshot_age_ms: i64,
    /// Per-symbol position limits scaled by target / asset volatility; None: off.
    pub volatility_scaling: Option<VolatilityScaling>,
    /// Utilisation at which the risk task raises an alert, per kind of limit.
    pub alert_levels: AlertLevels,
}

/// Share of a limit (0.9 = 90 %) at which the risk task logs an alert
/// (`riskgate::alert`) and counts it, once per upward crossing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertLevels {
    /// VaR limits (USD and % of capital, 1 and 30 days) and portfolio volatility.
    pub var: f64,
    /// Single position and sector exposure as % of capital, and leverage.
    pub concentration: f64,
    pub drawdown: f64,
    /// Correlation of an added-to asset with the book's largest position.
    pub correlation: f64,
}

impl Default for AlertLevels {
    /// The seed's levels: 90 % VaR, 85 % concentration, 80 % drawdown, 75 % correlation.
    fn default() -> Self {
        AlertLevels {
            var: 0.90,
            concentration: 0.85,
            drawdown: 0.80,
            correlation: 0.75,
        }
    }
}

/// `volatility_scaling = true`: the per-symbol position limits (max position
/// qty and notional, single-position % of capital) are multiplied by
/// `min(target_volatility / asset_volatility, max_scale)`, both annualised, the
/// asset's from the latest risk snapshot (EWMA, λ = 0.94).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VolatilityScaling {
    pub target_volatility_pct: f64,
    /// Cap on the factor; 1 (the default) never loosens a configured limit.
    pub max_scale: f64,
}

impl VolatilityScaling {
    /// The factor for an asset with annualised volatility `asset_vol_pct`.
    pub fn factor(&self, asset_vol_pct: f64) -> f64 {
        (self.target_volatility_pct / asset_vol_pct).min(self.max_scale)
    }
}

impl PortfolioRules {
    /// Whether any order-time limit is set (drawdown is enforced by the risk task).
    pub fn checks_orders(&self) -> bool {
        self.daily_var_limit_usd.is_some()
            || self.daily_var_95_pct.is_some()
            || self.daily_var_99_pct.is_some()
            || self.monthly_var_95_pct.is_some()
            || self.max_portfolio_volatility_pct.is_some()
            || self.correlation_limit_pct.is_some()
            || self.max_sector_exposure_pct.is_some()
            || self.max_leverage.is_some()
            || self.volatility_scaling.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateRule {
    pub orders_per_s: u32,
    pub burst: u32,
}

/// Limits for one account on one symbol.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolRules {
    pub max_order_qty: Option<Fixed>,
    pub max_position_qty: Option<Fixed>,
    pub max_position_notional_usd: Option<f64>,
    pub price_band_pct: f64,
}

/// Limits for one account.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRules {
    /// Capital for concentration limits; None = use the equity learned from balances.
    pub capital_usd: Option<f64>,
    pub max_order_notional_usd: f64,
    pub max_single_position_pct: f64,
    pub max_open_orders: u32,
    pub max_daily_trades: u32,
    /// None = no rate limit.
    pub rate: Option<RateRule>,
    pub symbols: HashMap<Box<str>, SymbolRules>,
    pub default_symbol: SymbolRules,
    /// None: no portfolio limits for this account.
    pub portfolio: Option<PortfolioRules>,
    /// Check the venue's exchange filters (lot step, tick, min/max quantity and
    /// notional) before forwarding; unknown filters refuse the order. Off by default.
    pub exchange_filters: bool,
}

impl AccountRules {
    pub fn symbol(&self, symbol: &str) -> &SymbolRules {
        self.symbols.get(symbol).unwrap_or(&self.default_symbol)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerRule {
    pub enabled: bool,
    pub max_move_pct: f64,
    pub window_ms: i64,
    pub pause_ms: i64,
}

#[derive(Debug)]
pub struct RuleSet {
    /// Increments on every successful load.
    pub version: u64,
    pub files: Vec<PathBuf>,
    pub accounts: HashMap<Box<str>, Arc<AccountRules>>,
    pub default_account: Arc<AccountRules>,
    pub max_price_age_ms: i64,
    pub duplicate_window_ms: i64,
    pub breakers: HashMap<Box<str>, BreakerRule>,
    pub default_breaker: BreakerRule,
    /// None = every symbol not blocked is allowed.
    pub allowed_symbols: Option<HashSet<Box<str>>>,
    pub blocked_symbols: HashSet<Box<str>>,
    /// Base asset → sector (from `[sectors]`).
    pub sectors: HashMap<Box<str>, Box<str>>,
    /// Instrument → base asset overrides (from `[assets]`).
    pub assets: HashMap<Box<str>, Box<str>>,
    /// Exchange → most gross exposure there, % of capital (from
    /// `[exchange_limits]`; `*` for exchanges not named). Empty: no limit.
    pub exchange_limits: HashMap<Box<str>, f64>,
}

impl RuleSet {
    /// The rules for an account alias (or the `*` rules for unnamed accounts).
    pub fn account(&self, alias: Option<&str>) -> &Arc<AccountRules> {
        alias
            .and_then(|a| self.accounts.get(a))
            .unwrap_or(&self.default_account)
    }

    /// The most gross exposure allowed on `exchange`, % of capital.
    pub fn exchange_limit_pct(&self, exchange: &str) -> Option<f64> {
        self.exchange_limits
            .get(exchange)
            .or_else(|| self.exchange_limits.get("*"))
            .copied()
    }

    /// Whether any account checks exchange filters (else riskgate does not
    /// fetch the venues' instrument lists at all).
    pub fn exchange_filters_on(&self) -> bool {
        self.default_account.exchange_filters || self.accounts.values().any(|a| a.exchange_filters)
    }

    pub fn sector_of(&self, asset: &str) -> Option<&str> {
        self.sectors.get(asset).map(|s| &**s)
    }

    pub fn breaker(&self, symbol: &str) -> &BreakerRule {
        self.breakers.get(symbol).unwrap_or(&self.default_breaker)
    }

    pub fn symbol_allowed(&self, symbol: &str) -> bool {
        !self.blocked_symbols.contains(symbol)
            && self
                .allowed_symbols
                .as_ref()
                .is_none_or(|a| a.contains(symbol))
    }

    /// A rule set from built-in defaults only (no files).
    pub fn defaults() -> RuleSet {
        super::file::build(&[], &[], &EnvOverrides::default(), 0)
            .unwrap_or_else(|_| unreachable!("empty rule set always builds"))
    }
}
