//! ccxt's proxy-URL mode over real loopback HTTP: the bot puts the exchange's
//! whole URL in the path (plain, or percent-encoded as one component) and signs
//! against the real URL; riskgate routes by the target's origin to that venue's
//! checks and upstream, and refuses any origin that is not a configured venue's.

mod support;

use std::net::SocketAddr;

use support::*;

fn with_proxy_url(mock: &MockBinance) -> (Gateway, SocketAddr) {
    let gw = Gateway::live_with(
        mock,
        GatewayOptions {
            config_tail: "[proxy_url]\nlisten = \"127.0.0.1:0\"\n".into(),
            ..Default::default()
        },
    );
    let addr = gw
        .app()
        .venue_addr("proxy_url")
        .expect("proxy-URL listener");
    (gw, addr)
}

fn order(price: &str, qty: &str) -> RawRequest {
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", qty)
        .param("price", price)
        .build() // parameters and signature in the query string
}

/// encodeURIComponent, as ccxt applies it to the whole target URL.
fn encode_uri_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn via_proxy_url(req: &RawRequest, origin: &str, encoded: bool) -> RawRequest {
    let url = format!("{origin}{}", req.target);
    let mut r = req.clone();
    r.target = if encoded {
        format!("/{}", encode_uri_component(&url))
    } else {
        format!("/{url}")
    };
    r
}

#[test]
fn orders_through_the_proxy_url_reach_the_exchange_signed_as_sent() {
    let mock = MockBinance::start();
    let (_gw, proxy) = with_proxy_url(&mock);
    let px = mock
        .market
        .read()
        .price("BTCUSDT")
        .expect("price")
        .to_string();
    for (i, encoded) in [false, true].into_iter().enumerate() {
        let req = order(&px, if encoded { "0.02" } else { "0.01" });
        let resp = send(proxy, &via_proxy_url(&req, &mock.base_url(), encoded)).expect("send");
        assert_eq!(resp.status, 200, "{}", resp.body_text());
        assert_eq!(resp.header("x-riskgate-decision"), Some("accept"));
        assert!(
            resp.json()["orderId"].as_i64().is_some(),
            "{}",
            resp.body_text()
        );
        // The mock verified the HMAC over the query it received: the same bytes.
        let seen = mock.requests_to("/api/v3/order");
        assert_eq!(seen.len(), i + 1);
        assert_eq!(seen[i].query.as_deref(), req.query());
    }
}

#[test]
fn proxy_url_orders_get_the_venues_rules_and_refusal_shape() {
    let mock = MockBinance::start();
    let (_gw, proxy) = with_proxy_url(&mock);
    let resp = send(
        proxy,
        &via_proxy_url(&order("1", "0.01"), &mock.base_url(), true),
    )
    .expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-rule"), Some("price_band"));
    assert_eq!(resp.json()["code"], -2010);
    assert!(mock.requests_to("/api/v3/order").is_empty());
}

#[test]
fn targets_off_the_allow_list_are_refused_never_forwarded() {
    let mock = MockBinance::start();
    let (_gw, proxy) = with_proxy_url(&mock);
    let px = mock
        .market
        .read()
        .price("BTCUSDT")
        .expect("price")
        .to_string();
    let req = order(&px, "0.01");
    let other_port = format!("http://127.0.0.1:{}", mock.addr.port().wrapping_add(1));
    for target in [
        via_proxy_url(&req, "https://evil.example.com", false),
        via_proxy_url(&req, &other_port, true),
        // Not a proxy URL at all: a venue path on the proxy-URL listener.
        req.clone(),
    ] {
        let resp = send(proxy, &target).expect("send");
        assert_eq!(resp.status, 403, "{}", resp.body_text());
        assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
        assert_eq!(resp.header("x-riskgate-rule"), Some("endpoint_not_allowed"));
        let msg = resp.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            msg.starts_with("riskgate: endpoint_not_allowed: proxy URL"),
            "{msg}"
        );
    }
    assert!(mock.requests_to("/api/v3/order").is_empty());
}

#[test]
fn two_venues_with_one_upstream_cannot_share_the_proxy_url_listener() {
    use riskgate::config::{self, Env};
    let text = "mode = \"paper\"\n\
        [proxy_url]\nlisten = \"127.0.0.1:0\"\n\
        [[venues]]\nname = \"a\"\nkind = \"binance-spot\"\nlisten = \"127.0.0.1:0\"\nupstream = \"https://api.binance.com\"\n\
        [[venues]]\nname = \"b\"\nkind = \"binance-spot\"\nlisten = \"127.0.0.1:0\"\nupstream = \"https://API.binance.com:443\"\n";
    let err = config::parse(
        std::path::Path::new("riskgate.toml"),
        text,
        &Env::from_pairs(&[]),
    )
    .expect_err("refused")
    .to_string();
    assert!(err.contains("riskgate.toml:2:1"), "{err}");
    assert!(err.contains("could mean either"), "{err}");
}
