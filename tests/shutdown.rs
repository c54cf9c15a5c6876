//! Graceful shutdown of the real binary: SIGTERM while an order is in flight
//! lets that order get its answer (and its outcome be journaled), refuses new
//! connections, then exits 0.

mod support;

use std::time::{Duration, Instant};

use riskgate::model::Fixed;
use support::*;

fn mock() -> MockBinance {
    MockBinance::start_with(MockOptions {
        system_clock: true,
        starting_balances: vec![("USDT".into(), Fixed::from_units(1_000_000))],
        ..Default::default()
    })
}

fn limit_buy(mock: &MockBinance, qty: &str) -> RawRequest {
    let px = mock.market.read().price("BTCUSDT").expect("price").to_f64();
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", qty)
        .param("price", &format!("{:.2}", px * 0.9))
        .in_body()
        .build()
}

fn live_dir(mock: &MockBinance, state: &tempfile::TempDir) -> ProcessDir {
    ProcessDir::new(&GatewayOptions {
        mode: "live",
        upstream: Some(mock.base_url()),
        // Generous bounds: the test, not a timer, decides when the answer comes.
        limits_extra: "upstream_response_timeout_s = 60\nshutdown_grace_s = 60\n".into(),
        state_dir: Some(state.path().join("state")),
        ..Default::default()
    })
}

fn start(dir: &ProcessDir, n: usize) -> Riskgate {
    let mut cmd = dir.command();
    cmd.env("AM_I_SURE", "true");
    let rg = Riskgate::spawn(cmd, &dir.dir.path().join(format!("stderr-{n}.log")));
    rg.wait_ready();
    rg
}

#[test]
fn sigterm_lets_the_in_flight_order_finish_refuses_new_ones_and_exits_0() {
    let mock = mock();
    let state = tempfile::tempdir().unwrap();
    let dir = live_dir(&mock, &state);
    let mut rg = start(&dir, 1);

    let gate = Gate::new();
    mock.control.push_fault(
        FaultKind::Hold(gate.clone()),
        FaultWhen::AfterExecuting,
        Some("/api/v3/order"),
    );
    let in_flight = limit_buy(&mock, "0.01");
    let addr = rg.addr;
    let client = std::thread::spawn(move || send(addr, &in_flight));
    let deadline = Instant::now() + Duration::from_secs(20);
    while mock.requests_to("/api/v3/order").is_empty() {
        assert!(
            Instant::now() < deadline,
            "order never reached the exchange"
        );
        std::thread::sleep(Duration::from_millis(2));
    }

    rg.sigterm();
    // Shutdown has begun once readiness drops.
    loop {
        match send(rg.admin, &RawRequest::new("GET", "/readyz")) {
            Ok(r) if r.status == 200 => {}
            _ => break,
        }
        assert!(Instant::now() < deadline, "SIGTERM not acted on");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A new order now is refused (connection refused or reset, or a 503), never forwarded.
    match send(rg.addr, &limit_buy(&mock, "0.02")) {
        Err(_) => {}
        Ok(r) => {
            assert_eq!(r.status, 503, "{}", r.body_text());
            assert_eq!(r.header("x-riskgate-rule"), Some("shutting_down"));
        }
    }
    assert_eq!(mock.requests_to("/api/v3/order").len(), 1);
    assert!(
        rg.child.try_wait().unwrap().is_none(),
        "riskgate exited with an order still in flight"
    );

    // The exchange answers; the bot gets it.
    gate.open();
    let answer = client
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("in-flight order lost its answer: {e}\n{}", rg.logs()));
    assert_eq!(answer.status, 200, "{}", answer.body_text());
    assert_eq!(answer.header("x-riskgate-decision"), Some("accept"));
    let order_id = answer.json()["orderId"].as_i64().expect("exchange answer");

    let status = rg.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{}", rg.logs());

    // The answer was learned before exit: after a restart the order is live with its id.
    let rg = start(&dir, 2);
    let st = rg.status();
    let o = &st["accounts"][0]["open_orders"][0];
    assert_eq!(o["phase"], "live", "{st}");
    assert_eq!(o["exchange_order_id"], order_id, "{st}");
}

#[test]
fn sigterm_when_idle_exits_0() {
    let mock = mock();
    let state = tempfile::tempdir().unwrap();
    let dir = live_dir(&mock, &state);
    let mut rg = start(&dir, 1);
    let ok = rg.send(&limit_buy(&mock, "0.01"));
    assert_eq!(ok.status, 200, "{}", ok.body_text());
    rg.sigterm();
    let status = rg.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{}", rg.logs());
    assert!(
        send(rg.addr, &RawRequest::new("GET", "/api/v3/ping")).is_err(),
        "nothing listens after exit"
    );
}
