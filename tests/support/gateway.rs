//! riskgate started in-process for integration tests, on loopback port 0.
//!
//! `Gateway::live(&mock, rules)` fronts a `MockBinance`; `Gateway::paper(rules)`
//! uses the built-in paper exchange. The gateway's clock is a `ManualClock`, so
//! price ages, breakers and UTC days move only when a test says so.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use riskgate::app::{self, RunningApp};
use riskgate::clock::ManualClock;
use riskgate::config::{self, Env};

use super::mock_binance::{send, MockBinance, RawRequest, RawResponse, MOCK_START_MS};

/// Permissive limits, so a test only meets the rule it is about.
pub const OPEN_RULES: &str = r#"
[account."*"]
capital_usd = 100000000.0
max_order_notional_usd = 100000000.0
max_single_position_pct = 1000.0
max_open_orders = 100000
max_daily_trades = 1000000
rate_limit_orders_per_s = 0

[account."*".symbol."*"]
price_band_pct = 50.0

[market_data]
max_price_age_s = 3600.0

[duplicates]
window_s = 0.001

[circuit_breaker."*"]
enabled = false
"#;

pub struct GatewayOptions {
    pub mode: &'static str,
    /// The venue kind of the one venue, named "binance" (`binance-spot` by default).
    pub kind: &'static str,
    pub upstream: Option<String>,
    /// (file name, contents) written into the rules directory.
    pub rules: Vec<(String, String)>,
    /// Extra top-level config lines (before any table).
    pub config_top: String,
    /// Extra config tables appended at the end.
    pub config_tail: String,
    /// Extra `key = value` lines for the `[limits]` table; a key given here
    /// replaces the harness default for it (e.g. `header_read_timeout_s = 60`).
    pub limits_extra: String,
    pub env: Vec<(String, String)>,
    pub admin_token: Option<String>,
    /// Reuse a state directory (restart tests); a fresh one otherwise.
    pub state_dir: Option<PathBuf>,
    pub workers: usize,
}

impl Default for GatewayOptions {
    fn default() -> GatewayOptions {
        GatewayOptions {
            mode: "live",
            kind: "binance-spot",
            upstream: None,
            rules: vec![("limits.toml".into(), OPEN_RULES.into())],
            config_top: String::new(),
            config_tail: String::new(),
            limits_extra: String::new(),
            env: Vec::new(),
            admin_token: Some("test-admin-token".into()),
            state_dir: None,
            workers: 2,
        }
    }
}

pub struct Gateway {
    pub app: Option<RunningApp>,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub rules_dir: PathBuf,
    pub state_dir: PathBuf,
}

/// The config file text for these options (also used by subprocess tests).
pub fn config_text(
    opts: &GatewayOptions,
    rules_dir: &Path,
    state_dir: &Path,
    venue_port: u16,
    admin_port: u16,
) -> String {
    let upstream = opts
        .upstream
        .as_ref()
        .map(|u| format!("upstream = \"{u}\"\n"))
        .unwrap_or_default();
    let overridden = |key: &str| {
        opts.limits_extra.lines().any(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    let mut limits = String::new();
    for (key, value) in [
        ("upstream_connect_timeout_s", "2"),
        ("upstream_response_timeout_s", "2"),
        ("header_read_timeout_s", "2"),
        ("body_read_timeout_s", "2"),
        ("shutdown_grace_s", "5"),
    ] {
        if !overridden(key) {
            limits.push_str(&format!("{key} = {value}\n"));
        }
    }
    limits.push_str(&opts.limits_extra);
    if !limits.ends_with('\n') {
        limits.push('\n');
    }
    format!(
        "mode = \"{mode}\"\nstate_dir = \"{state}\"\nrules_dir = \"{rules}\"\nworkers = {workers}\n{top}\n\
         [limits]\n{limits}\
         [market]\npoll_interval_s = 3600\n\
         [admin]\nlisten = \"127.0.0.1:{admin_port}\"\n\
         [[venues]]\nname = \"binance\"\nkind = \"{kind}\"\nlisten = \"127.0.0.1:{venue_port}\"\n{upstream}\n{tail}\n",
        mode = opts.mode,
        kind = opts.kind,
        state = state_dir.display(),
        rules = rules_dir.display(),
        workers = opts.workers,
        top = opts.config_top,
        tail = opts.config_tail,
    )
}

impl Gateway {
    pub fn start(opts: GatewayOptions) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir_all(&rules_dir).expect("rules dir");
        for (name, text) in &opts.rules {
            std::fs::write(rules_dir.join(name), text).expect("write rules");
        }
        let state_dir = opts
            .state_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("state"));
        let text = config_text(&opts, &rules_dir, &state_dir, 0, 0);
        let path = dir.path().join("riskgate.toml");
        std::fs::write(&path, &text).expect("write config");
        let mut env: Vec<(&str, &str)> = opts
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(t) = &opts.admin_token {
            env.push(("RISKGATE_ADMIN_TOKEN", t.as_str()));
        }
        let cfg = config::parse(&path, &text, &Env::from_pairs(&env))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let clock = ManualClock::new(MOCK_START_MS);
        let app = app::start(cfg, clock.clone(), None).unwrap_or_else(|e| panic!("start: {e}"));
        let addr = app.venue_addr("binance").expect("venue addr");
        let admin = app.admin_addr;
        Gateway {
            app: Some(app),
            addr,
            admin,
            clock,
            dir,
            rules_dir,
            state_dir,
        }
    }

    /// Live mode in front of `mock`, waiting until the first ticker poll has priced `symbol`.
    pub fn live(mock: &MockBinance, rules: &str) -> Gateway {
        Gateway::live_with(
            mock,
            GatewayOptions {
                rules: vec![("limits.toml".into(), rules.into())],
                ..Default::default()
            },
        )
    }

    pub fn live_with(mock: &MockBinance, opts: GatewayOptions) -> Gateway {
        let g = Gateway::start(GatewayOptions {
            mode: "live",
            upstream: Some(mock.base_url()),
            ..opts
        });
        g.wait_for_price("BTCUSDT");
        g
    }

    pub fn paper(rules: &str) -> Gateway {
        Gateway::start(GatewayOptions {
            mode: "paper",
            rules: vec![("limits.toml".into(), rules.into())],
            ..Default::default()
        })
    }

    pub fn app(&self) -> &RunningApp {
        self.app.as_ref().expect("running")
    }

    /// Waits (bounded) until riskgate has a reference price for `symbol`.
    pub fn wait_for_price(&self, symbol: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.app().engine.prices.get(symbol).is_none() {
            assert!(Instant::now() < deadline, "no reference price for {symbol}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn send(&self, req: &RawRequest) -> RawResponse {
        send(self.addr, req).unwrap_or_else(|e| panic!("send: {e}"))
    }

    /// An admin request with the test token.
    pub fn admin(&self, method: &str, target: &str) -> RawResponse {
        let req =
            RawRequest::new(method, target).header("Authorization", "Bearer test-admin-token");
        send(self.admin, &req).unwrap_or_else(|e| panic!("admin: {e}"))
    }

    pub fn status(&self) -> serde_json::Value {
        self.admin("GET", "/v1/status").json()
    }

    /// Stops riskgate, keeping the temp dir (and its state) alive.
    pub fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}
