//! The order path end to end over loopback: live mode in front of the
//! signature-checking mock, and paper mode.

mod support;

use support::*;

fn order(price: &str, qty: &str) -> RawRequest {
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", qty)
        .param("price", price)
        .in_body()
        .build()
}

#[test]
fn a_passing_order_reaches_the_exchange_byte_for_byte_and_its_signature_verifies() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let px = mock.market.read().price("BTCUSDT").expect("price");
    let req = order(&px.to_string(), "0.01");
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let seen = mock.requests_to("/api/v3/order");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, req.body);
    assert_eq!(seen[0].query.as_deref(), req.query());
    assert!(
        resp.json()["orderId"].as_i64().is_some(),
        "the answer is the exchange's"
    );
}

#[test]
fn a_refused_order_gets_binance_error_shape_and_never_reaches_the_exchange() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let resp = gw.send(&order("1", "0.01"));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some("price_band"));
    let j = resp.json();
    assert_eq!(j["code"], -2010);
    assert!(
        j["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with("riskgate: price_band: limit price 1 is"),
        "{j}"
    );
    assert!(mock.requests_to("/api/v3/order").is_empty());
}
