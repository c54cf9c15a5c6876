//! Live mode when the exchange misbehaves: unreachable, silent, 5xx, refusing,
//! or closing connections. The money question each time: is the order counted
//! as live (it may exist on the exchange) or released (it certainly does not)?
//! Not sent → released; sent but unanswered → counted with phase `unknown`
//! until an open-orders answer settles it; a 4xx refusal → released.

mod support;

use std::time::{Duration, Instant};

use support::*;

fn limit_buy(mock: &MockBinance, qty: &str, client_id: Option<&str>) -> RawRequest {
    let px = mock.market.read().price("BTCUSDT").expect("price").to_f64();
    let mut r = SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", qty)
        .param("price", &format!("{:.2}", px * 0.9));
    if let Some(id) = client_id {
        r = r.param("newClientOrderId", id);
    }
    r.in_body().build()
}

fn open_orders_request() -> RawRequest {
    SignedRequest::new("GET", "/api/v3/openOrders")
        .param("symbol", "BTCUSDT")
        .build()
}

fn account(gw: &Gateway) -> serde_json::Value {
    let st = gw.status();
    let accounts = st["accounts"].as_array().expect("accounts").clone();
    assert_eq!(accounts.len(), 1, "{st}");
    accounts[0].clone()
}

fn open_count(a: &serde_json::Value) -> u64 {
    a["open_order_count"].as_u64().expect("open_order_count")
}

fn assert_riskgate_503(resp: &RawResponse, rule: &str, code: i64) {
    assert_eq!(resp.status, 503, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some(rule));
    let j = resp.json();
    assert_eq!(j["code"], code, "{j}");
    assert!(
        j["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("riskgate: {rule}: ")),
        "{j}"
    );
}

#[test]
fn exchange_unreachable_is_503_upstream_unavailable_and_releases_the_reservation() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let req = limit_buy(&mock, "0.01", None);
    let again = limit_buy(&mock, "0.02", None);
    drop(mock); // connect refused from now on
    let resp = gw.send(&req);
    assert_riskgate_503(&resp, "upstream_unavailable", -1000);
    let a = account(&gw);
    assert_eq!(open_count(&a), 0, "not sent, so released: {a}");
    assert_eq!(a["unknown_outcome_orders"], 0);
    // The gateway keeps serving: the next attempt gets the same clean refusal.
    assert_riskgate_503(&gw.send(&again), "upstream_unavailable", -1000);
    assert_eq!(open_count(&account(&gw)), 0);
}

#[test]
fn exchange_silent_past_the_timeout_is_503_status_unknown_and_the_order_stays_counted() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    mock.control
        .hang_next(Some("/api/v3/order"), FaultWhen::AfterExecuting);
    let resp = gw.send(&limit_buy(&mock, "0.01", Some("slow-1")));
    assert_riskgate_503(&resp, "upstream_status_unknown", -1007);

    let a = account(&gw);
    assert_eq!(open_count(&a), 1, "{a}");
    assert_eq!(a["unknown_outcome_orders"], 1);
    assert_eq!(a["open_orders"][0]["phase"], "unknown");
    assert_eq!(a["open_orders"][0]["client_order_id"], "slow-1");

    // Later, the bot lists its open orders through riskgate: the order is there.
    gw.clock.advance_ms(1_000);
    let list = gw.send(&open_orders_request());
    assert_eq!(list.status, 200, "{}", list.body_text());
    assert_eq!(list.json().as_array().map(Vec::len), Some(1));
    let a = account(&gw);
    assert_eq!(open_count(&a), 1, "still open on the exchange: {a}");
    assert_eq!(a["unknown_outcome_orders"], 0, "settled: {a}");
    assert_eq!(a["open_orders"][0]["phase"], "live");
    assert!(a["open_orders"][0]["exchange_order_id"].as_i64().is_some());
}

#[test]
fn an_unknown_order_the_exchange_never_saw_is_released_by_open_orders() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    mock.control
        .hang_next(Some("/api/v3/order"), FaultWhen::BeforeExecuting);
    let resp = gw.send(&limit_buy(&mock, "0.01", None));
    assert_riskgate_503(&resp, "upstream_status_unknown", -1007);
    assert_eq!(account(&gw)["unknown_outcome_orders"], 1);

    // An open-orders answer asked for in the same millisecond as the timeout
    // cannot prove anything; one asked later can.
    gw.clock.advance_ms(1_000);
    let list = gw.send(&open_orders_request());
    assert_eq!(list.json(), serde_json::json!([]));
    let a = account(&gw);
    assert_eq!(open_count(&a), 0, "{a}");
    assert_eq!(a["unknown_outcome_orders"], 0);
}

#[test]
fn exchange_5xx_is_passed_through_and_the_order_stays_counted_as_unknown() {
    for status in [500u16, 502, 503] {
        let mock = MockBinance::start();
        let gw = Gateway::live(&mock, OPEN_RULES);
        mock.control.fail_next(1, status, Some("/api/v3/order"));
        let resp = gw.send(&limit_buy(&mock, "0.01", None));
        // The exchange's own answer, untouched.
        assert_eq!(resp.status, status);
        assert_eq!(
            resp.json(),
            serde_json::json!({"code": -1000, "msg": "An unknown error occurred while processing the request."})
        );
        assert_eq!(resp.header("x-riskgate-rule"), None);
        assert_eq!(mock.requests_to("/api/v3/order").len(), 1);
        // A 5xx is not a refusal: Binance documents it as "execution status
        // unknown", so the order stays counted and is settleable.
        let a = account(&gw);
        assert_eq!(open_count(&a), 1, "{status}: {a}");
        assert_eq!(a["open_orders"][0]["phase"], "unknown", "{status}: {a}");
        gw.clock.advance_ms(1_000);
        assert_eq!(
            gw.send(&open_orders_request()).json(),
            serde_json::json!([])
        );
        assert_eq!(
            open_count(&account(&gw)),
            0,
            "{status}: settled by the exchange's open-orders answer"
        );
    }
}

#[test]
fn exchange_4xx_refusal_is_passed_through_and_releases_the_reservation() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    // 10 BTC at ~54k USDT is far more than the mock account's 100k USDT.
    let resp = gw.send(&limit_buy(&mock, "10", None));
    assert_eq!(resp.status, 400, "{}", resp.body_text());
    assert_eq!(
        resp.json(),
        serde_json::json!({"code": -2010, "msg": "Account has insufficient balance for requested action."})
    );
    assert_eq!(
        resp.header("x-riskgate-rule"),
        None,
        "not riskgate's refusal"
    );
    let a = account(&gw);
    assert_eq!(open_count(&a), 0, "{a}");
    assert_eq!(a["unknown_outcome_orders"], 0);
}

#[test]
fn an_idle_pooled_connection_the_exchange_closed_is_replaced_and_the_order_goes_once() {
    let mock = MockBinance::start();
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            workers: 1, // one pool, so the second order meets the stale connection
            ..Default::default()
        },
    );
    let first = gw.send(&limit_buy(&mock, "0.01", None));
    assert_eq!(first.status, 200, "{}", first.body_text());
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.control.open_connections() == 0 {
        assert!(
            Instant::now() < deadline,
            "no pooled connection to the mock"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    mock.control.drop_connections();
    while mock.control.open_connections() != 0 {
        assert!(
            Instant::now() < deadline,
            "mock did not drop its connections"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = gw.send(&limit_buy(&mock, "0.02", None));
    assert_eq!(second.status, 200, "{}", second.body_text());
    assert_eq!(second.header("x-riskgate-decision"), Some("accept"));
    assert_eq!(mock.requests_to("/api/v3/order").len(), 2);
    // Both exist on the exchange exactly once.
    let listed = gw.send(&open_orders_request()).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let a = account(&gw);
    assert_eq!(open_count(&a), 2, "{a}");
    assert_eq!(a["unknown_outcome_orders"], 0);
}

#[test]
fn a_connection_closed_after_sending_is_never_retried() {
    for when in [FaultWhen::BeforeExecuting, FaultWhen::AfterExecuting] {
        let mock = MockBinance::start();
        let gw = Gateway::live(&mock, OPEN_RULES);
        mock.control.close_next(Some("/api/v3/order"), when);
        let resp = gw.send(&limit_buy(&mock, "0.01", None));
        // riskgate cannot tell whether the exchange executed it; a retry could
        // double the order, so it answers "status unknown" and keeps it counted.
        assert_riskgate_503(&resp, "upstream_status_unknown", -1007);
        assert_eq!(
            mock.requests_to("/api/v3/order").len(),
            1,
            "{when:?}: sent exactly once"
        );
        let a = account(&gw);
        assert_eq!(open_count(&a), 1, "{when:?}: {a}");
        assert_eq!(a["unknown_outcome_orders"], 1);
    }
}

#[test]
fn reads_and_cancels_during_an_outage_do_not_touch_reservations() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    assert_eq!(gw.send(&limit_buy(&mock, "0.01", None)).status, 200);
    mock.control.fail_next(1, 503, Some("/api/v3/openOrders"));
    gw.clock.advance_ms(1_000);
    let list = gw.send(&open_orders_request());
    assert_eq!(list.status, 503, "passed through");
    // A failed listing proves nothing: the order stays.
    assert_eq!(open_count(&account(&gw)), 1);
    drop(gw);
}
