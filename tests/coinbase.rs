//! Coinbase Advanced Trade (`coinbase-advanced`) over real loopback HTTP:
//! riskgate in live mode in front of a mock Coinbase that verifies Coinbase's
//! real CDP-key JWT (ES256). The JWT's `uri` claim names the exchange's host,
//! so orders go through riskgate's proxy-URL listener, the mock being the
//! venue's configured upstream.
//!
//! (a) accepted orders reach the mock byte for byte with a valid JWT;
//! (b) rule refusals come back in Coinbase's exact failure shape, never forwarded;
//! (c) fills and batch cancels seen in answers update positions and open
//!     orders; bad input and missing credentials are refused.

mod support;

use std::net::SocketAddr;

use support::mock_coinbase::*;
use support::venue_gateway::live_venue_with_proxy_url;
use support::*;

const ORDERS: &str = "/api/v3/brokerage/orders";

fn gateway(mock: &MockCoinbase, rules: &str) -> (Gateway, SocketAddr) {
    live_venue_with_proxy_url(
        "coinbase-advanced",
        "coinbase",
        &mock.base_url(),
        rules,
        "BTCUSD",
    )
}

fn limit(side: &str, size: &str, price: &str, cl: &str) -> String {
    format!(
        r#"{{"client_order_id":"{cl}","product_id":"BTC-USD","side":"{side}","order_configuration":{{"limit_limit_gtc":{{"base_size":"{size}","limit_price":"{price}","post_only":false}}}}}}"#
    )
}

fn send(proxy: SocketAddr, req: &RawRequest) -> RawResponse {
    support::send(proxy, req).unwrap_or_else(|e| panic!("send: {e}"))
}

/// Asserts Coinbase's create-order failure shape for `rule` (HTTP 200,
/// `success: false`, `error_response` with PREVIEW_INSUFFICIENT_FUND and
/// `message` = "riskgate: <rule>: ..."), and the decision headers.
#[track_caller]
fn assert_coinbase_refused(resp: &RawResponse, rule: &str) {
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(
        resp.header("x-riskgate-rule"),
        Some(rule),
        "{}",
        resp.body_text()
    );
    let j = resp.json();
    assert_eq!(j["success"], false, "{j}");
    assert_eq!(j["failure_reason"], "UNKNOWN_FAILURE_REASON");
    assert_eq!(j["order_id"], "");
    assert!(j["order_configuration"].is_null());
    let e = &j["error_response"];
    assert_eq!(e["error"], "INSUFFICIENT_FUND", "{j}");
    assert_eq!(e["preview_failure_reason"], "PREVIEW_INSUFFICIENT_FUND");
    let msg = e["message"].as_str().expect("message");
    assert!(msg.starts_with(&format!("riskgate: {rule}: ")), "{msg}");
}

fn btc_position(gw: &Gateway) -> f64 {
    let label = first_account_label(gw);
    account_status(gw, &label)["positions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["asset"] == "BTC")
        .and_then(|p| p["qty"].as_str()?.parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn open_orders(gw: &Gateway) -> u64 {
    let label = first_account_label(gw);
    account_status(gw, &label)["open_order_count"]
        .as_u64()
        .expect("open_order_count")
}

#[test]
fn accepted_orders_reach_coinbase_byte_for_byte_with_a_valid_jwt() {
    let mock = MockCoinbase::start();
    let (gw, proxy) = gateway(&mock, OPEN_RULES);
    let host = mock.host();
    let body = limit("BUY", "0.01", "60000", "cbA1");
    let req = coinbase_request("POST", &host, ORDERS, &body);
    let resp = send(proxy, &req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let j = resp.json();
    assert_eq!(j["success"], true, "the mock verified the JWT: {j}");
    let seen = mock.server.requests_to(ORDERS);
    assert_eq!(seen.len(), 1);
    assert_eq!(&seen[0].body[..], body.as_bytes(), "body byte for byte");
    let sent_auth = req
        .headers
        .iter()
        .find(|(k, _)| k == "Authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(seen[0].header("Authorization"), sent_auth);
    assert_eq!(open_orders(&gw), 1);

    // A market buy sized in USD, and a preview: checked, forwarded, never counted.
    let market = r#"{"client_order_id":"cbA2","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"100"}}}"#;
    let resp = send(proxy, &coinbase_request("POST", &host, ORDERS, market));
    assert_eq!(resp.json()["success"], true, "{}", resp.body_text());
    // (A different size: the clock stands still, so the same order again
    // would be a duplicate.)
    let preview = r#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"150"}}}"#;
    let resp = send(
        proxy,
        &coinbase_request("POST", &host, "/api/v3/brokerage/orders/preview", preview),
    );
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.json()["preview_id"], "p-1", "{}", resp.body_text());
    assert_eq!(mock.orders().len(), 2);
    assert_eq!(open_orders(&gw), 2, "the preview is not counted");

    // Signed for riskgate's own listener instead of the exchange's host (the
    // base-URL way): forwarded, and the exchange refuses the token. The
    // reservation is released on Coinbase's 401.
    let own = gw.addr.to_string();
    let mut wrong = coinbase_request("POST", &own, ORDERS, &limit("BUY", "0.02", "60000", "cbA3"));
    wrong.target = ORDERS.to_string();
    let resp = gw.send(&wrong);
    assert_eq!(resp.status, 401, "{}", resp.body_text());
    assert_eq!(mock.orders().len(), 2);
    assert_eq!(open_orders(&gw), 2);
}

#[test]
fn rule_refusals_come_back_in_coinbase_shape() {
    let mock = MockCoinbase::start();
    let rules = Rules::open()
        .account("max_order_notional_usd", "1000.0")
        .extra("[symbols]\nblocked = [\"ETHUSD\"]\n")
        .build();
    let (gw, proxy) = gateway(&mock, &rules);
    let host = mock.host();
    let order = |body: &str| send(proxy, &coinbase_request("POST", &host, ORDERS, body));
    // 0.1 BTC at 60000 = 6000 USD > 1000.
    assert_coinbase_refused(
        &order(&limit("BUY", "0.1", "60000", "cbB1")),
        "max_order_notional",
    );
    // A market buy sized in USD counts as given: 5000 > 1000.
    assert_coinbase_refused(
        &order(
            r#"{"client_order_id":"cbB2","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"5000"}}}"#,
        ),
        "max_order_notional",
    );
    // A preview is checked like the order.
    let resp = send(
        proxy,
        &coinbase_request(
            "POST",
            &host,
            "/api/v3/brokerage/orders/preview",
            r#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"5000"}}}"#,
        ),
    );
    assert_coinbase_refused(&resp, "max_order_notional");
    // A blocked product.
    assert_coinbase_refused(
        &order(
            r#"{"client_order_id":"cbB3","product_id":"ETH-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"3000"}}}"#,
        ),
        "symbol_not_allowed",
    );
    // An edit cannot be checked yet: refused in the same shape (ccxt reads it).
    let resp = send(
        proxy,
        &coinbase_request(
            "POST",
            &host,
            "/api/v3/brokerage/orders/edit",
            r#"{"order_id":"x","size":"100"}"#,
        ),
    );
    assert_coinbase_refused(&resp, "endpoint_not_allowed");
    assert!(mock.orders().is_empty(), "nothing refused reached Coinbase");
    assert!(mock.server.requests_to(ORDERS).is_empty());

    // Within the limit it passes; the same client order id again is a duplicate.
    let ok = order(&limit("BUY", "0.01", "60000", "cbB4"));
    assert_eq!(ok.json()["success"], true, "{}", ok.body_text());
    assert_coinbase_refused(
        &order(&limit("BUY", "0.001", "60000", "cbB4")),
        "duplicate_client_order_id",
    );

    // Halted: orders refused, cancels still pass.
    let h = gw.admin("POST", "/v1/halt?reason=test");
    assert_eq!(h.status, 200, "{}", h.body_text());
    assert_coinbase_refused(
        &order(&limit("BUY", "0.001", "60000", "cbB5")),
        "trading_halted",
    );
    let id = ok.json()["success_response"]["order_id"]
        .as_str()
        .expect("order id")
        .to_string();
    let c = send(
        proxy,
        &coinbase_request(
            "POST",
            &host,
            "/api/v3/brokerage/orders/batch_cancel",
            &format!(r#"{{"order_ids":["{id}"]}}"#),
        ),
    );
    assert_eq!(c.json()["results"][0]["success"], true, "{}", c.body_text());
    assert_eq!(mock.orders().len(), 1);
}

#[test]
fn fills_and_batch_cancels_update_positions() {
    let mock = MockCoinbase::start();
    let (gw, proxy) = gateway(&mock, OPEN_RULES);
    let host = mock.host();
    let place = |body: &str| {
        let r = send(proxy, &coinbase_request("POST", &host, ORDERS, body));
        r.json()["success_response"]["order_id"]
            .as_str()
            .unwrap_or_else(|| panic!("order id: {}", r.body_text()))
            .to_string()
    };
    let get = |path: &str| send(proxy, &coinbase_request("GET", &host, path, ""));

    // An ack carries no fills: the order counts as open.
    let id = place(&limit("BUY", "0.5", "60000", "cbC1"));
    assert_eq!(open_orders(&gw), 1);
    assert_eq!(btc_position(&gw), 0.0);
    // Coinbase fills it; the historical order answer passing through teaches riskgate.
    mock.fill(&id, "0.5", "60000", true);
    let resp = get(&format!("/api/v3/brokerage/orders/historical/{id}"));
    assert_eq!(
        resp.json()["order"]["status"],
        "FILLED",
        "{}",
        resp.body_text()
    );
    assert_eq!(btc_position(&gw), 0.5);
    assert_eq!(open_orders(&gw), 0);

    // Two resting orders, cancelled in one batch: the answer names only ids,
    // which riskgate maps back to the product it saw in the create answers.
    let a = place(&limit("SELL", "0.2", "61000", "cbC2"));
    let b = place(&limit("BUY", "0.1", "59000", "cbC3"));
    assert_eq!(open_orders(&gw), 2);
    let c = send(
        proxy,
        &coinbase_request(
            "POST",
            &host,
            "/api/v3/brokerage/orders/batch_cancel",
            &format!(r#"{{"order_ids":["{a}","{b}"]}}"#),
        ),
    );
    assert_eq!(c.json()["results"][1]["success"], true, "{}", c.body_text());
    assert_eq!(open_orders(&gw), 0);
    assert_eq!(btc_position(&gw), 0.5);

    // A partial fill learned from the fills listing, then the open-orders listing.
    let d = place(&limit("SELL", "0.4", "61000", "cbC4"));
    mock.fill(&d, "0.1", "61000", false);
    let resp = get("/api/v3/brokerage/orders/historical/fills?limit=100");
    assert!(resp.json()["fills"]
        .as_array()
        .is_some_and(|f| f.len() == 2));
    assert!(
        (btc_position(&gw) - 0.4).abs() < 1e-9,
        "{}",
        btc_position(&gw)
    );
    assert_eq!(open_orders(&gw), 1);
    let resp = get("/api/v3/brokerage/orders/historical/batch?order_status=OPEN&limit=100");
    assert_eq!(resp.json()["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(open_orders(&gw), 1);

    // Balances from the accounts listing.
    mock.set_balance("BTC", "0.4");
    let resp = get("/api/v3/brokerage/accounts?limit=250");
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert!(
        (btc_position(&gw) - 0.4).abs() < 1e-9,
        "{}",
        btc_position(&gw)
    );
}

#[test]
fn bad_input_and_missing_credentials_are_refused_never_forwarded() {
    let mock = MockCoinbase::start();
    let (_gw, proxy) = gateway(&mock, OPEN_RULES);
    let host = mock.host();
    for body in [
        // two order_configuration variants
        r#"{"client_order_id":"d1","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"},"limit_limit_gtc":{"base_size":"1","limit_price":"60000"}}}"#,
        // an unknown variant
        r#"{"client_order_id":"d2","product_id":"BTC-USD","side":"BUY","order_configuration":{"trigger_bracket_gtc":{"base_size":"1","limit_price":"60000","stop_trigger_price":"59000"}}}"#,
        // non-canonical numbers
        r#"{"client_order_id":"d3","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1e-2","limit_price":"60000"}}}"#,
        r#"{"client_order_id":"d4","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":60000}}}"#,
        // a repeated size
        r#"{"client_order_id":"d5","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10","quote_size":"100000"}}}"#,
        // no size
        r#"{"client_order_id":"d6","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{}}}"#,
    ] {
        let resp = send(proxy, &coinbase_request("POST", &host, ORDERS, body));
        assert_eq!(resp.status, 400, "{body}: {}", resp.body_text());
        assert_eq!(resp.header("x-riskgate-rule"), Some("malformed_request"));
        let j = resp.json();
        assert_eq!(j["error"], "INVALID_ARGUMENT", "{j}");
        assert!(j["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("riskgate: malformed_request: ")));
    }
    // No credentials, and a token riskgate cannot read a key name from.
    let body = limit("BUY", "0.01", "60000", "d7");
    let mut none = coinbase_request("POST", &host, ORDERS, &body);
    none.headers.retain(|(k, _)| k != "Authorization");
    let resp = send(proxy, &none);
    assert_coinbase_refused(&resp, "missing_api_key");
    let mut opaque = none.clone();
    opaque
        .headers
        .push(("Authorization".into(), "Bearer not-a-jwt".into()));
    assert_coinbase_refused(&send(proxy, &opaque), "missing_api_key");
    // Withdrawals and close_position.
    let resp = send(
        proxy,
        &coinbase_request(
            "POST",
            &host,
            "/v2/accounts/acct-USD/transactions",
            r#"{"type":"send","to":"x","amount":"1","currency":"BTC"}"#,
        ),
    );
    assert_coinbase_refused(&resp, "endpoint_not_allowed");
    let resp = send(
        proxy,
        &coinbase_request(
            "POST",
            &host,
            "/api/v3/brokerage/orders/close_position",
            r#"{"client_order_id":"d8","product_id":"BIT-28JUL23-CDE","size":"1"}"#,
        ),
    );
    assert_coinbase_refused(&resp, "endpoint_not_allowed");
    assert!(mock.orders().is_empty());
    assert!(mock
        .server
        .requests()
        .iter()
        .all(|r| r.method == http::Method::GET));
}

#[test]
fn paper_coinbase_answers_in_coinbase_format_and_is_checked() {
    let rules = Rules::open()
        .account("max_order_notional_usd", "1000.0")
        .build();
    let gw =
        support::venue_gateway::paper_venue("coinbase-advanced", "coinbase", &rules, "BTCUSDT");
    let products = gw
        .send(&RawRequest::new("GET", "/api/v3/brokerage/market/products"))
        .json();
    assert!(
        products["products"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p["product_id"] == "BTC-USDT")),
        "{products}"
    );
    // Paper mode needs a key name but no valid signature: the legacy header.
    let key = |r: RawRequest| r.header("CB-ACCESS-KEY", "paper-key");
    let body = r#"{"client_order_id":"pp1","product_id":"BTC-USDT","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"0.01"}}}"#;
    let a = gw
        .send(&key(RawRequest::new("POST", ORDERS).body(body)))
        .json();
    assert_eq!(a["success"], true, "{a}");
    let id = a["order_id"].as_str().expect("order id").to_string();
    let o = gw
        .send(&key(RawRequest::new(
            "GET",
            &format!("/api/v3/brokerage/orders/historical/{id}"),
        )))
        .json();
    assert_eq!(o["order"]["status"], "FILLED", "{o}");
    assert!((btc_position(&gw) - 0.01).abs() < 1e-9);
    // Over the notional limit: refused in Coinbase's shape, never reaches paper.
    let big = r#"{"client_order_id":"pp2","product_id":"BTC-USDT","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"5000"}}}"#;
    let resp = gw.send(&key(RawRequest::new("POST", ORDERS).body(big)));
    assert_coinbase_refused(&resp, "max_order_notional");
}
