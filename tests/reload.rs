//! Rule reloads on a running gateway: `POST /v1/rules/reload` and a change of the
//! file on disk (waited for by polling `/v1/status` rules_version, bounded) make
//! a new limit apply; a bad file (syntax error, unknown key, invalid value) is
//! refused with 422 and `file:line:col` errors, the old rules stay in force and
//! `riskgate_rules_reload_total{result="error"}` counts it; a reload never
//! resets daily counters or forgets open orders; admin auth guards the reload.

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

/// Replaces a rule file atomically (write aside, rename), as an editor or a
/// deployment tool would, so the watcher never reads a half-written file.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-new");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn rules_version(gw: &Gateway) -> u64 {
    gw.status()["rules_version"]
        .as_u64()
        .expect("rules_version")
}

fn reload(gw: &Gateway) -> RawResponse {
    gw.admin("POST", "/v1/rules/reload")
}

fn daily_used(gw: &Gateway) -> u64 {
    let label = first_account_label(gw);
    account_status(gw, &label)["limits"]["max_daily_trades"]["used"]
        .as_u64()
        .expect("used")
}

#[test]
fn reload_endpoint_applies_a_new_limit_and_keeps_the_daily_count() {
    let mock = MockBinance::start();
    let gw = Gateway::live(
        &mock,
        &Rules::open().account("max_daily_trades", "1").build(),
    );
    assert_eq!(rules_version(&gw), 1);
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.002"), "max_daily_trades");

    replace_file(
        &gw.rules_dir.join("limits.toml"),
        &Rules::open().account("max_daily_trades", "3").build(),
    );
    let r = reload(&gw);
    assert_eq!(r.status, 200, "{}", r.body_text());
    let j = r.json();
    assert_eq!(j["result"], "ok");
    let v = j["rules_version"].as_u64().expect("version");
    assert!(v >= 2, "{j}");
    assert!(rules_version(&gw) >= v);
    let label = first_account_label(&gw);
    assert_eq!(
        account_status(&gw, &label)["limits"]["max_daily_trades"]["value"],
        3
    );
    // The count of 1 survived the reload: two more fit, not three.
    assert_eq!(daily_used(&gw), 1);
    accepted_forwarded(&gw, &mock, &market("BUY", "0.002"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.003"));
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.004"), "max_daily_trades");
    assert_eq!(why, "3 orders accepted today (UTC), limit 3");
}

#[test]
fn a_changed_file_on_disk_is_picked_up_by_the_watcher() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, &Rules::open().build());
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px));
    let v0 = rules_version(&gw);

    replace_file(
        &gw.rules_dir.join("limits.toml"),
        &Rules::open().account("max_open_orders", "1").build(),
    );
    wait_until("the watcher to reload", Duration::from_secs(10), || {
        rules_version(&gw) > v0
    });
    // The resting order from before the reload still counts.
    let px2 = price_pct(&mock, "BTCUSDT", 96.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.001", &px2), "max_open_orders");
    assert_eq!(why, "1 open orders (limit 1)");

    // A new file in the directory is read too.
    let v1 = rules_version(&gw);
    replace_file(
        &gw.rules_dir.join("symbols.toml"),
        "[symbols]\nblocked = [\"ETHUSDT\"]\n",
    );
    wait_until(
        "the watcher to read a new file",
        Duration::from_secs(10),
        || rules_version(&gw) > v1,
    );
    refused_not_forwarded(
        &gw,
        &mock,
        &market_on("ETHUSDT", "BUY", "0.01"),
        "symbol_not_allowed",
    );
    let files = gw.status()["rules_files"].clone();
    assert_eq!(files.as_array().map(Vec::len), Some(2), "{files}");
}

/// Writes `bad` as the rule file, asks for a reload and checks it is refused with
/// an error naming `limits.toml:<line>:<col>: <message start>`; the old rules stay.
#[track_caller]
fn assert_bad_file_refused(gw: &Gateway, bad: &str, location_and_message: &str) {
    let v0 = rules_version(gw);
    let path = gw.rules_dir.join("limits.toml");
    replace_file(&path, bad);
    let r = reload(gw);
    assert_eq!(r.status, 422, "{}", r.body_text());
    let j = r.json();
    assert_eq!(j["result"], "error", "{j}");
    let errors = j["errors"].as_str().expect("errors text");
    let want = format!("{}:{location_and_message}", path.display());
    assert!(
        errors.lines().any(|l| l.starts_with(&want)),
        "errors {errors:?} lack {want:?}"
    );
    assert_eq!(rules_version(gw), v0, "a refused file changed the version");
}

#[test]
fn bad_files_are_refused_with_locations_and_the_old_rules_stay() {
    let mock = MockBinance::start();
    let good = Rules::open().account("max_open_orders", "1").build();
    let gw = Gateway::live(&mock, &good);
    let header = "[account.\"*\"]\ncapital_usd = 100000000.0\n";

    // Syntax error: a value missing.
    assert_bad_file_refused(&gw, &format!("{header}max_open_orders = \n"), "3:19: ");
    // Unknown key (a typo must not silently drop a limit).
    assert_bad_file_refused(
        &gw,
        &format!("{header}max_open_order = 5\n"),
        "3:1: unknown field `max_open_order`",
    );
    // Invalid value.
    assert_bad_file_refused(
        &gw,
        &format!("{header}max_open_orders = -5\n"),
        "3:19: max_open_orders = -5: must be between 0 and 100000",
    );
    assert_bad_file_refused(
        &gw,
        &format!("{header}[account.\"*\".symbol.\"*\"]\nprice_band_pct = 0.0\n"),
        "4:18: price_band_pct = 0: must be > 0",
    );
    // Unknown account alias.
    assert_bad_file_refused(
        &gw,
        "[account.ghost]\nmax_open_orders = 5\n",
        "1:1: unknown account 'ghost'",
    );

    // Still the old rules: one open order allowed, not the 5 the bad files asked for.
    let label_rules = gw.status()["rules_version"].as_u64();
    assert_eq!(label_rules, Some(1));
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px));
    let px2 = price_pct(&mock, "BTCUSDT", 96.0);
    refused_not_forwarded(&gw, &mock, &limit("BUY", "0.001", &px2), "max_open_orders");

    // Fixing the file makes reloads work again.
    replace_file(
        &gw.rules_dir.join("limits.toml"),
        &Rules::open().account("max_open_orders", "2").build(),
    );
    let r = reload(&gw);
    assert_eq!(r.status, 200, "{}", r.body_text());
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px2));
}

#[test]
fn a_section_defined_in_two_files_is_refused() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, &Rules::open().build());
    let extra = gw.rules_dir.join("zz-extra.toml");
    replace_file(&extra, "\n[market_data]\nmax_price_age_s = 1.0\n");
    let r = reload(&gw);
    assert_eq!(r.status, 422, "{}", r.body_text());
    let errors = r.json()["errors"].as_str().unwrap_or("").to_string();
    assert!(
        errors.contains(&format!(
            "{}:2:1: [market_data] already defined at",
            extra.display()
        )),
        "{errors}"
    );
    // The 3600 s price age is still in force: an hour-old price is fresh.
    gw.clock.advance_ms(3_000_000);
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn reload_errors_are_counted_in_metrics() {
    let mock = MockBinance::start();
    let gw = start_with_metrics(GatewayOptions {
        mode: "live",
        upstream: Some(mock.base_url()),
        rules: vec![("limits.toml".into(), Rules::open().build())],
        ..Default::default()
    });
    gw.wait_for_price("BTCUSDT");
    let metrics = || {
        let r = gw.admin("GET", "/metrics");
        assert_eq!(r.status, 200, "{}", r.body_text());
        r.body_text()
    };
    let errors = |t: &str| metric_value(t, "riskgate_rules_reload_total{result=\"error\"}");
    let oks = |t: &str| metric_value(t, "riskgate_rules_reload_total{result=\"ok\"}");
    let before = metrics();
    replace_file(
        &gw.rules_dir.join("limits.toml"),
        "[account.\"*\"]\nmax_open_orders = \"many\"\n",
    );
    assert_eq!(reload(&gw).status, 422);
    let after = metrics();
    assert!(
        errors(&after) >= errors(&before) + 1.0,
        "error count {} -> {}",
        errors(&before),
        errors(&after)
    );
    replace_file(&gw.rules_dir.join("limits.toml"), &Rules::open().build());
    assert_eq!(reload(&gw).status, 200);
    let fixed = metrics();
    assert!(oks(&fixed) >= oks(&after) + 1.0);
    assert!(
        fixed.contains("riskgate_rules_version"),
        "version gauge missing"
    );
}

#[test]
fn reload_keeps_open_orders_and_needs_the_admin_token() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, &Rules::open().build());
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let placed = accepted_forwarded(&gw, &mock, &limit("BUY", "0.004", &px));
    let r = reload(&gw);
    assert_eq!(r.status, 200, "{}", r.body_text());
    let label = first_account_label(&gw);
    let st = account_status(&gw, &label);
    assert_eq!(st["open_order_count"], 1);
    assert_eq!(st["open_orders"][0]["exchange_order_id"], placed["orderId"]);
    assert_eq!(st["open_orders"][0]["remaining_qty"], "0.004");

    // Without the token a reload is refused and nothing changes.
    let v = rules_version(&gw);
    let anon = send(gw.admin, &RawRequest::new("POST", "/v1/rules/reload")).expect("send");
    assert_eq!(anon.status, 401, "{}", anon.body_text());
    assert_eq!(rules_version(&gw), v);
}
