//! Hostile and broken input, live mode in front of the mock: every request
//! riskgate cannot read unambiguously is refused in Binance's error shape,
//! never reaches the exchange, and never takes the gateway down. Reads pass
//! untouched. Slow clients are cut off without stalling others; connections
//! beyond `max_connections` get a venue-format 503.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;

/// A valid MARKET order's parameters (unsigned: none of these get forwarded).
const GOOD: &str = "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&timestamp=1717243200000";

fn post(target: &str, body: impl Into<Vec<u8>>) -> RawRequest {
    RawRequest::new("POST", target)
        .header("X-MBX-APIKEY", TEST_API_KEY)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
}

/// Requests the mock received other than riskgate's own ticker polls.
fn forwarded(mock: &MockBinance) -> Vec<String> {
    mock.requests()
        .iter()
        .filter(|r| !(r.path == "/api/v3/ticker/price" && r.header("x-mbx-apikey").is_none()))
        .map(|r| format!("{} {}", r.method, r.target()))
        .collect()
}

/// Asserts a venue-format refusal by `rule` with HTTP `status`, and that nothing was forwarded.
fn assert_refused(
    gw: &Gateway,
    mock: &MockBinance,
    req: &RawRequest,
    status: u16,
    rule: &str,
) -> serde_json::Value {
    let what = format!(
        "{} {} body={:?}",
        req.method,
        req.target,
        String::from_utf8_lossy(&req.body)
    );
    let resp = gw.send(req);
    assert_eq!(resp.status, status, "{what}: {}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"), "{what}");
    assert_eq!(resp.header("x-riskgate-rule"), Some(rule), "{what}");
    assert!(
        resp.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}"
    );
    let j = resp.json();
    assert!(j["code"].is_i64(), "{what}: {}", resp.body_text());
    assert!(
        j["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("riskgate: {rule}: ")),
        "{what}: {j}"
    );
    assert_eq!(forwarded(mock), Vec::<String>::new(), "{what}: forwarded");
    j
}

/// The gateway still works: a valid signed order passes and reaches the exchange.
fn assert_still_serving(gw: &Gateway, mock: &MockBinance) {
    // Past the duplicate-order window of the previous check's identical order.
    gw.clock.advance_ms(1_000);
    let px = mock.market.read().price("BTCUSDT").expect("price");
    let req = SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", "0.01")
        .param("price", &px.to_string())
        .in_body()
        .build();
    let resp = gw.send(&req);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
}

#[test]
fn oversized_bodies_get_413_in_binance_shape() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let mut body = GOOD.as_bytes().to_vec();
    body.extend_from_slice(b"&newClientOrderId=");
    body.resize(64 * 1024 + 1, b'a');
    let j = assert_refused(
        &gw,
        &mock,
        &post("/api/v3/order", body),
        413,
        "body_too_large",
    );
    assert_eq!(j["code"], -2010);

    // A Content-Length far over the limit is refused without waiting for the body.
    let mut s = TcpStream::connect(gw.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        format!(
            "POST /api/v3/order HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: {TEST_API_KEY}\r\nContent-Length: 100000000\r\n\r\nsymbol=BTC"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).expect("an answer, not a hang");
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("body_too_large"), "{head}");
    drop(s);
    assert_eq!(forwarded(&mock), Vec::<String>::new());
    assert_still_serving(&gw, &mock);
}

#[test]
fn ambiguous_or_malformed_orders_are_refused_as_malformed_request() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let with = |extra: &str| format!("{GOOD}&{extra}");
    let qty = |q: &str| GOOD.replace("quantity=0.01", &format!("quantity={q}"));
    let body_cases: Vec<Vec<u8>> = vec![
        // Duplicated parameters, in one place or spelled differently.
        with("quantity=1000").into_bytes(),
        with("quantit%79=1000").into_bytes(),
        with("symbol=ETHUSDT").into_bytes(),
        // Non-canonical numbers.
        qty("1e3").into_bytes(),
        qty("NaN").into_bytes(),
        qty("inf").into_bytes(),
        qty("-1").into_bytes(),
        qty("%2B1").into_bytes(),
        qty(".5").into_bytes(),
        qty("1.").into_bytes(),
        qty("1.000000001").into_bytes(),
        qty("0x10").into_bytes(),
        qty("01").into_bytes(),
        qty("1%2C5").into_bytes(),
        qty("%201").into_bytes(),
        qty("").into_bytes(),
        qty("0").into_bytes(),
        qty("99999999999999999999").into_bytes(),
        // Unknown order type, parameter, side; bad symbol.
        GOOD.replace("type=MARKET", "type=OCO").into_bytes(),
        GOOD.replace("type=MARKET", "type=market").into_bytes(),
        GOOD.replace("side=BUY", "side=buy").into_bytes(),
        with("leverage=100").into_bytes(),
        with("reduceOnly=true").into_bytes(),
        with("Quantity=1000").into_bytes(),
        GOOD.replace("BTCUSDT", "btcusdt").into_bytes(),
        GOOD.replace("BTCUSDT", "BTC-USDT").into_bytes(),
        // Malformed form encoding.
        with("=5").into_bytes(),
        with("newClientOrderId=%zz").into_bytes(),
        with("newClientOrderId=%4").into_bytes(),
        with("newClientOrderId=%").into_bytes(),
        with("newClientOrderId=%FF%FE").into_bytes(),
        b"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=\xff\xfe".to_vec(),
        b"{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\",\"quantity\":\"1\"}"
            .to_vec(),
        // More than 48 parameters.
        (0..49)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes(),
    ];
    for body in body_cases {
        let j = assert_refused(
            &gw,
            &mock,
            &post("/api/v3/order", body),
            400,
            "malformed_request",
        );
        assert_eq!(j["code"], -2010);
    }
    // Once in the query and once in the body.
    for (query, body) in [
        ("quantity=1000", GOOD.to_string()),
        ("symbol=ETHUSDT", GOOD.to_string()),
        ("timestamp=1", GOOD.to_string()),
        ("signature=00", format!("{GOOD}&signature=11")),
    ] {
        assert_refused(
            &gw,
            &mock,
            &post(&format!("/api/v3/order?{query}"), body),
            400,
            "malformed_request",
        );
    }
    // Malformed queries (no body).
    for query in [
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&quantity=0.01",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=%ZZ",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&x=%C3%28",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1e-3",
    ] {
        assert_refused(
            &gw,
            &mock,
            &post(&format!("/api/v3/order?{query}"), ""),
            400,
            "malformed_request",
        );
    }
    // The same checks guard test orders and cancels.
    assert_refused(
        &gw,
        &mock,
        &post("/api/v3/order/test", qty("1e3")),
        400,
        "malformed_request",
    );
    let cancel = RawRequest::new("DELETE", "/api/v3/order?symbol=BTCUSDT&orderId=1&orderId=2")
        .header("X-MBX-APIKEY", TEST_API_KEY);
    assert_refused(&gw, &mock, &cancel, 400, "malformed_request");
    assert_still_serving(&gw, &mock);
}

#[test]
fn an_order_without_an_api_key_is_refused() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    for key_header in [None, Some("")] {
        let mut req = RawRequest::new("POST", "/api/v3/order")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(GOOD);
        if let Some(k) = key_header {
            req = req.header("X-MBX-APIKEY", k);
        }
        let j = assert_refused(&gw, &mock, &req, 400, "missing_api_key");
        assert_eq!(j["code"], -2010);
    }
    assert_still_serving(&gw, &mock);
}

#[test]
fn unknown_non_canonical_and_withdrawal_endpoints_are_refused() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let mut cases: Vec<RawRequest> = [
        "/api/v3/order/",
        "/api/v3//order",
        "//api/v3/order",
        "/api/v3/./order",
        "/api/v3/x/../order",
        "/api/v3/%6Frder",
        "/api/v3/order%2F",
        "/api%2Fv3/order",
        "/API/v3/order",
        "/api/v3/Order",
        "/api/v3/order/oco",
        "/api/v3/orderList/oco",
        "/api/v3/sor/order",
        "/api/v3/order/cancelReplace",
        "/api/v3/batchOrders",
        "/sapi/v1/capital/withdraw/apply",
        "/sapi/v1/asset/transfer",
        "/sapi/v1/margin/order",
        "/fapi/v1/order",
        "/api/v3/unknownThing",
    ]
    .iter()
    .map(|p| post(p, GOOD))
    .collect();
    for method in ["PUT", "PATCH", "OPTIONS"] {
        cases.push(
            RawRequest::new(method, "/api/v3/order")
                .header("X-MBX-APIKEY", TEST_API_KEY)
                .body(GOOD),
        );
    }
    cases.push(
        RawRequest::new("DELETE", "/api/v3//order?symbol=BTCUSDT&orderId=1")
            .header("X-MBX-APIKEY", TEST_API_KEY),
    );
    for req in &cases {
        let j = assert_refused(&gw, &mock, req, 400, "endpoint_not_allowed");
        assert_eq!(j["code"], -2010);
    }
    let withdraw = gw.send(&post(
        "/sapi/v1/capital/withdraw/apply",
        "coin=BTC&address=x&amount=1&timestamp=1",
    ));
    assert!(
        withdraw.json()["msg"]
            .as_str()
            .unwrap_or("")
            .contains("allow_withdrawals = false"),
        "{}",
        withdraw.body_text()
    );
    assert_still_serving(&gw, &mock);
}

#[test]
fn reads_pass_through_untouched() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let targets = [
        "/api/v3/depth?symbol=BTCUSDT&limit=5",
        "/api/v3/klines?symbol=BTCUSDT&symbol=ETHUSDT&interval=1m",
        "/api/v3/ping",
        "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%5D",
        "/api/v3//weird/../path?q=%zz",
    ];
    for target in targets {
        mock.clear_log();
        let req = RawRequest::new("GET", target)
            .header("X-MBX-APIKEY", TEST_API_KEY)
            .header("X-Custom-Trace", "abc 123");
        let resp = gw.send(&req);
        assert_eq!(resp.header("x-riskgate-decision"), Some("pass"), "{target}");
        assert_ne!(resp.status, 503, "{target}: {}", resp.body_text());
        let seen: Vec<_> = mock
            .requests()
            .into_iter()
            .filter(|r| r.header("x-custom-trace").is_some())
            .collect();
        assert_eq!(seen.len(), 1, "{target}");
        assert_eq!(seen[0].method, http::Method::GET);
        assert_eq!(
            seen[0].target(),
            target,
            "request target kept byte for byte"
        );
        assert_eq!(seen[0].header("x-custom-trace"), Some("abc 123"));
        assert_eq!(seen[0].header("x-mbx-apikey"), Some(TEST_API_KEY));
    }
    // A signed read verifies at the exchange: the signature survived the trip.
    let account = gw.send(&SignedRequest::new("GET", "/api/v3/account").build());
    assert_eq!(account.status, 200, "{}", account.body_text());
    assert_eq!(account.header("x-riskgate-decision"), Some("pass"));
}

#[test]
fn a_slow_client_is_cut_off_while_others_are_served() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    // Half the headers, then nothing.
    let mut slow = TcpStream::connect(gw.addr).unwrap();
    slow.write_all(b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nX-MBX-")
        .unwrap();
    // A body that never finishes arriving.
    let mut slow_body = TcpStream::connect(gw.addr).unwrap();
    slow_body
        .write_all(
            format!(
                "POST /api/v3/order HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: {TEST_API_KEY}\r\nContent-Length: 500\r\n\r\nsymbol=BTCUSDT"
            )
            .as_bytes(),
        )
        .unwrap();

    // Meanwhile another client is served.
    assert_still_serving(&gw, &mock);
    for s in [&slow, &slow_body] {
        s.set_nonblocking(true).unwrap();
        let mut b = [0u8; 16];
        let r = (&*s).read(&mut b);
        assert!(
            matches!(&r, Err(e) if e.kind() == ErrorKind::WouldBlock),
            "the slow connection is still open and unanswered while the other is served: {r:?}"
        );
        s.set_nonblocking(false).unwrap();
    }

    // Then the slow ones are cut off (bounded wait: the read returns, it does not time out).
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let r = slow.read_to_end(&mut got);
    assert!(
        r.is_ok() || matches!(&r, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "slow header client was not cut off: {r:?}"
    );
    if !got.is_empty() {
        let text = String::from_utf8_lossy(&got);
        assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
    }

    slow_body
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let _ = slow_body.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("malformed_request"), "{text}");
    assert!(text.contains("\"code\":-2010"), "{text}");

    // Only the good order reached the exchange.
    assert_eq!(mock.requests_to("/api/v3/order").len(), 1);
    assert_still_serving(&gw, &mock);
}

#[test]
fn connections_beyond_max_connections_get_a_venue_format_503() {
    let mock = MockBinance::start();
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            limits_extra: "max_connections = 2\nheader_read_timeout_s = 120\n".into(),
            ..Default::default()
        },
    );
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(gw.addr).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.status()["open_connections"] != 2 {
        assert!(Instant::now() < deadline, "{}", gw.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    let resp = gw.send(&post("/api/v3/order", GOOD));
    assert_eq!(resp.status, 503, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some("overloaded"));
    let j = resp.json();
    assert_eq!(j["code"], -1000);
    assert!(
        j["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with("riskgate: overloaded: "),
        "{j}"
    );
    assert_eq!(forwarded(&mock), Vec::<String>::new());

    // A freed slot is usable again.
    drop(held);
    while gw.status()["open_connections"] != 0 {
        assert!(Instant::now() < deadline, "{}", gw.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_still_serving(&gw, &mock);
}
