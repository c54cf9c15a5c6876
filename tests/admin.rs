//! The admin API over HTTP: halt / reduce-only / resume globally and per account
//! (by hex label and by configured alias), who/why recorded; the bearer token
//! (401 without or with a wrong one, 403 when no token is configured: disabled,
//! never open); cancels pass while halted and reach the exchange; `/v1/status`
//! fields (mode, rules version, limits with use and utilization, positions after
//! fills, open orders, breakers); `/healthz` and `/readyz`; `?symbol=` resume
//! closes a circuit breaker.

mod support;

use sha2::{Digest, Sha256};
use support::*;

const KEY_B: &str = "rgTestKeyB000000000000000000000000000000000000000000000000000002";
const SECRET_B: &str = "rgTestSecretB0000000000000000000000000000000000000000000000002";

fn admin_with(gw: &Gateway, target: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut req = RawRequest::new("POST", target);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    send(gw.admin, &req).expect("admin send")
}

fn post_ok(gw: &Gateway, target: &str) -> serde_json::Value {
    let r = gw.admin("POST", target);
    assert_eq!(r.status, 200, "{target}: {}", r.body_text());
    r.json()
}

fn market_b(side: &str, qty: &str) -> RawRequest {
    signed_order(
        SignedRequest::new("POST", "/api/v3/order").key(KEY_B, SECRET_B),
        &[
            ("symbol", "BTCUSDT"),
            ("side", side),
            ("type", "MARKET"),
            ("quantity", qty),
        ],
    )
}

fn label_of(key: &str) -> String {
    riskgate::state::account_id_of(key.as_bytes()).to_string()
}

#[test]
fn global_halt_and_resume_record_who_and_why() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    assert_eq!(gw.status()["global"]["state"], "active");
    let r = admin_with(
        &gw,
        "/v1/halt?reason=exchange%20incident",
        &[
            ("Authorization", "Bearer test-admin-token"),
            ("X-Riskgate-Operator", "alice"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    let j = r.json();
    assert_eq!(j["scope"], "global");
    assert_eq!(j["state"], "halted");
    assert_eq!(j["who"], "alice");
    assert_eq!(j["why"], "exchange incident");
    let g = gw.status()["global"].clone();
    assert_eq!(g["state"], "halted");
    assert_eq!(g["who"], "alice");
    assert_eq!(g["why"], "exchange incident");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "trading_halted");

    let j = post_ok(&gw, "/v1/reduce-only");
    assert_eq!(j["state"], "reduce_only");
    assert_eq!(j["who"], "admin", "default operator");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "reduce_only");

    let j = post_ok(&gw, "/v1/resume?reason=all%20clear");
    assert_eq!(j["state"], "active");
    assert_eq!(gw.status()["global"]["state"], "active");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn per_account_states_apply_to_that_account_only() {
    let mock = MockBinance::start();
    mock.add_key(KEY_B, SECRET_B);
    let gw = Gateway::live(&mock, OPEN_RULES);
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
    accepted_forwarded(&gw, &mock, &market_b("BUY", "0.001"));
    let a = label_of(TEST_API_KEY);
    let b = label_of(KEY_B);
    let labels: Vec<String> = gw.status()["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|x| x["account"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(labels.contains(&a) && labels.contains(&b), "{labels:?}");

    let j = post_ok(&gw, &format!("/v1/halt?account={a}&reason=runaway"));
    assert_eq!(j["scope"], a.as_str());
    assert_eq!(account_status(&gw, &a)["trading_state"], "halted");
    assert_eq!(account_status(&gw, &a)["trading_state_why"], "runaway");
    assert_eq!(account_status(&gw, &b)["trading_state"], "active");
    assert_eq!(gw.status()["global"]["state"], "active");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.002"), "trading_halted");
    accepted_forwarded(&gw, &mock, &market_b("BUY", "0.002"));

    post_ok(&gw, &format!("/v1/reduce-only?account={b}"));
    refused_not_forwarded(&gw, &mock, &market_b("BUY", "0.003"), "reduce_only");
    accepted_forwarded(&gw, &mock, &market_b("SELL", "0.001"));

    // The stricter of the global and the account state applies.
    post_ok(&gw, "/v1/halt");
    refused_not_forwarded(&gw, &mock, &market_b("SELL", "0.001"), "trading_halted");
    post_ok(&gw, &format!("/v1/resume?account={a}"));
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.003"), "trading_halted");
    post_ok(&gw, "/v1/resume");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.003"));
    refused_not_forwarded(&gw, &mock, &market_b("BUY", "0.004"), "reduce_only");
    post_ok(&gw, &format!("/v1/resume?account={b}"));
    accepted_forwarded(&gw, &mock, &market_b("BUY", "0.004"));

    let r = gw.admin("POST", "/v1/halt?account=nobody");
    assert_eq!(r.status, 404, "{}", r.body_text());
    assert_eq!(
        gw.status()["global"]["state"],
        "active",
        "404 changed nothing"
    );
}

#[test]
fn a_configured_alias_names_the_account_in_status_admin_and_rules() {
    let mock = MockBinance::start();
    let sha = hex::encode(Sha256::digest(TEST_API_KEY.as_bytes()));
    let rules = format!(
        "{}\n[account.main]\nmax_open_orders = 1\n",
        Rules::open().build()
    );
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            rules: vec![("limits.toml".into(), rules)],
            config_tail: format!("[[accounts]]\nalias = \"main\"\napi_key_sha256 = \"{sha}\"\n"),
            ..Default::default()
        },
    );
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px));
    let st = account_status(&gw, "main");
    assert_eq!(st["id"], label_of(TEST_API_KEY).as_str());
    assert_eq!(st["limits"]["max_open_orders"]["value"], 1);
    refused_not_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.001", &price_pct(&mock, "BTCUSDT", 96.0)),
        "max_open_orders",
    );
    let j = post_ok(&gw, "/v1/halt?account=main");
    assert_eq!(j["scope"], "main");
    refused_not_forwarded(&gw, &mock, &market("SELL", "0.001"), "trading_halted");
    // The key never appears in status.
    let text = gw.admin("GET", "/v1/status").body_text();
    assert!(!text.contains(TEST_API_KEY));
}

#[test]
fn state_changes_need_the_bearer_token() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    for target in [
        "/v1/halt",
        "/v1/reduce-only",
        "/v1/resume",
        "/v1/rules/reload",
    ] {
        for headers in [
            vec![],
            vec![("Authorization", "Bearer wrong-token")],
            vec![("Authorization", "Bearer test-admin-tokenX")],
            vec![("Authorization", "Bearer test-admin-toke")],
            vec![("Authorization", "test-admin-token")],
            vec![("X-Riskgate-Operator", "mallory")],
        ] {
            let r = admin_with(&gw, target, &headers);
            assert_eq!(r.status, 401, "{target} {headers:?}: {}", r.body_text());
            assert!(r.json()["error"].is_string());
        }
    }
    assert_eq!(gw.status()["global"]["state"], "active");
    assert_eq!(gw.status()["rules_version"], 1);
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
    // Reads need no token.
    let r = send(gw.admin, &RawRequest::new("GET", "/v1/status")).expect("status");
    assert_eq!(r.status, 200);
}

#[test]
fn without_a_configured_token_state_changes_are_disabled_not_open() {
    let mock = MockBinance::start();
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            admin_token: None,
            ..Default::default()
        },
    );
    for target in [
        "/v1/halt",
        "/v1/reduce-only",
        "/v1/resume",
        "/v1/rules/reload",
    ] {
        for headers in [vec![], vec![("Authorization", "Bearer test-admin-token")]] {
            let r = admin_with(&gw, target, &headers);
            assert_eq!(r.status, 403, "{target}: {}", r.body_text());
        }
    }
    let r = send(gw.admin, &RawRequest::new("GET", "/v1/status")).expect("status");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["global"]["state"], "active");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn cancels_pass_while_halted_and_reach_the_exchange() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let a = accepted_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.001", &price_pct(&mock, "BTCUSDT", 97.0)),
    );
    accepted_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.002", &price_pct(&mock, "BTCUSDT", 96.0)),
    );
    accepted_forwarded(
        &gw,
        &mock,
        &limit_on("ETHUSDT", "BUY", "0.01", &price_pct(&mock, "ETHUSDT", 96.0)),
    );
    post_ok(&gw, "/v1/halt");
    let label = first_account_label(&gw);
    assert_eq!(account_status(&gw, &label)["open_order_count"], 3);

    let cancel = SignedRequest::new("DELETE", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("orderId", &a["orderId"].as_i64().expect("id").to_string())
        .build();
    let r = gw.send(&cancel);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.header("x-riskgate-decision"), Some("pass"));
    assert_eq!(r.json()["status"], "CANCELED");
    let deletes = mock
        .requests_to("/api/v3/order")
        .into_iter()
        .filter(|r| r.method == http::Method::DELETE)
        .count();
    assert_eq!(deletes, 1);
    assert_eq!(account_status(&gw, &label)["open_order_count"], 2);

    let cancel_all = SignedRequest::new("DELETE", "/api/v3/openOrders")
        .param("symbol", "BTCUSDT")
        .build();
    let r = gw.send(&cancel_all);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(mock.requests_to("/api/v3/openOrders").len(), 1);
    let st = account_status(&gw, &label);
    assert_eq!(st["open_order_count"], 1, "{st}");
    assert_eq!(st["open_orders"][0]["symbol"], "ETHUSDT");
    assert_eq!(mock.paper.open_order_count(TEST_API_KEY), 1);
    // New orders are still refused.
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "trading_halted");
}

#[test]
fn status_reports_limits_use_positions_and_open_orders() {
    let mock = MockBinance::start();
    let rules = Rules::open()
        .account("capital_usd", "20000.0")
        .account("max_single_position_pct", "50.0")
        .account("max_open_orders", "4")
        .account("max_daily_trades", "10")
        .account("max_order_notional_usd", "5000.0");
    let gw = Gateway::live(&mock, &rules.build());
    let s = gw.status();
    assert_eq!(s["mode"], "live");
    assert_eq!(s["rules_version"], 1);
    assert_eq!(s["rules_files"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["global"]["state"], "active");
    assert_eq!(s["venues"][0]["name"], "binance");
    assert_eq!(s["venues"][0]["kind"], "binance-spot");
    assert_eq!(s["accounts"].as_array().map(Vec::len), Some(0));
    assert!(s["reference_prices"].as_u64().unwrap_or(0) >= 2, "{s}");
    assert_eq!(s["circuit_breakers_open"].as_array().map(Vec::len), Some(0));

    accepted_forwarded(&gw, &mock, &market("BUY", "0.05"));
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let resting = accepted_forwarded(&gw, &mock, &limit("BUY", "0.01", &px));
    let label = first_account_label(&gw);
    let a = account_status(&gw, &label);
    assert_eq!(a["trading_state"], "active");
    assert_eq!(a["capital_usd"], 20000.0);
    let p = mock_price(&mock, "BTCUSDT").to_f64();
    let btc = a["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .find(|x| x["asset"] == "BTC")
        .cloned()
        .expect("BTC position");
    assert_eq!(btc["qty"], "0.05");
    let notional = btc["notional_usd"].as_f64().expect("notional");
    assert!((notional - 0.05 * p).abs() < 0.05 * p * 0.01, "{notional}");
    assert_eq!(a["open_order_count"], 1);
    let o = &a["open_orders"][0];
    assert_eq!(o["symbol"], "BTCUSDT");
    assert_eq!(o["side"], "buy");
    assert_eq!(o["qty"], "0.01");
    assert_eq!(o["remaining_qty"], "0.01");
    assert_eq!(o["executed_qty"], "0");
    assert_eq!(
        o["price"],
        riskgate::model::Fixed::parse(&px).unwrap().to_string()
    );
    assert_eq!(o["exchange_order_id"], resting["orderId"]);
    assert_eq!(o["phase"], "live");
    let l = &a["limits"];
    assert_eq!(l["max_daily_trades"]["value"], 10);
    assert_eq!(l["max_daily_trades"]["used"], 2);
    assert_eq!(l["max_daily_trades"]["utilization"], 0.2);
    assert_eq!(l["max_open_orders"]["value"], 4);
    assert_eq!(l["max_open_orders"]["used"], 1);
    assert_eq!(l["max_open_orders"]["utilization"], 0.25);
    assert_eq!(l["max_order_notional_usd"]["value"], 5000.0);
    assert_eq!(l["max_single_position_pct"]["value"], 50.0);
    let used_pct = l["max_single_position_pct"]["used"].as_f64().expect("pct");
    assert!((used_pct - notional / 20000.0 * 100.0).abs() < 1e-6, "{l}");
}

#[test]
fn healthz_and_readyz() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, &Rules::open().max_price_age_s("10.0").build());
    let get = |p: &str| send(gw.admin, &RawRequest::new("GET", p)).expect("get");
    let h = get("/healthz");
    assert_eq!((h.status, h.body_text().as_str()), (200, "ok"));
    let r = get("/readyz");
    assert_eq!((r.status, r.body_text().as_str()), (200, "ready"));
    // Every reference price stale: not ready.
    gw.clock.advance_ms(11_000);
    assert_eq!(get("/readyz").status, 503);
    assert_eq!(get("/healthz").status, 200);
    // A ticker answer through riskgate makes prices fresh again.
    assert_eq!(ticker(&gw, "BTCUSDT").status, 200);
    assert_eq!(get("/readyz").status, 200);
}

#[test]
fn resume_with_symbol_closes_that_breaker() {
    let mock = MockBinance::start();
    let rules = Rules::open()
        .breaker("enabled", "true")
        .breaker("max_move_pct", "0.001")
        .breaker("window_s", "600.0")
        .breaker("pause_s", "3000.0");
    let gw = Gateway::live(&mock, &rules.build());
    trip_breaker(&gw, &mock, "BTCUSDT");
    let open = gw.status()["circuit_breakers_open"].clone();
    assert_eq!(open[0]["symbol"], "BTCUSDT", "{open}");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "circuit_breaker_open");

    // Without the token nothing changes.
    let r = admin_with(&gw, "/v1/resume?symbol=BTCUSDT", &[]);
    assert_eq!(r.status, 401);
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "circuit_breaker_open");

    let j = post_ok(&gw, "/v1/resume?symbol=BTCUSDT&reason=checked");
    assert_eq!(j["symbol"], "BTCUSDT");
    assert_eq!(j["breaker_reset"], true);
    assert_eq!(
        gw.status()["circuit_breakers_open"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
    let j = post_ok(&gw, "/v1/resume?symbol=ETHUSDT");
    assert_eq!(j["breaker_reset"], false);
}
