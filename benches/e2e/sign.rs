//! Binance request signing, as the exchange defines it:
//! `signature` = hex(HMAC-SHA256(secret, totalParams)), where totalParams is the
//! query string concatenated with the request body, without the `signature` pair.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The bench account's API key (64 characters, like a real Binance key).
pub const API_KEY: &str = "rgBenchKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS";
/// The bench account's secret. Bench only: it signs requests to the local mock.
pub const API_SECRET: &[u8] = b"rgBenchSecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";

/// A keyed HMAC, cloned per message so the key schedule is computed once.
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            mac: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"),
        }
    }

    /// Appends the lower-case hex signature of `payload` to `out`.
    pub fn sign_hex_into(&self, payload: &[u8], out: &mut Vec<u8>) {
        let mut mac = self.mac.clone();
        mac.update(payload);
        let tag = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in tag {
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
    }

    /// Checks a hex signature over the concatenation of `parts`, in constant time.
    pub fn verify(&self, parts: &[&[u8]], signature_hex: &[u8]) -> bool {
        let Ok(expected) = hex::decode(signature_hex) else {
            return false;
        };
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(&expected).is_ok()
    }
}

/// Finds the `signature=` pair in a form or query string. Returns the text before
/// and after the pair (which together are what the client signed) and the value.
pub fn split_signature(params: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let mut start = 0;
    while start < params.len() {
        let end = params[start..]
            .iter()
            .position(|&b| b == b'&')
            .map_or(params.len(), |i| start + i);
        let pair = &params[start..end];
        if let Some(value) = pair.strip_prefix(b"signature=") {
            let before = &params[..start.saturating_sub(1)];
            let after = if end < params.len() {
                &params[end + 1..]
            } else {
                &[][..]
            };
            // "a&signature=x&b" was signed as "a&b": keep the separator once.
            if !before.is_empty() && !after.is_empty() {
                return Some((&params[..start], after, value));
            }
            return Some((before, after, value));
        }
        start = end + 1;
    }
    None
}

/// The value of parameter `name` in a form or query string (raw, not decoded).
pub fn param<'a>(params: &'a [u8], name: &str) -> Option<&'a [u8]> {
    params.split(|&b| b == b'&').find_map(|pair| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        (&pair[..eq] == name.as_bytes()).then(|| &pair[eq + 1..])
    })
}

/// Milliseconds since the Unix epoch, as Binance's `timestamp` parameter.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Cost of signing (load generator side) and verifying (mock side) one typical
/// order body, in nanoseconds, measured in-process over `iterations` messages.
pub fn measure_costs_ns(iterations: u32) -> (f64, f64) {
    let signer = Signer::new(API_SECRET);
    let mut body = Vec::with_capacity(512);
    let mut sink = 0usize;
    let t = Instant::now();
    for i in 0..iterations {
        crate::loadgen::signed_order_body(
            &mut body,
            &signer,
            "calib",
            0,
            u64::from(i),
            u64::from(i),
            now_ms(),
        );
        sink += body.len();
    }
    let sign_ns = t.elapsed().as_nanos() as f64 / f64::from(iterations);
    let t = Instant::now();
    let mut ok = 0u32;
    for _ in 0..iterations {
        if let Some((a, b, sig)) = split_signature(&body) {
            ok += u32::from(signer.verify(&[a, b], sig));
        }
    }
    let verify_ns = t.elapsed().as_nanos() as f64 / f64::from(iterations);
    assert!(
        ok == iterations && sink > 0,
        "calibration signature did not verify"
    );
    // The three places a signature can sit in a parameter string.
    assert_eq!(
        split_signature(b"a=1&signature=ff"),
        Some((&b"a=1"[..], &b""[..], &b"ff"[..]))
    );
    assert_eq!(
        split_signature(b"signature=ff&a=1"),
        Some((&b""[..], &b"a=1"[..], &b"ff"[..]))
    );
    assert_eq!(
        split_signature(b"a=1&signature=ff&b=2"),
        Some((&b"a=1&"[..], &b"b=2"[..], &b"ff"[..]))
    );
    (sign_ns, verify_ns)
}
