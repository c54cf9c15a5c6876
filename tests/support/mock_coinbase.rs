//! A mock Coinbase Advanced Trade exchange for integration tests: verifies
//! Coinbase's CDP-key JWT (ES256) exactly as Coinbase does, keeps a small
//! order book of its own, and answers in Coinbase's shapes.
//!
//! Owns: the JWT checks, the mock's orders (placed open, filled or cancelled
//! when the test says so), balances and the product list with prices; and
//! the client helper `coinbase_request` that signs like ccxt does for a CDP
//! key. Must not touch riskgate's code paths under test.
//!
//! Auth rule (Coinbase CDP keys, ES256): `Authorization: Bearer <jwt>`, JWT
//! header `{alg:"ES256",kid:<key name>,nonce,typ:"JWT"}`, claims
//! `{sub:<key name>,iss:"cdp",nbf,exp,uri:"<METHOD> <host><path>"}`, signed
//! with the key's P-256 private key (raw r||s). The mock checks the signature
//! with the key's public key, the key name, and that `uri` names the method,
//! the host it was reached at (its `Host` header) and the path: a token
//! signed for another host (riskgate's own listener) is refused, which is why
//! Coinbase goes through riskgate's proxy-URL mode. Times are not checked.

use std::sync::Arc;

use base64::Engine as _;
use http::Method;
use parking_lot::Mutex;
use ring::signature::{EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{json, Value};

use super::mock_binance::{RawRequest, RecordedRequest};
use super::mock_http::{form_pairs, MockHandler, MockServer};

pub const CB_KEY_NAME: &str = "organizations/riskgate-test/apiKeys/key-0001";
/// A fixed P-256 private key (PKCS#8 DER), so every run signs with one key.
const CB_PKCS8_HEX: &str = "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420000000000000005eedc0ffee123456789abcdef0112233445566778899aabbcca14403420004536aabbfa840a0d7bbba5a676d29b180aa2b2bcca90eadc74141b1c5fad89cd1a8f8b7a17a9c4e3b1be1a918cebccdbf506560514d7f926a4a4cac89d7624711";
/// Fixed token times (the mock does not check them against a clock).
const NBF: i64 = 1_717_243_200;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

pub fn cb_key_pair() -> EcdsaKeyPair {
    let der = hex::decode(CB_PKCS8_HEX).expect("hex");
    EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &der,
        &ring::rand::SystemRandom::new(),
    )
    .expect("PKCS#8 P-256 key")
}

/// A CDP-key JWT as ccxt builds it: `uri` = "<METHOD> <host><path>" (no query).
pub fn cb_jwt(key_name: &str, method: &str, host: &str, path: &str) -> String {
    let header =
        json!({"alg": "ES256", "kid": key_name, "nonce": "6f0c1a2b3c4d5e6f", "typ": "JWT"});
    let claims = json!({"sub": key_name, "iss": "cdp", "nbf": NBF, "exp": NBF + 120,
        "uri": format!("{method} {host}{path}")});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = cb_key_pair()
        .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
        .expect("sign");
    format!("{input}.{}", b64(sig.as_ref()))
}

/// A request through riskgate's proxy-URL listener to the exchange at
/// `host` (the mock's `127.0.0.1:port`), signed for that host as ccxt signs:
/// the target is `/http://<host><path?query>`.
pub fn coinbase_request(method: &str, host: &str, path_and_query: &str, body: &str) -> RawRequest {
    coinbase_request_as(CB_KEY_NAME, method, host, path_and_query, body)
}

pub fn coinbase_request_as(
    key_name: &str,
    method: &str,
    host: &str,
    path_and_query: &str,
    body: &str,
) -> RawRequest {
    let path = path_and_query.split('?').next().unwrap_or(path_and_query);
    let jwt = cb_jwt(key_name, method, host, path);
    let mut r = RawRequest::new(method, &format!("/http://{host}{path_and_query}"))
        .header("Authorization", &format!("Bearer {jwt}"));
    if !body.is_empty() {
        r = r.header("Content-Type", "application/json").body(body);
    }
    r
}

#[derive(Clone, Debug)]
pub struct MockOrder {
    pub order_id: String,
    pub client_order_id: String,
    pub product_id: String,
    pub side: String,
    pub config: Value,
    pub status: String,
    pub filled_size: String,
    pub average_filled_price: String,
}

impl MockOrder {
    fn json(&self) -> Value {
        let size_in_quote = self.config["market_market_ioc"]["quote_size"].is_string();
        json!({"order_id": self.order_id, "product_id": self.product_id, "user_id": "u1",
            "order_configuration": self.config, "side": self.side,
            "client_order_id": self.client_order_id, "status": self.status,
            "time_in_force": "GOOD_UNTIL_CANCELLED", "created_time": "2024-06-01T12:00:00Z",
            "filled_size": self.filled_size, "average_filled_price": self.average_filled_price,
            "size_in_quote": size_in_quote, "order_type": "LIMIT", "product_type": "SPOT",
            "settled": self.status != "OPEN", "pending_cancel": false})
    }
}

pub struct CoinbaseBook {
    public_key: Vec<u8>,
    pub orders: Mutex<Vec<MockOrder>>,
    pub prices: Mutex<Vec<(String, String)>>,
    pub balances: Mutex<Vec<(String, String)>>,
    next_id: Mutex<u64>,
}

fn unauthorized(why: &str) -> (u16, String) {
    (
        401,
        json!({"error": "unauthorized", "error_details": why, "message": "Unauthorized"})
            .to_string(),
    )
}

fn ok(v: Value) -> (u16, String) {
    (200, v.to_string())
}

impl CoinbaseBook {
    fn check_auth(&self, req: &RecordedRequest) -> Result<(), (u16, String)> {
        let token = req
            .header("Authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("missing bearer token"))?;
        let parts: Vec<&str> = token.split('.').collect();
        let [h, c, s] = parts.as_slice() else {
            return Err(unauthorized("not a JWT"));
        };
        let header: Value = unb64(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| unauthorized("bad JWT header"))?;
        let claims: Value = unb64(c)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| unauthorized("bad JWT claims"))?;
        if header["alg"] != "ES256" || header["typ"] != "JWT" || !header["nonce"].is_string() {
            return Err(unauthorized("bad JWT header fields"));
        }
        if header["kid"] != CB_KEY_NAME || claims["sub"] != CB_KEY_NAME {
            return Err(unauthorized("unknown API key"));
        }
        let times_ok = matches!(
            (claims["nbf"].as_i64(), claims["exp"].as_i64()),
            (Some(nbf), Some(exp)) if nbf < exp
        );
        if claims["iss"] != "cdp" || !times_ok {
            return Err(unauthorized("bad JWT claims fields"));
        }
        let expected_uri = format!(
            "{} {}{}",
            req.method,
            req.header("host").unwrap_or(""),
            req.path
        );
        if claims["uri"] != expected_uri.as_str() {
            return Err(unauthorized(&format!(
                "uri claim {} does not name this request ({expected_uri})",
                claims["uri"]
            )));
        }
        let sig = unb64(s).ok_or_else(|| unauthorized("bad signature encoding"))?;
        UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &self.public_key)
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .map_err(|_| unauthorized("invalid signature"))
    }

    fn place(&self, o: &Value) -> Value {
        let mut next = self.next_id.lock();
        *next += 1;
        let order_id = format!("7d5c9a1e-0000-4000-8000-{:012x}", *next);
        let s = |k: &str| o[k].as_str().unwrap_or("").to_string();
        self.orders.lock().push(MockOrder {
            order_id: order_id.clone(),
            client_order_id: s("client_order_id"),
            product_id: s("product_id"),
            side: s("side"),
            config: o["order_configuration"].clone(),
            status: "OPEN".into(),
            filled_size: "0".into(),
            average_filled_price: "0".into(),
        });
        json!({"success": true, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": order_id,
            "success_response": {"order_id": order_id, "product_id": s("product_id"),
                "side": s("side"), "client_order_id": s("client_order_id")},
            "order_configuration": o["order_configuration"]})
    }

    fn handle_inner(&self, req: &RecordedRequest) -> (u16, String) {
        let public = req.path.starts_with("/api/v3/brokerage/market/");
        if !public {
            if let Err(e) = self.check_auth(req) {
                return e;
            }
        }
        let query = form_pairs(req.query.as_deref().unwrap_or(""));
        let body: Value = if req.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(_) => {
                    return (
                        400,
                        json!({"error": "INVALID_ARGUMENT", "message": "bad json"}).to_string(),
                    )
                }
            }
        };
        match (&req.method, req.path.as_str()) {
            (&Method::POST, "/api/v3/brokerage/orders") => ok(self.place(&body)),
            (&Method::POST, "/api/v3/brokerage/orders/preview") => ok(json!({
                "order_total": "1", "commission_total": "0", "errs": [], "warning": [],
                "preview_id": "p-1"})),
            (&Method::POST, "/api/v3/brokerage/orders/batch_cancel") => {
                let mut orders = self.orders.lock();
                let results: Vec<Value> = body["order_ids"]
                    .as_array()
                    .map(|ids| {
                        ids.iter()
                            .map(|id| {
                                let id = id.as_str().unwrap_or("");
                                match orders.iter_mut().find(|o| o.order_id == id && o.status == "OPEN") {
                                    Some(o) => {
                                        o.status = "CANCELLED".into();
                                        json!({"success": true, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": id})
                                    }
                                    None => json!({"success": false, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": id}),
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                ok(json!({ "results": results }))
            }
            (&Method::GET, "/api/v3/brokerage/orders/historical/batch") => {
                let status = query
                    .iter()
                    .find(|(k, _)| k == "order_status")
                    .map(|(_, v)| v.clone());
                let list: Vec<Value> = self
                    .orders
                    .lock()
                    .iter()
                    .filter(|o| status.as_deref().is_none_or(|s| s == o.status))
                    .map(MockOrder::json)
                    .collect();
                ok(json!({"orders": list, "sequence": "0", "has_next": false, "cursor": ""}))
            }
            (&Method::GET, "/api/v3/brokerage/orders/historical/fills") => {
                let fills: Vec<Value> = self
                    .orders
                    .lock()
                    .iter()
                    .filter(|o| o.filled_size != "0")
                    .map(|o| json!({"entry_id": o.order_id, "trade_id": o.order_id, "order_id": o.order_id,
                        "trade_time": "2024-06-01T12:00:01Z", "trade_type": "FILL",
                        "price": o.average_filled_price, "size": o.filled_size, "commission": "0",
                        "product_id": o.product_id, "side": o.side, "size_in_quote": false}))
                    .collect();
                ok(json!({"fills": fills, "cursor": ""}))
            }
            (&Method::GET, p) if p.starts_with("/api/v3/brokerage/orders/historical/") => {
                let id = &p["/api/v3/brokerage/orders/historical/".len()..];
                match self.orders.lock().iter().find(|o| o.order_id == id) {
                    Some(o) => ok(json!({ "order": o.json() })),
                    None => (
                        404,
                        json!({"error": "NOT_FOUND", "message": "order with this orderID was not found"}).to_string(),
                    ),
                }
            }
            (&Method::GET, "/api/v3/brokerage/accounts") => {
                let list: Vec<Value> = self
                    .balances
                    .lock()
                    .iter()
                    .map(|(c, v)| json!({"uuid": format!("acct-{c}"), "currency": c,
                        "available_balance": {"value": v, "currency": c}, "hold": {"value": "0", "currency": c}}))
                    .collect();
                let n = list.len();
                ok(json!({"accounts": list, "has_next": false, "cursor": "", "size": n}))
            }
            (&Method::GET, "/api/v3/brokerage/market/products") => {
                let list: Vec<Value> = self
                    .prices
                    .lock()
                    .iter()
                    .map(|(p, px)| json!({"product_id": p, "price": px, "product_type": "SPOT"}))
                    .collect();
                let n = list.len();
                ok(json!({"products": list, "num_products": n}))
            }
            _ => (
                404,
                json!({"error": "NOT_FOUND", "message": "Not Found"}).to_string(),
            ),
        }
    }
}

impl MockHandler for CoinbaseBook {
    fn handle(&self, req: &RecordedRequest) -> (u16, String) {
        self.handle_inner(req)
    }
}

/// A running mock Coinbase. Dropping it stops the server.
pub struct MockCoinbase {
    pub book: Arc<CoinbaseBook>,
    pub server: MockServer,
}

impl MockCoinbase {
    /// The default key; BTC-USD at 60000, ETH-USD at 3000, BTC-USDT at 60010;
    /// 100 000 USD.
    pub fn start() -> MockCoinbase {
        let book = Arc::new(CoinbaseBook {
            public_key: cb_key_pair().public_key().as_ref().to_vec(),
            orders: Mutex::new(Vec::new()),
            prices: Mutex::new(vec![
                ("BTC-USD".into(), "60000".into()),
                ("ETH-USD".into(), "3000".into()),
                ("BTC-USDT".into(), "60010".into()),
            ]),
            balances: Mutex::new(vec![("USD".into(), "100000".into())]),
            next_id: Mutex::new(0),
        });
        let server = MockServer::start("mock-coinbase", book.clone());
        MockCoinbase { book, server }
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `127.0.0.1:port`: the host a JWT's `uri` claim must name.
    pub fn host(&self) -> String {
        self.server.addr.to_string()
    }

    pub fn orders(&self) -> Vec<MockOrder> {
        self.book.orders.lock().clone()
    }

    /// Sets an order's cumulative fill (whole size → FILLED).
    pub fn fill(&self, order_id: &str, filled: &str, avg_price: &str, done: bool) {
        let mut orders = self.book.orders.lock();
        let o = orders
            .iter_mut()
            .find(|o| o.order_id == order_id)
            .expect("order to fill");
        o.filled_size = filled.into();
        o.average_filled_price = avg_price.into();
        if done {
            o.status = "FILLED".into();
        }
    }

    pub fn set_balance(&self, ccy: &str, amount: &str) {
        let mut b = self.book.balances.lock();
        b.retain(|(c, _)| c != ccy);
        b.push((ccy.into(), amount.into()));
    }
}
