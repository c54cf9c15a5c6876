//! Every rule a bot can trigger, over real loopback HTTP in live mode in front of
//! the signature-checking mock Binance: for each rule one order that passes (and
//! reaches the exchange) and one that is refused with the exact Binance error
//! shape (status, code, `riskgate: <rule>: ` message, `X-Riskgate-Decision` and
//! `X-Riskgate-Rule` headers) and never reaches the exchange.
//!
//! Also: reducing orders pass reduce-only, open breakers, stale data, exhausted
//! daily trades, rate limits and size limits but not a halt; open orders on the
//! same side count toward the worst-case position and against "reducing"; the
//! UTC day rollover resets the daily count; rule precedence over HTTP.

mod support;

use riskgate::clock::Clock;
use support::*;

fn live(rules: &Rules) -> (MockBinance, Gateway) {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, &rules.build());
    (mock, gw)
}

/// A market BUY that fills on the mock, leaving riskgate with a long position.
fn go_long(gw: &Gateway, mock: &MockBinance, qty: &str) {
    let j = accepted_forwarded(gw, mock, &market("BUY", qty));
    assert_eq!(j["status"], "FILLED", "{j}");
    assert_ne!(
        btc_position(gw),
        "0",
        "riskgate learned no BTC position from the fill"
    );
}

fn btc_position(gw: &Gateway) -> String {
    let label = first_account_label(gw);
    let acct = account_status(gw, &label);
    acct["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .find(|p| p["asset"] == "BTC")
        .map(|p| p["qty"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| "0".into())
}

/// A price string as riskgate prints it (trailing zeros trimmed).
fn fixed(s: &str) -> String {
    riskgate::model::Fixed::parse(s).unwrap().to_string()
}

fn admin_ok(gw: &Gateway, target: &str) {
    let r = gw.admin("POST", target);
    assert_eq!(r.status, 200, "{target}: {}", r.body_text());
}

#[test]
fn trading_halted_refuses_new_orders_even_reducing_ones() {
    let (mock, gw) = live(&Rules::open());
    go_long(&gw, &mock, "0.01");
    admin_ok(&gw, "/v1/halt?reason=test");
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "trading_halted");
    assert_eq!(why, "trading is halted; only cancels pass");
    // A sell that only shrinks the long position is still refused: a halt stops everything.
    refused_not_forwarded(&gw, &mock, &market("SELL", "0.005"), "trading_halted");
    admin_ok(&gw, "/v1/resume");
    accepted_forwarded(&gw, &mock, &market("SELL", "0.005"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn symbol_not_allowed_by_block_list_and_by_allow_list() {
    let mock = MockBinance::start();
    let blocked = Gateway::live(
        &mock,
        &Rules::open()
            .extra("[symbols]\nblocked = [\"ETHUSDT\"]")
            .build(),
    );
    let why = refused_not_forwarded(
        &blocked,
        &mock,
        &market_on("ETHUSDT", "BUY", "0.01"),
        "symbol_not_allowed",
    );
    assert_eq!(why, "ETHUSDT is not allowed by the symbol rules");
    accepted_forwarded(&blocked, &mock, &market("BUY", "0.001"));
    drop(blocked);

    let allow = Gateway::live(
        &mock,
        &Rules::open()
            .extra("[symbols]\nallowed = [\"ETHUSDT\"]")
            .build(),
    );
    refused_not_forwarded(&allow, &mock, &market("BUY", "0.002"), "symbol_not_allowed");
    accepted_forwarded(&allow, &mock, &market_on("ETHUSDT", "BUY", "0.01"));
}

#[test]
fn circuit_breaker_open_pauses_new_risk_but_not_reducing_orders() {
    let rules = Rules::open()
        .breaker("enabled", "true")
        .breaker("max_move_pct", "0.001")
        .breaker("window_s", "600.0")
        .breaker("pause_s", "120.0");
    let (mock, gw) = live(&rules);
    go_long(&gw, &mock, "0.01");
    trip_breaker(&gw, &mock, "BTCUSDT");
    let until = gw
        .app()
        .engine
        .breakers
        .open_until("BTCUSDT", gw.clock.now_ms())
        .expect("open");
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "circuit_breaker_open");
    assert_eq!(
        why,
        format!("BTCUSDT paused after a large price move until {until} (unix ms)")
    );
    let px = price_pct(&mock, "BTCUSDT", 99.0);
    refused_not_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.001", &px),
        "circuit_breaker_open",
    );
    // Another symbol is not paused.
    accepted_forwarded(&gw, &mock, &market_on("ETHUSDT", "BUY", "0.01"));
    // Reducing the BTC position is always allowed.
    accepted_forwarded(&gw, &mock, &market("SELL", "0.004"));
    // A sell beyond the position would open a short: refused.
    refused_not_forwarded(&gw, &mock, &market("SELL", "0.007"), "circuit_breaker_open");
    // After the pause the symbol trades again.
    gw.clock.advance_ms(until - gw.clock.now_ms());
    accepted_forwarded(&gw, &mock, &market("BUY", "0.002"));
}

#[test]
fn reduce_only_lets_through_only_orders_that_shrink_the_position() {
    let (mock, gw) = live(&Rules::open());
    go_long(&gw, &mock, "0.01");
    admin_ok(&gw, "/v1/reduce-only?reason=test");
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "reduce_only");
    assert_eq!(
        why,
        "account is reduce-only and this BUY BTCUSDT would not reduce the position"
    );
    // More than the position would flip it short.
    refused_not_forwarded(&gw, &mock, &market("SELL", "0.011"), "reduce_only");
    accepted_forwarded(&gw, &mock, &market("SELL", "0.004"));
    assert_eq!(btc_position(&gw), "0.006");
    // A resting sell of 0.005 reduces (0.005 <= 0.006)...
    let high = price_pct(&mock, "BTCUSDT", 103.0);
    let j = accepted_forwarded(&gw, &mock, &limit("SELL", "0.005", &high));
    assert_eq!(j["status"], "NEW", "{j}");
    // ...and now counts against further sells: 0.002 could flip the position if
    // the resting sell fills first (0.006 - 0.005 = 0.001 left).
    refused_not_forwarded(&gw, &mock, &market("SELL", "0.002"), "reduce_only");
    accepted_forwarded(&gw, &mock, &market("SELL", "0.001"));
    admin_ok(&gw, "/v1/resume");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn market_data_stale_when_there_is_no_reference_price() {
    let (mock, gw) = live(&Rules::open());
    let why = refused_not_forwarded(
        &gw,
        &mock,
        &market_on("XRPUSDT", "BUY", "10"),
        "market_data_stale",
    );
    assert_eq!(why, "no reference price for XRPUSDT");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn market_data_stale_when_the_reference_price_is_too_old() {
    let (mock, gw) = live(&Rules::open().max_price_age_s("10.0"));
    go_long(&gw, &mock, "0.01");
    // The fill refreshed the price; exactly max age old is still fresh.
    gw.clock.advance_ms(10_000);
    let px = price_pct(&mock, "BTCUSDT", 98.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px));
    gw.clock.advance_ms(1_000);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.002", &px), "market_data_stale");
    assert_eq!(
        why,
        "reference price for BTCUSDT is 11.0 s old (max 10.0 s)"
    );
    // ETHUSDT's price is as old.
    refused_not_forwarded(
        &gw,
        &mock,
        &market_on("ETHUSDT", "BUY", "0.01"),
        "market_data_stale",
    );
    // Reducing the long position passes without a price.
    accepted_forwarded(&gw, &mock, &market("SELL", "0.005"));
    // A bot's own ticker request through riskgate refreshes the price.
    gw.clock.advance_ms(60_000);
    refused_not_forwarded(&gw, &mock, &limit("BUY", "0.003", &px), "market_data_stale");
    assert_eq!(ticker(&gw, "BTCUSDT").status, 200);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.003", &px));
}

#[test]
fn price_band_refuses_fat_finger_limits_both_ways() {
    let (mock, gw) = live(&Rules::open().any_symbol("price_band_pct", "5.0"));
    let reference = mock_price(&mock, "BTCUSDT");
    let inside = price_pct(&mock, "BTCUSDT", 96.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &inside));
    let high = price_pct(&mock, "BTCUSDT", 106.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.001", &high), "price_band");
    assert_eq!(
        why,
        format!(
            "limit price {} is +6.00% from reference {reference} (band ±5%)",
            fixed(&high)
        )
    );
    let low = price_pct(&mock, "BTCUSDT", 94.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("SELL", "0.001", &low), "price_band");
    assert!(
        why.starts_with(&format!(
            "limit price {} is -6.00% from reference",
            fixed(&low)
        )),
        "{why}"
    );
    // Market orders have no limit price to check.
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn duplicate_client_order_id_is_refused_even_for_a_different_order() {
    let (mock, gw) = live(&Rules::open());
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let with_id = |qty: &str, id: &str| {
        order_req(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", qty),
            ("price", &px),
            ("newClientOrderId", id),
        ])
    };
    let j = accepted_forwarded(&gw, &mock, &with_id("0.001", "bot-order-1"));
    assert_eq!(j["clientOrderId"], "bot-order-1");
    let why = refused_not_forwarded(
        &gw,
        &mock,
        &with_id("0.002", "bot-order-1"),
        "duplicate_client_order_id",
    );
    assert_eq!(why, "client order id 'bot-order-1' was already used");
    accepted_forwarded(&gw, &mock, &with_id("0.002", "bot-order-2"));
}

#[test]
fn duplicate_order_within_the_window_is_refused() {
    let (mock, gw) = live(&Rules::open().duplicate_window_s("2.0"));
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px));
    gw.clock.advance_ms(1_000);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.001", &px), "duplicate_order");
    assert_eq!(
        why,
        "identical BUY 0.001 BTCUSDT order seen within the duplicate window"
    );
    // A different price (or side, or quantity) is a different order.
    let px2 = price_pct(&mock, "BTCUSDT", 96.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px2));
    // Once the window has passed, the same order goes again.
    gw.clock.advance_ms(1_001);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px));
}

#[test]
fn max_order_qty_is_per_symbol() {
    let (mock, gw) = live(&Rules::open().btc("max_order_qty", "0.5"));
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.5", &px));
    let why = refused_not_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.50000001", &px),
        "max_order_qty",
    );
    assert_eq!(why, "quantity 0.50000001 BTCUSDT exceeds limit 0.5");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.6"), "max_order_qty");
    // No quantity limit on ETHUSDT.
    accepted_forwarded(&gw, &mock, &market_on("ETHUSDT", "BUY", "2"));
}

#[test]
fn max_order_notional_for_limit_market_and_quote_sized_orders() {
    let (mock, gw) = live(&Rules::open().account("max_order_notional_usd", "1000.0"));
    let p = mock_price(&mock, "BTCUSDT").to_f64();
    // A sell limit below the market fills at the market: valued at the reference
    // price (0.0175 x 95% = 997.50, but 0.0175 x market = 1050).
    let low = price_pct(&mock, "BTCUSDT", 95.0);
    let why = refused_not_forwarded(
        &gw,
        &mock,
        &limit("SELL", "0.0175", &low),
        "max_order_notional",
    );
    assert_eq!(
        why,
        format!(
            "order notional {:.2} USD exceeds limit 1000.00 USD",
            0.0175 * p
        )
    );
    // Limit buy: valued at its limit price.
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let pxf: f64 = px.parse().unwrap();
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.017", &px));
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.02", &px), "max_order_notional");
    assert_eq!(
        why,
        format!(
            "order notional {:.2} USD exceeds limit 1000.00 USD",
            0.02 * pxf
        )
    );
    // Market: valued at the reference price.
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.0167"), "max_order_notional");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.0166"));
    // quoteOrderQty counts as given.
    let quote = |q: &str| {
        order_req(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quoteOrderQty", q),
        ])
    };
    let why = refused_not_forwarded(&gw, &mock, &quote("1000.01"), "max_order_notional");
    assert_eq!(why, "order notional 1000.01 USD exceeds limit 1000.00 USD");
    accepted_forwarded(&gw, &mock, &quote("1000"));
    // A sell that only reduces the (now ~0.033 BTC) position passes any size limit.
    accepted_forwarded(&gw, &mock, &market("SELL", "0.03"));
}

#[test]
fn max_position_qty_counts_the_fill_and_open_orders_on_the_same_side() {
    let (mock, gw) = live(&Rules::open().btc("max_position_qty", "0.1"));
    go_long(&gw, &mock, "0.02");
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let j = accepted_forwarded(&gw, &mock, &limit("BUY", "0.05", &px));
    assert_eq!(j["status"], "NEW", "resting: {j}");
    let px2 = price_pct(&mock, "BTCUSDT", 96.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.04", &px2), "max_position_qty");
    assert_eq!(
        why,
        "worst-case position 0.11 (filled 0.02 + open orders + this) exceeds limit 0.1"
    );
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.04"), "max_position_qty");
    // Exactly at the limit passes.
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.03", &px2));
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.00001"), "max_position_qty");
    // The short side: open buys do not offset a sell's worst case
    // (0.02 - 0.13 = -0.11).
    let high = price_pct(&mock, "BTCUSDT", 103.0);
    refused_not_forwarded(
        &gw,
        &mock,
        &limit("SELL", "0.13", &high),
        "max_position_qty",
    );
}

#[test]
fn max_position_notional_counts_resting_buys() {
    let (mock, gw) = live(&Rules::open().btc("max_position_notional_usd", "6000.0"));
    let p = mock_price(&mock, "BTCUSDT").to_f64();
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.06", &px));
    let px2 = price_pct(&mock, "BTCUSDT", 96.0);
    let why = refused_not_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.05", &px2),
        "max_position_notional",
    );
    assert_eq!(
        why,
        format!(
            "worst-case position notional {:.2} USD exceeds limit 6000.00 USD",
            0.11 * p
        )
    );
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.03", &px2));
}

#[test]
fn max_position_pct_of_configured_capital() {
    let (mock, gw) = live(
        &Rules::open()
            .account("capital_usd", "10000.0")
            .account("max_single_position_pct", "50.0"),
    );
    let p = mock_price(&mock, "BTCUSDT").to_f64();
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.1", &px), "max_position_pct");
    assert_eq!(
        why,
        format!(
            "worst-case position {:.2} USD is {:.2}% of capital 10000.00 USD (limit 50%)",
            0.1 * p,
            0.1 * p / 100.0
        )
    );
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.05", &px));
    // 0.05 resting + 0.04 more = 0.09 BTC = 54%.
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.04"), "max_position_pct");
}

#[test]
fn capital_unknown_until_the_account_balances_are_seen() {
    let (mock, gw) = live(
        &Rules::open()
            .without("capital_usd")
            .account("max_single_position_pct", "10.0"),
    );
    let px = price_pct(&mock, "BTCUSDT", 97.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.01", &px), "capital_unknown");
    assert!(why.starts_with("account capital unknown"), "{why}");
    // The bot reads its balances through riskgate: 100000 USDT of equity.
    let r = get_account(&gw);
    assert_eq!(r.status, 200, "{}", r.body_text());
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.01", &px));
    // 10% of 100000 USD is 10000 USD: 0.2 BTC is over.
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.2", &px), "max_position_pct");
    assert!(
        why.contains("of capital 100000.00 USD (limit 10%)"),
        "{why}"
    );
}

#[test]
fn max_open_orders_counts_resting_orders_until_cancelled() {
    let (mock, gw) = live(&Rules::open().account("max_open_orders", "2"));
    let a = accepted_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.001", &price_pct(&mock, "BTCUSDT", 97.0)),
    );
    accepted_forwarded(
        &gw,
        &mock,
        &limit("BUY", "0.001", &price_pct(&mock, "BTCUSDT", 96.0)),
    );
    let px3 = price_pct(&mock, "BTCUSDT", 95.0);
    let why = refused_not_forwarded(&gw, &mock, &limit("BUY", "0.001", &px3), "max_open_orders");
    assert_eq!(why, "2 open orders (limit 2)");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "max_open_orders");
    // Cancelling one through riskgate frees a slot.
    let id = a["orderId"].as_i64().expect("orderId").to_string();
    let cancel = SignedRequest::new("DELETE", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("orderId", &id)
        .build();
    let r = gw.send(&cancel);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.json()["status"], "CANCELED");
    accepted_forwarded(&gw, &mock, &limit("BUY", "0.001", &px3));
}

#[test]
fn max_daily_trades_resets_at_the_utc_day_rollover() {
    let (mock, gw) = live(&Rules::open().account("max_daily_trades", "2"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.002"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.003"));
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "max_daily_trades");
    assert_eq!(why, "2 orders accepted today (UTC), limit 2");
    // Test orders are not trades.
    let test = signed_order(
        SignedRequest::new("POST", "/api/v3/order/test"),
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.001"),
        ],
    );
    let r = gw.send(&test);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.header("x-riskgate-decision"), Some("accept"));
    // Reducing the position is never blocked by the daily count.
    accepted_forwarded(&gw, &mock, &market("SELL", "0.001"));
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.004"), "max_daily_trades");
    let label = first_account_label(&gw);
    assert_eq!(
        account_status(&gw, &label)["limits"]["max_daily_trades"]["used"],
        3
    );

    // 12:00 UTC + 12 h = the next UTC midnight; one second before it is still today.
    gw.clock.advance_ms(12 * 3_600_000 - 1_000);
    assert_eq!(ticker(&gw, "BTCUSDT").status, 200); // refresh the (now stale) price
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.005"), "max_daily_trades");
    gw.clock.advance_ms(1_000);
    assert_eq!(
        account_status(&gw, &label)["limits"]["max_daily_trades"]["used"],
        0
    );
    accepted_forwarded(&gw, &mock, &market("BUY", "0.005"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.006"));
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.007"), "max_daily_trades");
}

#[test]
fn rate_limit_answers_429_with_binance_code_1015() {
    let (mock, gw) = live(
        &Rules::open()
            .account("rate_limit_orders_per_s", "1")
            .account("rate_limit_burst", "2"),
    );
    // A refused order spends no token.
    let far = price_pct(&mock, "BTCUSDT", 10.0);
    refused_not_forwarded(&gw, &mock, &limit("BUY", "0.001", &far), "price_band");
    // Back to back: the burst of 2 passes, the third is told to slow down. (The
    // rate limiter runs on real time; three loopback requests take far less than 1 s.)
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.002"));
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.003"), "rate_limit");
    assert_eq!(why, "more than 1 orders/s (burst 2)");
    // Reducing orders are not rate limited.
    accepted_forwarded(&gw, &mock, &market("SELL", "0.001"));
}

#[test]
fn missing_api_key_is_refused() {
    let (mock, gw) = live(&Rules::open());
    let no_key = signed_order(
        SignedRequest::new("POST", "/api/v3/order").no_key(),
        &[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.001"),
        ],
    );
    let why = refused_not_forwarded(&gw, &mock, &no_key, "missing_api_key");
    assert_eq!(why, "order without an API key header");
    let empty_key = RawRequest {
        headers: vec![
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("X-MBX-APIKEY".into(), String::new()),
        ],
        ..no_key.clone()
    };
    refused_not_forwarded(&gw, &mock, &empty_key, "missing_api_key");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
}

#[test]
fn a_reducing_sell_passes_every_rule_at_once_but_a_halt() {
    let rules = Rules::open()
        .account("max_daily_trades", "1")
        .account("max_open_orders", "1")
        .btc("max_order_qty", "0.001")
        .max_price_age_s("10.0")
        .breaker("enabled", "true")
        .breaker("max_move_pct", "0.001")
        .breaker("window_s", "600.0")
        .breaker("pause_s", "3000.0");
    let (mock, gw) = live(&rules);
    go_long(&gw, &mock, "0.001");
    trip_breaker(&gw, &mock, "BTCUSDT");
    gw.clock.advance_ms(60_000); // stale
    admin_ok(&gw, "/v1/reduce-only");
    refused_not_forwarded(&gw, &mock, &market("BUY", "0.001"), "circuit_breaker_open");
    accepted_forwarded(&gw, &mock, &market("SELL", "0.0005"));
    admin_ok(&gw, "/v1/halt");
    refused_not_forwarded(&gw, &mock, &market("SELL", "0.0004"), "trading_halted");
}

#[test]
fn the_first_failing_rule_in_table_order_is_reported() {
    let rules = Rules::open()
        .max_price_age_s("10.0")
        .any_symbol("price_band_pct", "5.0")
        .btc("max_order_qty", "0.01")
        .extra("[symbols]\nblocked = [\"ETHUSDT\"]");
    let (mock, gw) = live(&rules);
    // Price band (301) before max_order_qty (500).
    let far = price_pct(&mock, "BTCUSDT", 80.0);
    refused_not_forwarded(&gw, &mock, &limit("BUY", "1", &far), "price_band");
    // Stale data (300) before price band.
    gw.clock.advance_ms(11_000);
    refused_not_forwarded(&gw, &mock, &limit("BUY", "1", &far), "market_data_stale");
    // Blocked symbol (201) before stale data.
    refused_not_forwarded(
        &gw,
        &mock,
        &market_on("ETHUSDT", "BUY", "1"),
        "symbol_not_allowed",
    );
    // Halt (200) before everything.
    admin_ok(&gw, "/v1/halt");
    refused_not_forwarded(
        &gw,
        &mock,
        &market_on("ETHUSDT", "BUY", "1"),
        "trading_halted",
    );
}

#[test]
fn price_band_applies_to_the_limit_price_of_stop_and_take_profit_limit_orders() {
    // A STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT order has a limit price: once its stop
    // triggers it is a plain limit order, and a fat-fingered limit then sweeps the
    // book. The README's price_band refuses "a limit price" beyond the band.
    let (mock, gw) = live(&Rules::open().any_symbol("price_band_pct", "5.0"));
    let stop_limit = |kind: &str, side: &str, stop: &str, price: &str| {
        order_req(&[
            ("symbol", "BTCUSDT"),
            ("side", side),
            ("type", kind),
            ("timeInForce", "GTC"),
            ("quantity", "0.01"),
            ("price", price),
            ("stopPrice", stop),
        ])
    };
    let stop = price_pct(&mock, "BTCUSDT", 101.0);
    let fat = "999999";
    let why = refused_not_forwarded(
        &gw,
        &mock,
        &stop_limit("STOP_LOSS_LIMIT", "BUY", &stop, fat),
        "price_band",
    );
    assert!(why.starts_with("limit price 999999 is +"), "{why}");
    let low_stop = price_pct(&mock, "BTCUSDT", 99.0);
    refused_not_forwarded(
        &gw,
        &mock,
        &stop_limit("TAKE_PROFIT_LIMIT", "BUY", &low_stop, fat),
        "price_band",
    );
    // Within the band: accepted and resting at the exchange.
    let near = price_pct(&mock, "BTCUSDT", 102.0);
    accepted_forwarded(
        &gw,
        &mock,
        &stop_limit("STOP_LOSS_LIMIT", "BUY", &stop, &near),
    );
}

#[test]
#[ignore = "bug: an order missing from an open-orders answer is released as if it never \
            traded; a market order answered with newOrderRespType=ACK then fills without \
            riskgate ever counting the fill, and max_position_qty is bypassed (design-level: \
            needs an order-status lookup or worst-case settlement, see report)"]
fn an_acked_market_order_still_counts_toward_the_position_after_an_open_orders_listing() {
    let (mock, gw) = live(&Rules::open().btc("max_position_qty", "0.1"));
    let ack = |qty: &str| {
        order_req(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", qty),
            ("newOrderRespType", "ACK"),
        ])
    };
    accepted_forwarded(&gw, &mock, &ack("0.06"));
    // The mock filled it; the ACK answer does not say so.
    assert_eq!(
        mock.paper
            .balance(TEST_API_KEY, "BTC")
            .map(|b| b.free.to_string()),
        Some("0.06".into())
    );
    // A worst-case second buy is refused while the first is counted as open.
    refused_not_forwarded(&gw, &mock, &ack("0.05"), "max_position_qty");
    // The bot lists its open orders: the filled order is not among them.
    gw.clock.advance_ms(10);
    let list = SignedRequest::new("GET", "/api/v3/openOrders")
        .param("symbol", "BTCUSDT")
        .build();
    let r = gw.send(&list);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.json().as_array().map(Vec::len), Some(0));
    // 0.06 BTC is held at the exchange: another 0.05 would make 0.11 > 0.1.
    refused_not_forwarded(&gw, &mock, &ack("0.05"), "max_position_qty");
}

#[test]
fn environment_variables_override_the_rule_files_for_every_account() {
    let mock = MockBinance::start();
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            rules: vec![("limits.toml".into(), Rules::open().build())],
            env: vec![
                ("MAX_DAILY_TRADES".into(), "2".into()),
                ("MAX_ORDER_SIZE_USD".into(), "1000".into()),
            ],
            ..Default::default()
        },
    );
    // 0.02 BTC is over 1000 USD although the file allows 1e8.
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.02"), "max_order_notional");
    assert!(why.ends_with("exceeds limit 1000.00 USD"), "{why}");
    accepted_forwarded(&gw, &mock, &market("BUY", "0.001"));
    accepted_forwarded(&gw, &mock, &market("BUY", "0.002"));
    let why = refused_not_forwarded(&gw, &mock, &market("BUY", "0.003"), "max_daily_trades");
    assert_eq!(why, "2 orders accepted today (UTC), limit 2");
}
