//! A mock Kraken spot exchange for integration tests: verifies Kraken's
//! request signatures and nonces exactly as Kraken does, keeps a small order
//! book of its own, and answers in Kraken's shapes.
//!
//! Owns: the signature and nonce checks, the mock's orders (placed open,
//! filled or cancelled when the test says so), balances and tickers; and the
//! client helper `kraken_request` that signs like ccxt. Must not touch
//! riskgate's code paths under test.
//!
//! Signature rule (Kraken REST): `API-Sign` = base64(HMAC-SHA512(base64decode(secret),
//! uri_path + SHA256(nonce + postdata))), `API-Key` names the key; every private
//! call is a POST whose body carries a `nonce` that must increase per key.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::Method;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};

use super::mock_binance::{RawRequest, RecordedRequest};
use super::mock_http::{form_pairs, MockHandler, MockServer};

pub const KRAKEN_KEY: &str = "krakenTestKey000000000000000000000000000000000000000001";
/// base64 of "kraken-test-secret-0123456789abcdef0123456789abcdef".
pub const KRAKEN_SECRET: &str =
    "a3Jha2VuLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm";

/// Kraken's `API-Sign` for `path` with this nonce and raw body.
pub fn kraken_sign(secret_b64: &str, path: &str, nonce: &str, body: &[u8]) -> Option<String> {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret_b64)
        .ok()?;
    let mut sha = Sha256::new();
    sha.update(nonce.as_bytes());
    sha.update(body);
    let digest = sha.finalize();
    let mut mac = Hmac::<Sha512>::new_from_slice(&secret).ok()?;
    mac.update(path.as_bytes());
    mac.update(&digest);
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// A private form request signed as ccxt signs it; `params` excludes the nonce.
pub fn kraken_request(path: &str, nonce: u64, params: &str) -> RawRequest {
    let body = if params.is_empty() {
        format!("nonce={nonce}")
    } else {
        format!("nonce={nonce}&{params}")
    };
    kraken_signed(
        path,
        &nonce.to_string(),
        &body,
        "application/x-www-form-urlencoded",
    )
}

/// A private request with a raw body (form or JSON) and its nonce.
pub fn kraken_signed(path: &str, nonce: &str, body: &str, content_type: &str) -> RawRequest {
    let sig =
        kraken_sign(KRAKEN_SECRET, path, nonce, body.as_bytes()).expect("test secret is base64");
    RawRequest::new("POST", path)
        .header("API-Key", KRAKEN_KEY)
        .header("API-Sign", &sig)
        .header("Content-Type", content_type)
        .body(body)
}

#[derive(Clone, Debug)]
pub struct MockOrder {
    pub txid: String,
    pub pair: String,
    pub side: String,
    pub ordertype: String,
    pub vol: String,
    pub price: String,
    pub oflags: String,
    pub cl_ord_id: Option<String>,
    pub status: String,
    pub vol_exec: String,
    pub avg_price: String,
}

impl MockOrder {
    fn json(&self) -> Value {
        json!({
            "refid": null, "userref": 0, "cl_ord_id": self.cl_ord_id, "status": self.status,
            "opentm": 1717243200.0, "starttm": 0, "expiretm": 0,
            "descr": {"pair": self.pair, "type": self.side, "ordertype": self.ordertype,
                      "price": self.price, "price2": "0", "leverage": "none",
                      "order": format!("{} {} {} @ {} {}", self.side, self.vol, self.pair, self.ordertype, self.price), "close": ""},
            "vol": self.vol, "vol_exec": self.vol_exec, "cost": "0", "fee": "0",
            "price": self.avg_price, "stopprice": "0", "limitprice": "0", "misc": "", "oflags": self.oflags,
        })
    }
}

pub struct KrakenBook {
    keys: HashMap<String, String>,
    last_nonce: Mutex<HashMap<String, u64>>,
    pub orders: Mutex<Vec<MockOrder>>,
    pub prices: Mutex<Vec<(String, String)>>,
    pub balances: Mutex<Vec<(String, String)>>,
}

fn answer(result: Value) -> (u16, String) {
    (200, json!({"error": [], "result": result}).to_string())
}

fn error(e: &str) -> (u16, String) {
    (200, json!({"error": [e]}).to_string())
}

impl KrakenBook {
    /// Returns the request's parameters (form or JSON) once key, nonce and
    /// signature check out.
    fn check_auth(&self, req: &RecordedRequest) -> Result<Vec<(String, String)>, (u16, String)> {
        let key = req.header("API-Key").unwrap_or("");
        let sig = req.header("API-Sign").unwrap_or("");
        let Some(secret) = self.keys.get(key) else {
            return Err(error("EAPI:Invalid key"));
        };
        let body =
            std::str::from_utf8(&req.body).map_err(|_| error("EGeneral:Invalid arguments"))?;
        let params: Vec<(String, String)> = if body.trim_start().starts_with('{') {
            let v: Value =
                serde_json::from_str(body).map_err(|_| error("EGeneral:Invalid arguments"))?;
            let mut p = vec![];
            if let Some(m) = v.as_object() {
                for (k, val) in m {
                    let s = match val {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        other => other.to_string(),
                    };
                    p.push((k.clone(), s));
                }
            }
            p
        } else {
            form_pairs(body)
        };
        let nonce = params
            .iter()
            .find(|(k, _)| k == "nonce")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let Ok(n) = nonce.parse::<u64>() else {
            return Err(error("EAPI:Invalid nonce"));
        };
        let expected = kraken_sign(secret, &req.path, &nonce, &req.body);
        if expected.as_deref() != Some(sig) {
            return Err(error("EAPI:Invalid signature"));
        }
        let mut last = self.last_nonce.lock();
        let prev = last.entry(key.to_string()).or_insert(0);
        if n <= *prev {
            return Err(error("EAPI:Invalid nonce"));
        }
        *prev = n;
        Ok(params)
    }

    fn handle_inner(&self, req: &RecordedRequest) -> (u16, String) {
        if req.path.starts_with("/0/public/") {
            return self.public(req);
        }
        if req.method != Method::POST {
            return error("EGeneral:Invalid arguments");
        }
        let params = match self.check_auth(req) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let p = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match req.path.as_str() {
            "/0/private/AddOrder" => {
                if p("validate").as_deref() == Some("true") {
                    return answer(json!({"descr": {"order": "validated"}}));
                }
                let mut orders = self.orders.lock();
                let txid = format!("O{:05}-MOCKK-{:06}", orders.len() + 1, orders.len() + 1);
                let o = MockOrder {
                    txid: txid.clone(),
                    pair: p("pair").unwrap_or_default(),
                    side: p("type").unwrap_or_default(),
                    ordertype: p("ordertype").unwrap_or_default(),
                    vol: p("volume").unwrap_or_default(),
                    price: p("price").unwrap_or_else(|| "0".into()),
                    oflags: p("oflags").unwrap_or_default(),
                    cl_ord_id: p("cl_ord_id"),
                    status: "open".into(),
                    vol_exec: "0.00000000".into(),
                    avg_price: "0".into(),
                };
                let descr = format!(
                    "{} {} {} @ {} {}",
                    o.side, o.vol, o.pair, o.ordertype, o.price
                );
                orders.push(o);
                answer(json!({"descr": {"order": descr}, "txid": [txid]}))
            }
            "/0/private/AddOrderBatch" => {
                let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let pair = v["pair"].as_str().unwrap_or("").to_string();
                let mut orders = self.orders.lock();
                let mut out = Vec::new();
                for o in v["orders"].as_array().into_iter().flatten() {
                    let s = |k: &str| o[k].as_str().map(str::to_string);
                    let txid = format!("O{:05}-MOCKB-{:06}", orders.len() + 1, orders.len() + 1);
                    orders.push(MockOrder {
                        txid: txid.clone(),
                        pair: pair.clone(),
                        side: s("type").unwrap_or_default(),
                        ordertype: s("ordertype").unwrap_or_default(),
                        vol: s("volume").unwrap_or_default(),
                        price: s("price").unwrap_or_else(|| "0".into()),
                        oflags: s("oflags").unwrap_or_default(),
                        cl_ord_id: s("cl_ord_id"),
                        status: "open".into(),
                        vol_exec: "0.00000000".into(),
                        avg_price: "0".into(),
                    });
                    out.push(json!({"txid": txid, "descr": {"order": "batched"}}));
                }
                answer(json!({"orders": out}))
            }
            // In place: same txid; `order_qty` is the new total.
            "/0/private/AmendOrder" => {
                let (id, cl) = (p("txid"), p("cl_ord_id"));
                let mut orders = self.orders.lock();
                match orders.iter_mut().find(|o| {
                    o.status == "open"
                        && (id.as_deref() == Some(o.txid.as_str())
                            || (cl.is_some() && o.cl_ord_id == cl))
                }) {
                    Some(o) => {
                        if let Some(q) = p("order_qty") {
                            o.vol = q;
                        }
                        if let Some(px) = p("limit_price") {
                            o.price = px;
                        }
                        answer(json!({"amend_id": format!("TMOCK{}-AMEND", o.txid.len())}))
                    }
                    None => error("EOrder:Unknown order"),
                }
            }
            // Cancel and replace: a new txid.
            "/0/private/EditOrder" => {
                let id = p("txid").unwrap_or_default();
                let mut orders = self.orders.lock();
                let n = orders.len() + 1;
                let Some(old) = orders
                    .iter_mut()
                    .find(|o| o.status == "open" && o.txid == id)
                else {
                    return error("EOrder:Unknown order");
                };
                old.status = "canceled".into();
                let mut new = old.clone();
                new.txid = format!("O{n:05}-MOCKE-{n:06}");
                new.status = "open".into();
                new.vol_exec = "0.00000000".into();
                if let Some(v) = p("volume") {
                    new.vol = v;
                }
                if let Some(px) = p("price") {
                    new.price = px;
                }
                let (txid, vol, price) = (new.txid.clone(), new.vol.clone(), new.price.clone());
                orders.push(new);
                answer(json!({
                    "status": "ok", "txid": txid, "originaltxid": id, "volume": vol,
                    "price": price, "price2": "0", "orders_cancelled": 1,
                    "descr": {"order": "edited"},
                }))
            }
            "/0/private/CancelOrder" => {
                let id = p("txid").unwrap_or_default();
                let mut orders = self.orders.lock();
                match orders
                    .iter_mut()
                    .find(|o| o.txid == id || o.cl_ord_id.as_deref() == Some(id.as_str()))
                {
                    Some(o) if o.status == "open" => {
                        o.status = "canceled".into();
                        answer(json!({"count": 1}))
                    }
                    _ => error("EOrder:Unknown order"),
                }
            }
            "/0/private/OpenOrders" => {
                let open: serde_json::Map<String, Value> = self
                    .orders
                    .lock()
                    .iter()
                    .filter(|o| o.status == "open")
                    .map(|o| (o.txid.clone(), o.json()))
                    .collect();
                answer(json!({"open": open}))
            }
            "/0/private/QueryOrders" => {
                let ids = p("txid").unwrap_or_default();
                let found: serde_json::Map<String, Value> = self
                    .orders
                    .lock()
                    .iter()
                    .filter(|o| ids.split(',').any(|i| i == o.txid))
                    .map(|o| (o.txid.clone(), o.json()))
                    .collect();
                answer(Value::Object(found))
            }
            "/0/private/Balance" => {
                let b: serde_json::Map<String, Value> = self
                    .balances
                    .lock()
                    .iter()
                    .map(|(a, v)| (a.clone(), Value::String(v.clone())))
                    .collect();
                answer(Value::Object(b))
            }
            _ => error("EGeneral:Unknown method"),
        }
    }

    fn public(&self, req: &RecordedRequest) -> (u16, String) {
        match req.path.as_str() {
            "/0/public/Ticker" => {
                let t: serde_json::Map<String, Value> = self
                    .prices
                    .lock()
                    .iter()
                    .map(|(pair, px)| {
                        (pair.clone(), json!({"a": [px, "1", "1.000"], "b": [px, "1", "1.000"], "c": [px, "0.001"], "o": px}))
                    })
                    .collect();
                answer(Value::Object(t))
            }
            "/0/public/Time" => {
                answer(json!({"unixtime": 1717243200, "rfc1123": "Sat,  1 Jun 24 12:00:00 +0000"}))
            }
            _ => error("EGeneral:Unknown method"),
        }
    }
}

impl MockHandler for KrakenBook {
    fn handle(&self, req: &RecordedRequest) -> (u16, String) {
        self.handle_inner(req)
    }
}

/// A running mock Kraken. Dropping it stops the server.
pub struct MockKraken {
    pub book: Arc<KrakenBook>,
    pub server: MockServer,
}

impl MockKraken {
    /// The default key; XXBTZUSD at 60000, XETHZUSD at 3000; 100 000 ZUSD.
    pub fn start() -> MockKraken {
        let book = Arc::new(KrakenBook {
            keys: [(KRAKEN_KEY.to_string(), KRAKEN_SECRET.to_string())]
                .into_iter()
                .collect(),
            last_nonce: Mutex::new(HashMap::new()),
            orders: Mutex::new(Vec::new()),
            prices: Mutex::new(vec![
                ("XXBTZUSD".into(), "60000.0".into()),
                ("XETHZUSD".into(), "3000.0".into()),
            ]),
            balances: Mutex::new(vec![("ZUSD".into(), "100000.0000".into())]),
        });
        let server = MockServer::start("mock-kraken", book.clone());
        MockKraken { book, server }
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn orders(&self) -> Vec<MockOrder> {
        self.book.orders.lock().clone()
    }

    /// Sets an order's cumulative executed volume and average price; the whole
    /// volume executed closes it.
    pub fn fill(&self, txid: &str, vol_exec: &str, avg_price: &str) {
        let mut orders = self.book.orders.lock();
        let o = orders
            .iter_mut()
            .find(|o| o.txid == txid)
            .expect("order to fill");
        o.vol_exec = vol_exec.into();
        o.avg_price = avg_price.into();
        let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
        if num(&o.vol_exec) == num(&o.vol) {
            o.status = "closed".into();
        }
    }

    pub fn set_balance(&self, asset: &str, amount: &str) {
        let mut b = self.book.balances.lock();
        b.retain(|(a, _)| a != asset);
        b.push((asset.into(), amount.into()));
    }
}
