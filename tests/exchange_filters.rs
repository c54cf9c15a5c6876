//! Exchange filters (`exchange_filters = true`) over real loopback HTTP: the
//! venue's lot step, tick size and minimums checked before the order leaves,
//! refused in the venue's own error shape; loaded from the paper venue's own
//! instrument list, from the exchange at start in live mode, and from the
//! bot's own `exchangeInfo` requests passing through. Also the per-exchange
//! limits in `/v1/status`.

mod support;

use std::time::{Duration, Instant};

use riskgate::model::Contract;
use support::{Gateway, MockBinance, RawRequest, SignedRequest, OPEN_RULES};

/// The permissive rules plus `exchange_filters = true` for every account.
fn rules_on() -> String {
    OPEN_RULES.replace(
        "[account.\"*\"]\n",
        "[account.\"*\"]\nexchange_filters = true\n",
    )
}

fn market_buy(qty: &str) -> RawRequest {
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "MARKET")
        .param("quantity", qty)
        .build()
}

fn limit_buy(qty: &str, price: &str) -> RawRequest {
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", qty)
        .param("price", price)
        .build()
}

/// Waits (bounded) until riskgate holds BTCUSDT's filters for the venue.
fn wait_for_filters(g: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while g
        .app()
        .engine
        .filters
        .get("binance", Contract::Spot, "BTCUSDT")
        .is_none()
    {
        assert!(Instant::now() < deadline, "filters never loaded");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn paper_mode_refuses_an_off_step_quantity_in_binance_shape_when_on_and_forwards_it_when_off() {
    // On: the paper venue's own LOT_SIZE (stepSize 0.00001) is loaded at start.
    let on = Gateway::paper(&rules_on());
    on.wait_for_price("BTCUSDT");
    let r = on.send(&market_buy("0.00012345"));
    assert_eq!(r.status, 400, "{}", r.body_text());
    assert_eq!(r.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_qty_step")
    );
    let j = r.json();
    assert_eq!(j["code"], -2010);
    assert_eq!(
        j["msg"],
        "riskgate: exchange_filter_qty_step: quantity 0.00012345 is not a multiple of step 0.00001 (BTCUSDT LOT_SIZE stepSize)"
    );
    // On step: filled by the paper exchange.
    let r = on.send(&market_buy("0.0012"));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.header("x-riskgate-decision"), Some("accept"));
    // Below the paper venue's NOTIONAL minNotional (5 USDT), applied to market orders.
    let r = on.send(&market_buy("0.00005"));
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_notional")
    );
    assert!(
        r.json()["msg"]
            .as_str()
            .unwrap()
            .contains("is below the minimum 5 (BTCUSDT NOTIONAL minNotional)"),
        "{}",
        r.body_text()
    );

    // Off (the default): riskgate forwards it, and the venue refuses it in its own words.
    let off = Gateway::paper(OPEN_RULES);
    off.wait_for_price("BTCUSDT");
    let r = off.send(&market_buy("0.00012345"));
    assert_eq!(r.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(r.status, 400, "{}", r.body_text());
    assert_eq!(r.json()["msg"], "Filter failure: LOT_SIZE");
}

#[test]
fn live_mode_loads_the_exchanges_filters_and_refuses_before_forwarding() {
    let mock = MockBinance::start();
    let g = Gateway::live(&mock, &rules_on());
    wait_for_filters(&g);
    assert!(!mock.requests_to("/api/v3/exchangeInfo").is_empty());
    // PRICE_FILTER tickSize 0.01: refused here, never sent.
    let r = g.send(&limit_buy("0.001", "60000.005"));
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_price_tick"),
        "{}",
        r.body_text()
    );
    assert!(
        r.json()["msg"].as_str().unwrap().contains(
            "price 60000.005 is not a multiple of tick 0.01 (BTCUSDT PRICE_FILTER tickSize)"
        ),
        "{}",
        r.body_text()
    );
    assert!(mock.requests_to("/api/v3/order").is_empty());
    // On every filter: forwarded byte for byte; the mock verifies the signature.
    let price = g.app().engine.prices.get("BTCUSDT").expect("price").price;
    let r = g.send(&limit_buy("0.001", &format!("{:.2}", price.to_f64() * 0.9)));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(mock.requests_to("/api/v3/order").len(), 1);
}

#[test]
fn unknown_filters_refuse_until_an_exchange_info_answer_passes_through() {
    let mock = MockBinance::start();
    // riskgate's own fetch at start fails (and is retried only after 30 s).
    mock.control.fail_next(1, 500, Some("/api/v3/exchangeInfo"));
    let g = Gateway::live(&mock, &rules_on());
    let deadline = Instant::now() + Duration::from_secs(20);
    while mock.requests_to("/api/v3/exchangeInfo").is_empty() {
        assert!(
            Instant::now() < deadline,
            "riskgate never asked for exchangeInfo"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = g.send(&market_buy("0.001"));
    assert_eq!(r.status, 400, "{}", r.body_text());
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filters_unknown")
    );
    let msg = r.json()["msg"].as_str().unwrap().to_string();
    assert!(
        msg.contains("no exchange filters loaded for BTCUSDT on binance"),
        "{msg}"
    );
    assert!(msg.contains("exchange_filters = false"), "{msg}");
    assert!(mock.requests_to("/api/v3/order").is_empty());

    // The bot's own exchangeInfo request (ccxt's load_markets) passes through
    // untouched and teaches riskgate the filters.
    let info = g.send(&RawRequest::new("GET", "/api/v3/exchangeInfo"));
    assert_eq!(info.status, 200, "{}", info.body_text());
    assert!(info.json()["symbols"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    let r = g.send(&market_buy("0.001"));
    assert_eq!(r.status, 200, "{}", r.body_text());
    let r = g.send(&market_buy("0.00012345"));
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_qty_step")
    );
}

#[test]
fn reducing_orders_pass_unknown_filters() {
    // A long position learned from the account answer; filters never loaded.
    let mock = MockBinance::start();
    mock.control.fail_next(1, 500, Some("/api/v3/exchangeInfo"));
    let g = Gateway::live(&mock, &rules_on());
    let r = g.send(&market_buy("0.01"));
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filters_unknown")
    );
    // The mock account starts with no BTC: buy some on the exchange directly,
    // then let riskgate read the balance.
    let direct = support::send(mock.addr, &market_buy("0.01")).unwrap();
    assert_eq!(direct.status, 200, "{}", direct.body_text());
    let acct = g.send(&SignedRequest::new("GET", "/api/v3/account").build());
    assert_eq!(acct.status, 200, "{}", acct.body_text());
    let sell = SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "SELL")
        .param("type", "MARKET")
        .param("quantity", "0.005")
        .build();
    let r = g.send(&sell);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.header("x-riskgate-decision"), Some("accept"));
}

#[test]
fn status_shows_each_exchange_limit_with_its_use() {
    let rules = OPEN_RULES.replace("capital_usd = 100000000.0", "capital_usd = 100000.0")
        + "\n[exchange_limits]\nbinance = 40.0\ncoinbase = 30.0\n\"*\" = 10.0\n";
    let g = Gateway::paper(&rules);
    g.wait_for_price("BTCUSDT");
    let price = g.app().engine.prices.get("BTCUSDT").expect("price").price;
    // A resting buy below the market counts as if filled: 0.1 BTC.
    let r = g.send(&limit_buy("0.1", &format!("{:.2}", price.to_f64() * 0.8)));
    assert_eq!(r.status, 200, "{}", r.body_text());
    let status = g.status();
    let limits = status["accounts"][0]["limits"]["exchange_limits"]
        .as_array()
        .expect("exchange_limits")
        .clone();
    let entry = |name: &str| {
        limits
            .iter()
            .find(|e| e["exchange"] == name)
            .unwrap_or_else(|| panic!("{name} not in {limits:?}"))
            .clone()
    };
    let binance = entry("binance");
    let used_usd = 0.1 * price.to_f64();
    assert_eq!(binance["limit_pct"], 40.0);
    assert_eq!(binance["configured"], true);
    assert!(
        (binance["used_usd"].as_f64().unwrap() - used_usd).abs() < 1e-6,
        "{binance}"
    );
    let used_pct = used_usd / 100_000.0 * 100.0;
    assert!((binance["used_pct"].as_f64().unwrap() - used_pct).abs() < 1e-9);
    assert!((binance["utilization"].as_f64().unwrap() - used_pct / 40.0).abs() < 1e-9);
    // Named in the rules but not configured: nothing held there through riskgate.
    let coinbase = entry("coinbase");
    assert_eq!(coinbase["configured"], false);
    assert_eq!(coinbase["used_usd"], 0.0);
    assert_eq!(limits.len(), 2, "{limits:?}");
}

/// The reference price of BTCUSDT with two decimals, times `factor`.
fn btc_price(g: &Gateway, factor: f64) -> String {
    let p = g.app().engine.prices.get("BTCUSDT").expect("price").price;
    format!("{:.2}", p.to_f64() * factor)
}

#[test]
fn paper_bybit_refuses_off_step_quantities_in_bybit_shape_for_spot_and_linear() {
    use support::mock_bybit::bybit_post;
    let g = support::venue_gateway::paper_venue("bybit-v5", "bybit", &rules_on(), "BTCUSDT");
    let px = btc_price(&g, 1.0);
    for (category, name, on_step) in [
        ("spot", "lotSizeFilter.basePrecision", "0.0012"),
        ("linear", "lotSizeFilter.qtyStep", "0.0013"),
    ] {
        let body = format!(
            r#"{{"category":"{category}","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.00012345","price":"{px}","timeInForce":"GTC"}}"#
        );
        let r = g.send(&bybit_post("/v5/order/create", &body));
        assert_eq!(r.status, 200, "{}", r.body_text());
        assert_eq!(
            r.header("x-riskgate-rule"),
            Some("exchange_filter_qty_step")
        );
        let j = r.json();
        assert_eq!(j["retCode"], 170210, "{j}");
        assert_eq!(
            j["retMsg"],
            format!("New order rejected. riskgate: exchange_filter_qty_step: quantity 0.00012345 is not a multiple of step 0.00001 (BTCUSDT {name})")
        );
        // On step: placed by the paper exchange.
        let ok = body.replace("0.00012345", on_step);
        let r = g.send(&bybit_post("/v5/order/create", &ok));
        assert_eq!(r.json()["retCode"], 0, "{category}: {}", r.body_text());
    }
}

#[test]
fn paper_okx_and_kraken_refuse_in_their_own_shapes() {
    use support::mock_kraken::kraken_request;
    use support::mock_okx::okx_request;
    let okx = support::venue_gateway::paper_venue("okx-v5", "okx", &rules_on(), "BTCUSDT");
    let body = format!(
        r#"{{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.00012345","px":"{}","clOrdId":"f1"}}"#,
        btc_price(&okx, 1.0)
    );
    let r = okx.send(&okx_request("POST", "/api/v5/trade/order", &body));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_qty_step")
    );
    let j = r.json();
    assert_eq!(j["code"], "1", "{j}");
    assert_eq!(
        j["data"][0]["sMsg"],
        "riskgate: exchange_filter_qty_step: quantity 0.00012345 is not a multiple of step 0.00001 (BTCUSDT lotSz)"
    );

    // Paper Kraken publishes lot_decimals 8 (any volume is on step) and its tick size.
    let kraken = support::venue_gateway::paper_venue("kraken", "kraken", &rules_on(), "BTCUSDT");
    let px = format!("{}5", btc_price(&kraken, 1.0));
    let r = kraken.send(&kraken_request(
        "/0/private/AddOrder",
        1_717_243_200_000,
        &format!("pair=XBTUSDT&type=buy&ordertype=limit&volume=0.00012345&price={px}"),
    ));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_price_tick")
    );
    let e = r.json()["error"][0].as_str().unwrap().to_string();
    assert!(
        e.starts_with("EOrder:Invalid order:riskgate: exchange_filter_price_tick: price ")
            && e.ends_with("is not a multiple of tick 0.01 (BTCUSDT tick_size)"),
        "{e}"
    );
}

#[test]
fn paper_coinbase_refuses_an_off_increment_size_in_coinbase_shape() {
    let g = support::venue_gateway::paper_venue(
        "coinbase-advanced",
        "coinbase",
        &rules_on(),
        "BTCUSDT",
    );
    let order = |size: &str, cl: &str| {
        RawRequest::new("POST", "/api/v3/brokerage/orders")
            .header("CB-ACCESS-KEY", "paper-key")
            .body(format!(
                r#"{{"client_order_id":"{cl}","product_id":"BTC-USDT","side":"BUY","order_configuration":{{"market_market_ioc":{{"base_size":"{size}"}}}}}}"#
            ))
    };
    let r = g.send(&order("0.00012345", "f1"));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(
        r.header("x-riskgate-rule"),
        Some("exchange_filter_qty_step")
    );
    let j = r.json();
    assert_eq!(j["success"], false, "{j}");
    assert_eq!(
        j["error_response"]["message"],
        "riskgate: exchange_filter_qty_step: quantity 0.00012345 is not a multiple of step 0.00001 (BTCUSDT base_increment)"
    );
    let r = g.send(&order("0.0012", "f2"));
    assert_eq!(r.json()["success"], true, "{}", r.body_text());
}
