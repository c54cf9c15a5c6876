//! The rule-file schema (`rules/*.toml`) and its validation into a `RuleSet`.
//!
//! Every file in the rules directory is read; each section (`account.<name>`,
//! `circuit_breaker.<symbol>`, `market_data`, `duplicates`, `symbols`) may be
//! defined in one file only. Every error names `file:line:col`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::ruleset::{
    AccountRules, AlertLevels, BreakerRule, EnvOverrides, PortfolioRules, RateRule, RuleSet,
    SymbolRules, VolatilityScaling, DEFAULTS,
};
use crate::config::{SourceError, SourceErrors};
use crate::model::Fixed;

/// Largest rule file read (a rules file is hand-written; anything bigger is a mistake).
pub const MAX_RULE_FILE_BYTES: u64 = 1 << 20;
/// Most rule files read from the directory.
pub const MAX_RULE_FILES: usize = 64;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    account: BTreeMap<String, Spanned<AccountSection>>,
    #[serde(default)]
    circuit_breaker: BTreeMap<String, Spanned<BreakerSection>>,
    market_data: Option<Spanned<MarketDataSection>>,
    duplicates: Option<Spanned<DuplicatesSection>>,
    symbols: Option<Spanned<SymbolsSection>>,
    #[serde(default)]
    portfolio: BTreeMap<String, Spanned<PortfolioSection>>,
    /// Sector name → base assets.
    sectors: Option<Spanned<BTreeMap<String, Vec<Spanned<String>>>>>,
    /// Instrument name (as a venue spells it) → base asset, where the default
    /// split (strip the quote currency, `XBT` → `BTC`) is not right.
    assets: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// Exchange (`binance`, `bybit`, `okx`, `kraken`, `coinbase`, or `*`) →
    /// most gross exposure held there, % of capital.
    exchange_limits: Option<Spanned<BTreeMap<String, Spanned<f64>>>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct PortfolioSection {
    daily_var_limit_usd: Option<Spanned<f64>>,
    daily_var_95_pct: Option<Spanned<f64>>,
    daily_var_99_pct: Option<Spanned<f64>>,
    monthly_var_95_pct: Option<Spanned<f64>>,
    max_portfolio_volatility_pct: Option<Spanned<f64>>,
    correlation_limit_pct: Option<Spanned<f64>>,
    max_sector_exposure_pct: Option<Spanned<f64>>,
    max_leverage: Option<Spanned<f64>>,
    max_drawdown_pct: Option<Spanned<f64>>,
    max_snapshot_age_s: Option<Spanned<f64>>,
    volatility_scaling: Option<Spanned<bool>>,
    target_volatility_pct: Option<Spanned<f64>>,
    max_scale: Option<Spanned<f64>>,
    alert_var_pct: Option<Spanned<f64>>,
    alert_concentration_pct: Option<Spanned<f64>>,
    alert_drawdown_pct: Option<Spanned<f64>>,
    alert_correlation_pct: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct AccountSection {
    capital_usd: Option<Spanned<f64>>,
    max_order_notional_usd: Option<Spanned<f64>>,
    max_single_position_pct: Option<Spanned<f64>>,
    max_open_orders: Option<Spanned<i64>>,
    max_daily_trades: Option<Spanned<i64>>,
    rate_limit_orders_per_s: Option<Spanned<i64>>,
    rate_limit_burst: Option<Spanned<i64>>,
    /// Check the venue's own precision and size filters (lot step, tick size,
    /// minimum/maximum quantity and notional) before the venue does.
    exchange_filters: Option<bool>,
    #[serde(default)]
    symbol: BTreeMap<String, Spanned<SymbolSection>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct SymbolSection {
    max_order_qty: Option<Spanned<f64>>,
    max_position_qty: Option<Spanned<f64>>,
    max_position_notional_usd: Option<Spanned<f64>>,
    price_band_pct: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct BreakerSection {
    enabled: Option<bool>,
    max_move_pct: Option<Spanned<f64>>,
    window_s: Option<Spanned<f64>>,
    pause_s: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarketDataSection {
    max_price_age_s: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DuplicatesSection {
    window_s: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolsSection {
    allowed: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    blocked: Vec<Spanned<String>>,
}

/// A parsed file with its text, kept for error locations.
struct Parsed {
    path: PathBuf,
    text: String,
    file: RuleFile,
}

impl Parsed {
    fn err<T>(&self, v: &Spanned<T>, msg: impl Into<String>) -> SourceError {
        SourceError::at(&self.path, &self.text, Some(v.span()), msg)
    }
}

/// Collects errors instead of stopping at the first, so one `check` shows them all.
struct Validator<'a> {
    parsed: &'a Parsed,
    errors: &'a mut Vec<SourceError>,
}

impl Validator<'_> {
    fn number(
        &mut self,
        v: &Option<Spanned<f64>>,
        name: &str,
        min_exclusive: f64,
        max: f64,
    ) -> Option<f64> {
        let s = v.as_ref()?;
        let x = *s.get_ref();
        if !x.is_finite() || x <= min_exclusive || x > max {
            self.errors.push(self.parsed.err(
                s,
                format!("{name} = {x}: must be > {min_exclusive} and <= {max}"),
            ));
            return None;
        }
        Some(x)
    }

    fn count(&mut self, v: &Option<Spanned<i64>>, name: &str, max: i64) -> Option<u32> {
        let s = v.as_ref()?;
        let x = *s.get_ref();
        if !(0..=max).contains(&x) {
            self.errors.push(
                self.parsed
                    .err(s, format!("{name} = {x}: must be between 0 and {max}")),
            );
            return None;
        }
        Some(x as u32)
    }

    fn qty(&mut self, v: &Option<Spanned<f64>>, name: &str) -> Option<Fixed> {
        let x = self.number(v, name, 0.0, 1e12)?;
        Fixed::from_f64(x)
    }
}

/// Field-by-field overlay: a more specific section wins where it sets a value.
fn overlay<T: Copy>(specific: Option<T>, general: Option<T>) -> Option<T> {
    specific.or(general)
}

#[derive(Default, Clone, Copy)]
struct SymbolValues {
    max_order_qty: Option<Fixed>,
    max_position_qty: Option<Fixed>,
    max_position_notional_usd: Option<f64>,
    price_band_pct: Option<f64>,
}

impl SymbolValues {
    fn over(self, general: SymbolValues) -> SymbolValues {
        SymbolValues {
            max_order_qty: overlay(self.max_order_qty, general.max_order_qty),
            max_position_qty: overlay(self.max_position_qty, general.max_position_qty),
            max_position_notional_usd: overlay(
                self.max_position_notional_usd,
                general.max_position_notional_usd,
            ),
            price_band_pct: overlay(self.price_band_pct, general.price_band_pct),
        }
    }

    fn resolve(self) -> SymbolRules {
        SymbolRules {
            max_order_qty: self.max_order_qty,
            max_position_qty: self.max_position_qty,
            max_position_notional_usd: self.max_position_notional_usd,
            price_band_pct: self.price_band_pct.unwrap_or(DEFAULTS.price_band_pct),
        }
    }
}

#[derive(Default, Clone)]
struct AccountValues {
    capital_usd: Option<f64>,
    max_order_notional_usd: Option<f64>,
    max_single_position_pct: Option<f64>,
    max_open_orders: Option<u32>,
    max_daily_trades: Option<u32>,
    rate_per_s: Option<u32>,
    rate_burst: Option<u32>,
    exchange_filters: Option<bool>,
    symbols: HashMap<String, SymbolValues>,
}

#[derive(Default, Clone, Copy)]
struct BreakerValues {
    enabled: Option<bool>,
    max_move_pct: Option<f64>,
    window_s: Option<f64>,
    pause_s: Option<f64>,
}

fn validate_symbol(v: &mut Validator<'_>, s: &SymbolSection) -> SymbolValues {
    SymbolValues {
        max_order_qty: v.qty(&s.max_order_qty, "max_order_qty"),
        max_position_qty: v.qty(&s.max_position_qty, "max_position_qty"),
        max_position_notional_usd: v.number(
            &s.max_position_notional_usd,
            "max_position_notional_usd",
            0.0,
            1e12,
        ),
        price_band_pct: v.number(&s.price_band_pct, "price_band_pct", 0.0, 100.0),
    }
}

fn validate_account(v: &mut Validator<'_>, a: &AccountSection) -> AccountValues {
    let mut out = AccountValues {
        capital_usd: v.number(&a.capital_usd, "capital_usd", 0.0, 1e13),
        max_order_notional_usd: v.number(
            &a.max_order_notional_usd,
            "max_order_notional_usd",
            0.0,
            1e12,
        ),
        max_single_position_pct: v.number(
            &a.max_single_position_pct,
            "max_single_position_pct",
            0.0,
            1000.0,
        ),
        max_open_orders: v.count(&a.max_open_orders, "max_open_orders", 100_000),
        max_daily_trades: v.count(&a.max_daily_trades, "max_daily_trades", 10_000_000),
        rate_per_s: v.count(
            &a.rate_limit_orders_per_s,
            "rate_limit_orders_per_s",
            100_000,
        ),
        rate_burst: v.count(&a.rate_limit_burst, "rate_limit_burst", 1_000_000),
        exchange_filters: a.exchange_filters,
        symbols: HashMap::new(),
    };
    for (name, s) in &a.symbol {
        if name != "*" && !is_symbol_name(name) {
            v.errors.push(v.parsed.err(
                s,
                format!("'{name}' is not a symbol name (upper-case letters and digits) or \"*\""),
            ));
            continue;
        }
        out.symbols
            .insert(name.clone(), validate_symbol(v, s.get_ref()));
    }
    out
}

/// An instrument name as some venue spells it: `BTCUSDT`, `BTC-USDT-SWAP`, `XBT/USD`.
fn is_symbol_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'-' | b'/' | b'_')
        })
}

/// Reads the rule files from `dir` (every `*.toml`, sorted by name) and builds a rule set.
pub fn load_dir(
    dir: &Path,
    known_accounts: &[String],
    env: &EnvOverrides,
    version: u64,
) -> Result<RuleSet, SourceErrors> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            SourceErrors(vec![SourceError::whole_file(
                dir,
                format!("cannot read rules directory: {e}"),
            )])
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.len() > MAX_RULE_FILES {
        return Err(SourceErrors(vec![SourceError::whole_file(
            dir,
            format!("more than {MAX_RULE_FILES} rule files"),
        )]));
    }
    let mut sources = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for path in paths {
        match read_bounded(&path) {
            Ok(text) => sources.push((path, text)),
            Err(e) => errors.push(SourceError::whole_file(&path, e)),
        }
    }
    if !errors.is_empty() {
        return Err(SourceErrors(errors));
    }
    build(&sources, known_accounts, env, version)
}

fn read_bounded(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_RULE_FILE_BYTES {
        return Err(format!("file larger than {MAX_RULE_FILE_BYTES} bytes"));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))
}

/// Builds a rule set from file contents (path, text). Pure: used by reload and tests.
pub fn build(
    sources: &[(PathBuf, String)],
    known_accounts: &[String],
    env: &EnvOverrides,
    version: u64,
) -> Result<RuleSet, SourceErrors> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (path, text) in sources {
        match toml::from_str::<RuleFile>(text) {
            Ok(file) => parsed.push(Parsed {
                path: path.clone(),
                text: text.clone(),
                file,
            }),
            Err(e) => errors.push(SourceError::from_toml(path, text, &e)),
        }
    }

    // Each section may be defined once across all files.
    let mut defined: HashMap<String, SourceError> = HashMap::new();
    let mut define = |key: String, here: SourceError, errors: &mut Vec<SourceError>| {
        if let Some(first) = defined.get(&key) {
            errors.push(SourceError {
                message: format!(
                    "[{key}] already defined at {}:{}:{}",
                    first.file.display(),
                    first.line,
                    first.col
                ),
                ..here
            });
        } else {
            defined.insert(key, here);
        }
    };

    let mut accounts: BTreeMap<String, AccountValues> = BTreeMap::new();
    let mut breakers: BTreeMap<String, BreakerValues> = BTreeMap::new();
    let mut max_price_age_s = None;
    let mut duplicate_window_s = None;
    let mut allowed: Option<HashSet<Box<str>>> = None;
    let mut blocked: HashSet<Box<str>> = HashSet::new();
    let mut portfolios: BTreeMap<String, PortfolioValues> = BTreeMap::new();
    let mut sectors: HashMap<Box<str>, Box<str>> = HashMap::new();
    let mut assets: HashMap<Box<str>, Box<str>> = HashMap::new();
    let mut exchange_limits: HashMap<Box<str>, f64> = HashMap::new();

    for p in &parsed {
        let mut v = Validator {
            parsed: p,
            errors: &mut errors,
        };
        for (name, section) in &p.file.account {
            define(format!("account.{name}"), p.err(section, ""), v.errors);
            if name != "*" && !known_accounts.iter().any(|a| a == name) {
                v.errors.push(p.err(
                    section,
                    format!("unknown account '{name}': name an alias from the config's [[accounts]] (known: {}) or \"*\"", known_accounts.join(", ")),
                ));
                continue;
            }
            accounts.insert(name.clone(), validate_account(&mut v, section.get_ref()));
        }
        for (name, section) in &p.file.circuit_breaker {
            define(
                format!("circuit_breaker.{name}"),
                p.err(section, ""),
                v.errors,
            );
            if name != "*" && !is_symbol_name(name) {
                v.errors
                    .push(p.err(section, format!("'{name}' is not a symbol name or \"*\"")));
                continue;
            }
            let b = section.get_ref();
            breakers.insert(
                name.clone(),
                BreakerValues {
                    enabled: b.enabled,
                    max_move_pct: v.number(&b.max_move_pct, "max_move_pct", 0.0, 100.0),
                    window_s: v.number(&b.window_s, "window_s", 0.0, 86_400.0),
                    pause_s: v.number(&b.pause_s, "pause_s", 0.0, 7.0 * 86_400.0),
                },
            );
        }
        for (name, section) in &p.file.portfolio {
            define(format!("portfolio.{name}"), p.err(section, ""), v.errors);
            if name != "*" && !known_accounts.iter().any(|a| a == name) {
                v.errors.push(p.err(
                    section,
                    format!("unknown account '{name}' in [portfolio.{name}]"),
                ));
                continue;
            }
            let x = section.get_ref();
            portfolios.insert(
                name.clone(),
                PortfolioValues {
                    daily_var_limit_usd: v.number(
                        &x.daily_var_limit_usd,
                        "daily_var_limit_usd",
                        0.0,
                        1e13,
                    ),
                    daily_var_95_pct: v.number(&x.daily_var_95_pct, "daily_var_95_pct", 0.0, 100.0),
                    daily_var_99_pct: v.number(&x.daily_var_99_pct, "daily_var_99_pct", 0.0, 100.0),
                    monthly_var_95_pct: v.number(
                        &x.monthly_var_95_pct,
                        "monthly_var_95_pct",
                        0.0,
                        100.0,
                    ),
                    max_portfolio_volatility_pct: v.number(
                        &x.max_portfolio_volatility_pct,
                        "max_portfolio_volatility_pct",
                        0.0,
                        1000.0,
                    ),
                    correlation_limit_pct: v.number(
                        &x.correlation_limit_pct,
                        "correlation_limit_pct",
                        0.0,
                        100.0,
                    ),
                    max_sector_exposure_pct: v.number(
                        &x.max_sector_exposure_pct,
                        "max_sector_exposure_pct",
                        0.0,
                        1000.0,
                    ),
                    max_leverage: v.number(&x.max_leverage, "max_leverage", 0.0, 1000.0),
                    max_drawdown_pct: v.number(&x.max_drawdown_pct, "max_drawdown_pct", 0.0, 100.0),
                    max_snapshot_age_s: v.number(
                        &x.max_snapshot_age_s,
                        "max_snapshot_age_s",
                        0.0,
                        86_400.0,
                    ),
                    volatility_scaling: x.volatility_scaling.as_ref().map(|b| *b.get_ref()),
                    target_volatility_pct: v.number(
                        &x.target_volatility_pct,
                        "target_volatility_pct",
                        0.0,
                        1000.0,
                    ),
                    max_scale: v.number(&x.max_scale, "max_scale", 0.0, 100.0),
                    alert_var_pct: v.number(&x.alert_var_pct, "alert_var_pct", 0.0, 100.0),
                    alert_concentration_pct: v.number(
                        &x.alert_concentration_pct,
                        "alert_concentration_pct",
                        0.0,
                        100.0,
                    ),
                    alert_drawdown_pct: v.number(
                        &x.alert_drawdown_pct,
                        "alert_drawdown_pct",
                        0.0,
                        100.0,
                    ),
                    alert_correlation_pct: v.number(
                        &x.alert_correlation_pct,
                        "alert_correlation_pct",
                        0.0,
                        100.0,
                    ),
                },
            );
            // Scaling without a target cannot be applied: refuse the file rather
            // than guess one ("*" sorts first, so its target is known here).
            if let Some(flag) = &x.volatility_scaling {
                let target_known = x.target_volatility_pct.is_some()
                    || portfolios
                        .get("*")
                        .is_some_and(|g| g.target_volatility_pct.is_some());
                if *flag.get_ref() && !target_known {
                    v.errors.push(p.err(
                        flag,
                        "volatility_scaling = true needs target_volatility_pct".to_string(),
                    ));
                }
            }
        }
        if let Some(sec) = &p.file.sectors {
            define("sectors".into(), p.err(sec, ""), v.errors);
            for (sector, assets) in sec.get_ref() {
                for a in assets {
                    let asset = a.get_ref();
                    if asset.is_empty()
                        || asset.len() > 20
                        || !asset
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    {
                        v.errors.push(p.err(
                            a,
                            format!(
                                "'{asset}' is not an asset name (upper-case letters and digits)"
                            ),
                        ));
                    } else if let Some(prev) =
                        sectors.insert(asset.as_str().into(), sector.as_str().into())
                    {
                        v.errors
                            .push(p.err(a, format!("{asset} is already in sector '{prev}'")));
                    }
                }
            }
        }
        if let Some(sec) = &p.file.assets {
            define("assets".into(), p.err(sec, ""), v.errors);
            for (symbol, base) in sec.get_ref() {
                let asset = base.get_ref();
                if !is_symbol_name(symbol) {
                    v.errors
                        .push(p.err(base, format!("'{symbol}' is not an instrument name")));
                } else if asset.is_empty()
                    || asset.len() > 20
                    || !asset
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    v.errors.push(p.err(
                        base,
                        format!("'{asset}' is not an asset name (upper-case letters and digits)"),
                    ));
                } else {
                    assets.insert(symbol.as_str().into(), asset.as_str().into());
                }
            }
        }
        if let Some(sec) = &p.file.exchange_limits {
            define("exchange_limits".into(), p.err(sec, ""), v.errors);
            for (exchange, pct) in sec.get_ref() {
                if exchange != "*"
                    && (exchange.is_empty()
                        || !exchange
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
                {
                    v.errors.push(p.err(
                        pct,
                        format!("'{exchange}' is not an exchange name (binance, bybit, okx, kraken, coinbase or \"*\")"),
                    ));
                    continue;
                }
                if let Some(x) = v.number(&Some(pct.clone()), exchange, 0.0, 10_000.0) {
                    exchange_limits.insert(exchange.as_str().into(), x);
                }
            }
        }
        if let Some(md) = &p.file.market_data {
            define("market_data".into(), p.err(md, ""), v.errors);
            max_price_age_s = v.number(
                &Some(md.get_ref().max_price_age_s.clone()),
                "max_price_age_s",
                0.0,
                3600.0,
            );
        }
        if let Some(d) = &p.file.duplicates {
            define("duplicates".into(), p.err(d, ""), v.errors);
            duplicate_window_s =
                v.number(&Some(d.get_ref().window_s.clone()), "window_s", 0.0, 3600.0);
        }
        if let Some(s) = &p.file.symbols {
            define("symbols".into(), p.err(s, ""), v.errors);
            let s = s.get_ref();
            for sym in s.allowed.iter().flatten().chain(&s.blocked) {
                if !is_symbol_name(sym.get_ref()) {
                    v.errors
                        .push(p.err(sym, format!("'{}' is not a symbol name", sym.get_ref())));
                }
            }
            allowed = s
                .allowed
                .as_ref()
                .map(|a| a.iter().map(|x| x.get_ref().as_str().into()).collect());
            blocked = s
                .blocked
                .iter()
                .map(|x| x.get_ref().as_str().into())
                .collect();
        }
    }
    if !errors.is_empty() {
        return Err(SourceErrors(errors));
    }

    let general_portfolio = portfolios.remove("*").unwrap_or_default();
    let resolve_portfolio = |alias: Option<&str>| -> Option<PortfolioRules> {
        let specific = alias
            .and_then(|a| portfolios.get(a))
            .copied()
            .unwrap_or_default();
        let v = specific.over(general_portfolio);
        let rules = PortfolioRules {
            daily_var_limit_usd: env.daily_var_limit_usd.or(v.daily_var_limit_usd),
            daily_var_95_pct: v.daily_var_95_pct,
            daily_var_99_pct: v.daily_var_99_pct,
            monthly_var_95_pct: v.monthly_var_95_pct,
            max_portfolio_volatility_pct: v.max_portfolio_volatility_pct,
            correlation_limit_pct: env.correlation_limit_pct.or(v.correlation_limit_pct),
            max_sector_exposure_pct: env.max_sector_exposure_pct.or(v.max_sector_exposure_pct),
            max_leverage: env.max_leverage.or(v.max_leverage),
            max_drawdown_pct: env.max_drawdown_pct.or(v.max_drawdown_pct),
            max_snapshot_age_ms: (v
                .max_snapshot_age_s
                .unwrap_or(DEFAULTS.portfolio_max_snapshot_age_s)
                * 1000.0) as i64,
            volatility_scaling: match (v.volatility_scaling, v.target_volatility_pct) {
                (Some(true), Some(target_volatility_pct)) => Some(VolatilityScaling {
                    target_volatility_pct,
                    max_scale: v.max_scale.unwrap_or(1.0),
                }),
                _ => None,
            },
            alert_levels: {
                let d = AlertLevels::default();
                let level = |pct: Option<f64>, default: f64| pct.map_or(default, |p| p / 100.0);
                AlertLevels {
                    var: level(v.alert_var_pct, d.var),
                    concentration: level(v.alert_concentration_pct, d.concentration),
                    drawdown: level(v.alert_drawdown_pct, d.drawdown),
                    correlation: level(v.alert_correlation_pct, d.correlation),
                }
            },
        };
        (rules.checks_orders() || rules.max_drawdown_pct.is_some()).then_some(rules)
    };
    let general = accounts.remove("*").unwrap_or_default();
    let symbol_values =
        |vals: &AccountValues, name: &str| vals.symbols.get(name).copied().unwrap_or_default();
    let resolve_account = |specific: &AccountValues| -> AccountRules {
        // Most specific first: account.X.symbol.S > account.X.symbol.* > account.*.symbol.S > account.*.symbol.*
        let names: HashSet<&String> = general
            .symbols
            .keys()
            .chain(specific.symbols.keys())
            .filter(|n| *n != "*")
            .collect();
        let symbols = names
            .into_iter()
            .map(|n| {
                let resolved = symbol_values(specific, n)
                    .over(symbol_values(specific, "*"))
                    .over(symbol_values(&general, n))
                    .over(symbol_values(&general, "*"));
                (Box::<str>::from(n.as_str()), resolved.resolve())
            })
            .collect();
        let default_symbol = symbol_values(specific, "*")
            .over(symbol_values(&general, "*"))
            .resolve();
        let rate_per_s = specific
            .rate_per_s
            .or(general.rate_per_s)
            .unwrap_or(DEFAULTS.rate_limit_orders_per_s);
        let rate_burst = specific
            .rate_burst
            .or(general.rate_burst)
            .unwrap_or(DEFAULTS.rate_limit_burst);
        AccountRules {
            capital_usd: specific.capital_usd.or(general.capital_usd),
            max_order_notional_usd: env
                .max_order_size_usd
                .or(specific.max_order_notional_usd)
                .or(general.max_order_notional_usd)
                .unwrap_or(DEFAULTS.max_order_notional_usd),
            max_single_position_pct: env
                .max_single_position_pct
                .or(specific.max_single_position_pct)
                .or(general.max_single_position_pct)
                .unwrap_or(DEFAULTS.max_single_position_pct),
            max_open_orders: specific
                .max_open_orders
                .or(general.max_open_orders)
                .unwrap_or(DEFAULTS.max_open_orders),
            max_daily_trades: env
                .max_daily_trades
                .or(specific.max_daily_trades)
                .or(general.max_daily_trades)
                .unwrap_or(DEFAULTS.max_daily_trades),
            rate: (rate_per_s > 0).then_some(RateRule {
                orders_per_s: rate_per_s,
                burst: rate_burst.max(1),
            }),
            symbols,
            default_symbol,
            portfolio: None,
            exchange_filters: specific
                .exchange_filters
                .or(general.exchange_filters)
                .unwrap_or(false),
        }
    };
    let mut default_account = resolve_account(&AccountValues::default());
    default_account.portfolio = resolve_portfolio(None);
    let default_account = Arc::new(default_account);
    // Accounts with portfolio limits but no [account.X] section still get their own entry.
    for name in portfolios.keys() {
        accounts.entry(name.clone()).or_default();
    }
    let accounts = accounts
        .iter()
        .map(|(name, values)| {
            let mut rules = resolve_account(values);
            rules.portfolio = resolve_portfolio(Some(name));
            (Box::<str>::from(name.as_str()), Arc::new(rules))
        })
        .collect();

    let general_breaker = breakers.remove("*").unwrap_or_default();
    let resolve_breaker = |b: BreakerValues| BreakerRule {
        enabled: env
            .circuit_breaker_enabled
            .or(b.enabled)
            .or(general_breaker.enabled)
            .unwrap_or(DEFAULTS.breaker_enabled),
        max_move_pct: b
            .max_move_pct
            .or(general_breaker.max_move_pct)
            .unwrap_or(DEFAULTS.breaker_max_move_pct),
        window_ms: (b
            .window_s
            .or(general_breaker.window_s)
            .unwrap_or(DEFAULTS.breaker_window_s)
            * 1000.0) as i64,
        pause_ms: (b
            .pause_s
            .or(general_breaker.pause_s)
            .unwrap_or(DEFAULTS.breaker_pause_s)
            * 1000.0) as i64,
    };
    let default_breaker = resolve_breaker(BreakerValues::default());
    let breakers = breakers
        .into_iter()
        .map(|(s, b)| (Box::<str>::from(s.as_str()), resolve_breaker(b)))
        .collect();

    Ok(RuleSet {
        version,
        files: sources.iter().map(|(p, _)| p.clone()).collect(),
        accounts,
        default_account,
        max_price_age_ms: (max_price_age_s.unwrap_or(DEFAULTS.max_price_age_s) * 1000.0) as i64,
        duplicate_window_ms: (duplicate_window_s.unwrap_or(DEFAULTS.duplicate_window_s) * 1000.0)
            as i64,
        breakers,
        default_breaker,
        allowed_symbols: allowed,
        blocked_symbols: blocked,
        sectors,
        assets,
        exchange_limits,
    })
}

#[derive(Default, Clone, Copy)]
struct PortfolioValues {
    daily_var_limit_usd: Option<f64>,
    daily_var_95_pct: Option<f64>,
    daily_var_99_pct: Option<f64>,
    monthly_var_95_pct: Option<f64>,
    max_portfolio_volatility_pct: Option<f64>,
    correlation_limit_pct: Option<f64>,
    max_sector_exposure_pct: Option<f64>,
    max_leverage: Option<f64>,
    max_drawdown_pct: Option<f64>,
    max_snapshot_age_s: Option<f64>,
    volatility_scaling: Option<bool>,
    target_volatility_pct: Option<f64>,
    max_scale: Option<f64>,
    alert_var_pct: Option<f64>,
    alert_concentration_pct: Option<f64>,
    alert_drawdown_pct: Option<f64>,
    alert_correlation_pct: Option<f64>,
}

impl PortfolioValues {
    fn over(self, g: PortfolioValues) -> PortfolioValues {
        PortfolioValues {
            daily_var_limit_usd: self.daily_var_limit_usd.or(g.daily_var_limit_usd),
            daily_var_95_pct: self.daily_var_95_pct.or(g.daily_var_95_pct),
            daily_var_99_pct: self.daily_var_99_pct.or(g.daily_var_99_pct),
            monthly_var_95_pct: self.monthly_var_95_pct.or(g.monthly_var_95_pct),
            max_portfolio_volatility_pct: self
                .max_portfolio_volatility_pct
                .or(g.max_portfolio_volatility_pct),
            correlation_limit_pct: self.correlation_limit_pct.or(g.correlation_limit_pct),
            max_sector_exposure_pct: self.max_sector_exposure_pct.or(g.max_sector_exposure_pct),
            max_leverage: self.max_leverage.or(g.max_leverage),
            max_drawdown_pct: self.max_drawdown_pct.or(g.max_drawdown_pct),
            max_snapshot_age_s: self.max_snapshot_age_s.or(g.max_snapshot_age_s),
            volatility_scaling: self.volatility_scaling.or(g.volatility_scaling),
            target_volatility_pct: self.target_volatility_pct.or(g.target_volatility_pct),
            max_scale: self.max_scale.or(g.max_scale),
            alert_var_pct: self.alert_var_pct.or(g.alert_var_pct),
            alert_concentration_pct: self.alert_concentration_pct.or(g.alert_concentration_pct),
            alert_drawdown_pct: self.alert_drawdown_pct.or(g.alert_drawdown_pct),
            alert_correlation_pct: self.alert_correlation_pct.or(g.alert_correlation_pct),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> (PathBuf, String) {
        (PathBuf::from(name), text.to_string())
    }

    #[test]
    fn most_specific_value_wins() {
        let text = r#"
            [account."*"]
            max_daily_trades = 10
            max_order_notional_usd = 5000.0
            [account."*".symbol."*"]
            price_band_pct = 3.0
            [account."*".symbol.BTCUSDT]
            max_order_qty = 1.0
            [account.alice]
            max_daily_trades = 99
            [account.alice.symbol."*"]
            price_band_pct = 7.0
        "#;
        let r = build(
            &[src("a.toml", text)],
            &["alice".into()],
            &EnvOverrides::default(),
            1,
        )
        .unwrap();
        let alice = r.account(Some("alice"));
        assert_eq!(alice.max_daily_trades, 99);
        assert_eq!(alice.max_order_notional_usd, 5000.0);
        // alice's symbol."*" beats the general BTCUSDT entry for the band; the general
        // BTCUSDT entry still supplies max_order_qty.
        assert_eq!(alice.symbol("BTCUSDT").price_band_pct, 7.0);
        assert_eq!(
            alice.symbol("BTCUSDT").max_order_qty,
            Some(Fixed::from_units(1))
        );
        let other = r.account(Some("bob"));
        assert_eq!(other.max_daily_trades, 10);
        assert_eq!(other.symbol("ETHUSDT").price_band_pct, 3.0);
        assert_eq!(
            RuleSet::defaults().account(None).max_daily_trades,
            DEFAULTS.max_daily_trades
        );
    }

    #[test]
    fn exchange_filters_are_off_unless_set_and_overlay_per_account() {
        let text = "[account.\"*\"]\nexchange_filters = true\n[account.alice]\nexchange_filters = false\n[account.bob]\nmax_daily_trades = 3\n";
        let names = ["alice".into(), "bob".into()];
        let r = build(&[src("a.toml", text)], &names, &EnvOverrides::default(), 1).unwrap();
        assert!(r.account(None).exchange_filters);
        assert!(!r.account(Some("alice")).exchange_filters);
        assert!(
            r.account(Some("bob")).exchange_filters,
            "inherits account.*"
        );
        assert!(!RuleSet::defaults().account(None).exchange_filters);
        let e = build(
            &[src("b.toml", "[account.\"*\"]\nexchange_filters = 1\n")],
            &[],
            &EnvOverrides::default(),
            1,
        )
        .unwrap_err();
        assert!(e.0[0].to_string().starts_with("b.toml:2:"), "{}", e.0[0]);
    }

    #[test]
    fn environment_overrides_every_account() {
        let text =
            "[account.\"*\"]\nmax_daily_trades = 10\n[account.alice]\nmax_daily_trades = 20\n";
        let env = EnvOverrides {
            max_daily_trades: Some(3),
            max_order_size_usd: Some(123.0),
            circuit_breaker_enabled: Some(false),
            ..Default::default()
        };
        let r = build(&[src("a.toml", text)], &["alice".into()], &env, 1).unwrap();
        assert_eq!(r.account(Some("alice")).max_daily_trades, 3);
        assert_eq!(r.account(None).max_order_notional_usd, 123.0);
        assert!(!r.breaker("BTCUSDT").enabled);
    }

    #[test]
    fn volatility_scaling_needs_a_target_and_caps_at_one_by_default() {
        let text = "[portfolio.\"*\"]\nvolatility_scaling = true\ntarget_volatility_pct = 20.0\n\
                    [portfolio.alice]\nmax_scale = 1.5\n[portfolio.bob]\nvolatility_scaling = false\n";
        let names = ["alice".into(), "bob".into()];
        let r = build(&[src("p.toml", text)], &names, &EnvOverrides::default(), 1).unwrap();
        let scaling = |a: Option<&str>| {
            r.account(a)
                .portfolio
                .as_ref()
                .and_then(|p| p.volatility_scaling)
        };
        let general = scaling(None).expect("on for *");
        assert_eq!(
            (general.target_volatility_pct, general.max_scale),
            (20.0, 1.0)
        );
        assert_eq!(general.factor(40.0), 0.5);
        assert_eq!(general.factor(10.0), 1.0);
        assert_eq!(scaling(Some("alice")).expect("inherited").max_scale, 1.5);
        assert_eq!(scaling(Some("bob")), None);
        // Alert levels: the seed's by default.
        let levels = r
            .account(None)
            .portfolio
            .as_ref()
            .expect("rules")
            .alert_levels;
        assert_eq!(levels, AlertLevels::default());

        let e = build(
            &[src(
                "p.toml",
                "[portfolio.\"*\"]\nvolatility_scaling = true\n",
            )],
            &[],
            &EnvOverrides::default(),
            1,
        )
        .unwrap_err();
        let msg = e.0[0].to_string();
        assert!(
            msg.starts_with("p.toml:2:22: volatility_scaling = true needs target_volatility_pct"),
            "{msg}"
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "[account.\"*\"]\nmax_daily_trades = -1\nmax_single_position_pct = 0.0\n";
        let e = build(
            &[src("rules/a.toml", text)],
            &[],
            &EnvOverrides::default(),
            1,
        )
        .unwrap_err();
        let mut msgs: Vec<String> = e.0.iter().map(|e| e.to_string()).collect();
        msgs.sort();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(
            msgs[0].starts_with("rules/a.toml:2:20: max_daily_trades = -1"),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].starts_with("rules/a.toml:3:27: max_single_position_pct = 0: must be > 0"),
            "{}",
            msgs[1]
        );

        let e = build(
            &[src("b.toml", "[account.\"*\"]\nmax_dayly_trades = 1\n")],
            &[],
            &EnvOverrides::default(),
            1,
        )
        .unwrap_err();
        assert!(
            e.0[0]
                .to_string()
                .starts_with("b.toml:2:1: unknown field `max_dayly_trades`"),
            "{}",
            e.0[0]
        );

        let e = build(
            &[src("c.toml", "[account.ghost]\nmax_daily_trades = 1\n")],
            &[],
            &EnvOverrides::default(),
            1,
        )
        .unwrap_err();
        assert!(e.0[0].message.contains("unknown account 'ghost'"));
    }

    #[test]
    fn a_section_may_be_defined_in_one_file_only() {
        let a = src("a.toml", "[market_data]\nmax_price_age_s = 5.0\n");
        let b = src("b.toml", "\n[market_data]\nmax_price_age_s = 6.0\n");
        let e = build(&[a, b], &[], &EnvOverrides::default(), 1).unwrap_err();
        assert!(
            e.0[0]
                .to_string()
                .starts_with("b.toml:2:1: [market_data] already defined at a.toml:1:1"),
            "{}",
            e.0[0]
        );
    }

    #[test]
    fn shipped_rule_files_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let r = load_dir(&dir, &[], &EnvOverrides::default(), 1).unwrap();
        assert!(r.files.len() >= 2);
        assert!(!r.symbol_allowed("LUNAUSDT"));
        assert_eq!(r.exchange_limit_pct("okx"), Some(10.0));
        assert!(!r.account(None).exchange_filters, "off by default");
    }
}
