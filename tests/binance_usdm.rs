//! Binance USD-M futures through riskgate over real loopback HTTP: riskgate in
//! live mode in front of the mock exchange, which verifies Binance's
//! HMAC-SHA256 signature on every `/fapi` trading request; and in paper mode.

mod support;

use support::orders::{assert_refused, Rules};
use support::{send, Gateway, GatewayOptions, MockBinance, RawRequest, SignedRequest};

fn usdm_live(mock: &MockBinance, rules: &str) -> Gateway {
    Gateway::live_with(
        mock,
        GatewayOptions {
            kind: "binance-usdm",
            rules: vec![("limits.toml".into(), rules.into())],
            ..Default::default()
        },
    )
}

fn fapi_order(params: &[(&str, &str)]) -> RawRequest {
    let mut b = SignedRequest::new("POST", "/fapi/v1/order").in_body();
    for (k, v) in params {
        b = b.param(k, v);
    }
    b.build()
}

fn fapi_orders_at(mock: &MockBinance, path: &str) -> usize {
    mock.requests_to(path)
        .iter()
        .filter(|r| r.method == http::Method::POST)
        .count()
}

/// The account's BTC position and open orders from `/v1/status`.
fn btc_position(gw: &Gateway) -> Option<String> {
    let s = gw.status();
    let acct = s["accounts"].as_array()?.first()?.clone();
    acct["positions"]
        .as_array()?
        .iter()
        .find(|p| p["asset"] == "BTC")
        .map(|p| p["qty"].as_str().unwrap_or("").to_string())
}

#[test]
fn accepted_order_reaches_the_exchange_byte_for_byte_with_a_valid_signature() {
    let mock = MockBinance::start();
    let gw = usdm_live(&mock, &Rules::open().build());
    let req = fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "MARKET"),
        ("quantity", "0.01"),
        ("newClientOrderId", "short-1"),
    ]);
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(resp.json()["status"], "FILLED");
    let seen = mock.requests_to("/fapi/v1/order");
    assert_eq!(seen.len(), 1);
    // Byte for byte: the body the bot signed is the body the exchange verified.
    assert_eq!(&seen[0].body[..], &req.body[..]);
    // The mock does verify: the same request with one byte changed is refused.
    let mut forged = req.clone();
    forged.body = String::from_utf8(forged.body.clone())
        .unwrap()
        .replace("0.01", "0.02")
        .into_bytes();
    let r = send(mock.addr, &forged).expect("send");
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (400, (-1022).into()),
        "{}",
        r.body_text()
    );
    // A short: the position is signed, per venue and instrument.
    assert_eq!(btc_position(&gw).as_deref(), Some("-0.01"));
    let d = gw.status()["accounts"][0]["derivatives"].clone();
    assert_eq!(d[0]["symbol"], "BTCUSDT", "{d}");
    assert_eq!(d[0]["qty"], "-0.01", "{d}");
}

#[test]
fn refusals_use_binance_shape_and_never_reach_the_exchange() {
    let mock = MockBinance::start();
    let gw = usdm_live(&mock, &Rules::open().btc("max_order_qty", "0.5").build());
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", "1"),
    ]));
    let reason = assert_refused(&resp, "max_order_qty");
    assert!(reason.contains("0.5"), "{reason}");
    // Unknown parameters and futures-only fields riskgate cannot vouch for.
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", "0.1"),
        ("priceMatch", "OPPONENT"),
    ]));
    assert_refused(&resp, "malformed_request");
    assert_eq!(fapi_orders_at(&mock, "/fapi/v1/order"), 0);
}

#[test]
fn a_batch_with_one_bad_order_is_refused_whole_in_the_per_order_shape() {
    let mock = MockBinance::start();
    let gw = usdm_live(&mock, &Rules::open().btc("max_order_qty", "0.5").build());
    let batch = r#"[{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.1","newClientOrderId":"b1"},{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.9","newClientOrderId":"b2"}]"#;
    let req = SignedRequest::new("POST", "/fapi/v1/batchOrders")
        .in_body()
        .param("batchOrders", batch)
        .build();
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some("max_order_qty"));
    let j = resp.json();
    let list = j.as_array().expect("one entry per order");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["code"], -2010);
    assert!(
        list[0]["msg"].as_str().unwrap().contains("order 1 (b2)"),
        "{j}"
    );
    assert!(list[1]["msg"]
        .as_str()
        .unwrap()
        .starts_with("riskgate: max_order_qty: "));
    assert_eq!(fapi_orders_at(&mock, "/fapi/v1/batchOrders"), 0);

    // A batch that fits goes through whole, signature intact, and both fills count.
    let ok = r#"[{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.1","newClientOrderId":"c1"},{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.2","newClientOrderId":"c2"}]"#;
    let req = SignedRequest::new("POST", "/fapi/v1/batchOrders")
        .in_body()
        .param("batchOrders", ok)
        .build();
    let resp = gw.send(&req);
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let j = resp.json();
    assert_eq!(j[0]["status"], "FILLED", "{j}");
    assert_eq!(j[1]["status"], "FILLED", "{j}");
    assert_eq!(
        &mock.requests_to("/fapi/v1/batchOrders")[0].body[..],
        &req.body[..]
    );
    assert_eq!(btc_position(&gw).as_deref(), Some("0.3"));
}

#[test]
fn fills_and_cancels_update_positions_and_close_position_always_passes() {
    let mock = MockBinance::start();
    let gw = usdm_live(&mock, &Rules::open().btc("max_position_qty", "0.5").build());
    let px = mock.market.read().price("BTCUSDT").expect("price").to_f64();
    // A resting buy far below the market, then its cancel.
    let resting = fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.4"),
        ("price", &format!("{:.2}", px * 0.7)),
        ("newClientOrderId", "rest-1"),
    ]);
    let resp = gw.send(&resting);
    assert_eq!(resp.json()["status"], "NEW", "{}", resp.body_text());
    let open = gw.status()["accounts"][0]["open_orders"].clone();
    assert_eq!(open.as_array().map(|a| a.len()), Some(1), "{open}");
    // Worst case counts the resting order: another 0.2 would make 0.6 > 0.5.
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", "0.2"),
    ]));
    assert_refused(&resp, "max_position_qty");
    let cancel = SignedRequest::new("DELETE", "/fapi/v1/order")
        .param("symbol", "BTCUSDT")
        .param("origClientOrderId", "rest-1")
        .build();
    let resp = gw.send(&cancel);
    assert_eq!(resp.json()["status"], "CANCELED", "{}", resp.body_text());
    let open = gw.status()["accounts"][0]["open_orders"].clone();
    assert_eq!(open.as_array().map(|a| a.len()), Some(0), "{open}");
    // Now it fits; it fills and the position follows.
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", "0.2"),
    ]));
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(btc_position(&gw).as_deref(), Some("0.2"));
    // Halt-free reduce-only state: a closePosition stop passes, a new long does not.
    let r = gw.admin("POST", "/v1/reduce-only");
    assert_eq!(r.status, 200, "{}", r.body_text());
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "STOP_MARKET"),
        ("stopPrice", &format!("{:.2}", px * 0.9)),
        ("closePosition", "true"),
    ]));
    assert_eq!(
        resp.header("x-riskgate-decision"),
        Some("accept"),
        "{}",
        resp.body_text()
    );
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", "0.01"),
    ]));
    assert_refused(&resp, "reduce_only");
    // Positions learned from the exchange's own positionRisk answer.
    let pr = gw.send(&SignedRequest::new("GET", "/fapi/v2/positionRisk").build());
    assert_eq!(pr.status, 200, "{}", pr.body_text());
    assert_eq!(btc_position(&gw).as_deref(), Some("0.2"));
}

#[test]
fn paper_mode_answers_futures_endpoints() {
    let gw = Gateway::start(GatewayOptions {
        mode: "paper",
        kind: "binance-usdm",
        rules: vec![("limits.toml".into(), Rules::open().build())],
        ..Default::default()
    });
    gw.wait_for_price("BTCUSDT");
    let t = send(
        gw.addr,
        &RawRequest::new("GET", "/fapi/v1/ticker/price?symbol=BTCUSDT"),
    )
    .expect("ticker");
    assert_eq!(t.status, 200);
    assert!(t.json()["price"].is_string());
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "MARKET"),
        ("quantity", "0.05"),
    ]));
    assert_eq!(resp.json()["status"], "FILLED", "{}", resp.body_text());
    let pr = gw.send(&SignedRequest::new("GET", "/fapi/v2/positionRisk").build());
    assert_eq!(pr.json()[0]["positionAmt"], "-0.05", "{}", pr.body_text());
    assert_eq!(btc_position(&gw).as_deref(), Some("-0.05"));
}

#[test]
fn an_amend_is_checked_as_the_new_order_and_replaces_the_old_once_answered() {
    let mock = MockBinance::start();
    let gw = usdm_live(&mock, &Rules::open().btc("max_position_qty", "0.5").build());
    let px = mock.market.read().price("BTCUSDT").expect("price").to_f64();
    let low = format!("{:.2}", px * 0.7);
    let resp = gw.send(&fapi_order(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.3"),
        ("price", &low),
        ("newClientOrderId", "am-1"),
    ]));
    assert_eq!(resp.json()["status"], "NEW", "{}", resp.body_text());
    let amend = |qty: &str| {
        SignedRequest::new("PUT", "/fapi/v1/order")
            .in_body()
            .param("symbol", "BTCUSDT")
            .param("origClientOrderId", "am-1")
            .param("side", "BUY")
            .param("quantity", qty)
            .param("price", &low)
            .build()
    };
    // Old 0.3 and new 0.15 both count until the answer: 0.45 fits under 0.5.
    let resp = gw.send(&amend("0.15"));
    assert_eq!(
        resp.header("x-riskgate-decision"),
        Some("accept"),
        "{}",
        resp.body_text()
    );
    assert_eq!(resp.json()["origQty"], "0.15");
    // The answer replaced the old order: one open order of 0.15 remains.
    let open = gw.status()["accounts"][0]["open_orders"].clone();
    assert_eq!(open.as_array().map(|a| a.len()), Some(1), "{open}");
    // 0.15 now + 0.4 amended = 0.55 > 0.5: refused, never forwarded.
    let before = mock.requests_to("/fapi/v1/order").len();
    let resp = gw.send(&amend("0.4"));
    assert_refused(&resp, "max_position_qty");
    assert_eq!(mock.requests_to("/fapi/v1/order").len(), before);
    // The amended order is still found by its client id: its cancel settles it.
    let resp = gw.send(
        &SignedRequest::new("DELETE", "/fapi/v1/order")
            .param("symbol", "BTCUSDT")
            .param("origClientOrderId", "am-1")
            .build(),
    );
    assert_eq!(resp.json()["status"], "CANCELED", "{}", resp.body_text());
    let open = gw.status()["accounts"][0]["open_orders"].clone();
    assert_eq!(open.as_array().map(|a| a.len()), Some(0), "{open}");
}
