//! Kraken spot (`kraken`) over real loopback HTTP: riskgate in live mode in
//! front of a mock Kraken that verifies Kraken's real signature and nonce rules.
//!
//! (a) accepted orders reach the mock byte for byte with a valid signature;
//! (b) rule refusals come back in Kraken's exact error shape, never forwarded;
//! (c) fills and cancels seen in answers update positions and open orders.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use support::mock_kraken::*;
use support::venue_gateway::live_venue;
use support::*;

const ADD: &str = "/0/private/AddOrder";

/// Kraken nonces must increase per key: one counter per test binary.
fn nonce() -> u64 {
    static N: AtomicU64 = AtomicU64::new(1_717_243_200_000);
    N.fetch_add(1, Ordering::SeqCst)
}

fn gateway(mock: &MockKraken, rules: &str) -> Gateway {
    live_venue("kraken", "kraken", &mock.base_url(), rules, "BTCUSD")
}

fn add(params: &str) -> RawRequest {
    kraken_request(ADD, nonce(), params)
}

#[track_caller]
fn assert_kraken_refused(resp: &RawResponse, rule: &str, prefix: &str) {
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
    let errors = j["error"].as_array().expect("error array");
    assert_eq!(errors.len(), 1, "{j}");
    let e = errors[0].as_str().expect("string");
    assert!(e.starts_with(&format!("{prefix}riskgate: {rule}: ")), "{e}");
    assert_eq!(j.as_object().map(|o| o.len()), Some(2), "{j}");
}

#[test]
fn kraken_signature_matches_the_documented_example() {
    // Kraken's REST authentication guide: this key, nonce and body give this API-Sign.
    assert_eq!(
        kraken_sign(
            "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
            "/0/private/AddOrder",
            "1616492376594",
            b"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
        )
        .as_deref(),
        Some("4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==")
    );
}

#[test]
fn accepted_orders_reach_kraken_byte_for_byte() {
    let mock = MockKraken::start();
    let gw = gateway(&mock, OPEN_RULES);
    let req = add("pair=XXBTZUSD&type=buy&ordertype=limit&volume=0.01&price=60000&cl_ord_id=rg-a1");
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let j = resp.json();
    assert_eq!(
        j["error"],
        serde_json::json!([]),
        "the mock verified the signature: {j}"
    );
    assert!(j["result"]["txid"][0].is_string());
    let seen = mock.server.requests_to(ADD);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, req.body, "body byte for byte");
    for h in ["API-Key", "API-Sign"] {
        let sent = req
            .headers
            .iter()
            .find(|(k, _)| k == h)
            .map(|(_, v)| v.as_str());
        assert_eq!(seen[0].header(h), sent, "{h}");
    }
    // Other spellings of the pair, and a market buy sized in USD (viqc).
    let resp = gw.send(&add(
        "pair=XBT/USD&type=buy&ordertype=market&volume=100&oflags=viqc",
    ));
    assert_eq!(
        resp.json()["error"],
        serde_json::json!([]),
        "{}",
        resp.body_text()
    );
    // validate=true is checked and forwarded, never counted.
    let resp = gw.send(&add(
        "pair=XBTUSD&type=sell&ordertype=limit&volume=0.01&price=65000&validate=true",
    ));
    assert_eq!(
        resp.json()["error"],
        serde_json::json!([]),
        "{}",
        resp.body_text()
    );
    assert_eq!(mock.orders().len(), 2);
    let label = first_account_label(&gw);
    assert_eq!(account_status(&gw, &label)["open_order_count"], 2);
}

#[test]
fn rule_refusals_come_back_in_kraken_shape() {
    let mock = MockKraken::start();
    let rules = Rules::open()
        .account("max_order_notional_usd", "1000.0")
        .build();
    let gw = gateway(&mock, &rules);
    // 0.1 BTC at 60000 = 6000 USD > 1000.
    let resp = gw.send(&add(
        "pair=XBTUSD&type=buy&ordertype=limit&volume=0.1&price=60000",
    ));
    assert_kraken_refused(&resp, "max_order_notional", "EOrder:Invalid order:");
    // Sized in quote: 5000 USD > 1000.
    let resp = gw.send(&add(
        "pair=XXBTZUSD&type=buy&ordertype=market&volume=5000&oflags=viqc",
    ));
    assert_kraken_refused(&resp, "max_order_notional", "EOrder:Invalid order:");
    // A batch with one order over the limit is refused whole.
    let batch = |second_volume: &str| {
        let n = nonce().to_string();
        let body = format!(
            r#"{{"nonce":"{n}","pair":"XBTUSD","orders":[{{"ordertype":"limit","type":"buy","volume":"0.001","price":"60000"}},{{"ordertype":"limit","type":"buy","volume":"{second_volume}","price":"59000"}}]}}"#
        );
        kraken_signed("/0/private/AddOrderBatch", &n, &body, "application/json")
    };
    let resp = gw.send(&batch("0.1"));
    assert_kraken_refused(&resp, "max_order_notional", "EOrder:Invalid order:");
    // Relative prices and repeated fields are refused as malformed.
    let resp = gw.send(&add(
        "pair=XBTUSD&type=buy&ordertype=limit&volume=0.001&price=%2B5",
    ));
    assert_kraken_refused(&resp, "malformed_request", "EGeneral:Invalid arguments:");
    let resp = gw.send(&add(
        "pair=XBTUSD&type=buy&ordertype=market&volume=0.001&volume=10",
    ));
    assert_kraken_refused(&resp, "malformed_request", "EGeneral:Invalid arguments:");
    // An edit of an order riskgate does not track is refused; withdrawals are blocked.
    let resp = gw.send(&kraken_request(
        "/0/private/EditOrder",
        nonce(),
        "txid=O1&volume=100&pair=XBTUSD",
    ));
    assert_kraken_refused(&resp, "unknown_order", "EOrder:Invalid order:");
    let resp = gw.send(&kraken_request(
        "/0/private/Withdraw",
        nonce(),
        "asset=XBT&key=cold&amount=1",
    ));
    assert_kraken_refused(&resp, "endpoint_not_allowed", "EOrder:Invalid order:");
    assert!(mock.orders().is_empty());
    assert!(
        mock.server.requests_to(ADD).is_empty(),
        "nothing refused reached Kraken"
    );
    let resp = gw.send(&add(
        "pair=XBTUSD&type=buy&ordertype=limit&volume=0.01&price=60000",
    ));
    assert_eq!(
        resp.json()["error"],
        serde_json::json!([]),
        "{}",
        resp.body_text()
    );
    // A batch that fits is forwarded; both orders count as open.
    let resp = gw.send(&batch("0.001"));
    assert_eq!(
        resp.json()["error"],
        serde_json::json!([]),
        "{}",
        resp.body_text()
    );
    let label = first_account_label(&gw);
    assert_eq!(account_status(&gw, &label)["open_order_count"], 3);
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
fn fills_and_cancels_update_positions() {
    let mock = MockKraken::start();
    let gw = gateway(&mock, OPEN_RULES);
    let resp = gw.send(&add(
        "pair=XBTUSD&type=buy&ordertype=limit&volume=0.5&price=60000&cl_ord_id=rg-c1",
    ));
    let txid = resp.json()["result"]["txid"][0]
        .as_str()
        .expect("txid")
        .to_string();
    assert_eq!(open_orders(&gw), 1);
    assert_eq!(btc_position(&gw), 0.0);

    // Filled at the exchange; the QueryOrders answer passing through teaches riskgate.
    mock.fill(&txid, "0.50000000", "60000.0");
    let resp = gw.send(&kraken_request(
        "/0/private/QueryOrders",
        nonce(),
        &format!("txid={txid}"),
    ));
    assert_eq!(
        resp.json()["result"][&txid]["status"],
        "closed",
        "{}",
        resp.body_text()
    );
    assert_eq!(btc_position(&gw), 0.5);
    assert_eq!(open_orders(&gw), 0);

    // A resting sell, cancelled: Kraken's cancel answer is only a count, so the
    // next OpenOrders answer settles it.
    let resp = gw.send(&add(
        "pair=XBTUSD&type=sell&ordertype=limit&volume=0.2&price=61000",
    ));
    let sell = resp.json()["result"]["txid"][0]
        .as_str()
        .expect("txid")
        .to_string();
    assert_eq!(open_orders(&gw), 1);
    let resp = gw.send(&kraken_request(
        "/0/private/CancelOrder",
        nonce(),
        &format!("txid={sell}"),
    ));
    assert_eq!(resp.json()["result"]["count"], 1, "{}", resp.body_text());
    assert_eq!(
        open_orders(&gw),
        1,
        "still counted until a listing settles it"
    );
    // Listings settle only orders acked before the listing was asked for.
    gw.clock.advance_ms(1_000);
    let resp = gw.send(&kraken_request("/0/private/OpenOrders", nonce(), ""));
    assert_eq!(resp.json()["result"]["open"], serde_json::json!({}));
    assert_eq!(open_orders(&gw), 0);

    // A partial fill learned from the open-orders listing.
    let resp = gw.send(&add(
        "pair=XBTUSD&type=sell&ordertype=limit&volume=0.4&price=61000",
    ));
    let t3 = resp.json()["result"]["txid"][0]
        .as_str()
        .expect("txid")
        .to_string();
    mock.fill(&t3, "0.10000000", "61000.0");
    gw.clock.advance_ms(1_000);
    gw.send(&kraken_request("/0/private/OpenOrders", nonce(), ""));
    assert!(
        (btc_position(&gw) - 0.4).abs() < 1e-9,
        "{}",
        btc_position(&gw)
    );
    assert_eq!(open_orders(&gw), 1);

    // Balance answers set holdings (XXBT is BTC).
    mock.set_balance("XXBT", "2.0000000000");
    gw.send(&kraken_request("/0/private/Balance", nonce(), ""));
    assert_eq!(btc_position(&gw), 2.0);
}

#[test]
fn paper_kraken_answers_in_kraken_format_and_is_checked() {
    let rules = Rules::open()
        .account("max_order_notional_usd", "100000.0")
        .build();
    // The paper market's symbols are offered as Kraken USDT pairs (XBTUSDT = BTCUSDT).
    let gw = support::venue_gateway::paper_venue("kraken", "kraken", &rules, "BTCUSDT");
    let t = gw
        .send(&RawRequest::new("GET", "/0/public/Ticker?pair=XBTUSDT"))
        .json();
    let last: f64 = t["result"]["XBTUSDT"]["c"][0]
        .as_str()
        .expect("last")
        .parse()
        .expect("number");
    assert!(last > 0.0, "{t}");
    let a = gw
        .send(&add("pair=XBTUSDT&type=buy&ordertype=market&volume=0.01"))
        .json();
    assert_eq!(a["error"], serde_json::json!([]), "{a}");
    let txid = a["result"]["txid"][0].as_str().expect("txid").to_string();
    let q = gw
        .send(&kraken_request(
            "/0/private/QueryOrders",
            nonce(),
            &format!("txid={txid}"),
        ))
        .json();
    assert_eq!(q["result"][&txid]["status"], "closed", "{q}");
    assert!((btc_position(&gw) - 0.01).abs() < 1e-9);
    assert_eq!(open_orders(&gw), 0);
    // 10 BTC is over 100 000 USD: refused in Kraken's shape, never placed.
    let resp = gw.send(&add(&format!(
        "pair=XBTUSDT&type=buy&ordertype=limit&volume=10&price={last:.1}"
    )));
    assert_kraken_refused(&resp, "max_order_notional", "EOrder:Invalid order:");
}
