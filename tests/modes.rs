//! Modes and start-up switches: shadow mode forwards what the rules refuse and
//! says so; live mode needs AM_I_SURE (or --i-am-sure) or the binary refuses
//! to start; LIVE_TRADING_ENABLED / RISK_MANAGEMENT_ENABLED pick the mode; the
//! environment's limits beat the rule files; `riskgate check` reports
//! `file:line:col:` errors and its exit code says whether the config is good.

mod support;

use std::time::Duration;

use riskgate::model::Fixed;
use support::*;

fn limit_buy(mock: &MockBinance, qty: &str, price_factor: f64) -> RawRequest {
    let px = mock.market.read().price("BTCUSDT").expect("price").to_f64();
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", qty)
        .param("price", &format!("{:.2}", px * price_factor))
        .in_body()
        .build()
}

fn shadow_gateway(mock: &MockBinance, mode: &'static str, env: &[(&str, &str)]) -> Gateway {
    let g = Gateway::start(GatewayOptions {
        mode,
        upstream: Some(mock.base_url()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    });
    g.wait_for_price("BTCUSDT");
    g
}

fn assert_shadow_forwards_refused_orders(gw: &Gateway, mock: &MockBinance) {
    assert_eq!(gw.status()["mode"], "shadow");
    // Price 60 % under the market: the price band (50 %) refuses it.
    let resp = gw.send(&limit_buy(mock, "0.01", 0.4));
    assert_eq!(
        resp.status,
        200,
        "the exchange's answer: {}",
        resp.body_text()
    );
    assert_eq!(resp.header("x-riskgate-decision"), Some("would_reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some("price_band"));
    assert!(
        resp.json()["orderId"].as_i64().is_some(),
        "{}",
        resp.body_text()
    );
    assert_eq!(mock.requests_to("/api/v3/order").len(), 1, "forwarded");
    // An order the rules accept is marked accept, without a rule.
    gw.clock.advance_ms(1_000);
    let ok = gw.send(&limit_buy(mock, "0.02", 0.9));
    assert_eq!(ok.status, 200, "{}", ok.body_text());
    assert_eq!(ok.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(ok.header("x-riskgate-rule"), None);
    // What riskgate cannot read is still never forwarded, even in shadow mode.
    let bad = gw.send(
        &RawRequest::new("POST", "/api/v3/order")
            .header("X-MBX-APIKEY", TEST_API_KEY)
            .body("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&quantity=1000"),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("x-riskgate-rule"), Some("malformed_request"));
    assert_eq!(mock.requests_to("/api/v3/order").len(), 2);
}

#[test]
fn shadow_mode_forwards_orders_the_rules_refuse_marked_would_reject() {
    let mock = MockBinance::start();
    let gw = shadow_gateway(&mock, "shadow", &[]);
    assert_shadow_forwards_refused_orders(&gw, &mock);
}

#[test]
fn risk_management_disabled_means_shadow_even_in_live_config() {
    let mock = MockBinance::start();
    let gw = shadow_gateway(&mock, "live", &[("RISK_MANAGEMENT_ENABLED", "false")]);
    assert_shadow_forwards_refused_orders(&gw, &mock);
}

#[test]
fn live_mode_refuses_to_start_without_am_i_sure() {
    let dir = ProcessDir::new(&GatewayOptions {
        mode: "live",
        upstream: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    });
    for am_i_sure in [None, Some("false"), Some("yes-please"), Some("")] {
        let mut cmd = dir.command();
        if let Some(v) = am_i_sure {
            cmd.env("AM_I_SURE", v);
        }
        let (status, stdout, stderr) = run_to_exit(cmd, Duration::from_secs(30));
        assert!(!status.success(), "AM_I_SURE={am_i_sure:?} started live");
        assert!(stderr.contains("AM_I_SURE"), "{stderr}");
        assert!(!stdout.contains("listening"), "{stdout}");
    }
    // LIVE_TRADING_ENABLED=true turns a paper config live, and needs the same confirmation.
    let paper = ProcessDir::new(&GatewayOptions {
        mode: "paper",
        upstream: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    });
    let mut cmd = paper.command();
    cmd.env("LIVE_TRADING_ENABLED", "true");
    let (status, _, stderr) = run_to_exit(cmd, Duration::from_secs(30));
    assert!(!status.success());
    assert!(stderr.contains("AM_I_SURE"), "{stderr}");
}

#[test]
fn live_trading_enabled_with_confirmation_starts_live() {
    let mock = MockBinance::start_with(MockOptions {
        system_clock: true,
        starting_balances: vec![("USDT".into(), Fixed::from_units(1_000_000))],
        ..Default::default()
    });
    let dir = ProcessDir::new(&GatewayOptions {
        mode: "paper",
        upstream: Some(mock.base_url()),
        ..Default::default()
    });
    // By environment.
    let mut cmd = dir.command();
    cmd.env("LIVE_TRADING_ENABLED", "true")
        .env("AM_I_SURE", "true");
    let rg = Riskgate::spawn(cmd, &dir.dir.path().join("stderr-env.log"));
    rg.wait_ready();
    assert_eq!(rg.status()["mode"], "live");
    let resp = rg.send(&limit_buy(&mock, "0.01", 0.9));
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(
        mock.requests_to("/api/v3/order").len(),
        1,
        "live: it reached the exchange"
    );
    drop(rg);

    // By flag.
    let mut cmd = dir.command();
    cmd.env("LIVE_TRADING_ENABLED", "true").arg("--i-am-sure");
    let rg = Riskgate::spawn(cmd, &dir.dir.path().join("stderr-flag.log"));
    rg.wait_ready();
    assert_eq!(rg.status()["mode"], "live");
}

#[test]
fn live_trading_disabled_forces_paper_even_in_live_config() {
    let dir = ProcessDir::new(&GatewayOptions {
        mode: "live",
        upstream: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    });
    let mut cmd = dir.command();
    cmd.env("LIVE_TRADING_ENABLED", "false");
    let rg = Riskgate::spawn(cmd, &dir.dir.path().join("stderr.log"));
    rg.wait_ready();
    assert_eq!(rg.status()["mode"], "paper");
    // The paper exchange answers; nothing is sent anywhere.
    let resp = rg.send(
        &RawRequest::new("POST", "/api/v3/order")
            .header("X-MBX-APIKEY", "demo")
            .body("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&timestamp=1"),
    );
    assert_eq!(
        resp.header("x-riskgate-decision"),
        Some("accept"),
        "{}",
        resp.body_text()
    );
}

#[test]
fn environment_limits_beat_rule_files() {
    let mock = MockBinance::start();
    let rules = format!("{OPEN_RULES}\n[account.\"*\".symbol.BTCUSDT]\nmax_order_qty = 100.0\n");
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            rules: vec![("limits.toml".into(), rules)],
            env: vec![
                ("MAX_ORDER_SIZE_USD".into(), "1000".into()),
                ("MAX_DAILY_TRADES".into(), "2".into()),
            ],
            ..Default::default()
        },
    );
    // ~54 000 × 0.1 = 5 400 USD: fine for the rule file (1e8), not for the environment.
    let big = gw.send(&limit_buy(&mock, "0.1", 0.9));
    assert_eq!(big.status, 400, "{}", big.body_text());
    assert_eq!(big.header("x-riskgate-rule"), Some("max_order_notional"));
    assert!(big.body_text().contains("1000"), "{}", big.body_text());

    for (i, qty) in ["0.01", "0.011"].iter().enumerate() {
        gw.clock.advance_ms(1_000);
        let r = gw.send(&limit_buy(&mock, qty, 0.9));
        assert_eq!(r.status, 200, "order {i}: {}", r.body_text());
    }
    gw.clock.advance_ms(1_000);
    let third = gw.send(&limit_buy(&mock, "0.012", 0.9));
    assert_eq!(third.status, 400, "{}", third.body_text());
    assert_eq!(third.header("x-riskgate-rule"), Some("max_daily_trades"));
    let st = gw.status();
    let limits = &st["accounts"][0]["limits"];
    assert_eq!(limits["max_daily_trades"]["value"], 2, "{st}");
    assert_eq!(limits["max_order_notional_usd"]["value"], 1000.0, "{st}");
    assert_eq!(mock.requests_to("/api/v3/order").len(), 2);
}

#[test]
fn check_prints_file_line_col_errors_and_fails_on_bad_rules() {
    let dir = ProcessDir::new(&GatewayOptions {
        mode: "paper",
        rules: vec![
            (
                "limits.toml".into(),
                "[account.\"*\"]\ncapital_usd = -5.0\n\n[duplicates]\nwindow_s = 2.0\n".into(),
            ),
            ("other.toml".into(), "[duplicates]\nwindow_s = 1.0\n".into()),
        ],
        ..Default::default()
    });
    let mut cmd = riskgate_command();
    cmd.arg("check").arg("--config").arg(&dir.config);
    let (status, _, stderr) = run_to_exit(cmd, Duration::from_secs(30));
    assert!(!status.success(), "{stderr}");
    let limits = dir.rules_dir.join("limits.toml");
    let limits = limits.display();
    assert!(
        stderr.contains(&format!("{limits}:2:15: capital_usd = -5")),
        "{stderr}"
    );
    // The second definition of [duplicates] is the error, whichever file is read first.
    assert!(
        stderr.contains("[duplicates] already defined at"),
        "{stderr}"
    );
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(4, ':');
        let (file, l, c) = (parts.next(), parts.next(), parts.next());
        assert!(
            file.is_some_and(|f| f.ends_with(".toml"))
                && l.is_some_and(|l| l.parse::<u32>().is_ok())
                && c.is_some_and(|c| c.parse::<u32>().is_ok()),
            "not file:line:col: {line}"
        );
    }

    // A syntax error in a rule file.
    std::fs::write(dir.rules_dir.join("other.toml"), "[symbols\nallowed = [\n").unwrap();
    std::fs::write(dir.rules_dir.join("limits.toml"), OPEN_RULES).unwrap();
    let mut cmd = riskgate_command();
    cmd.arg("check").arg("--config").arg(&dir.config);
    let (status, _, stderr) = run_to_exit(cmd, Duration::from_secs(30));
    assert!(!status.success());
    let other = dir.rules_dir.join("other.toml");
    assert!(
        stderr.contains(&format!("{}:1:", other.display())),
        "{stderr}"
    );

    // An unknown key in the config file itself.
    let text = std::fs::read_to_string(&dir.config).unwrap();
    std::fs::write(&dir.config, format!("not_a_setting = 1\n{text}")).unwrap();
    let mut cmd = riskgate_command();
    cmd.arg("check").arg("--config").arg(&dir.config);
    let (status, _, stderr) = run_to_exit(cmd, Duration::from_secs(30));
    assert!(!status.success());
    assert!(
        stderr.contains(&format!("{}:1:1:", dir.config.display())),
        "{stderr}"
    );
}

#[test]
fn check_passes_on_the_shipped_config() {
    let mut cmd = riskgate_command();
    cmd.arg("check").current_dir(env!("CARGO_MANIFEST_DIR"));
    let (status, stdout, stderr) = run_to_exit(cmd, Duration::from_secs(30));
    assert!(status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("ok: config/riskgate.toml"), "{stdout}");
}
