//! OKX v5 (`okx-v5`) over real loopback HTTP: riskgate in live mode in front of
//! a mock OKX that verifies OKX's real signature scheme.
//!
//! (a) accepted orders reach the mock byte for byte with a valid signature;
//! (b) rule refusals come back in OKX's exact error shape, never forwarded;
//! (c) fills and cancels seen in answers update positions and open orders.

mod support;

use support::mock_okx::*;
use support::venue_gateway::live_venue;
use support::*;

const ORDER: &str = "/api/v5/trade/order";
const BATCH: &str = "/api/v5/trade/batch-orders";

fn gateway(mock: &MockOkx, rules: &str) -> Gateway {
    live_venue("okx-v5", "okx", &mock.base_url(), rules, "BTCUSDT")
}

fn limit(side: &str, sz: &str, px: &str, cl: &str) -> String {
    format!(
        r#"{{"instId":"BTC-USDT","tdMode":"cash","side":"{side}","ordType":"limit","sz":"{sz}","px":"{px}","clOrdId":"{cl}"}}"#
    )
}

/// Asserts OKX's refusal shape for `rule` (HTTP 200, code "1", one entry per
/// order with `sCode` and `sMsg` = "riskgate: <rule>: ..."), and the headers.
#[track_caller]
fn assert_okx_refused(resp: &RawResponse, rule: &str, s_code: &str, orders: usize) {
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(
        resp.header("x-riskgate-rule"),
        Some(rule),
        "{}",
        resp.body_text()
    );
    let j = resp.json();
    assert_eq!(j["code"], "1", "{j}");
    assert_eq!(j["msg"], "All operations failed");
    assert!(j["inTime"].is_string() && j["outTime"].is_string(), "{j}");
    let data = j["data"].as_array().expect("data array");
    assert_eq!(data.len(), orders, "{j}");
    for d in data {
        assert_eq!(d["sCode"], s_code, "{j}");
        assert_eq!(d["ordId"], "");
        let msg = d["sMsg"].as_str().expect("sMsg");
        assert!(msg.starts_with(&format!("riskgate: {rule}: ")), "{msg}");
    }
}

#[test]
fn okx_signature_matches_an_independent_implementation() {
    // Python: base64(hmac.new(secret, ts + "POST" + path + body, sha256).digest())
    assert_eq!(
        okx_sign(
            OKX_SECRET,
            OKX_TIMESTAMP,
            "POST",
            "/api/v5/trade/order",
            br#"{"instId":"BTC-USDT"}"#
        ),
        "r2gW968MgnDHVxn8v41FGgakBK9fpftMKbV9XDa5zuQ="
    );
}

#[test]
fn accepted_orders_reach_okx_byte_for_byte() {
    let mock = MockOkx::start();
    let gw = gateway(&mock, OPEN_RULES);
    // ccxt's default: a batch of one.
    let body = format!("[{}]", limit("buy", "0.01", "60000", "rgA1"));
    let req = okx_request("POST", BATCH, &body);
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
    let j = resp.json();
    assert_eq!(j["code"], "0", "the mock verified the signature: {j}");
    assert_eq!(j["data"][0]["sCode"], "0");
    let seen = mock.server.requests_to(BATCH);
    assert_eq!(seen.len(), 1);
    assert_eq!(&seen[0].body[..], body.as_bytes(), "body byte for byte");
    for h in [
        "OK-ACCESS-KEY",
        "OK-ACCESS-SIGN",
        "OK-ACCESS-TIMESTAMP",
        "OK-ACCESS-PASSPHRASE",
    ] {
        let sent = req
            .headers
            .iter()
            .find(|(k, _)| k == h)
            .map(|(_, v)| v.as_str());
        assert_eq!(seen[0].header(h), sent, "{h}");
    }
    // The single-order endpoint, and a spot market buy sized in USDT.
    let market =
        r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"100"}"#;
    let resp = gw.send(&okx_request("POST", ORDER, market));
    assert_eq!(resp.json()["code"], "0", "{}", resp.body_text());
    assert_eq!(
        &mock.server.requests_to(ORDER)[0].body[..],
        market.as_bytes()
    );
    assert_eq!(mock.orders().len(), 2);
    // A bad signature is the exchange's business: riskgate forwards, OKX refuses.
    let mut forged = okx_request("POST", ORDER, &limit("buy", "0.02", "60000", "rgA2"));
    for (k, v) in forged.headers.iter_mut() {
        if k == "OK-ACCESS-SIGN" {
            *v = "AAAA".into();
        }
    }
    let resp = gw.send(&forged);
    assert_eq!(resp.json()["code"], "50113", "{}", resp.body_text());
    assert_eq!(mock.orders().len(), 2);
}

#[test]
fn rule_refusals_come_back_in_okx_shape() {
    let mock = MockOkx::start();
    let rules = Rules::open()
        .account("max_order_notional_usd", "1000.0")
        .build();
    let gw = gateway(&mock, &rules);
    // 0.1 BTC at 60000 = 6000 USD > 1000.
    let resp = gw.send(&okx_request(
        "POST",
        ORDER,
        &limit("buy", "0.1", "60000", "rgB1"),
    ));
    assert_okx_refused(&resp, "max_order_notional", "51008", 1);
    // A batch of one, as ccxt sends it.
    let resp = gw.send(&okx_request(
        "POST",
        BATCH,
        &format!("[{}]", limit("buy", "0.1", "60000", "rgB2")),
    ));
    assert_okx_refused(&resp, "max_order_notional", "51008", 1);
    // A spot market BUY without tgtCcy is sized in USDT: 5000 USD > 1000.
    let resp = gw.send(&okx_request(
        "POST",
        ORDER,
        r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"5000"}"#,
    ));
    assert_okx_refused(&resp, "max_order_notional", "51008", 1);
    // A batch with one order over the limit is refused whole, one entry per order.
    let two = format!(
        "[{},{}]",
        limit("buy", "0.001", "60000", "rgB3"),
        limit("buy", "0.1", "60000", "rgB4")
    );
    let resp = gw.send(&okx_request("POST", BATCH, &two));
    assert_okx_refused(&resp, "max_order_notional", "51008", 2);
    let j = resp.json();
    assert_eq!(j["data"][0]["clOrdId"], "rgB3");
    assert_eq!(j["data"][1]["clOrdId"], "rgB4");
    let first = j["data"][0]["sMsg"].as_str().unwrap_or_default();
    assert!(
        first.contains("not placed: order 1 of this batch was refused"),
        "{first}"
    );
    // Ambiguous input: a repeated field.
    let dup = r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.001","sz":"10","px":"60000"}"#;
    let resp = gw.send(&okx_request("POST", ORDER, dup));
    assert_okx_refused(&resp, "malformed_request", "51000", 1);
    // An amend of an order riskgate does not track is refused.
    let resp = gw.send(&okx_request(
        "POST",
        "/api/v5/trade/amend-order",
        r#"{"instId":"BTC-USDT","ordId":"1","newSz":"100"}"#,
    ));
    assert_okx_refused(&resp, "unknown_order", "51008", 1);
    assert!(mock.orders().is_empty(), "nothing refused reached OKX");
    assert!(mock.server.requests_to(ORDER).is_empty());
    assert!(mock.server.requests_to(BATCH).is_empty());
    // Within the limit it passes.
    let resp = gw.send(&okx_request(
        "POST",
        ORDER,
        &limit("buy", "0.01", "60000", "rgB5"),
    ));
    assert_eq!(resp.json()["code"], "0", "{}", resp.body_text());
    // So does a batch of two that fits; both orders count as open.
    let fits = format!(
        "[{},{}]",
        limit("buy", "0.002", "60000", "rgB6"),
        limit("sell", "0.003", "61000", "rgB7")
    );
    let resp = gw.send(&okx_request("POST", BATCH, &fits));
    assert_eq!(resp.json()["code"], "0", "{}", resp.body_text());
    assert_eq!(mock.orders().len(), 3);
    let label = first_account_label(&gw);
    assert_eq!(account_status(&gw, &label)["open_order_count"], 3);
}

fn btc_position(gw: &Gateway) -> f64 {
    let label = first_account_label(gw);
    let a = account_status(gw, &label);
    a["positions"]
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
    let mock = MockOkx::start();
    let gw = gateway(&mock, OPEN_RULES);
    let resp = gw.send(&okx_request(
        "POST",
        BATCH,
        &format!("[{}]", limit("buy", "0.5", "60000", "rgC1")),
    ));
    let ord_id = resp.json()["data"][0]["ordId"]
        .as_str()
        .expect("ordId")
        .to_string();
    // An ack carries no fills: the order counts as open.
    assert_eq!(open_orders(&gw), 1);
    assert_eq!(btc_position(&gw), 0.0);

    // The exchange fills it; the order-status answer passing through teaches riskgate.
    mock.fill(&ord_id, "0.5", "60000");
    let resp = gw.send(&okx_request(
        "GET",
        &format!("{ORDER}?instId=BTC-USDT&ordId={ord_id}"),
        "",
    ));
    assert_eq!(
        resp.json()["data"][0]["state"],
        "filled",
        "{}",
        resp.body_text()
    );
    assert_eq!(btc_position(&gw), 0.5);
    assert_eq!(open_orders(&gw), 0);

    // A resting sell, cancelled: the cancel ack closes it.
    let resp = gw.send(&okx_request(
        "POST",
        ORDER,
        &limit("sell", "0.2", "61000", "rgC2"),
    ));
    let sell_id = resp.json()["data"][0]["ordId"]
        .as_str()
        .expect("ordId")
        .to_string();
    assert_eq!(open_orders(&gw), 1);
    let resp = gw.send(&okx_request(
        "POST",
        "/api/v5/trade/cancel-order",
        &format!(r#"{{"instId":"BTC-USDT","ordId":"{sell_id}"}}"#),
    ));
    assert_eq!(resp.json()["code"], "0", "{}", resp.body_text());
    assert_eq!(open_orders(&gw), 0);
    assert_eq!(btc_position(&gw), 0.5);

    // A partial fill learned from the pending-orders listing.
    let resp = gw.send(&okx_request(
        "POST",
        ORDER,
        &limit("sell", "0.4", "61000", "rgC3"),
    ));
    let id3 = resp.json()["data"][0]["ordId"]
        .as_str()
        .expect("ordId")
        .to_string();
    mock.fill(&id3, "0.1", "61000");
    let resp = gw.send(&okx_request(
        "GET",
        "/api/v5/trade/orders-pending?instType=SPOT",
        "",
    ));
    assert_eq!(resp.json()["data"].as_array().map(Vec::len), Some(1));
    assert!(
        (btc_position(&gw) - 0.4).abs() < 1e-9,
        "{}",
        btc_position(&gw)
    );
    assert_eq!(open_orders(&gw), 1);
}

#[test]
fn paper_okx_answers_in_okx_format_and_is_checked() {
    let rules = Rules::open()
        .account("max_order_notional_usd", "100000.0")
        .build();
    let gw = support::venue_gateway::paper_venue("okx-v5", "okx", &rules, "BTCUSDT");
    // Market data and instruments answer from the simulated market.
    let t = gw
        .send(&RawRequest::new(
            "GET",
            "/api/v5/market/ticker?instId=BTC-USDT",
        ))
        .json();
    assert_eq!(t["code"], "0", "{t}");
    let last: f64 = t["data"][0]["last"]
        .as_str()
        .expect("last")
        .parse()
        .expect("number");
    assert!(last > 0.0);
    let i = gw
        .send(&RawRequest::new(
            "GET",
            "/api/v5/public/instruments?instType=SPOT",
        ))
        .json();
    assert!(i["data"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["instId"] == "BTC-USDT")));
    // A paper market buy (ccxt's batch of one) fills; riskgate learns the fill
    // from the order-status answer.
    let body = r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.01","tgtCcy":"base_ccy","clOrdId":"paper1"}]"#;
    let a = gw.send(&okx_request("POST", BATCH, body)).json();
    assert_eq!(a["code"], "0", "{a}");
    let id = a["data"][0]["ordId"].as_str().expect("ordId").to_string();
    let o = gw
        .send(&okx_request(
            "GET",
            &format!("{ORDER}?instId=BTC-USDT&ordId={id}"),
            "",
        ))
        .json();
    assert_eq!(o["data"][0]["state"], "filled", "{o}");
    assert!((btc_position(&gw) - 0.01).abs() < 1e-9);
    // A refusal in OKX's shape: 10 BTC is over 100 000 USD.
    let big = limit("buy", "10", &format!("{last:.1}"), "paper2");
    let resp = gw.send(&okx_request("POST", ORDER, &big));
    assert_okx_refused(&resp, "max_order_notional", "51008", 1);
}

#[test]
fn swap_orders_count_contracts_at_their_contract_value() {
    let mock = MockOkx::start();
    let gw = gateway(&mock, OPEN_RULES);
    let swap = r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"limit","sz":"2","px":"60000","clOrdId":"sw1"}"#;
    // Contract value not seen yet: refused, never forwarded.
    let resp = gw.send(&okx_request("POST", ORDER, swap));
    assert_okx_refused(&resp, "market_data_stale", "51008", 1);
    // ccxt's load_markets and fetch_ticker pass through: riskgate learns ctVal and the swap's price.
    gw.send(&RawRequest::new(
        "GET",
        "/api/v5/public/instruments?instType=SWAP",
    ));
    gw.send(&RawRequest::new(
        "GET",
        "/api/v5/market/tickers?instType=SWAP",
    ));
    let resp = gw.send(&okx_request("POST", ORDER, swap));
    assert_eq!(resp.json()["code"], "0", "{}", resp.body_text());
    assert_eq!(mock.orders().len(), 1);
    let id = resp.json()["data"][0]["ordId"]
        .as_str()
        .expect("ordId")
        .to_string();
    let label = first_account_label(&gw);
    let st = account_status(&gw, &label);
    assert_eq!(st["open_order_count"], 1, "{st}");
    // 2 contracts × 0.01 BTC, filled: a 0.02 BTC long.
    mock.fill(&id, "2", "60000");
    gw.send(&okx_request(
        "GET",
        &format!("{ORDER}?instId=BTC-USDT-SWAP&ordId={id}"),
        "",
    ));
    assert!(
        (btc_position(&gw) - 0.02).abs() < 1e-9,
        "{}",
        account_status(&gw, &label)
    );
    assert_eq!(open_orders(&gw), 0);
    // The exchange's positions listing is the truth: 5 contracts short.
    mock.book
        .positions
        .lock()
        .push(("BTC-USDT-SWAP".into(), "-5".into(), "60000".into()));
    gw.send(&okx_request(
        "GET",
        "/api/v5/account/positions?instType=SWAP",
        "",
    ));
    assert!(
        (btc_position(&gw) + 0.05).abs() < 1e-9,
        "{}",
        account_status(&gw, &label)
    );
}
