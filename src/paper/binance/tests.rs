//! Paper Binance answers, read back by riskgate's own Binance adapter.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;

use super::PaperBinance;
use crate::clock::{ManualClock, SharedClock};
use crate::market::sim::{MarketSim, SimConfig};
use crate::model::{Fixed, OrderStatus, Symbol};
use crate::venue::binance::BinanceSpot;
use crate::venue::{Action, Learned, Observation, RequestView, Venue};

const T0: i64 = 1_717_243_200_000;

struct Rig {
    clock: Arc<ManualClock>,
    paper: PaperBinance,
    venue: BinanceSpot,
}

struct Answer {
    status: u16,
    json: Value,
    learned: Option<Learned>,
}

fn rig() -> Rig {
    let clock = ManualClock::new(T0);
    let shared: SharedClock = clock.clone();
    let market = MarketSim::new(&SimConfig::default(), T0).shared();
    let paper = PaperBinance::new(
        market,
        shared,
        vec![("USDT".into(), Fixed::from_units(100_000))],
    );
    Rig {
        clock,
        paper,
        venue: BinanceSpot::new(false),
    }
}

impl Rig {
    fn call(&self, method: Method, path: &str, query: &str, key: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(k) = key {
            headers.insert("x-mbx-apikey", HeaderValue::from_str(k).unwrap());
        }
        let req = RequestView {
            method: &method,
            path,
            query: Some(query),
            headers: &crate::venue::Headers::from_header_map(&headers),
            body: b"",
        };
        let resp = self.paper.handle(&req);
        // Learn exactly as the proxy would: classify the request, read the answer.
        let learned = self
            .venue
            .classify(&req)
            .ok()
            .map(|c| self.venue.learn(&c.action, resp.status, &resp.body));
        let json = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        Answer {
            status: resp.status,
            json,
            learned,
        }
    }

    fn signed(&self, method: Method, path: &str, query: &str) -> Answer {
        self.call(method, path, query, Some("key-a"))
    }
}

fn fixed(v: &Value) -> Fixed {
    Fixed::parse(v.as_str().unwrap()).unwrap()
}

#[test]
fn market_order_full_answer_is_learned_as_a_fill() {
    let r = rig();
    let a = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=m1",
    );
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["status"], "FILLED");
    assert_eq!(a.json["executedQty"], "0.01000000");
    assert_eq!(a.json["cummulativeQuoteQty"], "600.00000000");
    assert_eq!(a.json["fills"][0]["price"], "60000.00000000");
    assert_eq!(a.json["orderListId"], -1);
    let rep = &a.learned.unwrap().reports[0];
    assert_eq!(rep.status, OrderStatus::Filled);
    assert_eq!(rep.executed_qty, Fixed::parse("0.01").unwrap());
    assert_eq!(rep.avg_price, Some(Fixed::from_units(60_000)));
    assert_eq!(rep.client_order_id.as_deref(), Some("m1"));
    assert_eq!(rep.symbol, Symbol::new("BTCUSDT"));

    // ACK and RESULT shapes.
    let ack = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=ETHUSDT&side=BUY&type=MARKET&quoteOrderQty=100&newOrderRespType=ACK",
    );
    assert_eq!(ack.status, 200);
    assert!(ack.json.get("status").is_none() && ack.json["orderId"].is_i64());
    let res = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=ETHUSDT&side=SELL&type=MARKET&quantity=0.01&newOrderRespType=RESULT",
    );
    assert_eq!(res.json["status"], "FILLED");
    assert!(res.json.get("fills").is_none());
    assert_eq!(
        res.learned.unwrap().reports[0].executed_qty,
        Fixed::parse("0.01").unwrap()
    );
}

#[test]
fn resting_limit_lifecycle_is_learned() {
    let r = rig();
    let a = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=50000&newClientOrderId=rest1",
    );
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["status"], "NEW");
    assert_eq!(a.json["fills"], serde_json::json!([]));
    let rep = &a.learned.unwrap().reports[0];
    assert_eq!(rep.status, OrderStatus::Open);
    let id = a.json["orderId"].as_i64().unwrap();

    let acct = r.signed(Method::GET, "/api/v3/account", "");
    let usdt = acct.json["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "USDT")
        .unwrap()
        .clone();
    assert_eq!(fixed(&usdt["locked"]), Fixed::from_units(5_000));
    assert_eq!(fixed(&usdt["free"]), Fixed::from_units(95_000));
    let learned = acct.learned.unwrap();
    let total = learned
        .balances
        .iter()
        .find(|b| &*b.asset == "USDT")
        .unwrap()
        .total;
    assert_eq!(total, Fixed::from_units(100_000));

    let open = r.signed(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT");
    let l = open.learned.unwrap();
    assert_eq!(l.open_orders_complete, Some(Some(Symbol::new("BTCUSDT"))));
    assert_eq!(l.reports.len(), 1);
    assert_eq!(l.reports[0].exchange_order_id, Some(id));

    let q = r.signed(
        Method::GET,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={id}"),
    );
    assert_eq!(q.json["status"], "NEW");
    assert_eq!(q.json["isWorking"], true);
    assert_eq!(q.learned.unwrap().reports[0].status, OrderStatus::Open);

    let c = r.signed(
        Method::DELETE,
        "/api/v3/order",
        "symbol=BTCUSDT&origClientOrderId=rest1",
    );
    assert_eq!(c.status, 200, "{}", c.json);
    assert_eq!(c.json["status"], "CANCELED");
    assert_eq!(c.json["origClientOrderId"], "rest1");
    let rep = &c.learned.unwrap().reports[0];
    assert_eq!(rep.status, OrderStatus::Closed);
    assert_eq!(rep.client_order_id.as_deref(), Some("rest1"));

    let again = r.signed(
        Method::DELETE,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={id}"),
    );
    assert_eq!(
        (again.status, again.json["code"].as_i64()),
        (400, Some(-2011))
    );
    assert!(again.learned.unwrap().venue_rejected);
    let gone = r.signed(
        Method::GET,
        "/api/v3/order",
        "symbol=BTCUSDT&orderId=999999",
    );
    assert_eq!(gone.json["code"], -2013);

    // Cancel-all answers an array of cancels.
    for p in ["40000", "41000"] {
        let q =
            format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price={p}");
        assert_eq!(r.signed(Method::POST, "/api/v3/order", &q).status, 200);
    }
    let all = r.signed(Method::DELETE, "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!(all.json.as_array().unwrap().len(), 2);
    let l = all.learned.unwrap();
    assert!(l.reports.iter().all(|r| r.status == OrderStatus::Closed));
    let open = r.signed(Method::GET, "/api/v3/openOrders", "");
    assert_eq!(open.json, serde_json::json!([]));
    let hist = r.signed(Method::GET, "/api/v3/allOrders", "symbol=BTCUSDT");
    assert_eq!(hist.json.as_array().unwrap().len(), 3);
}

#[test]
fn resting_orders_fill_as_the_clock_moves_the_market() {
    let r = rig();
    let a = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=60010",
    );
    assert_eq!(a.status, 400, "no BTC to sell yet: {}", a.json);
    assert_eq!(a.json["code"], -2010);
    assert_eq!(
        a.json["msg"],
        "Account has insufficient balance for requested action."
    );
    r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.2",
    );
    let a = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=60010",
    );
    let b = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=59990",
    );
    let ids = [
        a.json["orderId"].as_i64().unwrap(),
        b.json["orderId"].as_i64().unwrap(),
    ];
    let mut filled = 0;
    for _ in 0..(7 * 24 * 60) {
        r.clock.advance_ms(60_000);
        let open = r.signed(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT");
        filled = 2 - open.json.as_array().unwrap().len();
        if filled == 2 {
            break;
        }
    }
    assert_eq!(
        filled, 2,
        "a 10-dollar band must be crossed both ways within a week"
    );
    for id in ids {
        let q = r.signed(
            Method::GET,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&orderId={id}"),
        );
        assert_eq!(q.json["status"], "FILLED");
        assert_eq!(q.learned.unwrap().reports[0].status, OrderStatus::Filled);
    }
    let trades = r.signed(Method::GET, "/api/v3/myTrades", "symbol=BTCUSDT");
    let trades = trades.json.as_array().unwrap();
    assert_eq!(trades.len(), 3);
    assert!(trades[1]["isMaker"].as_bool().unwrap());
}

#[test]
fn errors_use_binance_codes() {
    let r = rig();
    let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&newClientOrderId=d";
    let no_key = r.call(Method::POST, "/api/v3/order", order, None);
    assert_eq!(
        (no_key.status, no_key.json["code"].as_i64()),
        (401, Some(-2014))
    );
    assert_eq!(r.signed(Method::POST, "/api/v3/order", order).status, 200);
    let dup = r.signed(Method::POST, "/api/v3/order", order);
    assert_eq!(
        dup.json,
        serde_json::json!({"code": -2010, "msg": "Duplicate order sent."})
    );
    // Another key is another account: same client id is fine there.
    assert_eq!(
        r.call(Method::POST, "/api/v3/order", order, Some("key-b"))
            .status,
        200
    );
    let bad = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=DOGEUSDT&side=BUY&type=MARKET&quantity=1",
    );
    assert_eq!(bad.json["code"], -1121);
    let lot = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.000001",
    );
    assert_eq!(lot.json["msg"], "Filter failure: LOT_SIZE");
    let missing = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=1",
    );
    assert_eq!(missing.json["code"], -1102);
    let dup_param = r.signed(
        Method::GET,
        "/api/v3/ticker/price",
        "symbol=BTCUSDT&symbol=ETHUSDT",
    );
    assert_eq!(dup_param.json["code"], -1101);
    let unknown = r.call(Method::GET, "/api/v3/nope", "", None);
    assert_eq!(unknown.status, 404);
    let test = r.signed(
        Method::POST,
        "/api/v3/order/test",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1",
    );
    assert_eq!(
        (test.status, test.json.clone()),
        (200, serde_json::json!({}))
    );
    assert!(test.learned.unwrap().reports.is_empty());
}

#[test]
fn market_data_has_binance_shapes() {
    let r = rig();
    let t = r.call(Method::GET, "/api/v3/ticker/price", "symbol=BTCUSDT", None);
    assert_eq!(
        t.json,
        serde_json::json!({"symbol": "BTCUSDT", "price": "60000.00000000"})
    );
    let learned = t.learned.unwrap();
    assert_eq!(
        learned.prices,
        vec![(Symbol::new("BTCUSDT"), Fixed::from_units(60_000))]
    );
    let all = r.call(Method::GET, "/api/v3/ticker/price", "", None);
    assert_eq!(all.json.as_array().unwrap().len(), 5);
    assert_eq!(all.learned.unwrap().prices.len(), 5);
    let some = r.call(
        Method::GET,
        "/api/v3/ticker/price",
        "symbols=%5B%22ETHUSDT%22%2C%22SOLUSDT%22%5D",
        None,
    );
    assert_eq!(some.json.as_array().unwrap().len(), 2);

    let book = r.call(
        Method::GET,
        "/api/v3/ticker/bookTicker",
        "symbol=ETHUSDT",
        None,
    );
    assert!(fixed(&book.json["bidPrice"]) < fixed(&book.json["askPrice"]));
    let t24 = r.call(Method::GET, "/api/v3/ticker/24hr", "symbol=SOLUSDT", None);
    assert!(fixed(&t24.json["lowPrice"]) <= fixed(&t24.json["highPrice"]));
    assert!(t24.json["count"].as_u64().unwrap() > 0);

    let k = r.call(
        Method::GET,
        "/api/v3/klines",
        "symbol=BTCUSDT&interval=1h&limit=24",
        None,
    );
    let rows = k.json.as_array().unwrap();
    assert_eq!(rows.len(), 24);
    assert_eq!(rows[0].as_array().unwrap().len(), 12);
    assert_eq!(
        rows[1][0].as_i64().unwrap() - rows[0][0].as_i64().unwrap(),
        3_600_000
    );
    assert_eq!(
        rows[0][6].as_i64().unwrap() - rows[0][0].as_i64().unwrap(),
        3_599_999
    );
    let bad = r.call(
        Method::GET,
        "/api/v3/klines",
        "symbol=BTCUSDT&interval=7m",
        None,
    );
    assert_eq!(bad.json["code"], -1120);

    let d = r.call(Method::GET, "/api/v3/depth", "symbol=ADAUSDT&limit=5", None);
    assert_eq!(d.json["bids"].as_array().unwrap().len(), 5);
    assert_eq!(d.json["asks"].as_array().unwrap().len(), 5);

    let info = r.call(Method::GET, "/api/v3/exchangeInfo", "", None);
    let syms = info.json["symbols"].as_array().unwrap();
    assert_eq!(syms.len(), 5);
    let btc = &syms[0];
    assert_eq!(btc["baseAsset"], "BTC");
    let filters: Vec<&str> = btc["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filterType"].as_str().unwrap())
        .collect();
    for f in ["PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL"] {
        assert!(filters.contains(&f), "{f}");
    }
    let time = r.call(Method::GET, "/api/v3/time", "", None);
    assert_eq!(time.json["serverTime"], T0);
    assert!(matches!(
        r.venue
            .classify(&RequestView {
                method: &Method::GET,
                path: "/api/v3/ticker/price",
                query: None,
                headers: &crate::venue::Headers::new(),
                body: b""
            })
            .unwrap()
            .action,
        Action::Observe(Observation::Ticker)
    ));
}

#[test]
fn stop_orders_trigger_on_the_path() {
    let r = rig();
    r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1",
    );
    let now = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=STOP_LOSS&quantity=0.1&stopPrice=61000",
    );
    assert_eq!(now.json["msg"], "Stop price would trigger immediately.");
    let s = r.signed(
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=STOP_LOSS&quantity=0.1&stopPrice=59995",
    );
    assert_eq!(s.status, 200, "{}", s.json);
    // Stops default to an ACK answer, like Binance.
    assert!(s.json.get("status").is_none());
    let id = s.json["orderId"].as_i64().unwrap();
    let q = r.signed(
        Method::GET,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={id}"),
    );
    assert_eq!(
        (
            q.json["isWorking"].as_bool(),
            q.json["workingTime"].as_i64()
        ),
        (Some(false), Some(-1))
    );
    for _ in 0..(7 * 24 * 60) {
        r.clock.advance_ms(60_000);
        let q = r.signed(
            Method::GET,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&orderId={id}"),
        );
        if q.json["status"] != "NEW" {
            assert_eq!(q.json["status"], "FILLED");
            assert_eq!(q.json["type"], "STOP_LOSS");
            return;
        }
    }
    panic!("stop never triggered");
}
