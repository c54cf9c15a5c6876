//! Order-building and assertion helpers shared by the rule, admin, reload and
//! concurrency tests: signed Binance orders, the exact refusal shape, bounded
//! condition polling, and a way to trip a circuit breaker through the proxy.

use std::time::{Duration, Instant};

use riskgate::model::Fixed;

use super::gateway::Gateway;
use super::mock_binance::{MockBinance, RawRequest, RawResponse, SignedRequest};

/// A signed `POST /api/v3/order` with these parameters (in the body), test key.
pub fn order_req(params: &[(&str, &str)]) -> RawRequest {
    signed_order(SignedRequest::new("POST", "/api/v3/order"), params)
}

/// Adds the parameters to a signed request builder and builds it (in the body).
pub fn signed_order(mut b: SignedRequest, params: &[(&str, &str)]) -> RawRequest {
    for (k, v) in params {
        b = b.param(k, v);
    }
    b.in_body().build()
}

/// A GTC limit order on `symbol`.
pub fn limit_on(symbol: &str, side: &str, qty: &str, price: &str) -> RawRequest {
    order_req(&[
        ("symbol", symbol),
        ("side", side),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", qty),
        ("price", price),
    ])
}

/// A GTC BTCUSDT limit order.
pub fn limit(side: &str, qty: &str, price: &str) -> RawRequest {
    limit_on("BTCUSDT", side, qty, price)
}

/// A market order on `symbol` sized in the base asset.
pub fn market_on(symbol: &str, side: &str, qty: &str) -> RawRequest {
    order_req(&[
        ("symbol", symbol),
        ("side", side),
        ("type", "MARKET"),
        ("quantity", qty),
    ])
}

/// A BTCUSDT market order sized in BTC.
pub fn market(side: &str, qty: &str) -> RawRequest {
    market_on("BTCUSDT", side, qty)
}

/// The mock's current price of `symbol` (what riskgate's reference price is
/// right after a ticker poll).
pub fn mock_price(mock: &MockBinance, symbol: &str) -> Fixed {
    mock.market.read().price(symbol).expect("mock price")
}

/// `pct` percent of the mock's price of `symbol`, as a 2-decimal price string
/// (BTCUSDT and ETHUSDT tick 0.01).
pub fn price_pct(mock: &MockBinance, symbol: &str, pct: f64) -> String {
    format!("{:.2}", mock_price(mock, symbol).to_f64() * pct / 100.0)
}

/// New-order requests (POST /api/v3/order) the mock has received.
pub fn orders_at_mock(mock: &MockBinance) -> usize {
    mock.requests_to("/api/v3/order")
        .iter()
        .filter(|r| r.method == http::Method::POST)
        .count()
}

/// Asserts riskgate accepted and forwarded the order and the exchange took it;
/// returns the exchange's answer.
#[track_caller]
pub fn assert_accepted(resp: &RawResponse) -> serde_json::Value {
    assert_eq!(
        resp.status,
        200,
        "expected acceptance, got {} {}",
        resp.status,
        resp.body_text()
    );
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(resp.header("x-riskgate-rule"), None);
    resp.json()
}

/// Asserts the exact refusal shape for `rule`: HTTP 400 / -2010 (429 / -1015 for
/// `rate_limit`), `msg` starting `riskgate: <rule>: `, both riskgate headers.
/// Returns the reason text after the prefix.
#[track_caller]
pub fn assert_refused(resp: &RawResponse, rule: &str) -> String {
    let (status, code) = if rule == "rate_limit" {
        (429, -1015)
    } else {
        (400, -2010)
    };
    assert_eq!(
        resp.status,
        status,
        "expected {rule} refusal, got {} {}",
        resp.status,
        resp.body_text()
    );
    assert_eq!(
        resp.header("x-riskgate-decision"),
        Some("reject"),
        "{}",
        resp.body_text()
    );
    assert_eq!(
        resp.header("x-riskgate-rule"),
        Some(rule),
        "{}",
        resp.body_text()
    );
    assert!(
        resp.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "content-type {:?}",
        resp.header("content-type")
    );
    let j = resp.json();
    assert_eq!(j["code"], code, "{j}");
    let obj = j.as_object().expect("JSON object");
    assert_eq!(obj.len(), 2, "only code and msg: {j}");
    let msg = j["msg"].as_str().expect("msg string");
    let prefix = format!("riskgate: {rule}: ");
    assert!(msg.starts_with(&prefix), "msg {msg:?} lacks {prefix:?}");
    msg[prefix.len()..].to_string()
}

/// Sends an order and asserts it was refused by `rule` without reaching the
/// mock; returns the reason text.
#[track_caller]
pub fn refused_not_forwarded(
    gw: &Gateway,
    mock: &MockBinance,
    req: &RawRequest,
    rule: &str,
) -> String {
    let before = orders_at_mock(mock);
    let resp = gw.send(req);
    let reason = assert_refused(&resp, rule);
    assert_eq!(
        orders_at_mock(mock),
        before,
        "a refused order reached the exchange"
    );
    reason
}

/// Sends an order and asserts it was accepted and reached the mock exactly once.
#[track_caller]
pub fn accepted_forwarded(gw: &Gateway, mock: &MockBinance, req: &RawRequest) -> serde_json::Value {
    let before = orders_at_mock(mock);
    let resp = gw.send(req);
    let j = assert_accepted(&resp);
    assert_eq!(
        orders_at_mock(mock),
        before + 1,
        "not forwarded exactly once"
    );
    j
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes (then panics).
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `GET /api/v3/ticker/price?symbol=S` through riskgate (riskgate learns the price).
pub fn ticker(gw: &Gateway, symbol: &str) -> RawResponse {
    gw.send(&RawRequest::new(
        "GET",
        &format!("/api/v3/ticker/price?symbol={symbol}"),
    ))
}

/// `GET /api/v3/account` through riskgate with the test key (riskgate learns
/// balances, and the account appears in `/v1/status`).
pub fn get_account(gw: &Gateway) -> RawResponse {
    gw.send(&SignedRequest::new("GET", "/api/v3/account").build())
}

/// Trips `symbol`'s circuit breaker the way production does: the mock market
/// walks on (both clocks advance 1 s per step) and a bot's ticker request through
/// riskgate feeds the new price to the breaker. Needs a breaker rule with a small
/// `max_move_pct` (e.g. 0.001) and a window of a minute or more.
pub fn trip_breaker(gw: &Gateway, mock: &MockBinance, symbol: &str) {
    let engine = &gw.app().engine;
    for _ in 0..600 {
        if engine
            .breakers
            .open_until(symbol, engine.now_ms())
            .is_some()
        {
            return;
        }
        mock.clock.advance_ms(1_000);
        gw.clock.advance_ms(1_000);
        let r = ticker(gw, symbol);
        assert_eq!(r.status, 200, "{}", r.body_text());
    }
    panic!("breaker on {symbol} did not trip within 600 simulated seconds");
}

/// The label `/v1/status` shows for the account of the first listed account.
pub fn first_account_label(gw: &Gateway) -> String {
    gw.status()["accounts"][0]["account"]
        .as_str()
        .expect("an account in status")
        .to_string()
}

/// The `/v1/status` entry of the account labelled `label`.
pub fn account_status(gw: &Gateway, label: &str) -> serde_json::Value {
    gw.status()["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == label)
        .cloned()
        .unwrap_or_else(|| panic!("no account {label} in status"))
}

/// A rule file built from `OPEN_RULES`-like permissive values, with the
/// keys a test is about changed: `Rules::open().account("max_open_orders", "2")`.
#[derive(Clone, Debug)]
pub struct Rules {
    account: Vec<(String, String)>,
    any_symbol: Vec<(String, String)>,
    btc: Vec<(String, String)>,
    max_price_age_s: String,
    duplicate_window_s: String,
    breaker: Vec<(String, String)>,
    extra: String,
}

fn set_key(list: &mut Vec<(String, String)>, key: &str, value: Option<&str>) {
    list.retain(|(k, _)| k != key);
    if let Some(v) = value {
        list.push((key.to_string(), v.to_string()));
    }
}

fn kv_lines(list: &[(String, String)]) -> String {
    list.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
}

impl Rules {
    /// The same values as `OPEN_RULES`.
    pub fn open() -> Rules {
        let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Rules {
            account: kv(&[
                ("capital_usd", "100000000.0"),
                ("max_order_notional_usd", "100000000.0"),
                ("max_single_position_pct", "1000.0"),
                ("max_open_orders", "100000"),
                ("max_daily_trades", "1000000"),
                ("rate_limit_orders_per_s", "0"),
            ]),
            any_symbol: kv(&[("price_band_pct", "50.0")]),
            btc: Vec::new(),
            max_price_age_s: "3600.0".into(),
            duplicate_window_s: "0.001".into(),
            breaker: kv(&[("enabled", "false")]),
            extra: String::new(),
        }
    }

    /// Sets an `[account."*"]` key (value in TOML syntax).
    pub fn account(mut self, key: &str, value: &str) -> Rules {
        set_key(&mut self.account, key, Some(value));
        self
    }

    /// Removes an `[account."*"]` key.
    pub fn without(mut self, key: &str) -> Rules {
        set_key(&mut self.account, key, None);
        self
    }

    /// Sets an `[account."*".symbol."*"]` key.
    pub fn any_symbol(mut self, key: &str, value: &str) -> Rules {
        set_key(&mut self.any_symbol, key, Some(value));
        self
    }

    /// Sets an `[account."*".symbol.BTCUSDT]` key.
    pub fn btc(mut self, key: &str, value: &str) -> Rules {
        set_key(&mut self.btc, key, Some(value));
        self
    }

    pub fn max_price_age_s(mut self, v: &str) -> Rules {
        self.max_price_age_s = v.into();
        self
    }

    pub fn duplicate_window_s(mut self, v: &str) -> Rules {
        self.duplicate_window_s = v.into();
        self
    }

    /// Sets a `[circuit_breaker."*"]` key.
    pub fn breaker(mut self, key: &str, value: &str) -> Rules {
        set_key(&mut self.breaker, key, Some(value));
        self
    }

    /// Appends raw TOML (sections `Rules` does not write, e.g. `[symbols]`).
    pub fn extra(mut self, toml: &str) -> Rules {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    pub fn build(&self) -> String {
        let mut s = format!(
            "[account.\"*\"]\n{}\n[account.\"*\".symbol.\"*\"]\n{}\n",
            kv_lines(&self.account),
            kv_lines(&self.any_symbol)
        );
        if !self.btc.is_empty() {
            s.push_str(&format!(
                "[account.\"*\".symbol.BTCUSDT]\n{}\n",
                kv_lines(&self.btc)
            ));
        }
        s.push_str(&format!(
            "[market_data]\nmax_price_age_s = {}\n\n[duplicates]\nwindow_s = {}\n\n[circuit_breaker.\"*\"]\n{}\n{}",
            self.max_price_age_s,
            self.duplicate_window_s,
            kv_lines(&self.breaker),
            self.extra
        ));
        s
    }
}

/// The process-wide Prometheus recorder (installed on first use, once per test binary).
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| riskgate::telemetry::install_metrics().expect("install recorder"))
        .clone()
}

/// As `Gateway::start`, but with the process-wide metrics recorder, so
/// `GET /metrics` answers. Counters are shared by every gateway in the test
/// binary: compare before and after, never absolute values.
pub fn start_with_metrics(opts: super::gateway::GatewayOptions) -> Gateway {
    use riskgate::config::{self, Env};
    let handle = metrics_handle();
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
    let text = super::gateway::config_text(&opts, &rules_dir, &state_dir, 0, 0);
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
    let clock = riskgate::clock::ManualClock::new(super::mock_binance::MOCK_START_MS);
    let app = riskgate::app::start(cfg, clock.clone(), Some(handle))
        .unwrap_or_else(|e| panic!("start: {e}"));
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

/// The value of one counter sample in Prometheus text (`name{labels} value`), 0 if absent.
pub fn metric_value(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k == name_and_labels).then(|| v.parse::<f64>().ok())?
        })
        .unwrap_or(0.0)
}
