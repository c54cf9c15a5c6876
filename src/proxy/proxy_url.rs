//! ccxt's proxy-URL mode: the request path is the exchange's whole URL,
//! `/https://api.bybit.com/v5/order/create`, or the same percent-encoded as one
//! component (`/https%3A%2F%2Fapi.bybit.com%2Fv5%2Forder%2Fcreate%3Fa%3D1`).
//! The bot signs against the real URL, which is the only way a Coinbase JWT
//! (its `uri` claim names the host) stays valid.
//!
//! Owns only the routing: which configured venue a target URL names. The
//! allow-list is the configured venues' upstreams (scheme, host, port); any
//! other target is refused, so riskgate is never an open proxy. The request is
//! then handled by that venue's own pipeline exactly as if it had come to the
//! venue's listener with the target's path and query.

use std::rc::Rc;

use bytes::Bytes;
use http::StatusCode;

use super::pipeline::WorkerVenue;
use super::server::{Answer, Request};
use crate::config::Upstream;
use crate::rules::{RejectReason, Rejection};

/// Listener name in metrics.
pub const LISTENER_NAME: &str = "proxy_url";

/// Longest target URL accepted (after decoding).
const MAX_TARGET_BYTES: usize = 16 << 10;

/// One worker's routes: configured origin → that venue's pipeline.
pub struct Router {
    routes: Vec<(Upstream, Rc<WorkerVenue>)>,
}

/// The exchange URL a proxy-URL request names.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query as the exchange will see them.
    pub path_and_query: String,
}

/// Reads the target URL from the request's path and query.
pub fn parse_target(raw_path_and_query: &str) -> Result<Target, String> {
    let rest = raw_path_and_query
        .strip_prefix('/')
        .ok_or("the path must be /<exchange URL>")?;
    let starts_with = |prefix: &[u8]| {
        rest.as_bytes()
            .get(..prefix.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(prefix))
    };
    let decoded: String = if starts_with(b"https%3A%2F%2F") || starts_with(b"http%3A%2F%2F") {
        percent_decode(rest)?
    } else {
        rest.to_string()
    };
    if decoded.len() > MAX_TARGET_BYTES {
        return Err("target URL too long".into());
    }
    let (tls, after_scheme) = if let Some(r) = decoded.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = decoded.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("the path must start with /https:// (the exchange's URL)".into());
    };
    let split = after_scheme
        .find(['/', '?'])
        .ok_or("the target URL has no path")?;
    let (authority, path_and_query) = after_scheme.split_at(split);
    if !path_and_query.starts_with('/') {
        return Err("the target URL has no path".into());
    }
    if authority.is_empty() || authority.contains(['@', '#', '%', '\\']) {
        return Err("malformed host in the target URL".into());
    }
    if path_and_query.contains('#') {
        return Err("fragment in the target URL".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (
                h,
                p.parse::<u16>().map_err(|_| "bad port in the target URL")?,
            )
        }
        Some(_) => return Err("bad port in the target URL".into()),
        None => (authority, if tls { 443 } else { 80 }),
    };
    Ok(Target {
        tls,
        host: host.to_ascii_lowercase(),
        port,
        path_and_query: path_and_query.to_string(),
    })
}

/// Decodes `%XX` escapes once; anything malformed (or not UTF-8) is refused.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("malformed percent-encoding in the target URL")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "target URL is not UTF-8".into())
}

/// A refusal that belongs to no venue (the target is not a configured
/// exchange): riskgate's own JSON, with the usual decision headers.
pub fn neutral_rejection(r: &Rejection) -> (StatusCode, Bytes) {
    let body = serde_json::json!({
        "error": format!("riskgate: {}: {}", r.reason.id(), r.message),
    });
    (StatusCode::FORBIDDEN, Bytes::from(body.to_string()))
}

pub(super) fn refuse(r: &Rejection) -> Answer {
    let (status, body) = neutral_rejection(r);
    Answer {
        status: status.as_u16(),
        headers: None,
        body,
        decision: "reject",
        rule: Some(r.reason.id()),
    }
}

impl Router {
    pub fn new(routes: Vec<(Upstream, Rc<WorkerVenue>)>) -> Router {
        Router { routes }
    }

    fn venue_for(&self, t: &Target) -> Option<&Rc<WorkerVenue>> {
        self.routes
            .iter()
            .find(|(u, _)| {
                u.tls == t.tls && u.port == t.port && u.host.eq_ignore_ascii_case(&t.host)
            })
            .map(|(_, v)| v)
    }

    /// Hands the request to the venue its target URL names, with the URL
    /// replaced by the target's path and query; refuses any other target.
    pub async fn route(&self, req: &Request) -> Answer {
        let target = match parse_target(req.target()) {
            Ok(t) => t,
            Err(msg) => {
                return refuse(&Rejection::new(
                    RejectReason::EndpointNotAllowed,
                    format!("proxy URL refused: {msg}"),
                ))
            }
        };
        let Some(venue) = self.venue_for(&target) else {
            return refuse(&Rejection::new(
                RejectReason::EndpointNotAllowed,
                format!(
                    "proxy URL host {}:{} is not a configured venue's upstream",
                    target.host, target.port
                ),
            ));
        };
        // The decoded target goes on the wire as the request target: the
        // same rules as a bot's own (visible ASCII, no fragment).
        if !target
            .path_and_query
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'#')
        {
            return venue.reject(&Rejection::new(
                RejectReason::MalformedRequest,
                "proxy URL: the target's path and query are not a valid request target",
            ));
        }
        venue.handle(req, &target.path_and_query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_targets() {
        let t = parse_target("/https://api.binance.com/api/v3/order?symbol=BTCUSDT&a=%40").unwrap();
        assert_eq!(
            t,
            Target {
                tls: true,
                host: "api.binance.com".into(),
                port: 443,
                path_and_query: "/api/v3/order?symbol=BTCUSDT&a=%40".into(),
            }
        );
        // encodeURIComponent of the whole URL: decoded once, inner escapes survive.
        let t =
            parse_target("/https%3A%2F%2Fapi.bybit.com%2Fv5%2Forder%2Fcreate%3Fa%3D1%26b%3D%2540")
                .unwrap();
        assert_eq!(t.host, "api.bybit.com");
        assert_eq!(t.path_and_query, "/v5/order/create?a=1&b=%40");
        let t = parse_target("/http://127.0.0.1:9000/x").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port), (false, "127.0.0.1", 9000));
        let t = parse_target("/https://API.Bybit.com:443/v5/market/time").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("api.bybit.com", 443));
    }

    #[test]
    fn malformed_targets_are_refused() {
        for p in [
            "/api/v3/order",
            "/ftp://x/y",
            "/https://api.binance.com",
            "/https://user@api.binance.com/x",
            "/https://api.binance.com:99999/x",
            "/https://api.binance.com:/x",
            "/https%3A%2F%2Fapi.binance.com%2Fx%ZZ",
            "/https://api.binance.com/x#frag",
            "/https://api.binance.com%2Fevil.com/x",
        ] {
            assert!(parse_target(p).is_err(), "{p}");
        }
    }
}
