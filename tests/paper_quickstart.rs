//! Paper mode end to end (`Gateway::paper`): a market order is checked, filled by
//! the built-in paper exchange and shows as a position in `/v1/status`; the
//! README quick-start flows (ticker, small order, fat-finger refusal, the
//! python-binance oversized order) answer as documented with the shipped rules.

mod support;

use support::*;

fn paper_post(gw: &Gateway, body: &str) -> RawResponse {
    gw.send(
        &RawRequest::new("POST", "/api/v3/order")
            .header("X-MBX-APIKEY", "demo")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.as_bytes().to_vec()),
    )
}

#[test]
fn paper_mode_fills_a_market_order_and_status_shows_the_position() {
    let gw = Gateway::paper(OPEN_RULES);
    gw.wait_for_price("BTCUSDT");
    let r = paper_post(
        &gw,
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&timestamp=1",
    );
    let j = assert_accepted(&r);
    assert_eq!(j["status"], "FILLED", "{j}");
    assert_eq!(j["executedQty"], "0.01000000");
    let s = gw.status();
    assert_eq!(s["mode"], "paper");
    let a = &s["accounts"][0];
    let btc = a["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .find(|x| x["asset"] == "BTC")
        .cloned()
        .expect("BTC position");
    assert_eq!(btc["qty"], "0.01");
    assert_eq!(a["limits"]["max_daily_trades"]["used"], 1);
    assert_eq!(a["open_order_count"], 0);
}

#[test]
fn readme_quick_start_flows_answer_as_documented() {
    // The shipped rule files, as `cargo run` uses them.
    let shipped = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules")
            .join(name);
        (
            name.to_string(),
            std::fs::read_to_string(path).expect("rules"),
        )
    };
    let gw = Gateway::start(GatewayOptions {
        mode: "paper",
        rules: vec![shipped("limits.toml"), shipped("market.toml")],
        ..Default::default()
    });
    gw.wait_for_price("BTCUSDT");

    // Market data from the simulated market.
    let t = ticker(&gw, "BTCUSDT");
    assert_eq!(t.status, 200, "{}", t.body_text());
    let tj = t.json();
    assert_eq!(tj["symbol"], "BTCUSDT");
    let px: f64 = tj["price"]
        .as_str()
        .expect("price")
        .parse()
        .expect("number");
    assert!(px > 0.0);

    // A small order passes and the paper exchange fills it.
    let r = paper_post(
        &gw,
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&timestamp=1",
    );
    let j = assert_accepted(&r);
    assert_eq!(j["status"], "FILLED", "{j}");

    // A fat-finger order is refused in Binance's format.
    let r = paper_post(
        &gw,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=999999&timestamp=1",
    );
    let why = assert_refused(&r, "price_band");
    assert!(
        why.starts_with("limit price 999999 is +") && why.ends_with("(band ±5%)"),
        "{why}"
    );

    // The python-binance example: 5 BTC is over max_order_qty (0.5).
    let r = paper_post(
        &gw,
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=5&timestamp=2",
    );
    assert_refused(&r, "max_order_qty");

    // What riskgate knows.
    let s = gw.status();
    assert_eq!(s["mode"], "paper");
    assert_eq!(s["accounts"][0]["open_order_count"], 0);
    assert_eq!(s["accounts"][0]["limits"]["max_daily_trades"]["used"], 1);
}
