//! The mock Binance exchange over real loopback HTTP: signatures verified as
//! Binance verifies them, paper fills, fault knobs, and the byte-exact log.

mod support;

use std::time::Duration;

use support::{
    send, send_with_timeout, sign, FaultKind, FaultWhen, MockBinance, MockOptions, RawRequest,
    SignedRequest, MOCK_START_MS, TEST_API_KEY, TEST_SECRET,
};

fn market_buy() -> SignedRequest {
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "MARKET")
        .param("quantity", "0.01")
}

fn usdt_free(mock: &MockBinance) -> String {
    let acct = send(
        mock.addr,
        &SignedRequest::new("GET", "/api/v3/account").build(),
    )
    .unwrap();
    let balances = acct.json()["balances"].as_array().unwrap().clone();
    balances.iter().find(|b| b["asset"] == "USDT").unwrap()["free"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn sign_matches_binance_documented_example() {
    // The example from Binance's API documentation (HMAC SHA256 signed endpoint).
    let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    assert_eq!(
        sign(secret, query, b""),
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    );
    // Mixed query and body: the payload is query + body, no separator.
    assert_eq!(
        sign(
            secret,
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        ),
        "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    );
}

#[test]
fn a_signed_market_order_fills_and_is_logged_byte_for_byte() {
    let mock = MockBinance::start();
    let req = market_buy().param("newClientOrderId", "bot-1").build();
    let resp = send(mock.addr, &req).unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let j = resp.json();
    assert_eq!(j["status"], "FILLED");
    assert_eq!(j["clientOrderId"], "bot-1");
    assert_eq!(j["fills"][0]["price"], "60000.00000000");
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    let log = mock.requests();
    assert_eq!(log.len(), 1);
    let got = &log[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.target(), req.target);
    assert_eq!(got.query.as_deref(), req.query());
    assert_eq!(got.header("x-mbx-apikey"), Some(TEST_API_KEY));
    assert!(got.body.is_empty());
    assert_eq!((mock.received(), mock.executed()), (1, 1));
    assert_eq!(usdt_free(&mock), "99400.00000000");
}

#[test]
fn parameters_in_the_body_and_split_across_query_and_body_verify() {
    let mock = MockBinance::start();
    let form = market_buy().in_body().build();
    let resp = send(mock.addr, &form).unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(mock.requests()[0].body.as_ref(), form.body.as_slice());

    // Half in the query, half (with the signature) in the body.
    let query = "symbol=BTCUSDT&side=SELL&type=MARKET";
    let body = format!("quantity=0.01&timestamp={MOCK_START_MS}");
    let sig = sign(TEST_SECRET, query, body.as_bytes());
    let split = RawRequest::new("POST", &format!("/api/v3/order?{query}"))
        .header("X-MBX-APIKEY", TEST_API_KEY)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("{body}&signature={sig}"));
    let resp = send(mock.addr, &split).unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json()["side"], "SELL");
    // Upper-case hex is the same signature.
    let upper = market_buy().build();
    let target = upper.target.replace(
        &upper.target[upper.target.len() - 64..],
        &upper.target[upper.target.len() - 64..].to_uppercase(),
    );
    let resp = send(mock.addr, &RawRequest { target, ..upper }).unwrap();
    assert_eq!(resp.status, 200);
}

#[test]
fn bad_or_missing_signatures_and_keys_are_refused_without_executing() {
    let mock = MockBinance::start();
    let wrong_secret = market_buy().key(TEST_API_KEY, "not-the-secret").build();
    let resp = send(mock.addr, &wrong_secret).unwrap();
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json(),
        serde_json::json!({"code": -1022, "msg": "Signature for this request is not valid."})
    );

    // A tampered parameter after signing.
    let good = market_buy().build();
    let tampered = RawRequest {
        target: good.target.replace("quantity=0.01", "quantity=0.02"),
        ..good.clone()
    };
    assert_eq!(send(mock.addr, &tampered).unwrap().json()["code"], -1022);

    let unsigned = send(mock.addr, &market_buy().unsigned().build()).unwrap();
    assert_eq!(unsigned.json()["code"], -1102);
    let no_key = send(mock.addr, &market_buy().no_key().build()).unwrap();
    assert_eq!(
        (no_key.status, no_key.json()["code"].as_i64()),
        (401, Some(-2014))
    );
    let other_key = send(mock.addr, &market_buy().key("unknown-key", "s").build()).unwrap();
    assert_eq!(
        (other_key.status, other_key.json()["code"].as_i64()),
        (401, Some(-2015))
    );

    assert_eq!(mock.executed(), 0);
    assert_eq!(mock.received(), 5);
    // Public endpoints need neither key nor signature.
    let t = send(
        mock.addr,
        &RawRequest::new("GET", "/api/v3/ticker/price?symbol=ETHUSDT"),
    )
    .unwrap();
    assert_eq!(t.json()["price"], "3000.00000000");
    assert_eq!(usdt_free(&mock), "100000.00000000");
}

#[test]
fn timestamps_are_checked_against_the_mock_clock_when_asked() {
    let mock = MockBinance::start_with(MockOptions {
        check_timestamps: true,
        ..MockOptions::default()
    });
    assert_eq!(send(mock.addr, &market_buy().build()).unwrap().status, 200);
    mock.clock.advance_ms(6_000);
    let stale = send(mock.addr, &market_buy().build()).unwrap();
    assert_eq!(stale.json()["code"], -1021);
    let wide = send(mock.addr, &market_buy().recv_window(10_000).build()).unwrap();
    assert_eq!(wide.status, 200);
    let future = send(
        mock.addr,
        &market_buy()
            .timestamp(MOCK_START_MS + 6_000 + 1_001)
            .build(),
    )
    .unwrap();
    assert_eq!(future.json()["code"], -1021);
    let missing = send(mock.addr, &market_buy().no_timestamp().build()).unwrap();
    assert_eq!(missing.json()["code"], -1102);
}

#[test]
fn queued_faults_hit_matching_requests_in_order() {
    let mock = MockBinance::start();
    mock.control.fail_next(2, 503, Some("/api/v3/order"));
    // Other paths are untouched by a path-bound fault.
    assert_eq!(
        send(mock.addr, &RawRequest::new("GET", "/api/v3/ping"))
            .unwrap()
            .status,
        200
    );
    for _ in 0..2 {
        let r = send(mock.addr, &market_buy().build()).unwrap();
        assert_eq!((r.status, r.json()["code"].as_i64()), (503, Some(-1000)));
    }
    assert_eq!(mock.executed(), 1, "only the ping executed");
    assert_eq!(send(mock.addr, &market_buy().build()).unwrap().status, 200);

    // Executed, then the answer is lost: the order exists at the exchange.
    mock.control.push_fault(
        FaultKind::Status(502),
        FaultWhen::AfterExecuting,
        Some("/api/v3/order"),
    );
    let lost = send(
        mock.addr,
        &market_buy().param("newClientOrderId", "lost-1").build(),
    )
    .unwrap();
    assert_eq!(lost.status, 502);
    let q = SignedRequest::new("GET", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("origClientOrderId", "lost-1");
    assert_eq!(
        send(mock.addr, &q.build()).unwrap().json()["status"],
        "FILLED"
    );

    // Connection closed without an answer, before and after executing.
    mock.control
        .close_next(Some("/api/v3/order"), FaultWhen::BeforeExecuting);
    assert!(send(
        mock.addr,
        &market_buy().param("newClientOrderId", "c-1").build()
    )
    .is_err());
    mock.control
        .close_next(Some("/api/v3/order"), FaultWhen::AfterExecuting);
    assert!(send(
        mock.addr,
        &market_buy().param("newClientOrderId", "c-2").build()
    )
    .is_err());
    let status = |id: &str| {
        let q = SignedRequest::new("GET", "/api/v3/order")
            .param("symbol", "BTCUSDT")
            .param("origClientOrderId", id);
        send(mock.addr, &q.build()).unwrap().json()
    };
    assert_eq!(status("c-1")["code"], -2013);
    assert_eq!(status("c-2")["status"], "FILLED");

    // A delayed answer still arrives (no timing asserted).
    mock.control.push_fault(
        FaultKind::Delay(Duration::from_millis(20)),
        FaultWhen::AfterExecuting,
        None,
    );
    assert_eq!(
        send(mock.addr, &RawRequest::new("GET", "/api/v3/time"))
            .unwrap()
            .status,
        200
    );
    assert_eq!(mock.control.pending_faults(), 0);
}

#[test]
fn a_hung_request_is_logged_and_never_answered() {
    let mock = MockBinance::start();
    mock.control
        .hang_next(Some("/api/v3/order"), FaultWhen::BeforeExecuting);
    let r = send_with_timeout(mock.addr, &market_buy().build(), Duration::from_millis(300));
    assert!(r.is_err(), "a hung request must not be answered: {r:?}");
    assert_eq!(mock.requests_to("/api/v3/order").len(), 1);
    assert_eq!(mock.executed(), 0);
    // The mock keeps serving other connections, and drops cleanly with one hung.
    assert_eq!(
        send(mock.addr, &RawRequest::new("GET", "/api/v3/ping"))
            .unwrap()
            .body,
        b"{}"
    );
}

#[test]
fn resting_orders_fill_when_the_mock_clock_moves() {
    let mock = MockBinance::start();
    let limit = SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "ETHUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", "1")
        .param("price", "2999.5");
    let placed = send(mock.addr, &limit.build()).unwrap().json();
    assert_eq!(placed["status"], "NEW");
    let id = placed["orderId"].as_i64().unwrap().to_string();
    let query = SignedRequest::new("GET", "/api/v3/order")
        .param("symbol", "ETHUSDT")
        .param("orderId", &id);
    for _ in 0..(7 * 24 * 60) {
        mock.clock.advance_ms(60_000);
        let q = send(mock.addr, &query.clone().timestamp(mock_now(&mock)).build())
            .unwrap()
            .json();
        if q["status"] == "FILLED" {
            assert_eq!(q["executedQty"], "1.00000000");
            assert_eq!(q["cummulativeQuoteQty"], "2999.50000000");
            return;
        }
    }
    panic!("limit never filled");
}

fn mock_now(mock: &MockBinance) -> i64 {
    use riskgate::clock::Clock;
    mock.clock.now_ms()
}
