//! Portfolio-risk limits end to end in paper mode: the background risk task
//! builds per-account snapshots from the seeded simulator's daily closes, the
//! order path prices each order against them (`[portfolio.*]` rules), the
//! drawdown limit switches an account to reduce-only, and `GET /v1/risk`
//! publishes the full report.
//!
//! Determinism: the paper market is seeded and moves only when the manual clock
//! does. The risk task runs with a long interval, so passes happen only at start,
//! after fills and when a test wakes it (`fresh_risk`); a snapshot is "fresh"
//! when its `computed_ms` is at or after a clock value set by the test. Probes
//! that must not fill (and so must not wake the task) use `POST /api/v3/order/test`,
//! which runs every rule, portfolio limits included.

mod support;

use std::sync::Arc;
use std::time::Duration;

use riskgate::clock::Clock;
use riskgate::risk::AccountRisk;
use support::*;

const CAPITAL: f64 = 1_000_000.0;
const Z95: f64 = 1.644_853_626_951_472_2;
const Z99: f64 = 2.326_347_874_040_840_8;

/// Configured accounts: alias → API key (through `api_key_env`).
const ACCOUNTS: [(&str, &str); 2] = [("alpha", "alpha-key"), ("beta", "beta-key")];

/// A paper gateway with `portfolio` (TOML tables) added to permissive rules,
/// capital 1M USD, a risk task that only runs when woken, and 10M USDT per paper account.
fn start(portfolio: &str) -> Gateway {
    start_with(portfolio, Vec::new())
}

/// As `start`, with extra environment variables for the config.
fn start_with(portfolio: &str, extra_env: Vec<(String, String)>) -> Gateway {
    start_in(portfolio, extra_env, None)
}

/// As `start_with`, keeping state in `state_dir` (to restart on the same journal).
fn start_in(
    portfolio: &str,
    extra_env: Vec<(String, String)>,
    state_dir: Option<std::path::PathBuf>,
) -> Gateway {
    let rules = Rules::open()
        .account("capital_usd", "1000000.0")
        .extra(portfolio)
        .build();
    let mut tail = String::from(
        // No duty-cycle pause: debug-build passes are slow and the tests wait
        // for fresh snapshots (pacing has its own tests in risk::task).
        "[risk]\ninterval_s = 3600\nmonte_carlo_sims = 1000\nmax_duty_cycle_pct = 100.0\n\n\
         [paper]\nstarting_balances = { USDT = 10000000.0 }\n",
    );
    let mut env = extra_env;
    for (alias, key) in ACCOUNTS {
        let var = format!("RG_PORTFOLIO_TEST_{}", alias.to_uppercase());
        tail.push_str(&format!(
            "\n[[accounts]]\nalias = \"{alias}\"\napi_key_env = \"{var}\"\n"
        ));
        env.push((var, key.to_string()));
    }
    let gw = Gateway::start(GatewayOptions {
        mode: "paper",
        rules: vec![("limits.toml".into(), rules)],
        config_tail: tail,
        env,
        state_dir,
        ..Default::default()
    });
    gw.wait_for_price("BTCUSDT");
    // Configured accounts come into being when first named (here, by label), so
    // the pass at start does not cover them: wake the task for one that does.
    for (alias, _) in ACCOUNTS {
        account_id(&gw, alias);
    }
    for (alias, _) in ACCOUNTS {
        fresh_risk(&gw, alias);
    }
    gw
}

fn key_of(alias: &str) -> &'static str {
    ACCOUNTS
        .iter()
        .find(|(a, _)| *a == alias)
        .map(|(_, k)| *k)
        .unwrap_or_else(|| panic!("no test account {alias}"))
}

fn post(gw: &Gateway, key: &str, path: &str, symbol: &str, side: &str, qty: &str) -> RawResponse {
    let body = format!("symbol={symbol}&side={side}&type=MARKET&quantity={qty}&timestamp=1");
    gw.send(
        &RawRequest::new("POST", path)
            .header("X-MBX-APIKEY", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.into_bytes()),
    )
}

/// A market order the paper exchange fills (wakes the risk task).
fn fill(gw: &Gateway, alias: &str, symbol: &str, side: &str, qty: &str) -> serde_json::Value {
    let r = post(gw, key_of(alias), "/api/v3/order", symbol, side, qty);
    let j = assert_accepted(&r);
    assert_eq!(j["status"], "FILLED", "{j}");
    j
}

/// The same order through `/api/v3/order/test`: every rule, no fill.
fn probe(gw: &Gateway, alias: &str, symbol: &str, side: &str, qty: &str) -> RawResponse {
    post(gw, key_of(alias), "/api/v3/order/test", symbol, side, qty)
}

fn account_id(gw: &Gateway, label: &str) -> riskgate::model::AccountId {
    gw.app()
        .engine
        .account_by_label(label)
        .unwrap_or_else(|| panic!("no account {label}"))
        .id
}

/// Moves the clock 1 ms, wakes the risk task and waits (bounded) for a snapshot
/// computed at or after that instant, so it reflects every fill made before.
fn fresh_risk(gw: &Gateway, label: &str) -> Arc<AccountRisk> {
    let engine = &gw.app().engine;
    let id = account_id(gw, label);
    gw.clock.advance_ms(1);
    let want = gw.clock.now_ms();
    engine.risk_wake.notify();
    let mut got = None;
    wait_until("a fresh risk snapshot", Duration::from_secs(30), || {
        got = engine.risk.get(id).filter(|r| r.computed_ms >= want);
        got.is_some()
    });
    got.expect("snapshot")
}

fn ref_price(gw: &Gateway, symbol: &str) -> f64 {
    gw.app()
        .engine
        .prices
        .get(symbol)
        .unwrap_or_else(|| panic!("no price for {symbol}"))
        .price
        .to_f64()
}

fn idx(r: &AccountRisk, asset: &str) -> usize {
    r.incremental
        .index_of(asset)
        .unwrap_or_else(|| panic!("{asset} not in the snapshot"))
}

/// `sqrt(wᵀΣw)` from the snapshot's dense covariance, computed here.
fn sigma_usd(r: &AccountRisk, w: &[f64]) -> f64 {
    let n = w.len();
    assert_eq!(r.incremental.cov.len(), n * n);
    let mut v = 0.0;
    for i in 0..n {
        for j in 0..n {
            v += w[i] * r.incremental.cov[i * n + j] * w[j];
        }
    }
    v.sqrt()
}

/// The exposures after adding `delta_usd` to `asset`.
fn with_delta(r: &AccountRisk, asset: &str, delta_usd: f64) -> Vec<f64> {
    let mut w = r.exposures_usd.clone();
    w[idx(r, asset)] += delta_usd;
    w
}

/// The first number after `after` in `text`.
fn number_after(text: &str, after: &str) -> f64 {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not in {text:?}"))
        + after.len();
    let s: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    s.parse()
        .unwrap_or_else(|_| panic!("no number after {after:?} in {text:?}"))
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-9)
}

fn risk_json(gw: &Gateway, label: &str) -> serde_json::Value {
    let r = gw.admin("GET", "/v1/risk");
    assert_eq!(r.status, 200, "{}", r.body_text());
    r.json()["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == label)
        .cloned()
        .unwrap_or_else(|| panic!("no {label} in /v1/risk"))
}

/// Daily log returns of the last `n` completed daily bars, from the paper klines.
fn daily_log_returns(gw: &Gateway, symbol: &str, n: usize) -> Vec<f64> {
    let r = gw.send(&RawRequest::new(
        "GET",
        &format!("/api/v3/klines?symbol={symbol}&interval=1d&limit=1000"),
    ));
    assert_eq!(r.status, 200, "{}", r.body_text());
    let now = gw.clock.now_ms();
    let closes: Vec<f64> = r
        .json()
        .as_array()
        .expect("klines")
        .iter()
        .filter(|k| k[6].as_i64().expect("close time") < now)
        .map(|k| k[4].as_str().expect("close").parse::<f64>().expect("num"))
        .collect();
    let closes = &closes[closes.len() - (n + 1)..];
    closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

#[test]
fn var_limit_refuses_the_order_that_would_breach_it_with_the_numbers() {
    let gw = start("[portfolio.\"*\"]\ndaily_var_limit_usd = 5000.0\n");
    // A small buy (~0.5 BTC, 1-day 95% VaR ~1.4k USD) passes and fills.
    fill(&gw, "alpha", "BTCUSDT", "BUY", "0.5");
    let r = fresh_risk(&gw, "alpha");
    let btc = idx(&r, "BTC");
    let px = ref_price(&gw, "BTCUSDT");
    assert!(
        close(r.exposures_usd[btc], 0.5 * px, 1e-9),
        "{:?}",
        r.exposures_usd
    );

    // The published order-path VaR matches a recomputation from the snapshot's Σ.
    let var95_now = Z95 * sigma_usd(&r, &r.exposures_usd);
    assert!(close(
        r.incremental.var_usd,
        Z99 * sigma_usd(&r, &r.exposures_usd),
        1e-9
    ));
    let j = risk_json(&gw, "alpha");
    let published = j["order_path"]["var_95_1d_usd"].as_f64().expect("var95");
    assert!(
        close(published, var95_now, 1e-9),
        "{published} vs {var95_now}"
    );
    assert!(published < 5000.0, "{published}");

    // Σ_BTC,BTC is the sample variance of the last 60 daily log returns.
    let rets = daily_log_returns(&gw, "BTCUSDT", 60);
    let mean = rets.iter().sum::<f64>() / rets.len() as f64;
    let var = rets.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (rets.len() - 1) as f64;
    assert!(
        close(r.incremental.cov_diag[btc], var, 1e-6),
        "Σ_BTC {} vs klines {}",
        r.incremental.cov_diag[btc],
        var
    );

    // 10 BTC more would take the 1-day 95% VaR far over 5000 USD.
    let why = assert_refused(&probe(&gw, "alpha", "BTCUSDT", "BUY", "10"), "var_limit");
    let expected = Z95 * sigma_usd(&r, &with_delta(&r, "BTC", 10.0 * px));
    let said = number_after(&why, "1-day 95% VaR would be ");
    assert!(
        (said - expected).abs() < 0.01,
        "{why}: expected {expected:.2}"
    );
    assert!(why.contains("limit 5000.00 USD"), "{why}");
    assert!(why.contains("of capital 1000000.00"), "{why}");
    let pct = number_after(&why, "USD (");
    assert!((pct - expected / CAPITAL * 100.0).abs() < 0.01, "{why}");
    // The refused probe changed nothing; a real order of the same size is refused too.
    assert_refused(
        &post(&gw, "alpha-key", "/api/v3/order", "BTCUSDT", "BUY", "10"),
        "var_limit",
    );

    // A small addition still fits.
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"));
    // A hedge lowers VaR (ETH is strongly correlated with BTC) and passes the
    // portfolio check although it opens a new (short) position.
    let eth_px = ref_price(&gw, "ETHUSDT");
    let hedged = Z95 * sigma_usd(&r, &with_delta(&r, "ETH", -3.0 * eth_px));
    assert!(hedged < var95_now, "{hedged} !< {var95_now}");
    assert_accepted(&probe(&gw, "alpha", "ETHUSDT", "SELL", "3"));
    // Selling part of the long (reducing) passes and fills.
    fill(&gw, "alpha", "BTCUSDT", "SELL", "0.25");
    let after = fresh_risk(&gw, "alpha");
    assert!(
        after.incremental.var_usd < r.incremental.var_usd,
        "{} !< {}",
        after.incremental.var_usd,
        r.incremental.var_usd
    );
}

#[test]
fn pct_of_capital_var_limits_each_refuse_with_their_own_figure() {
    // 1-day 99%: 0.5 % of 1M = 5000 USD; the 95 % and 30-day limits are loose.
    let gw = start(
        "[portfolio.alpha]\ndaily_var_99_pct = 0.5\n\
         [portfolio.beta]\nmonthly_var_95_pct = 2.0\n",
    );
    let r = fresh_risk(&gw, "alpha");
    let px = ref_price(&gw, "BTCUSDT");
    let why = assert_refused(&probe(&gw, "alpha", "BTCUSDT", "BUY", "5"), "var_limit");
    let expected = Z99 * sigma_usd(&r, &with_delta(&r, "BTC", 5.0 * px));
    assert!(expected > 5000.0);
    assert!(why.starts_with("1-day 99% VaR would be "), "{why}");
    assert!(
        (number_after(&why, "would be ") - expected).abs() < 0.01,
        "{why}"
    );
    assert!(why.contains("limit 5000.00 USD"), "{why}");
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.5"));

    // 30-day 95% VaR = √30 · 1-day; 2 % of 1M = 20000 USD.
    let rb = fresh_risk(&gw, "beta");
    let why = assert_refused(&probe(&gw, "beta", "BTCUSDT", "BUY", "5"), "var_limit");
    let expected = Z95 * sigma_usd(&rb, &with_delta(&rb, "BTC", 5.0 * px)) * 30f64.sqrt();
    assert!(why.starts_with("30-day 95% VaR would be "), "{why}");
    assert!(
        (number_after(&why, "would be ") - expected).abs() < 0.01,
        "{why}"
    );
    assert_accepted(&probe(&gw, "beta", "BTCUSDT", "BUY", "0.5"));
}

#[test]
fn stale_or_missing_snapshot_fails_closed_but_not_for_reducing_orders_or_other_accounts() {
    let gw =
        start("[portfolio.alpha]\ndaily_var_limit_usd = 1000000.0\nmax_snapshot_age_s = 60.0\n");
    fill(&gw, "alpha", "BTCUSDT", "BUY", "1");
    fill(&gw, "beta", "BTCUSDT", "BUY", "1");
    fresh_risk(&gw, "alpha");
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"));

    // Let the snapshot age past 60 s. A pass still pending from the fills could
    // publish a fresh one at any moment: a refusal is only asserted when the
    // snapshot was stale both before and after the probe (retry otherwise).
    let engine = &gw.app().engine;
    let alpha = account_id(&gw, "alpha");
    let mut checked = false;
    for _ in 0..10 {
        gw.clock.advance_ms(120_000);
        let t = gw.clock.now_ms();
        let before = engine.risk.get(alpha).expect("snapshot").computed_ms;
        let resp = probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1");
        let after = engine.risk.get(alpha).expect("snapshot").computed_ms;
        if before < t && after < t {
            let why = assert_refused(&resp, "portfolio_risk_unavailable");
            let age = (t - before) / 1000;
            assert_eq!(why, format!("risk snapshot is {age} s old (max 60 s)"));
            checked = true;
            break;
        }
        wait_until("the pending risk pass", Duration::from_secs(10), || {
            engine.risk.get(alpha).is_some_and(|s| s.computed_ms >= t)
        });
    }
    assert!(checked, "the snapshot never stayed stale for one probe");
    // The same refusal for an order that would fill.
    assert_refused(
        &post(&gw, "alpha-key", "/api/v3/order", "BTCUSDT", "BUY", "0.1"),
        "portfolio_risk_unavailable",
    )
    .contains("old");
    // An account without portfolio rules is not affected.
    assert_accepted(&probe(&gw, "beta", "BTCUSDT", "BUY", "0.1"));
    // Reducing orders never need a snapshot.
    fill(&gw, "alpha", "BTCUSDT", "SELL", "0.5");
    // A fresh snapshot lets new risk through again.
    fresh_risk(&gw, "alpha");
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"));
}

#[test]
fn a_new_account_is_priced_as_the_flat_book_until_it_holds_something() {
    let gw = start("[portfolio.\"*\"]\ndaily_var_limit_usd = 5000.0\n");
    // An API key riskgate has never seen: no snapshot covers its account, but
    // with nothing held or on order it is priced against the flat book.
    let probe_key = |qty: &str| {
        post(
            &gw,
            "gamma-key",
            "/api/v3/order/test",
            "BTCUSDT",
            "BUY",
            qty,
        )
    };
    let why = assert_refused(&probe_key("10"), "var_limit");
    assert!(why.starts_with("1-day 95% VaR would be "), "{why}");
    let j = assert_accepted(&resting_buy(&gw, "gamma-key", "0.1", 95.0));
    assert_eq!(j["status"], "NEW", "{j}");
    let label = gw
        .app()
        .engine
        .accounts()
        .iter()
        .map(|a| a.label.to_string())
        .find(|l| !ACCOUNTS.iter().any(|(a, _)| a == l))
        .expect("the new account");
    // Now it has an order on the book and still no snapshot (a resting order
    // does not wake the risk task): new risk fails closed.
    let why = assert_refused(&probe_key("0.1"), "portfolio_risk_unavailable");
    assert_eq!(why, "no risk snapshot yet for this account");
    assert!(risk_json(&gw, &label)["snapshot"].is_null());
    let r = fresh_risk(&gw, &label);
    assert!(r.exposures_usd[idx(&r, "BTC")] > 0.0, "the open buy counts");
    assert_accepted(&probe_key("0.1"));
}

#[test]
fn leverage_limit_counts_gross_exposure_after_the_order() {
    let gw = start("[portfolio.alpha]\nmax_leverage = 1.0\n");
    fill(&gw, "alpha", "BTCUSDT", "BUY", "5");
    let r = fresh_risk(&gw, "alpha");
    let px = ref_price(&gw, "BTCUSDT");
    let eth_px = ref_price(&gw, "ETHUSDT");
    let gross = r.gross_exposure_usd();
    assert!(close(gross, 5.0 * px, 1e-9));
    // ETH for about 100k USD fits under 1x; for 1M USD it does not.
    assert_accepted(&probe(&gw, "alpha", "ETHUSDT", "BUY", "30"));
    let why = assert_refused(
        &probe(&gw, "alpha", "ETHUSDT", "BUY", "300"),
        "leverage_limit",
    );
    let expected = gross + 300.0 * eth_px;
    assert!(
        (number_after(&why, "gross exposure would be ") - expected).abs() < 0.01,
        "{why}: expected {expected:.2}"
    );
    assert!(
        why.ends_with(&format!("leverage {:.2}x (limit 1x)", expected / CAPITAL)),
        "{why}"
    );
    // A short counts in gross exposure too.
    assert_refused(
        &probe(&gw, "alpha", "ETHUSDT", "SELL", "300"),
        "leverage_limit",
    );
}

/// EWMA (λ = 0.94, zero-mean, weights normalised) daily volatility, annualised with 365.
fn ewma_vol_annualised(returns: &[f64]) -> f64 {
    let n = returns.len();
    let weights: Vec<f64> = (0..n).map(|t| 0.94f64.powi((n - 1 - t) as i32)).collect();
    let total: f64 = weights.iter().sum();
    let var: f64 = returns
        .iter()
        .zip(&weights)
        .map(|(r, w)| w / total * r * r)
        .sum();
    (var * 365.0).sqrt()
}

#[test]
fn volatility_scaling_shrinks_the_position_limit_by_target_over_asset_volatility() {
    // Target 1 % against BTC's ~tens of % annualised: a factor of a few hundredths
    // on max_position_qty = 2 BTC. alpha scales, beta does not.
    let gw = start(
        "[portfolio.alpha]\nvolatility_scaling = true\ntarget_volatility_pct = 1.0\n\
         [account.\"*\".symbol.BTCUSDT]\nmax_position_qty = 2.0\n",
    );
    let r = fresh_risk(&gw, "alpha");
    let vol = r.asset_vol_annualised[idx(&r, "BTC")];
    // The snapshot's volatility is the EWMA of the daily closes (recomputed here;
    // 300 returns hold all but 0.94^300 of the weight).
    let expected_vol = ewma_vol_annualised(&daily_log_returns(&gw, "BTCUSDT", 300));
    assert!(close(vol, expected_vol, 1e-6), "{vol} vs {expected_vol}");
    let factor = 0.01 / vol;
    assert!(factor < 1.0, "{factor}");
    let limit_qty = 2.0 * factor;

    let over = format!("{:.5}", limit_qty * 1.05);
    let why = assert_refused(
        &probe(&gw, "alpha", "BTCUSDT", "BUY", &over),
        "max_position_qty",
    );
    let said_limit = number_after(&why, "exceeds limit ");
    assert!((said_limit - limit_qty).abs() < 1e-8, "{why}: {limit_qty}");
    assert!(why.contains("configured 2 x volatility scale "), "{why}");
    let said_factor = number_after(&why, "volatility scale ");
    assert!((said_factor - factor).abs() < 1e-4, "{why}: {factor}");
    let said_vol = number_after(&why, "asset volatility ");
    assert!((said_vol - vol * 100.0).abs() < 0.01, "{why}: {vol}");

    // Under the scaled limit: fills. The unscaled account takes the same order.
    let under = format!("{:.5}", limit_qty * 0.9);
    fill(&gw, "alpha", "BTCUSDT", "BUY", &under);
    assert_accepted(&probe(&gw, "beta", "BTCUSDT", "BUY", &over));
    // 0.9 + 0.2 of the scaled limit is over it.
    let rest = format!("{:.5}", limit_qty * 0.2);
    fresh_risk(&gw, "alpha");
    assert_refused(
        &probe(&gw, "alpha", "BTCUSDT", "BUY", &rest),
        "max_position_qty",
    );
    // Reducing orders pass whatever the limit.
    let half = format!("{:.5}", limit_qty * 0.45);
    fill(&gw, "alpha", "BTCUSDT", "SELL", &half);
}

#[test]
fn sector_exposure_sums_the_sector_and_ignores_other_assets() {
    let gw = start(
        "[portfolio.alpha]\nmax_sector_exposure_pct = 50.0\n\
         [sectors]\nL1 = [\"BTC\", \"ETH\"]\n",
    );
    fill(&gw, "alpha", "BTCUSDT", "BUY", "4");
    let r = fresh_risk(&gw, "alpha");
    let btc = r.exposures_usd[idx(&r, "BTC")];
    let eth_px = ref_price(&gw, "ETHUSDT");
    // ~240k BTC + ~150k ETH = 39 %: passes; + ~300k ETH = 54 %: refused.
    assert_accepted(&probe(&gw, "alpha", "ETHUSDT", "BUY", "50"));
    let why = assert_refused(
        &probe(&gw, "alpha", "ETHUSDT", "BUY", "100"),
        "sector_exposure",
    );
    let expected = btc + 100.0 * eth_px;
    assert!(why.starts_with("sector L1 exposure would be "), "{why}");
    assert!(
        (number_after(&why, "would be ") - expected).abs() < 0.01,
        "{why}: expected {expected:.2}"
    );
    assert!(why.ends_with("of capital (limit 50%)"), "{why}");
    // SOL is in no sector: 300k of it passes.
    assert_accepted(&probe(&gw, "alpha", "SOLUSDT", "BUY", "2000"));
}

#[test]
fn correlation_limit_refuses_adding_the_same_bet_through_a_correlated_asset() {
    let gw = start("[portfolio.alpha]\ncorrelation_limit_pct = 50.0\n");
    fill(&gw, "alpha", "BTCUSDT", "BUY", "1");
    let r = fresh_risk(&gw, "alpha");
    let rho = r
        .correlation(idx(&r, "ETH"), idx(&r, "BTC"))
        .expect("correlation");
    assert!(rho > 0.5, "BTC/ETH correlation in the sim is {rho}");
    let why = assert_refused(
        &probe(&gw, "alpha", "ETHUSDT", "BUY", "1"),
        "correlation_limit",
    );
    assert_eq!(
        why,
        format!(
            "ETH is {:.0}% correlated with the book's largest position BTC (limit 50%)",
            rho * 100.0
        )
    );
    // More of the dominant asset itself, or a hedge against it, passes.
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.5"));
    assert_accepted(&probe(&gw, "alpha", "ETHUSDT", "SELL", "1"));
}

#[test]
fn portfolio_volatility_limit_uses_the_annualised_volatility_after_the_order() {
    let gw = start("[portfolio.alpha]\nmax_portfolio_volatility_pct = 10.0\n");
    let r = fresh_risk(&gw, "alpha");
    let px = ref_price(&gw, "BTCUSDT");
    // 1 BTC (~60k at ~55 %/yr) is ~3 % of capital; 10 BTC ~30 %.
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "1"));
    let why = assert_refused(
        &probe(&gw, "alpha", "BTCUSDT", "BUY", "10"),
        "portfolio_volatility",
    );
    let expected =
        sigma_usd(&r, &with_delta(&r, "BTC", 10.0 * px)) * 365f64.sqrt() / CAPITAL * 100.0;
    assert!(
        (number_after(&why, "would be ") - expected).abs() < 0.01,
        "{why}: expected {expected:.2}"
    );
    assert!(why.ends_with("% of capital (limit 10%)"), "{why}");
}

#[test]
fn risk_report_has_every_method_confidence_and_horizon_and_attribution_adds_up() {
    let gw = start("");
    fill(&gw, "alpha", "BTCUSDT", "BUY", "1");
    fill(&gw, "alpha", "ETHUSDT", "BUY", "10");
    fill(&gw, "alpha", "SOLUSDT", "BUY", "100");
    let r = fresh_risk(&gw, "alpha");
    assert!(r.report_error.is_none(), "{:?}", r.report_error);
    let j = risk_json(&gw, "alpha");
    let report = &j["report"];
    let var = report["var"].as_array().expect("var list");
    for method in [
        "historical",
        "normal",
        "cornish_fisher",
        "student_t",
        "monte_carlo",
    ] {
        for conf in [0.95, 0.99, 0.999] {
            for h in [1, 5, 30] {
                let e = var
                    .iter()
                    .find(|v| {
                        v["method"] == method
                            && v["confidence"].as_f64() == Some(conf)
                            && v["horizon_days"] == h
                    })
                    .unwrap_or_else(|| panic!("no {method} {conf} {h}d in {report}"));
                let v = e["var_usd"].as_f64().expect("var_usd");
                let es = e["es_usd"].as_f64().expect("es_usd");
                assert!(v > 0.0 && v.is_finite(), "{e}");
                assert!(es >= v * 0.999, "ES below VaR: {e}");
            }
        }
    }
    // Per-asset component VaR sums to the attribution VaR, which is the
    // order-path parametric 99 % 1-day figure.
    let total = report["attribution_var_usd"].as_f64().expect("attribution");
    let sum: f64 = report["per_asset"]
        .as_array()
        .expect("per_asset")
        .iter()
        .map(|a| a["component_var_usd"].as_f64().expect("component"))
        .sum();
    assert!(close(sum, total, 1e-9), "{sum} vs {total}");
    let order_path = j["order_path"]["var_99_1d_usd"].as_f64().expect("var99");
    assert!(close(order_path, total, 1e-6), "{order_path} vs {total}");
    assert_eq!(report["attribution_confidence"], 0.99);
    assert_eq!(report["attribution_horizon_days"], 1);
    let normal99 = var
        .iter()
        .find(|v| v["method"] == "normal" && v["confidence"] == 0.99 && v["horizon_days"] == 1)
        .expect("normal 99 1d")["var_usd"]
        .as_f64()
        .unwrap();
    assert!(normal99 > 0.0);
}

#[test]
fn drawdown_switches_the_account_to_reduce_only_until_an_admin_resumes_it() {
    // The seeded paper walk is a fixed function of the clock (same seed, same
    // start, same steps), so the BTC path after the buy is always the same: the
    // test walks the manual clock forward an hour at a time until that fixed
    // path has taken 10 BTC down by more than 0.5 % of capital, then wakes the
    // risk task once. Capital 1M, limit 0.3 %: the peak is the starting equity.
    let gw = start("[portfolio.alpha]\nmax_drawdown_pct = 0.3\n");
    let j = fill(&gw, "alpha", "BTCUSDT", "BUY", "10");
    let entry: f64 = j["cummulativeQuoteQty"]
        .as_str()
        .expect("quote qty")
        .parse::<f64>()
        .expect("num")
        / 10.0;
    let r = fresh_risk(&gw, "alpha");
    assert!(r.drawdown_pct.abs() < 0.3, "{}", r.drawdown_pct);
    assert_eq!(account_status(&gw, "alpha")["trading_state"], "active");
    let engine = &gw.app().engine;
    let mut fell = false;
    for _ in 0..24 * 30 {
        gw.clock.advance_ms(3_600_000);
        let now = gw.clock.now_ms();
        wait_until(
            "the paper market to catch up",
            Duration::from_secs(10),
            || {
                engine
                    .prices
                    .get("BTCUSDT")
                    .is_some_and(|p| p.seen_ms >= now)
            },
        );
        if 10.0 * (entry - ref_price(&gw, "BTCUSDT")) > 0.005 * CAPITAL {
            fell = true;
            break;
        }
    }
    assert!(
        fell,
        "the seeded BTC path never fell 0.5 % below {entry} in 30 days"
    );
    let r = fresh_risk(&gw, "alpha");
    assert!(r.drawdown_pct > 0.3, "drawdown {}", r.drawdown_pct);
    let st = account_status(&gw, "alpha");
    assert_eq!(st["trading_state"], "reduce_only", "{st}");
    let why = st["trading_state_why"].to_string();
    assert!(why.contains("exceeds max_drawdown_pct 0.3%"), "{why}");
    // The journal records who switched it.
    let journal = journal_text(&gw);
    assert!(
        journal.contains("risk-engine") && journal.contains("exceeds max_drawdown_pct"),
        "no risk-engine state change in the journal"
    );
    // Another account is not affected.
    assert_eq!(account_status(&gw, "beta")["trading_state"], "active");
    assert_accepted(&probe(&gw, "beta", "BTCUSDT", "BUY", "0.1"));

    // New risk is refused; reducing the position passes.
    assert_refused(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"), "reduce_only");
    assert_refused(&probe(&gw, "alpha", "ETHUSDT", "BUY", "1"), "reduce_only");
    fill(&gw, "alpha", "BTCUSDT", "SELL", "1");
    // Still reduce-only after more risk passes.
    fresh_risk(&gw, "alpha");
    assert_eq!(account_status(&gw, "alpha")["trading_state"], "reduce_only");
    assert_refused(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"), "reduce_only");

    let resp = gw.admin("POST", "/v1/resume?account=alpha&reason=reviewed");
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(account_status(&gw, "alpha")["trading_state"], "active");
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"));
    // The resume sticks: the next risk pass measures drawdown from the equity at
    // the resume instead of switching the account straight back.
    let r = fresh_risk(&gw, "alpha");
    assert!(r.drawdown_pct.abs() < 0.3, "drawdown {}", r.drawdown_pct);
    assert_eq!(account_status(&gw, "alpha")["trading_state"], "active");
    assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"));
}

/// Moves the manual clock forward one hour and waits for the paper market.
fn step_an_hour(gw: &Gateway) {
    let engine = &gw.app().engine;
    gw.clock.advance_ms(3_600_000);
    let now = gw.clock.now_ms();
    wait_until(
        "the paper market to catch up",
        Duration::from_secs(10),
        || {
            engine
                .prices
                .get("BTCUSDT")
                .is_some_and(|p| p.seen_ms >= now)
        },
    );
}

/// Clock moves the restart test replays exactly: the seeded paper walk is a
/// fixed function of the steps the manual clock takes.
#[derive(Clone, Copy)]
enum Move {
    /// `step_an_hour`.
    Hour,
    /// The millisecond a `fresh_risk` advances.
    Ms,
}

#[test]
fn the_drawdown_peak_survives_a_restart() {
    // Riskgate stops without any shutdown write (the journal is written record
    // by record, as before a kill -9) and starts again on the same journal, its
    // new manual clock stepped exactly as before so the prices are the same.
    // Before the crash a risk pass runs every hour, so the peak is the highest
    // hourly equity; after it only one pass runs, at the crash instant. A peak
    // lost in the restart would be the equity at the start, well below.
    let state = tempfile::tempdir().expect("state dir");
    let state_dir = state.path().join("state");
    let mut gw = start_in(
        "[portfolio.alpha]\nmax_drawdown_pct = 90.0\n",
        Vec::new(),
        Some(state_dir.clone()),
    );
    fill(&gw, "alpha", "BTCUSDT", "BUY", "10");
    let start_equity = fresh_risk(&gw, "alpha").equity_usd;
    let mut moves = vec![Move::Ms];
    // Up by 0.2 % of capital, then down 0.3 % from the peak, hour by hour.
    let mut fallen = None;
    for _ in 0..24 * 60 {
        step_an_hour(&gw);
        let r = fresh_risk(&gw, "alpha");
        moves.extend([Move::Hour, Move::Ms]);
        if r.peak_equity_usd > start_equity + 0.002 * CAPITAL && r.drawdown_pct > 0.3 {
            fallen = Some(r);
            break;
        }
    }
    let fallen =
        fallen.expect("the seeded BTC path never rose 0.2 % and then fell 0.3 % in 60 days");
    let crash_ms = gw.clock.now_ms();
    assert!(
        journal_text(&gw).contains("equity_peak"),
        "no equity peak in the journal"
    );
    gw.stop();

    // Restart with a 0.3 % drawdown limit: measured from the journaled peak, the
    // same fall switches the account to reduce-only at the crash instant.
    let gw = start_in(
        "[portfolio.alpha]\nmax_drawdown_pct = 0.3\n",
        Vec::new(),
        Some(state_dir),
    );
    let (last, replay) = moves.split_last().expect("moves");
    assert!(matches!(last, Move::Ms));
    for m in replay {
        match m {
            Move::Hour => step_an_hour(&gw),
            Move::Ms => gw.clock.advance_ms(1),
        }
    }
    let after = fresh_risk(&gw, "alpha");
    assert_eq!(gw.clock.now_ms(), crash_ms, "not the crash instant");
    assert!(
        close(after.equity_usd, fallen.equity_usd, 1e-12),
        "equity {} after restart vs {} before: not the same prices",
        after.equity_usd,
        fallen.equity_usd
    );
    assert!(
        close(after.peak_equity_usd, fallen.peak_equity_usd, 1e-12),
        "peak {} after restart vs {} before",
        after.peak_equity_usd,
        fallen.peak_equity_usd
    );
    assert!(
        close(after.drawdown_pct, fallen.drawdown_pct, 1e-6),
        "drawdown {} after restart vs {} before",
        after.drawdown_pct,
        fallen.drawdown_pct
    );
    assert_eq!(account_status(&gw, "alpha")["trading_state"], "reduce_only");
}

/// Every file under the state directory, as (lossy) text.
fn journal_text(gw: &Gateway) -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
    let mut out = String::new();
    walk(&gw.state_dir, &mut out);
    out
}

/// A resting limit BUY `pct` % of the market (no fill, so no risk pass).
fn resting_buy(gw: &Gateway, key: &str, qty: &str, pct: f64) -> RawResponse {
    let px = ref_price(gw, "BTCUSDT") * pct / 100.0;
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty}&price={px:.2}&timestamp=1"
    );
    gw.send(
        &RawRequest::new("POST", "/api/v3/order")
            .header("X-MBX-APIKEY", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.into_bytes()),
    )
}

#[test]
fn orders_accepted_since_the_snapshot_count_toward_the_var_limit() {
    // Two orders that each fit under the limit but not together: the second
    // must be refused although no risk pass ran in between (resting orders do
    // not wake the task), so the order path has to add what the account did
    // since the snapshot to the order's own change.
    let gw = start("[portfolio.alpha]\ndaily_var_limit_usd = 5000.0\n");
    let r = fresh_risk(&gw, "alpha");
    let px = ref_price(&gw, "BTCUSDT");
    let sd = r.incremental.cov_diag[idx(&r, "BTC")].sqrt();
    // One order: 1-day 95% VaR of ~3000 USD.
    let qty = format!("{:.3}", 3000.0 / (Z95 * sd * px));
    let j = assert_accepted(&resting_buy(&gw, "alpha-key", &qty, 95.0));
    assert_eq!(j["status"], "NEW", "{j}");
    let before = r.computed_ms;
    let why = assert_refused(&resting_buy(&gw, "alpha-key", &qty, 94.0), "var_limit");
    assert_eq!(
        gw.app()
            .engine
            .risk
            .get(account_id(&gw, "alpha"))
            .unwrap()
            .computed_ms,
        before,
        "a risk pass ran between the orders"
    );
    let q: f64 = qty.parse().unwrap();
    let expected = Z95 * sd * 2.0 * q * px;
    let said = number_after(&why, "1-day 95% VaR would be ");
    assert!(
        (said - expected).abs() < 0.01,
        "{why}: expected {expected:.2}"
    );
}

#[test]
fn risk_check_frequency_env_makes_the_task_recompute_on_its_own() {
    // [risk] interval_s is 3600 in these tests; RISK_CHECK_FREQUENCY overrides it.
    let gw = start_with(
        "[portfolio.alpha]\ndaily_var_limit_usd = 1000000.0\nmax_snapshot_age_s = 60.0\n",
        vec![("RISK_CHECK_FREQUENCY".into(), "0.2".into())],
    );
    let id = account_id(&gw, "alpha");
    for _ in 0..2 {
        gw.clock.advance_ms(120_000);
        let t = gw.clock.now_ms();
        // No wake-up from the test: the periodic pass alone refreshes the snapshot.
        wait_until("a periodic risk pass", Duration::from_secs(20), || {
            gw.app()
                .engine
                .risk
                .get(id)
                .is_some_and(|r| r.computed_ms >= t)
        });
        assert_accepted(&probe(&gw, "alpha", "BTCUSDT", "BUY", "0.1"));
    }
}
