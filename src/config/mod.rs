//! Configuration: `config/riskgate.toml` plus environment → a validated, frozen `Config`.
//!
//! Every error names `file:line:col`. Unknown keys are errors. After `load`
//! returns, nothing changes the config; rules (which do change) live in `rules/`.

pub mod error;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

pub use error::{SourceError, SourceErrors};

use crate::model::{AccountId, Fixed};
use crate::rules::EnvOverrides;
use crate::state::{account_id_of, Durability, KnownAccount};
use crate::venue::VenueKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Orders that pass are filled by the built-in paper exchange; nothing leaves the machine.
    Paper,
    /// Orders that pass are forwarded to the real exchange.
    Live,
    /// Everything is forwarded; refusals are only recorded (metrics, log).
    Shadow,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Live => "live",
            Mode::Shadow => "shadow",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    mode: Option<Spanned<Mode>>,
    state_dir: Option<Spanned<String>>,
    rules_dir: Option<Spanned<String>>,
    workers: Option<Spanned<i64>>,
    durability: Option<Durability>,
    max_accounts: Option<Spanned<i64>>,
    #[serde(default)]
    allow_withdrawals: bool,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    market: MarketSection,
    #[serde(default)]
    paper: PaperSection,
    #[serde(default)]
    risk: RiskSection,
    admin: Option<AdminSection>,
    proxy_url: Option<Spanned<ProxyUrlSection>>,
    #[serde(default)]
    venues: Vec<Spanned<VenueSection>>,
    #[serde(default)]
    accounts: Vec<Spanned<AccountSection>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_body_bytes: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    header_read_timeout_s: Option<Spanned<f64>>,
    keep_alive_timeout_s: Option<Spanned<f64>>,
    body_read_timeout_s: Option<Spanned<f64>>,
    upstream_connect_timeout_s: Option<Spanned<f64>>,
    upstream_response_timeout_s: Option<Spanned<f64>>,
    shutdown_grace_s: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MarketSection {
    poll_interval_s: Option<Spanned<f64>>,
    sim_seed: Option<u64>,
    sim_tick_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RiskSection {
    interval_s: Option<Spanned<f64>>,
    monte_carlo_sims: Option<Spanned<i64>>,
    seed: Option<u64>,
    #[serde(default)]
    universe: Vec<Spanned<String>>,
    history_dir: Option<Spanned<String>>,
    history_refresh_s: Option<Spanned<f64>>,
    fill_debounce_s: Option<Spanned<f64>>,
    max_duty_cycle_pct: Option<Spanned<f64>>,
    cpu: Option<Spanned<CpuSetting>>,
}

/// `[risk] cpu`: `"auto"`, `"off"` or a CPU index.
#[derive(Deserialize)]
#[serde(untagged)]
enum CpuSetting {
    Name(String),
    Index(i64),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PaperSection {
    #[serde(default)]
    starting_balances: std::collections::BTreeMap<String, Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminSection {
    listen: Spanned<String>,
}

/// ccxt's `proxyUrl` mode: one listener where the path is the exchange's full URL.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxyUrlSection {
    listen: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VenueSection {
    name: Spanned<String>,
    kind: Spanned<VenueKind>,
    listen: Spanned<String>,
    upstream: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSection {
    alias: Spanned<String>,
    /// One key, or a list: one account may trade on several venues, each
    /// with its own key; all of them share the account's capital and limits.
    api_key_sha256: Option<Spanned<OneOrMany>>,
    api_key_env: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    starting_holdings: std::collections::BTreeMap<String, Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }
}

/// Where a venue's passing orders go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// `host` or `host:port` as the Host header needs it.
    pub authority: String,
}

#[derive(Clone, Debug)]
pub struct VenueConfig {
    pub name: String,
    pub kind: VenueKind,
    pub listen: SocketAddr,
    pub upstream: Option<Upstream>,
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    /// How long a kept-alive client connection may idle between requests.
    pub keep_alive_timeout: Duration,
    pub body_read_timeout: Duration,
    pub upstream_connect_timeout: Duration,
    pub upstream_response_timeout: Duration,
    pub shutdown_grace: Duration,
}

/// The portfolio-risk background task.
#[derive(Clone, Debug)]
pub struct RiskConfig {
    /// Recompute every (RISK_CHECK_FREQUENCY overrides), and after fills.
    pub interval: Duration,
    pub monte_carlo_sims: usize,
    pub seed: u64,
    /// Assets always in the risk snapshot (besides those held or ordered).
    pub universe: Vec<String>,
    /// CSV price history to load at start (`<ASSET>.csv`).
    pub history_dir: Option<PathBuf>,
    /// Live/shadow: how often daily klines are fetched again.
    pub history_refresh: Duration,
    /// Least idle time between passes (`fill_debounce_s`, `max_duty_cycle_pct`).
    pub pacing: crate::risk::task::Pacing,
    /// Where the risk thread runs (`cpu`).
    pub cpu: crate::risk::task::RiskCpu,
}

/// The frozen configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub mode: Mode,
    pub state_dir: PathBuf,
    pub rules_dir: PathBuf,
    pub workers: usize,
    pub durability: Durability,
    pub max_accounts: usize,
    pub allow_withdrawals: bool,
    pub limits: Limits,
    pub poll_interval: Duration,
    pub sim_seed: u64,
    pub sim_tick_ms: u64,
    pub paper_starting_balances: Vec<(String, Fixed)>,
    pub risk: RiskConfig,
    pub admin_listen: SocketAddr,
    pub admin_token: Option<Arc<str>>,
    pub venues: Vec<VenueConfig>,
    /// The proxy-URL listener (`[proxy_url] listen`): requests name the
    /// exchange's URL in the path and go to the venue whose `upstream` it is.
    pub proxy_url_listen: Option<SocketAddr>,
    pub accounts: Vec<KnownAccount>,
    pub env: EnvOverrides,
    /// Messages to log loudly at startup (e.g. risk management disabled).
    pub warnings: Vec<String>,
}

/// The process environment, passed in so tests can set it.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars().collect(),
        }
    }
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    fn flag(&self, k: &str) -> Result<Option<bool>, String> {
        match self.get(k).map(|v| v.to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(Some(true)),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(Some(false)),
            Some(v) => Err(format!("{k}={v}: expected true or false")),
        }
    }
    fn number<T: std::str::FromStr>(&self, k: &str) -> Result<Option<T>, String> {
        self.get(k)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("{k}={v}: not a valid number"))
            })
            .transpose()
    }
}

/// Environment values that override rule files (see README "Precedence").
pub fn env_overrides(env: &Env) -> Result<EnvOverrides, String> {
    // CORRELATION_LIMIT may be a fraction (0.7) or a percentage (70).
    let correlation_limit_pct =
        env.number::<f64>("CORRELATION_LIMIT")?
            .map(|v| if v <= 1.0 { v * 100.0 } else { v });
    let o = EnvOverrides {
        max_single_position_pct: env.number("MAX_SINGLE_POSITION_PCT")?,
        max_daily_trades: env.number("MAX_DAILY_TRADES")?,
        max_order_size_usd: env.number("MAX_ORDER_SIZE_USD")?,
        circuit_breaker_enabled: env.flag("CIRCUIT_BREAKER_ENABLED")?,
        daily_var_limit_usd: env.number("DAILY_VAR_LIMIT_USD")?,
        correlation_limit_pct,
        max_sector_exposure_pct: env.number("MAX_SECTOR_EXPOSURE_PCT")?,
        max_leverage: env.number("MAX_PORTFOLIO_LEVERAGE")?,
        max_drawdown_pct: env.number("MAX_DRAWDOWN_PCT")?,
    };
    for (name, v) in [
        ("MAX_SINGLE_POSITION_PCT", o.max_single_position_pct),
        ("MAX_ORDER_SIZE_USD", o.max_order_size_usd),
        ("DAILY_VAR_LIMIT_USD", o.daily_var_limit_usd),
        ("CORRELATION_LIMIT", o.correlation_limit_pct),
        ("MAX_SECTOR_EXPOSURE_PCT", o.max_sector_exposure_pct),
        ("MAX_PORTFOLIO_LEVERAGE", o.max_leverage),
        ("MAX_DRAWDOWN_PCT", o.max_drawdown_pct),
    ] {
        if v.is_some_and(|v: f64| !v.is_finite() || v <= 0.0) {
            return Err(format!("{name} must be a positive number"));
        }
    }
    Ok(o)
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Upstream {
    /// Same scheme, host (case-insensitive) and port.
    pub fn same_origin(&self, other: &Upstream) -> bool {
        self.tls == other.tls
            && self.port == other.port
            && self.host.eq_ignore_ascii_case(&other.host)
    }
}

/// Parses `https://host[:port]` (no path) into an upstream.
pub fn parse_upstream(url: &str) -> Result<Upstream, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "upstream '{url}' must start with https:// (or http:// for a loopback test upstream)"
        ));
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "upstream '{url}' must be scheme://host[:port] without a path"
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse::<u16>() {
            Ok(port) => (h.to_string(), port),
            Err(_) => return Err(format!("upstream '{url}': bad port")),
        },
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    if !tls && !is_loopback_host(&host) {
        return Err(format!(
            "upstream '{url}': plain http is only allowed to a loopback host; use https"
        ));
    }
    Ok(Upstream {
        tls,
        host,
        port,
        authority: authority.to_string(),
    })
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<SourceError>,
}

impl Ctx<'_> {
    fn err<T>(&mut self, v: &Spanned<T>, msg: impl Into<String>) {
        self.errors
            .push(SourceError::at(self.path, self.text, Some(v.span()), msg));
    }
    fn int(
        &mut self,
        v: &Option<Spanned<i64>>,
        name: &str,
        min: i64,
        max: i64,
        default: i64,
    ) -> i64 {
        match v {
            Some(s) if !(min..=max).contains(s.get_ref()) => {
                self.err(
                    s,
                    format!("{name} = {}: must be between {min} and {max}", s.get_ref()),
                );
                default
            }
            Some(s) => *s.get_ref(),
            None => default,
        }
    }
    fn secs(&mut self, v: &Option<Spanned<f64>>, name: &str, max: f64, default: f64) -> Duration {
        let x = match v {
            Some(s) if !(s.get_ref().is_finite() && *s.get_ref() > 0.0 && *s.get_ref() <= max) => {
                self.err(
                    s,
                    format!("{name} = {}: must be > 0 and <= {max}", s.get_ref()),
                );
                default
            }
            Some(s) => *s.get_ref(),
            None => default,
        };
        Duration::from_secs_f64(x)
    }
    fn addr(&mut self, v: &Spanned<String>) -> SocketAddr {
        match v.get_ref().parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                self.err(v, format!("'{}' is not an ip:port address", v.get_ref()));
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
        }
    }
}

/// Reads and validates the config file, then applies the environment.
pub fn load(path: &Path, env: &Env) -> Result<Config, SourceErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SourceErrors(vec![SourceError::whole_file(
            path,
            format!("cannot read config: {e}"),
        )])
    })?;
    parse(path, &text, env)
}

/// Validates config text (pure: used by `load` and tests).
pub fn parse(path: &Path, text: &str, env: &Env) -> Result<Config, SourceErrors> {
    let file: FileConfig = toml::from_str(text)
        .map_err(|e| SourceErrors(vec![SourceError::from_toml(path, text, &e)]))?;
    let mut c = Ctx {
        path,
        text,
        errors: Vec::new(),
    };
    // Relative paths are relative to the working directory, like any command-line tool's.
    let rel = PathBuf::from;

    let mut warnings = Vec::new();
    let mut mode = file
        .mode
        .as_ref()
        .map(|m| *m.get_ref())
        .unwrap_or(Mode::Paper);
    let env_err = |msg: String| {
        SourceErrors(vec![SourceError::whole_file(
            Path::new("<environment>"),
            msg,
        )])
    };
    match env.flag("LIVE_TRADING_ENABLED").map_err(env_err)? {
        Some(true) => mode = Mode::Live,
        Some(false) => mode = Mode::Paper,
        None => {}
    }
    if env.flag("RISK_MANAGEMENT_ENABLED").map_err(env_err)? == Some(false) {
        warnings.push("RISK_MANAGEMENT_ENABLED=false: running in SHADOW mode, every order is forwarded unchecked (refusals are only recorded)".into());
        mode = Mode::Shadow;
    }
    let overrides = env_overrides(env).map_err(env_err)?;

    let workers_default = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as i64;
    let workers = c.int(&file.workers, "workers", 1, 64, workers_default) as usize;
    let max_accounts = c.int(&file.max_accounts, "max_accounts", 1, 100_000, 64) as usize;
    let l = &file.limits;
    let limits = Limits {
        max_body_bytes: c.int(
            &l.max_body_bytes,
            "max_body_bytes",
            1024,
            16 << 20,
            64 << 10,
        ) as usize,
        max_connections: c.int(&l.max_connections, "max_connections", 1, 1_000_000, 1024) as usize,
        header_read_timeout: c.secs(
            &l.header_read_timeout_s,
            "header_read_timeout_s",
            600.0,
            10.0,
        ),
        keep_alive_timeout: c.secs(
            &l.keep_alive_timeout_s,
            "keep_alive_timeout_s",
            3600.0,
            75.0,
        ),
        body_read_timeout: c.secs(&l.body_read_timeout_s, "body_read_timeout_s", 600.0, 10.0),
        upstream_connect_timeout: c.secs(
            &l.upstream_connect_timeout_s,
            "upstream_connect_timeout_s",
            600.0,
            3.0,
        ),
        upstream_response_timeout: c.secs(
            &l.upstream_response_timeout_s,
            "upstream_response_timeout_s",
            600.0,
            10.0,
        ),
        shutdown_grace: c.secs(&l.shutdown_grace_s, "shutdown_grace_s", 3600.0, 30.0),
    };
    let poll_interval = c.secs(&file.market.poll_interval_s, "poll_interval_s", 3600.0, 1.0);
    let sim_tick_ms = c.int(&file.market.sim_tick_ms, "sim_tick_ms", 10, 60_000, 250) as u64;

    let mut paper_starting_balances = Vec::new();
    for (asset, v) in &file.paper.starting_balances {
        match Fixed::from_f64(*v.get_ref()).filter(|f| f.0 >= 0) {
            Some(f) => paper_starting_balances.push((asset.clone(), f)),
            None => c.err(
                v,
                format!("starting balance of {asset} must be a non-negative number"),
            ),
        }
    }
    if paper_starting_balances.is_empty() {
        paper_starting_balances.push(("USDT".to_string(), Fixed::from_units(100_000)));
    }

    let risk_interval_s = match env.number::<f64>("RISK_CHECK_FREQUENCY").map_err(env_err)? {
        Some(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Some(v),
        Some(v) => {
            return Err(env_err(format!(
                "RISK_CHECK_FREQUENCY={v}: must be > 0 and <= 86400 seconds"
            )))
        }
        None => None,
    };
    let interval = match risk_interval_s {
        Some(v) => Duration::from_secs_f64(v),
        None => c.secs(&file.risk.interval_s, "interval_s", 86_400.0, 60.0),
    };
    let mut universe = Vec::new();
    for a in &file.risk.universe {
        let name = a.get_ref();
        if name.is_empty()
            || name.len() > 20
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            c.err(
                a,
                format!("'{name}' is not an asset name (upper-case letters and digits)"),
            );
        } else {
            universe.push(name.clone());
        }
    }
    let risk = RiskConfig {
        interval,
        monte_carlo_sims: c.int(
            &file.risk.monte_carlo_sims,
            "monte_carlo_sims",
            100,
            1_000_000,
            10_000,
        ) as usize,
        seed: file.risk.seed.unwrap_or(0x5EED_2024),
        universe,
        history_dir: file
            .risk
            .history_dir
            .as_ref()
            .map(|d| PathBuf::from(d.get_ref())),
        history_refresh: c.secs(
            &file.risk.history_refresh_s,
            "history_refresh_s",
            7.0 * 86_400.0,
            3600.0,
        ),
        pacing: crate::risk::task::Pacing {
            fill_debounce: c.secs(
                &file.risk.fill_debounce_s,
                "fill_debounce_s",
                3600.0,
                crate::risk::task::Pacing::DEFAULT
                    .fill_debounce
                    .as_secs_f64(),
            ),
            max_duty_cycle_pct: match &file.risk.max_duty_cycle_pct {
                Some(v) if !(v.get_ref().is_finite() && (1.0..=100.0).contains(v.get_ref())) => {
                    c.err(
                        v,
                        format!(
                            "max_duty_cycle_pct = {}: must be between 1 and 100",
                            v.get_ref()
                        ),
                    );
                    crate::risk::task::Pacing::DEFAULT.max_duty_cycle_pct
                }
                Some(v) => *v.get_ref(),
                None => crate::risk::task::Pacing::DEFAULT.max_duty_cycle_pct,
            },
        },
        cpu: match &file.risk.cpu {
            None => crate::risk::task::RiskCpu::Auto,
            Some(v) => match v.get_ref() {
                CpuSetting::Name(n) if n == "auto" => crate::risk::task::RiskCpu::Auto,
                CpuSetting::Name(n) if n == "off" => crate::risk::task::RiskCpu::Off,
                CpuSetting::Index(i) if (0..1024).contains(i) => {
                    crate::risk::task::RiskCpu::Cpu(*i as usize)
                }
                _ => {
                    c.err(
                        v,
                        "cpu: must be \"auto\", \"off\" or a CPU index (0 to 1023)".to_string(),
                    );
                    crate::risk::task::RiskCpu::Auto
                }
            },
        },
    };

    let admin_listen = match &file.admin {
        Some(a) => c.addr(&a.listen),
        None => SocketAddr::from(([127, 0, 0, 1], 9464)),
    };

    let mut venues = Vec::new();
    for v in &file.venues {
        let section = v.get_ref();
        let listen = c.addr(&section.listen);
        let upstream = match &section.upstream {
            Some(u) => match parse_upstream(u.get_ref()) {
                Ok(up) => Some(up),
                Err(msg) => {
                    c.err(u, msg);
                    None
                }
            },
            None => None,
        };
        if mode != Mode::Paper && upstream.is_none() {
            c.err(
                v,
                format!(
                    "venue '{}' needs an `upstream` in {} mode",
                    section.name.get_ref(),
                    mode.as_str()
                ),
            );
        }
        if venues
            .iter()
            .any(|x: &VenueConfig| x.name == *section.name.get_ref())
        {
            c.err(
                &section.name,
                format!("venue name '{}' used twice", section.name.get_ref()),
            );
        }
        venues.push(VenueConfig {
            name: section.name.get_ref().clone(),
            kind: *section.kind.get_ref(),
            listen,
            upstream,
        });
    }
    let proxy_url_listen = file.proxy_url.as_ref().map(|p| {
        // The allow-list is the venues' upstreams: each must be told apart by its host.
        for (i, a) in venues.iter().enumerate() {
            if let Some(ua) = &a.upstream {
                if venues[..i]
                    .iter()
                    .any(|b| b.upstream.as_ref().is_some_and(|ub| ub.same_origin(ua)))
                {
                    c.err(
                        p,
                        format!(
                            "[proxy_url]: two venues have the upstream {}, so a proxy URL naming it could mean either",
                            ua.authority
                        ),
                    );
                }
            }
        }
        c.addr(&p.get_ref().listen)
    });
    if venues.is_empty() {
        c.errors
            .push(SourceError::whole_file(path, "no [[venues]] configured"));
    }

    let mut accounts: Vec<KnownAccount> = Vec::new();
    for a in &file.accounts {
        let s = a.get_ref();
        let alias = s.alias.get_ref();
        if alias.is_empty()
            || alias == "*"
            || !alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            c.err(
                &s.alias,
                format!("alias '{alias}' must be letters, digits, '_' or '-'"),
            );
            continue;
        }
        // Every key of the account: hashes first, then environment variables,
        // in the order given; the first is the account's id.
        let mut ids: Vec<AccountId> = Vec::new();
        let mut any_key = false;
        if let Some(h) = &s.api_key_sha256 {
            for hex in h.get_ref().items() {
                any_key = true;
                match ::hex::decode(hex.to_ascii_lowercase()) {
                    Ok(bytes) if bytes.len() == 32 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&bytes[..8]);
                        ids.push(AccountId(u64::from_be_bytes(b)));
                    }
                    _ => c.err(
                        h,
                        "api_key_sha256 must be 64 hex digits (sha256sum of the API key)",
                    ),
                }
            }
        }
        if let Some(vars) = &s.api_key_env {
            for var in vars.get_ref().items() {
                any_key = true;
                match env.get(var) {
                    Some(key) => ids.push(account_id_of(key.as_bytes())),
                    None => c.err(vars, format!("environment variable {var} is not set")),
                }
            }
        }
        if !any_key {
            c.err(
                a,
                "give api_key_sha256 or api_key_env (a key, or a list of keys)",
            );
        }
        for id in &ids {
            if accounts
                .iter()
                .any(|k| k.id == *id || k.other_ids.contains(id))
            {
                c.err(
                    &s.alias,
                    format!("alias '{alias}': an API key already belongs to another account"),
                );
            }
        }
        let id = ids.first().copied();
        let other_ids: Vec<AccountId> = ids.iter().skip(1).copied().collect();
        let mut starting_holdings = Vec::new();
        for (asset, v) in &s.starting_holdings {
            match Fixed::from_f64(*v.get_ref()) {
                Some(f) => starting_holdings.push((Arc::<str>::from(asset.as_str()), f)),
                None => c.err(v, "not a representable quantity"),
            }
        }
        if accounts.iter().any(|k| &*k.alias == alias.as_str()) {
            c.err(&s.alias, format!("alias '{alias}' used twice"));
        }
        if let Some(id) = id {
            accounts.push(KnownAccount {
                alias: Arc::from(alias.as_str()),
                id,
                other_ids,
                starting_holdings,
            });
        }
    }

    if !c.errors.is_empty() {
        return Err(SourceErrors(c.errors));
    }
    Ok(Config {
        path: path.to_path_buf(),
        mode,
        state_dir: rel(file
            .state_dir
            .as_ref()
            .map(|s| s.get_ref().as_str())
            .unwrap_or("state")),
        rules_dir: rel(file
            .rules_dir
            .as_ref()
            .map(|s| s.get_ref().as_str())
            .unwrap_or("rules")),
        workers,
        durability: file.durability.unwrap_or(Durability::Process),
        max_accounts,
        allow_withdrawals: file.allow_withdrawals,
        limits,
        poll_interval,
        sim_seed: file.market.sim_seed.unwrap_or(42),
        sim_tick_ms,
        paper_starting_balances,
        risk,
        admin_listen,
        admin_token: env.get("RISKGATE_ADMIN_TOKEN").map(Arc::from),
        venues,
        proxy_url_listen,
        accounts,
        env: overrides,
        warnings,
    })
}

impl Config {
    pub fn account_aliases(&self) -> Vec<String> {
        self.accounts.iter().map(|a| a.alias.to_string()).collect()
    }
}
