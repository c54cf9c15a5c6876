//! riskgate's HTTP/1.1 server side over real TCP, live mode in front of the
//! mock Binance (which verifies every signature): the framings a bot's
//! client may use are read exactly (chunked bodies, `Expect: 100-continue`,
//! pipelining, HTTP/1.0, `Connection: close`), ambiguous framing is refused
//! in Binance's error shape and never forwarded, and idle kept-alive
//! connections are closed after `keep_alive_timeout_s`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::*;

/// One raw client connection that reads answers one at a time (riskgate's
/// answers always carry Content-Length).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl Conn {
    fn open(gw: &Gateway) -> Conn {
        let stream = TcpStream::connect(gw.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).expect("an answer, not a hang");
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// Reads one answer (status line, fields, Content-Length body).
    fn answer(&mut self) -> Answer {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(self.fill(), "closed before an answer: {:?}", self.buf);
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        let status = head[9..12].parse().unwrap();
        let len: usize = head
            .split("\r\n")
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while self.buf.len() < head_end + len {
            assert!(self.fill(), "closed inside a body");
        }
        let body = String::from_utf8(self.buf[head_end..head_end + len].to_vec()).unwrap();
        self.buf.drain(..head_end + len);
        Answer { status, head, body }
    }

    /// True once the server has closed the connection (EOF or reset), with
    /// nothing more sent.
    fn closed(&mut self) -> bool {
        let mut chunk = [0u8; 64];
        match self.stream.read(&mut chunk) {
            Ok(0) => self.buf.is_empty(),
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    }
}

/// A signed resting LIMIT order at the current price, as (head fields, body).
fn signed_order(gw: &Gateway, mock: &MockBinance, client_id: &str) -> RawRequest {
    gw.clock.advance_ms(1_000);
    let px = mock.market.read().price("BTCUSDT").expect("price");
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", "0.01")
        .param("price", &px.to_string())
        .param("newClientOrderId", client_id)
        .in_body()
        .build()
}

fn head_of(req: &RawRequest, framing: &str) -> String {
    let mut head = format!("{} {} HTTP/1.1\r\nHost: x\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(framing);
    head.push_str("\r\n");
    head
}

fn orders_forwarded(mock: &MockBinance) -> Vec<String> {
    mock.requests_to("/api/v3/order")
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[test]
fn a_chunked_body_after_100_continue_is_checked_and_forwarded_with_its_length() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let req = signed_order(&gw, &mock, "chunky1");
    let mut c = Conn::open(&gw);
    c.write(
        head_of(
            &req,
            "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n",
        )
        .as_bytes(),
    );
    // The interim answer comes before any body byte is sent.
    let interim = c.answer();
    assert_eq!(interim.status, 100, "{}", interim.head);
    let (a, b) = req.body.split_at(req.body.len() / 2);
    let mut chunked = Vec::new();
    for part in [a, b] {
        chunked.extend_from_slice(format!("{:x};ext=1\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\nx-trailer: t\r\n\r\n");
    c.write(&chunked);
    let answer = c.answer();
    assert_eq!(answer.status, 200, "{}{}", answer.head, answer.body);
    assert_eq!(answer.header("x-riskgate-decision"), Some("accept"));
    // The exchange got the body whole, with its length, and its signature verified.
    let seen = mock.requests_to("/api/v3/order");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, req.body);
    assert_eq!(
        seen[0].header("content-length"),
        Some(req.body.len().to_string().as_str())
    );
    assert_eq!(seen[0].header("transfer-encoding"), None);
    assert_eq!(seen[0].header("expect"), None);
    // The connection stays usable.
    let req2 = signed_order(&gw, &mock, "chunky2");
    let mut bytes =
        head_of(&req2, &format!("Content-Length: {}\r\n", req2.body.len())).into_bytes();
    bytes.extend_from_slice(&req2.body);
    c.write(&bytes);
    assert_eq!(c.answer().status, 200);
}

#[test]
fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let order = signed_order(&gw, &mock, "piped1");
    let mut bytes = b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    bytes.extend_from_slice(
        head_of(&order, &format!("Content-Length: {}\r\n", order.body.len())).as_bytes(),
    );
    bytes.extend_from_slice(&order.body);
    bytes.extend_from_slice(b"GET /api/v3/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut c = Conn::open(&gw);
    c.write(&bytes);
    let ping = c.answer();
    assert_eq!((ping.status, ping.body.as_str()), (200, "{}"));
    let placed = c.answer();
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert!(
        placed.body.contains("\"clientOrderId\":\"piped1\""),
        "{}",
        placed.body
    );
    let time = c.answer();
    assert_eq!(time.status, 200);
    assert!(time.body.contains("serverTime"), "{}", time.body);
    assert_eq!(time.header("connection"), Some("close"));
    assert!(c.closed(), "closed after the request that asked for it");
}

#[test]
fn ambiguous_framing_is_refused_in_binance_shape_and_nothing_is_forwarded() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let order = signed_order(&gw, &mock, "smuggle1");
    // A request two parsers could delimit differently, carrying a second
    // order inside the "body" one of them would see.
    let inner = signed_order(&gw, &mock, "smuggle2");
    let mut inner_bytes =
        head_of(&inner, &format!("Content-Length: {}\r\n", inner.body.len())).into_bytes();
    inner_bytes.extend_from_slice(&inner.body);
    for framing in [
        format!(
            "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
            order.body.len()
        ),
        format!(
            "Content-Length: {0}\r\nContent-Length: {0}\r\n",
            order.body.len()
        ),
        "Transfer-Encoding: gzip, chunked\r\n".to_string(),
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n".to_string(),
    ] {
        let mut bytes = head_of(&order, &framing).into_bytes();
        bytes.extend_from_slice(&order.body);
        bytes.extend_from_slice(&inner_bytes);
        let mut c = Conn::open(&gw);
        c.write(&bytes);
        let a = c.answer();
        assert_eq!(a.status, 400, "{framing}: {}", a.body);
        assert_eq!(
            a.header("x-riskgate-rule"),
            Some("malformed_request"),
            "{framing}"
        );
        assert_eq!(a.header("connection"), Some("close"), "{framing}");
        let j: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(j["code"], -2010, "{framing}");
        assert!(
            c.closed(),
            "{framing}: the connection is closed, the rest unread"
        );
    }
    assert_eq!(orders_forwarded(&mock), Vec::<String>::new());
}

#[test]
fn http10_and_connection_close_are_answered_then_closed() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    let mut c = Conn::open(&gw);
    c.write(b"GET /api/v3/ping HTTP/1.0\r\n\r\n");
    let a = c.answer();
    assert_eq!(a.status, 200);
    assert_eq!(a.header("connection"), Some("close"));
    assert!(c.closed());

    // HTTP/1.0 keep-alive, as ab and some old clients ask for it.
    let mut c = Conn::open(&gw);
    c.write(b"GET /api/v3/ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let a = c.answer();
    assert_eq!(a.header("connection"), Some("keep-alive"));
    c.write(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(c.answer().status, 200);
    assert!(c.closed());
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_keep_alive_timeout() {
    let mock = MockBinance::start();
    let gw = Gateway::live_with(
        &mock,
        GatewayOptions {
            limits_extra: "keep_alive_timeout_s = 0.5\nheader_read_timeout_s = 60\n".into(),
            ..Default::default()
        },
    );
    let mut c = Conn::open(&gw);
    c.write(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.answer().status, 200);
    // Nothing more is sent: the server closes (the read returns; it does not
    // wait for the 20 s read timeout).
    assert!(c.closed());
}

#[test]
fn a_malformed_or_oversized_head_gets_a_binance_shaped_refusal() {
    let mock = MockBinance::start();
    let gw = Gateway::live(&mock, OPEN_RULES);
    for bytes in [
        b"POST /api/v3/order#frag HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(),
        b"POST http://api.binance.com/api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(),
        b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 200-ok\r\n\r\n".to_vec(),
        format!("GET /api/v3/ping HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000)).into_bytes(),
    ] {
        let mut c = Conn::open(&gw);
        c.write(&bytes);
        let a = c.answer();
        let what = String::from_utf8_lossy(&bytes[..40]).into_owned();
        assert_eq!(a.status, 400, "{what}: {}", a.body);
        assert_eq!(a.header("x-riskgate-rule"), Some("malformed_request"), "{what}");
        assert!(a.body.contains("\"code\":-2010"), "{what}: {}", a.body);
    }
    assert_eq!(orders_forwarded(&mock), Vec::<String>::new());
}
