//! Amends that name only the order (Bybit `/v5/order/amend`, OKX
//! `amend-order`, Kraken `AmendOrder` / `EditOrder`) over real loopback HTTP:
//! riskgate in live mode in front of each venue's signature-checking mock.
//!
//! An amend that fits reaches the mock byte for byte (its signature still
//! verifies); one that breaks a limit, or names an order riskgate does not
//! track, is refused in the venue's own error shape and never forwarded; the
//! venue's answer leaves exactly the amended order counted.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use support::mock_kraken::*;
use support::mock_okx::*;
use support::venue_gateway::live_venue;
use support::*;

/// The account's open orders as (qty, exchange order id) from `/v1/status`.
fn open_orders(gw: &Gateway) -> Vec<(f64, Option<i64>)> {
    gw.status()["accounts"][0]["open_orders"]
        .as_array()
        .expect("open orders")
        .iter()
        .map(|o| {
            (
                o["qty"]
                    .as_str()
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(-1.0),
                o["exchange_order_id"].as_i64(),
            )
        })
        .collect()
}

fn qtys(gw: &Gateway) -> Vec<f64> {
    open_orders(gw).into_iter().map(|(q, _)| q).collect()
}

#[track_caller]
fn assert_forwarded_as_sent(seen: &[RecordedRequest], req: &RawRequest, sign_header: &str) {
    let last = seen.last().expect("forwarded");
    assert_eq!(last.body, req.body, "body byte for byte");
    let sent = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(sign_header))
        .map(|(_, v)| v.as_str());
    assert_eq!(last.header(sign_header), sent, "{sign_header}");
}

// ---------------------------------------------------------------- Bybit

fn bybit_gateway(mock: &MockBybit) -> Gateway {
    let g = Gateway::start(GatewayOptions {
        mode: "live",
        kind: "bybit-v5",
        upstream: Some(mock.base_url()),
        rules: vec![(
            "limits.toml".into(),
            Rules::open().any_symbol("max_order_qty", "0.5").build(),
        )],
        ..Default::default()
    });
    g.wait_for_price("BTCUSDT");
    g
}

#[track_caller]
fn assert_bybit_refused(resp: &RawResponse, rule: &str) -> String {
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(
        resp.header("x-riskgate-rule"),
        Some(rule),
        "{}",
        resp.body_text()
    );
    let j = resp.json();
    assert_eq!(j["retCode"], 170210, "{j}");
    assert_eq!(j["result"], serde_json::json!({}));
    assert_eq!(j["retExtInfo"], serde_json::json!({}));
    let msg = j["retMsg"].as_str().expect("retMsg").to_string();
    assert!(
        msg.starts_with(&format!("New order rejected. riskgate: {rule}: ")),
        "{msg}"
    );
    msg
}

#[test]
fn bybit_amends_are_checked_against_the_tracked_order() {
    let mock = MockBybit::start();
    let gw = bybit_gateway(&mock);
    let t = gw.send(&bybit_get(
        "/v5/market/tickers",
        "category=linear&symbol=BTCUSDT",
    ));
    let px: f64 = t.json()["result"]["list"][0]["lastPrice"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("price");
    let low = format!("{:.2}", px * 0.8);
    let resp = gw.send(&bybit_post(
        "/v5/order/create",
        &format!(r#"{{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"{low}","orderLinkId":"am-1"}}"#),
    ));
    assert_eq!(resp.json()["retCode"], 0, "{}", resp.body_text());
    assert_eq!(qtys(&gw), vec![0.1]);

    // Fits: forwarded untouched, and the answer replaces the old order.
    let body = r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"am-1","qty":"0.4"}"#;
    let req = bybit_post("/v5/order/amend", body);
    let resp = gw.send(&req);
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(
        resp.json()["retCode"],
        0,
        "the mock verified it: {}",
        resp.body_text()
    );
    assert_forwarded_as_sent(&mock.requests_to("/v5/order/amend"), &req, "X-BAPI-SIGN");
    assert_eq!(qtys(&gw), vec![0.4]);
    let r = gw.send(&bybit_get(
        "/v5/order/realtime",
        "category=linear&orderLinkId=am-1",
    ));
    assert_eq!(
        r.json()["result"]["list"][0]["qty"],
        "0.4",
        "{}",
        r.body_text()
    );

    // Over max_order_qty: refused in Bybit's shape, never forwarded.
    let resp = gw.send(&bybit_post(
        "/v5/order/amend",
        r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"am-1","qty":"0.9"}"#,
    ));
    assert!(assert_bybit_refused(&resp, "max_order_qty").contains("0.9"));
    // An order riskgate does not track: refused, never forwarded.
    let resp = gw.send(&bybit_post(
        "/v5/order/amend",
        r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"never-seen","qty":"0.1"}"#,
    ));
    let msg = assert_bybit_refused(&resp, "unknown_order");
    assert!(
        msg.contains("order never-seen is not among the open orders riskgate tracks"),
        "{msg}"
    );
    assert_eq!(mock.requests_to("/v5/order/amend").len(), 1);
    assert_eq!(qtys(&gw), vec![0.4]);
    // Batch amends are refused, not checked.
    let resp = gw.send(&bybit_post(
        "/v5/order/amend-batch",
        r#"{"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"am-1","qty":"0.2"}]}"#,
    ));
    assert_bybit_refused(&resp, "endpoint_not_allowed");
}

// ---------------------------------------------------------------- OKX

const OKX_AMEND: &str = "/api/v5/trade/amend-order";

#[track_caller]
fn assert_okx_refused(resp: &RawResponse, rule: &str) -> String {
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(
        resp.header("x-riskgate-rule"),
        Some(rule),
        "{}",
        resp.body_text()
    );
    let j = resp.json();
    assert_eq!(
        (j["code"].as_str(), j["msg"].as_str()),
        (Some("1"), Some("All operations failed")),
        "{j}"
    );
    let data = j["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{j}");
    assert_eq!(data[0]["sCode"], "51008", "{j}");
    let msg = data[0]["sMsg"].as_str().expect("sMsg").to_string();
    assert!(msg.starts_with(&format!("riskgate: {rule}: ")), "{msg}");
    msg
}

#[test]
fn okx_amends_are_checked_against_the_tracked_order() {
    let mock = MockOkx::start();
    let gw = live_venue(
        "okx-v5",
        "okx",
        &mock.base_url(),
        &Rules::open().any_symbol("max_order_qty", "0.5").build(),
        "BTCUSDT",
    );
    let resp = gw.send(&okx_request(
        "POST",
        "/api/v5/trade/order",
        r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.1","px":"55000","clOrdId":"okam1"}"#,
    ));
    let ord_id = resp.json()["data"][0]["ordId"]
        .as_str()
        .expect("ordId")
        .to_string();
    assert_eq!(qtys(&gw), vec![0.1]);

    let body =
        format!(r#"{{"instId":"BTC-USDT","ordId":"{ord_id}","newSz":"0.3","newPx":"56000"}}"#);
    let req = okx_request("POST", OKX_AMEND, &body);
    let resp = gw.send(&req);
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(
        resp.json()["code"],
        "0",
        "the mock verified it: {}",
        resp.body_text()
    );
    assert_forwarded_as_sent(&mock.server.requests_to(OKX_AMEND), &req, "OK-ACCESS-SIGN");
    let o = mock
        .orders()
        .into_iter()
        .find(|o| o.ord_id == ord_id)
        .expect("order");
    assert_eq!((o.sz.as_str(), o.px.as_str()), ("0.3", "56000"));
    assert_eq!(qtys(&gw), vec![0.3]);

    let resp = gw.send(&okx_request(
        "POST",
        OKX_AMEND,
        r#"{"instId":"BTC-USDT","clOrdId":"okam1","newSz":"0.8"}"#,
    ));
    assert_okx_refused(&resp, "max_order_qty");
    let resp = gw.send(&okx_request(
        "POST",
        OKX_AMEND,
        r#"{"instId":"BTC-USDT","ordId":"123456","newSz":"0.1"}"#,
    ));
    assert!(assert_okx_refused(&resp, "unknown_order").contains("123456"));
    assert_eq!(mock.server.requests_to(OKX_AMEND).len(), 1);
    // The venue refuses an amend of an order it no longer has: the amend's
    // reservation is released, the order riskgate tracks stays as it was.
    let cancel = okx_request(
        "POST",
        "/api/v5/trade/cancel-order",
        &format!(r#"{{"instId":"BTC-USDT","ordId":"{ord_id}"}}"#),
    );
    // Cancel at the mock only (riskgate does not see it), then amend.
    send(mock.server.addr, &cancel).expect("cancel at the mock");
    let resp = gw.send(&okx_request("POST", OKX_AMEND, &body));
    assert_eq!(
        resp.json()["data"][0]["sCode"],
        "51503",
        "{}",
        resp.body_text()
    );
    assert_eq!(qtys(&gw), vec![0.3]);
}

// ---------------------------------------------------------------- Kraken

fn nonce() -> u64 {
    static N: AtomicU64 = AtomicU64::new(1_717_243_200_000);
    N.fetch_add(1, Ordering::SeqCst)
}

#[track_caller]
fn assert_kraken_refused(resp: &RawResponse, rule: &str) -> String {
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(
        resp.header("x-riskgate-rule"),
        Some(rule),
        "{}",
        resp.body_text()
    );
    let j = resp.json();
    assert_eq!(j["result"], serde_json::json!({}), "{j}");
    let e = j["error"][0].as_str().expect("error").to_string();
    assert!(
        e.starts_with(&format!("EOrder:Invalid order:riskgate: {rule}: ")),
        "{e}"
    );
    e
}

#[test]
fn kraken_amends_and_edits_are_checked_against_the_tracked_order() {
    let mock = MockKraken::start();
    let gw = live_venue(
        "kraken",
        "kraken",
        &mock.base_url(),
        &Rules::open().any_symbol("max_order_qty", "0.5").build(),
        "BTCUSD",
    );
    let resp = gw.send(&kraken_request(
        "/0/private/AddOrder",
        nonce(),
        "pair=XBTUSD&type=buy&ordertype=limit&volume=0.1&price=55000&cl_ord_id=kr-1",
    ));
    let txid = resp.json()["result"]["txid"][0]
        .as_str()
        .expect("txid")
        .to_string();
    assert_eq!(qtys(&gw), vec![0.1]);

    // AmendOrder, as ccxt sends it (form body): in place, same txid.
    let req = kraken_request(
        "/0/private/AmendOrder",
        nonce(),
        &format!("txid={txid}&order_qty=0.2&limit_price=56000"),
    );
    let resp = gw.send(&req);
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(
        resp.json()["error"],
        serde_json::json!([]),
        "{}",
        resp.body_text()
    );
    assert_forwarded_as_sent(
        &mock.server.requests_to("/0/private/AmendOrder"),
        &req,
        "API-Sign",
    );
    assert_eq!(qtys(&gw), vec![0.2]);
    let by_cl = kraken_request(
        "/0/private/AmendOrder",
        nonce(),
        "cl_ord_id=kr-1&order_qty=0.9",
    );
    assert_kraken_refused(&gw.send(&by_cl), "max_order_qty");
    let unknown = kraken_request(
        "/0/private/AmendOrder",
        nonce(),
        "txid=OAAAAA-BBBBB-CCCCCC&order_qty=0.1",
    );
    assert!(
        assert_kraken_refused(&gw.send(&unknown), "unknown_order").contains("OAAAAA-BBBBB-CCCCCC")
    );
    assert_eq!(mock.server.requests_to("/0/private/AmendOrder").len(), 1);

    // EditOrder: Kraken cancels and places a new order under a new txid.
    let req = kraken_request(
        "/0/private/EditOrder",
        nonce(),
        &format!("txid={txid}&pair=XBTUSD&volume=0.3&price=55500"),
    );
    let resp = gw.send(&req);
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let new_txid = resp.json()["result"]["txid"]
        .as_str()
        .expect("new txid")
        .to_string();
    assert_ne!(new_txid, txid);
    assert_forwarded_as_sent(
        &mock.server.requests_to("/0/private/EditOrder"),
        &req,
        "API-Sign",
    );
    assert_eq!(qtys(&gw), vec![0.3]);
    // The old txid names nothing riskgate tracks now; the new one does.
    let old = kraken_request(
        "/0/private/AmendOrder",
        nonce(),
        &format!("txid={txid}&order_qty=0.1"),
    );
    assert_kraken_refused(&gw.send(&old), "unknown_order");
    let new = kraken_request(
        "/0/private/AmendOrder",
        nonce(),
        &format!("txid={new_txid}&order_qty=0.25"),
    );
    let resp = gw.send(&new);
    assert_eq!(
        resp.json()["error"],
        serde_json::json!([]),
        "{}",
        resp.body_text()
    );
    assert_eq!(qtys(&gw), vec![0.25]);
    // A listing agrees: one open order, the new one.
    let resp = gw.send(&kraken_request("/0/private/OpenOrders", nonce(), ""));
    assert_eq!(
        resp.json()["result"]["open"].as_object().map(|o| o.len()),
        Some(1)
    );
    assert_eq!(qtys(&gw), vec![0.25]);
}
