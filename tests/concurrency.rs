//! Check-and-reserve is atomic per account: 200 orders sent at once, each on its
//! own connection from its own thread, on one account where only N fit. Exactly
//! N are accepted, the rest are refused by the right rule, and the mock exchange
//! receives exactly N. Covers max_open_orders (resting limits), max_daily_trades
//! (market orders that fill), the worst-case position (resting buys count) and
//! reduce-only (resting sells count against "reducing").

mod support;

use std::net::SocketAddr;
use std::sync::Barrier;

use support::*;

const ORDERS: usize = 200;

/// Sends every request at once (one thread and connection each); returns the answers in order.
fn fire(addr: SocketAddr, reqs: &[RawRequest]) -> Vec<RawResponse> {
    let barrier = Barrier::new(reqs.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = reqs
            .iter()
            .map(|r| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    send(addr, r).unwrap_or_else(|e| panic!("send: {e}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sender thread"))
            .collect()
    })
}

/// Asserts exactly `n` accepted and the rest refused by `rule`, and the mock saw `n`.
#[track_caller]
fn assert_exactly(
    mock: &MockBinance,
    answers: &[RawResponse],
    before: usize,
    n: usize,
    rule: &str,
) {
    let accepted = answers
        .iter()
        .filter(|r| r.header("x-riskgate-decision") == Some("accept"))
        .count();
    for r in answers
        .iter()
        .filter(|r| r.header("x-riskgate-decision") != Some("accept"))
    {
        assert_refused(r, rule);
    }
    for r in answers
        .iter()
        .filter(|r| r.header("x-riskgate-decision") == Some("accept"))
    {
        assert_eq!(
            r.status,
            200,
            "accepted but the exchange said {}",
            r.body_text()
        );
    }
    assert_eq!(accepted, n, "accepted count");
    assert_eq!(
        orders_at_mock(mock) - before,
        n,
        "orders the exchange received"
    );
}

fn open_order_count(gw: &Gateway) -> u64 {
    let label = first_account_label(gw);
    account_status(gw, &label)["open_order_count"]
        .as_u64()
        .expect("open_order_count")
}

/// Distinct resting limit orders (distinct prices, so none is a duplicate).
fn resting(mock: &MockBinance, side: &str, pct: f64, step: f64) -> Vec<RawRequest> {
    let base = mock_price(mock, "BTCUSDT").to_f64() * pct / 100.0;
    (0..ORDERS)
        .map(|i| {
            let px = format!("{:.2}", base + step * i as f64);
            limit(side, "0.001", &px)
        })
        .collect()
}

#[test]
fn max_open_orders_admits_exactly_50_of_200_concurrent_limit_orders() {
    let mock = MockBinance::start();
    let gw = Gateway::live(
        &mock,
        &Rules::open().account("max_open_orders", "50").build(),
    );
    let answers = fire(gw.addr, &resting(&mock, "BUY", 95.0, -0.01));
    assert_exactly(&mock, &answers, 0, 50, "max_open_orders");
    assert_eq!(open_order_count(&gw), 50);
    assert_eq!(mock.paper.open_order_count(TEST_API_KEY), 50);
}

#[test]
fn max_daily_trades_admits_exactly_50_of_200_concurrent_market_orders() {
    let mock = MockBinance::start();
    let gw = Gateway::live(
        &mock,
        &Rules::open().account("max_daily_trades", "50").build(),
    );
    let reqs: Vec<_> = (0..ORDERS)
        .map(|i| market("BUY", &format!("{:.5}", 0.001 + 0.00001 * i as f64)))
        .collect();
    let answers = fire(gw.addr, &reqs);
    assert_exactly(&mock, &answers, 0, 50, "max_daily_trades");
    let label = first_account_label(&gw);
    let st = account_status(&gw, &label);
    assert_eq!(st["limits"]["max_daily_trades"]["used"], 50);
    assert_eq!(st["open_order_count"], 0, "market orders all filled");
}

#[test]
fn worst_case_position_admits_exactly_37_of_200_concurrent_resting_buys() {
    let mock = MockBinance::start();
    let gw = Gateway::live(
        &mock,
        &Rules::open().btc("max_position_qty", "0.037").build(),
    );
    let answers = fire(gw.addr, &resting(&mock, "BUY", 95.0, -0.01));
    assert_exactly(&mock, &answers, 0, 37, "max_position_qty");
    assert_eq!(open_order_count(&gw), 37);
}

#[test]
fn worst_case_notional_with_a_filled_position_admits_exactly_the_rest() {
    let mock = MockBinance::start();
    let p = mock_price(&mock, "BTCUSDT").to_f64();
    // Room for 0.0505 BTC at the reference price: a 0.02 fill leaves room for 30 x 0.001.
    let limit_usd = format!("{:.2}", 0.0305 * p + 0.02 * p);
    let gw = Gateway::live(
        &mock,
        &Rules::open()
            .btc("max_position_notional_usd", &limit_usd)
            .build(),
    );
    accepted_forwarded(&gw, &mock, &market("BUY", "0.02"));
    let before = orders_at_mock(&mock);
    let answers = fire(gw.addr, &resting(&mock, "BUY", 95.0, -0.01));
    assert_exactly(&mock, &answers, before, 30, "max_position_notional");
}

#[test]
fn reduce_only_admits_exactly_the_resting_sells_that_fit_the_position() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, &Rules::open().build());
    accepted_forwarded(&gw, &mock, &market("BUY", "0.05"));
    let r = gw.admin("POST", "/v1/reduce-only");
    assert_eq!(r.status, 200, "{}", r.body_text());
    // Each resting sell of 0.001 reduces only while the sells already resting
    // leave room: exactly 50 fit a 0.05 position.
    let before = orders_at_mock(&mock);
    let answers = fire(gw.addr, &resting(&mock, "SELL", 103.0, 0.01));
    assert_exactly(&mock, &answers, before, 50, "reduce_only");
    assert_eq!(open_order_count(&gw), 50);
}
