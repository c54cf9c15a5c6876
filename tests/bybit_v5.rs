//! Bybit v5 through riskgate over real loopback HTTP: riskgate in live mode in
//! front of the mock Bybit, which verifies the v5 HMAC signature (timestamp +
//! key + recvWindow + raw body) on every private request; and in paper mode.

mod support;

use support::orders::Rules;
use support::{bybit_get, bybit_post, send, Gateway, GatewayOptions, MockBybit, RawResponse};

fn bybit_live(mock: &MockBybit, rules: &str) -> Gateway {
    let g = Gateway::start(GatewayOptions {
        mode: "live",
        kind: "bybit-v5",
        upstream: Some(mock.base_url()),
        rules: vec![("limits.toml".into(), rules.into())],
        ..Default::default()
    });
    g.wait_for_price("BTCUSDT");
    g
}

fn btc_position(gw: &Gateway) -> Option<String> {
    let s = gw.status();
    let acct = s["accounts"].as_array()?.first()?.clone();
    acct["positions"]
        .as_array()?
        .iter()
        .find(|p| p["asset"] == "BTC")
        .map(|p| p["qty"].as_str().unwrap_or("").to_string())
}

#[track_caller]
fn assert_bybit_refused(resp: &RawResponse, rule: &str) -> String {
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some(rule));
    let j = resp.json();
    assert_eq!(j["retCode"], 170210, "{j}");
    assert!(j["result"].as_object().is_some_and(|o| o.is_empty()), "{j}");
    assert!(
        j["retExtInfo"].as_object().is_some_and(|o| o.is_empty()),
        "{j}"
    );
    assert!(j["time"].is_i64(), "{j}");
    let msg = j["retMsg"].as_str().unwrap();
    let prefix = format!("New order rejected. riskgate: {rule}: ");
    assert!(msg.starts_with(&prefix), "{msg}");
    msg[prefix.len()..].to_string()
}

#[test]
fn accepted_linear_order_reaches_bybit_byte_for_byte_and_fills_become_a_short() {
    let mock = MockBybit::start();
    let gw = bybit_live(&mock, &Rules::open().build());
    let body = r#"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.02","orderLinkId":"by-1"}"#;
    let req = bybit_post("/v5/order/create", body);
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let j = resp.json();
    assert_eq!(j["retCode"], 0, "{j}");
    let seen = mock.requests_to("/v5/order/create");
    assert_eq!(seen.len(), 1);
    assert_eq!(&seen[0].body[..], body.as_bytes());
    assert_eq!(
        seen[0].header("x-bapi-sign"),
        req.headers
            .iter()
            .find(|(k, _)| k == "X-BAPI-SIGN")
            .map(|(_, v)| v.as_str())
    );
    // The mock does verify: the same request with one byte changed is refused.
    let mut forged = req.clone();
    forged.body = body.replace("0.02", "0.03").into_bytes();
    let r = send(mock.addr, &forged).expect("send");
    assert_eq!(r.json()["retCode"], 10004, "{}", r.body_text());
    // The ack carries no fill: the order counts as live until a status answer.
    assert_eq!(
        gw.status()["accounts"][0]["open_orders"]
            .as_array()
            .map(|a| a.len()),
        Some(1)
    );
    let r = gw.send(&bybit_get(
        "/v5/order/realtime",
        "category=linear&orderLinkId=by-1",
    ));
    assert_eq!(
        r.json()["result"]["list"][0]["orderStatus"],
        "Filled",
        "{}",
        r.body_text()
    );
    assert_eq!(
        gw.status()["accounts"][0]["open_orders"]
            .as_array()
            .map(|a| a.len()),
        Some(0)
    );
    assert_eq!(btc_position(&gw).as_deref(), Some("-0.02"));
    // Positions answers agree.
    let r = gw.send(&bybit_get(
        "/v5/position/list",
        "category=linear&symbol=BTCUSDT",
    ));
    assert_eq!(
        r.json()["result"]["list"][0]["size"],
        "0.02",
        "{}",
        r.body_text()
    );
    assert_eq!(btc_position(&gw).as_deref(), Some("-0.02"));
}

#[test]
fn refusals_come_back_in_bybit_shape_and_are_never_forwarded() {
    let mock = MockBybit::start();
    let gw = bybit_live(&mock, &Rules::open().btc("max_order_qty", "0.5").build());
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"1"}"#,
    ));
    assert!(assert_bybit_refused(&resp, "max_order_qty").contains("0.5"));
    // A duplicated field could be read two ways: refused.
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1","qty":"10"}"#,
    ));
    assert_bybit_refused(&resp, "malformed_request");
    // Spot market buys are quote-sized by default: 50000 USDT is over the notional limit.
    let gw2 = bybit_live(
        &mock,
        &Rules::open()
            .account("max_order_notional_usd", "10000.0")
            .build(),
    );
    let resp = gw2.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"50000"}"#,
    ));
    assert_bybit_refused(&resp, "max_order_notional");
    assert_eq!(mock.requests_to("/v5/order/create").len(), 0);
    // An amend of an order riskgate does not track: refused in the same shape.
    let resp = gw.send(&bybit_post(
        "/v5/order/amend",
        r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"x","qty":"5"}"#,
    ));
    assert_bybit_refused(&resp, "unknown_order");
}

#[test]
fn a_batch_with_one_bad_order_is_refused_whole_per_order() {
    let mock = MockBybit::start();
    let gw = bybit_live(&mock, &Rules::open().btc("max_order_qty", "0.5").build());
    let bad = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1","orderLinkId":"k1"},{"symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.9","orderLinkId":"k2"}]}"#;
    let resp = gw.send(&bybit_post("/v5/order/create-batch", bad));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-riskgate-rule"), Some("max_order_qty"));
    let j = resp.json();
    assert_eq!(j["retCode"], 0, "{j}");
    let list = j["result"]["list"].as_array().unwrap();
    let ext = j["retExtInfo"]["list"].as_array().unwrap();
    assert_eq!((list.len(), ext.len()), (2, 2));
    assert_eq!(list[1]["orderLinkId"], "k2");
    assert_eq!(list[0]["orderId"], "");
    assert!(ext.iter().all(|e| e["code"] == 170210), "{j}");
    assert!(ext[1]["msg"]
        .as_str()
        .unwrap()
        .starts_with("New order rejected. riskgate: max_order_qty: "));
    assert!(ext[0]["msg"].as_str().unwrap().contains("order 1 (k2)"));
    assert_eq!(mock.requests_to("/v5/order/create-batch").len(), 0);

    let ok = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1","orderLinkId":"m1"},{"symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.2","orderLinkId":"m2"}]}"#;
    let resp = gw.send(&bybit_post("/v5/order/create-batch", ok));
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(resp.json()["retExtInfo"]["list"][1]["code"], 0);
    assert_eq!(
        &mock.requests_to("/v5/order/create-batch")[0].body[..],
        ok.as_bytes()
    );
    gw.send(&bybit_get("/v5/order/history", "category=linear"));
    assert_eq!(btc_position(&gw).as_deref(), Some("0.3"));
}

#[test]
fn cancels_release_resting_orders_and_reduce_only_closes_pass() {
    let mock = MockBybit::start();
    let gw = bybit_live(&mock, &Rules::open().btc("max_position_qty", "0.5").build());
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.4","price":"40000","timeInForce":"GTC","orderLinkId":"rest"}"#,
    ));
    assert_eq!(
        resp.header("x-riskgate-decision"),
        Some("accept"),
        "{}",
        resp.body_text()
    );
    // Worst case counts the resting buy: 0.4 + 0.2 > 0.5.
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.2"}"#,
    ));
    assert_bybit_refused(&resp, "max_position_qty");
    let resp = gw.send(&bybit_post(
        "/v5/order/cancel",
        r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"rest"}"#,
    ));
    assert_eq!(resp.json()["retCode"], 0, "{}", resp.body_text());
    assert_eq!(
        gw.status()["accounts"][0]["open_orders"]
            .as_array()
            .map(|a| a.len()),
        Some(0)
    );
    // A reduce-only order passes even in reduce-only state; a new long does not.
    gw.admin("POST", "/v1/reduce-only");
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.1","reduceOnly":true}"#,
    ));
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1"}"#,
    ));
    assert_bybit_refused(&resp, "reduce_only");
}

#[test]
fn paper_mode_answers_bybit_endpoints() {
    let gw = Gateway::start(GatewayOptions {
        mode: "paper",
        kind: "bybit-v5",
        rules: vec![("limits.toml".into(), Rules::open().build())],
        ..Default::default()
    });
    gw.wait_for_price("BTCUSDT");
    let t = send(
        gw.addr,
        &support::RawRequest::new("GET", "/v5/market/tickers?category=linear&symbol=BTCUSDT"),
    )
    .expect("ticker");
    assert!(
        t.json()["result"]["list"][0]["lastPrice"].is_string(),
        "{}",
        t.body_text()
    );
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.05","orderLinkId":"p1"}"#,
    ));
    assert_eq!(resp.json()["retCode"], 0, "{}", resp.body_text());
    gw.send(&bybit_get(
        "/v5/order/realtime",
        "category=linear&orderLinkId=p1",
    ));
    assert_eq!(btc_position(&gw).as_deref(), Some("0.05"));
}
