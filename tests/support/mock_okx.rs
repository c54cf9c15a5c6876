//! A mock OKX v5 exchange for integration tests: verifies OKX's request
//! signatures exactly as OKX does, keeps a small order book of its own, and
//! answers in OKX's shapes.
//!
//! Owns: the signature and passphrase checks, the mock's orders (placed live,
//! filled or cancelled when the test says so), balances, tickers and the SWAP
//! instrument list; and the client helper `okx_request` that signs like ccxt.
//! Must not touch riskgate's code paths under test.
//!
//! Signature rule (OKX v5 REST): `OK-ACCESS-SIGN` = base64(HMAC-SHA256(secret,
//! timestamp + METHOD + requestPath + body)), requestPath including `?query`;
//! `OK-ACCESS-KEY`, `OK-ACCESS-TIMESTAMP` (ISO 8601, ms, `Z`) and
//! `OK-ACCESS-PASSPHRASE` must match the key's.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::Method;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::Sha256;

use super::mock_binance::{RawRequest, RecordedRequest};
use super::mock_http::{form_pairs, MockHandler, MockServer};

pub const OKX_KEY: &str = "okxTestKey-0000-0000-0000-000000000001";
pub const OKX_SECRET: &str = "OKXTESTSECRET00000000000000000001";
pub const OKX_PASSPHRASE: &str = "riskgate-pass";
/// A fixed request timestamp (OKX checks it within 30 s of server time; the mock does not).
pub const OKX_TIMESTAMP: &str = "2024-06-01T12:00:00.000Z";

/// base64 HMAC-SHA256 of `timestamp + method + path + body`: OKX's `OK-ACCESS-SIGN`.
pub fn okx_sign(secret: &str, timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A request signed as ccxt signs it: `target` is `path?query`, `body` raw JSON.
pub fn okx_request(method: &str, target: &str, body: &str) -> RawRequest {
    okx_request_as(OKX_KEY, OKX_SECRET, method, target, body)
}

pub fn okx_request_as(
    key: &str,
    secret: &str,
    method: &str,
    target: &str,
    body: &str,
) -> RawRequest {
    let sig = okx_sign(secret, OKX_TIMESTAMP, method, target, body.as_bytes());
    let mut r = RawRequest::new(method, target)
        .header("OK-ACCESS-KEY", key)
        .header("OK-ACCESS-SIGN", &sig)
        .header("OK-ACCESS-TIMESTAMP", OKX_TIMESTAMP)
        .header("OK-ACCESS-PASSPHRASE", OKX_PASSPHRASE);
    if !body.is_empty() {
        r = r.header("Content-Type", "application/json").body(body);
    }
    r
}

#[derive(Clone, Debug)]
pub struct MockOrder {
    pub ord_id: String,
    pub cl_ord_id: String,
    pub inst_id: String,
    pub side: String,
    pub ord_type: String,
    pub sz: String,
    pub px: String,
    pub tgt_ccy: String,
    pub state: String,
    pub acc_fill_sz: String,
    pub avg_px: String,
}

impl MockOrder {
    fn json(&self) -> Value {
        json!({
            "instType": if self.inst_id.ends_with("-SWAP") { "SWAP" } else { "SPOT" },
            "instId": self.inst_id, "ordId": self.ord_id, "clOrdId": self.cl_ord_id,
            "side": self.side, "ordType": self.ord_type, "sz": self.sz, "px": self.px,
            "tgtCcy": self.tgt_ccy, "state": self.state, "accFillSz": self.acc_fill_sz,
            "avgPx": self.avg_px, "fillSz": "0", "fillPx": "", "tag": "", "posSide": "net",
            "cTime": "1717243200000", "uTime": "1717243200000",
        })
    }
}

pub struct OkxBook {
    keys: HashMap<String, (String, String)>,
    pub orders: Mutex<Vec<MockOrder>>,
    pub prices: Mutex<Vec<(String, String)>>,
    pub balances: Mutex<Vec<(String, String)>>,
    /// (instId, signed pos in contracts, avgPx), net mode.
    pub positions: Mutex<Vec<(String, String, String)>>,
    next_id: Mutex<u64>,
}

fn envelope(code: &str, msg: &str, data: Value) -> (u16, String) {
    (
        200,
        json!({"code": code, "msg": msg, "data": data, "inTime": "1717243200000000", "outTime": "1717243200000100"}).to_string(),
    )
}

fn ok(data: Value) -> (u16, String) {
    envelope("0", "", data)
}

impl OkxBook {
    fn check_auth(&self, req: &RecordedRequest) -> Result<(), (u16, String)> {
        let h = |n: &str| req.header(n).unwrap_or("").to_string();
        let (key, sig, ts, pass) = (
            h("OK-ACCESS-KEY"),
            h("OK-ACCESS-SIGN"),
            h("OK-ACCESS-TIMESTAMP"),
            h("OK-ACCESS-PASSPHRASE"),
        );
        let fail = |code: &str, msg: &str| (401, json!({"code": code, "msg": msg}).to_string());
        if key.is_empty() || sig.is_empty() || ts.is_empty() || pass.is_empty() {
            return Err(fail(
                "50103",
                "Request header OK-ACCESS-KEY can not be empty.",
            ));
        }
        let Some((secret, passphrase)) = self.keys.get(&key) else {
            return Err(fail("50111", "Invalid OK-ACCESS-KEY."));
        };
        if !ts.ends_with('Z') || ts.len() != 24 {
            return Err(fail("50112", "Invalid OK-ACCESS-TIMESTAMP."));
        }
        if &pass != passphrase {
            return Err(fail("50105", "Wrong OK-ACCESS-PASSPHRASE."));
        }
        let expected = okx_sign(secret, &ts, req.method.as_str(), &req.target(), &req.body);
        if sig != expected {
            return Err(fail("50113", "Invalid Sign."));
        }
        Ok(())
    }

    fn place(&self, o: &Value) -> Value {
        let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut next = self.next_id.lock();
        *next += 1;
        let ord_id = format!("{}", 600_000_000_000_000_000u64 + *next);
        let order = MockOrder {
            ord_id: ord_id.clone(),
            cl_ord_id: s("clOrdId"),
            inst_id: s("instId"),
            side: s("side"),
            ord_type: s("ordType"),
            sz: s("sz"),
            px: s("px"),
            tgt_ccy: s("tgtCcy"),
            state: "live".into(),
            acc_fill_sz: "0".into(),
            avg_px: "".into(),
        };
        self.orders.lock().push(order);
        json!({"clOrdId": s("clOrdId"), "ordId": ord_id, "sCode": "0", "sMsg": "Order placed", "tag": "", "ts": "1717243200000"})
    }

    fn cancel(&self, c: &Value) -> Value {
        let ord_id = c.get("ordId").and_then(Value::as_str).unwrap_or("");
        let cl = c.get("clOrdId").and_then(Value::as_str).unwrap_or("");
        let mut orders = self.orders.lock();
        match orders.iter_mut().find(|o| {
            (!ord_id.is_empty() && o.ord_id == ord_id) || (!cl.is_empty() && o.cl_ord_id == cl)
        }) {
            Some(o) if o.state == "live" || o.state == "partially_filled" => {
                o.state = "canceled".into();
                json!({"clOrdId": o.cl_ord_id, "ordId": o.ord_id, "sCode": "0", "sMsg": ""})
            }
            _ => {
                json!({"clOrdId": cl, "ordId": ord_id, "sCode": "51400", "sMsg": "Cancellation failed as the order has been filled, canceled or does not exist"})
            }
        }
    }

    /// `amend-order`: a live order's `sz` becomes `newSz` (the new total),
    /// its `px` `newPx`; same `ordId`.
    fn amend(&self, a: &Value) -> (u16, String) {
        let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (ord_id, cl) = (s("ordId"), s("clOrdId"));
        let mut orders = self.orders.lock();
        match orders.iter_mut().find(|o| {
            (o.state == "live" || o.state == "partially_filled")
                && ((!ord_id.is_empty() && o.ord_id == ord_id)
                    || (!cl.is_empty() && o.cl_ord_id == cl))
        }) {
            Some(o) => {
                if !s("newSz").is_empty() {
                    o.sz = s("newSz");
                }
                if !s("newPx").is_empty() {
                    o.px = s("newPx");
                }
                ok(
                    json!([{"clOrdId": o.cl_ord_id, "ordId": o.ord_id, "reqId": s("reqId"), "sCode": "0", "sMsg": "", "ts": "1717243200000"}]),
                )
            }
            None => envelope(
                "1",
                "",
                json!([{"clOrdId": cl, "ordId": ord_id, "reqId": s("reqId"), "sCode": "51503", "sMsg": "Order modification failed as the order has been filled, canceled or does not exist.", "ts": "1717243200000"}]),
            ),
        }
    }

    fn handle_inner(&self, req: &RecordedRequest) -> (u16, String) {
        let public =
            req.path.starts_with("/api/v5/market/") || req.path.starts_with("/api/v5/public/");
        if !public {
            if let Err(e) = self.check_auth(req) {
                return e;
            }
        }
        let query = form_pairs(req.query.as_deref().unwrap_or(""));
        let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let body: Value = if req.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(_) => return envelope("50002", "Json data format error", json!([])),
            }
        };
        match (&req.method, req.path.as_str()) {
            (&Method::POST, "/api/v5/trade/order") => ok(json!([self.place(&body)])),
            (&Method::POST, "/api/v5/trade/batch-orders") => {
                let acks: Vec<Value> = body
                    .as_array()
                    .map(|a| a.iter().map(|o| self.place(o)).collect())
                    .unwrap_or_default();
                ok(Value::Array(acks))
            }
            (&Method::POST, "/api/v5/trade/amend-order") => self.amend(&body),
            (&Method::POST, "/api/v5/trade/cancel-order") => {
                let a = self.cancel(&body);
                if a["sCode"] == "0" {
                    ok(json!([a]))
                } else {
                    envelope("1", "All operations failed", json!([a]))
                }
            }
            (&Method::POST, "/api/v5/trade/cancel-batch-orders") => {
                let acks: Vec<Value> = body
                    .as_array()
                    .map(|a| a.iter().map(|c| self.cancel(c)).collect())
                    .unwrap_or_default();
                ok(Value::Array(acks))
            }
            (&Method::GET, "/api/v5/trade/order") => {
                let id = q("ordId").unwrap_or_default();
                let cl = q("clOrdId").unwrap_or_default();
                let orders = self.orders.lock();
                match orders
                    .iter()
                    .find(|o| o.ord_id == id || (!cl.is_empty() && o.cl_ord_id == cl))
                {
                    Some(o) => ok(json!([o.json()])),
                    None => envelope("51603", "Order does not exist", json!([])),
                }
            }
            (&Method::GET, "/api/v5/trade/orders-pending") => {
                let inst = q("instId");
                let orders = self.orders.lock();
                let list: Vec<Value> = orders
                    .iter()
                    .filter(|o| o.state == "live" || o.state == "partially_filled")
                    .filter(|o| inst.as_deref().is_none_or(|i| i == o.inst_id))
                    .map(MockOrder::json)
                    .collect();
                ok(Value::Array(list))
            }
            (&Method::GET, "/api/v5/account/balance") => {
                let details: Vec<Value> = self
                    .balances
                    .lock()
                    .iter()
                    .map(|(c, b)| json!({"ccy": c, "cashBal": b, "eq": b, "availBal": b, "frozenBal": "0"}))
                    .collect();
                ok(json!([{"totalEq": "0", "details": details}]))
            }
            (&Method::GET, "/api/v5/market/tickers" | "/api/v5/market/ticker") => {
                let inst = q("instId");
                let inst_type = q("instType");
                let type_of = |i: &str| if i.ends_with("-SWAP") { "SWAP" } else { "SPOT" };
                let list: Vec<Value> = self
                    .prices
                    .lock()
                    .iter()
                    .filter(|(i, _)| inst.as_deref().is_none_or(|x| x == i))
                    .filter(|(i, _)| inst_type.as_deref().is_none_or(|t| t == type_of(i)))
                    .map(|(i, p)| json!({"instType": type_of(i), "instId": i, "last": p, "ts": "1717243200000"}))
                    .collect();
                ok(Value::Array(list))
            }
            (&Method::GET, "/api/v5/account/positions") => {
                let list: Vec<Value> = self
                    .positions
                    .lock()
                    .iter()
                    .map(|(i, pos, px)| json!({"instType": "SWAP", "instId": i, "pos": pos, "posSide": "net", "avgPx": px, "mgnMode": "cross"}))
                    .collect();
                ok(Value::Array(list))
            }
            (&Method::GET, "/api/v5/public/instruments") => ok(json!([
                {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "ctVal": "0.01", "ctValCcy": "BTC", "ctType": "linear", "state": "live"}
            ])),
            (&Method::GET, "/api/v5/public/time") => ok(json!([{"ts": "1717243200000"}])),
            _ => (404, json!({"code": "404", "msg": "Not Found"}).to_string()),
        }
    }
}

impl MockHandler for OkxBook {
    fn handle(&self, req: &RecordedRequest) -> (u16, String) {
        self.handle_inner(req)
    }
}

/// A running mock OKX. Dropping it stops the server.
pub struct MockOkx {
    pub book: Arc<OkxBook>,
    pub server: MockServer,
}

impl MockOkx {
    /// The default key; BTC-USDT at 60000, ETH-USDT at 3000; 100 000 USDT.
    pub fn start() -> MockOkx {
        let book = Arc::new(OkxBook {
            keys: [(
                OKX_KEY.to_string(),
                (OKX_SECRET.to_string(), OKX_PASSPHRASE.to_string()),
            )]
            .into_iter()
            .collect(),
            orders: Mutex::new(Vec::new()),
            prices: Mutex::new(vec![
                ("BTC-USDT".into(), "60000".into()),
                ("ETH-USDT".into(), "3000".into()),
                ("BTC-USDT-SWAP".into(), "60010".into()),
            ]),
            balances: Mutex::new(vec![("USDT".into(), "100000".into())]),
            positions: Mutex::new(Vec::new()),
            next_id: Mutex::new(0),
        });
        let server = MockServer::start("mock-okx", book.clone());
        MockOkx { book, server }
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Orders the mock accepted, in order.
    pub fn orders(&self) -> Vec<MockOrder> {
        self.book.orders.lock().clone()
    }

    /// Fills `qty` more of an order at `px` (whole order → `filled`).
    pub fn fill(&self, ord_id: &str, total_filled: &str, avg_px: &str) {
        let mut orders = self.book.orders.lock();
        let o = orders
            .iter_mut()
            .find(|o| o.ord_id == ord_id)
            .expect("order to fill");
        o.acc_fill_sz = total_filled.into();
        o.avg_px = avg_px.into();
        o.state = if o.acc_fill_sz == o.sz {
            "filled".into()
        } else {
            "partially_filled".into()
        };
    }

    pub fn set_balance(&self, ccy: &str, amount: &str) {
        let mut b = self.book.balances.lock();
        b.retain(|(c, _)| c != ccy);
        b.push((ccy.into(), amount.into()));
    }
}
