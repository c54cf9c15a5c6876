//! Binance request parameters: query string and form body, strictly.
//!
//! Binance reads parameters from the query string and from an
//! `application/x-www-form-urlencoded` body alike, and signs `query + body`.
//! A parameter that appears twice (in one place or across both) is ambiguous:
//! riskgate could check one value while the exchange executes the other, so it is
//! refused rather than guessed.

use std::borrow::Cow;

use smallvec::SmallVec;

/// Most parameters a Binance request may carry; more is refused as malformed.
pub const MAX_PARAMS: usize = 48;

/// Parameters held inline, without a heap allocation: a signed order carries
/// 10 to 12 (symbol, side, type, timeInForce, quantity, price,
/// newClientOrderId, recvWindow, timestamp, signature, ...). More spill to
/// the heap, up to `MAX_PARAMS`.
const INLINE_PARAMS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("parameter '{0}' given more than once")]
    Duplicate(String),
    #[error("invalid percent-encoding")]
    BadEncoding,
    #[error("parameters are not valid UTF-8")]
    NotUtf8,
    #[error("more than {MAX_PARAMS} parameters")]
    TooMany,
    #[error("empty parameter name")]
    EmptyName,
}

/// Decoded parameters in the order received. Borrows from the request unless a
/// value had to be percent-decoded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params<'a> {
    pairs: SmallVec<[(Cow<'a, str>, Cow<'a, str>); INLINE_PARAMS]>,
}

impl<'a> Params<'a> {
    /// Parses the query string and the form body together.
    pub fn parse(query: Option<&'a str>, body: &'a [u8]) -> Result<Params<'a>, ParamError> {
        let body = std::str::from_utf8(body).map_err(|_| ParamError::NotUtf8)?;
        let mut params = Params {
            pairs: SmallVec::new(),
        };
        for source in [query.unwrap_or(""), body] {
            // One pass per pair: find its end, its '=', and whether either
            // side needs percent-decoding (this runs on every order).
            let bytes = source.as_bytes();
            let mut start = 0;
            while start <= bytes.len() {
                let mut end = start;
                let mut eq = None;
                let (mut key_encoded, mut value_encoded) = (false, false);
                while let Some(&b) = bytes.get(end) {
                    match b {
                        b'&' => break,
                        b'=' if eq.is_none() => eq = Some(end),
                        b'%' | b'+' if eq.is_none() => key_encoded = true,
                        b'%' | b'+' => value_encoded = true,
                        _ => {}
                    }
                    end += 1;
                }
                // '&' and '=' are ASCII, so these are char boundaries.
                let (k, v) = match eq {
                    Some(e) => (&source[start..e], &source[e + 1..end]),
                    None => (&source[start..end], ""),
                };
                start = end + 1;
                if k.is_empty() && eq.is_none() {
                    continue; // an empty pair ("a=1&&b=2")
                }
                let k = if key_encoded {
                    decode(k)?
                } else {
                    Cow::Borrowed(k)
                };
                if k.is_empty() {
                    return Err(ParamError::EmptyName);
                }
                let v = if value_encoded {
                    decode(v)?
                } else {
                    Cow::Borrowed(v)
                };
                if params.pairs.iter().any(|(existing, _)| *existing == k) {
                    return Err(ParamError::Duplicate(k.into_owned()));
                }
                if params.pairs.len() == MAX_PARAMS {
                    return Err(ParamError::TooMany);
                }
                params.pairs.push((k, v));
            }
        }
        Ok(params)
    }

    /// Parameters that did not come from a query or form (a `batchOrders`
    /// JSON object), in the order given; duplicates refused as in `parse`.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Params<'static>, ParamError> {
        let mut params = Params {
            pairs: SmallVec::with_capacity(pairs.len()),
        };
        for (k, v) in pairs {
            if k.is_empty() {
                return Err(ParamError::EmptyName);
            }
            if params.pairs.iter().any(|(existing, _)| *existing == k) {
                return Err(ParamError::Duplicate(k));
            }
            if params.pairs.len() == MAX_PARAMS {
                return Err(ParamError::TooMany);
            }
            params.pairs.push((Cow::Owned(k), Cow::Owned(v)));
        }
        Ok(params)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Percent-decoding with `+` as space (form encoding), rejecting bad escapes
/// and anything that does not decode to UTF-8.
fn decode(s: &str) -> Result<Cow<'_, str>, ParamError> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(ParamError::BadEncoding)?;
                let hi = (hex[0] as char)
                    .to_digit(16)
                    .ok_or(ParamError::BadEncoding)?;
                let lo = (hex[1] as char)
                    .to_digit(16)
                    .ok_or(ParamError::BadEncoding)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| ParamError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_and_body() {
        let p = Params::parse(
            Some("symbol=BTCUSDT&side=BUY"),
            b"quantity=0.1&newClientOrderId=a%2Fb",
        )
        .unwrap();
        assert_eq!(p.get("symbol"), Some("BTCUSDT"));
        assert_eq!(p.get("quantity"), Some("0.1"));
        assert_eq!(p.get("newClientOrderId"), Some("a/b"));
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn refuses_duplicates_anywhere() {
        assert_eq!(
            Params::parse(Some("quantity=1&quantity=1000"), b""),
            Err(ParamError::Duplicate("quantity".into()))
        );
        assert_eq!(
            Params::parse(Some("quantity=1"), b"quantity=1000"),
            Err(ParamError::Duplicate("quantity".into()))
        );
        // An encoded name is the same name.
        assert!(Params::parse(Some("quantity=1&quantit%79=2"), b"").is_err());
    }

    #[test]
    fn refuses_bad_encoding() {
        assert_eq!(
            Params::parse(Some("a=%zz"), b""),
            Err(ParamError::BadEncoding)
        );
        assert_eq!(
            Params::parse(Some("a=%4"), b""),
            Err(ParamError::BadEncoding)
        );
        assert_eq!(Params::parse(Some("a=%ff"), b""), Err(ParamError::NotUtf8));
        assert_eq!(Params::parse(None, &[0xff, 0xfe]), Err(ParamError::NotUtf8));
        assert_eq!(Params::parse(Some("=1"), b""), Err(ParamError::EmptyName));
    }

    #[test]
    fn holds_up_to_the_limit_inline_or_spilled() {
        for n in [
            INLINE_PARAMS - 1,
            INLINE_PARAMS,
            INLINE_PARAMS + 1,
            MAX_PARAMS,
        ] {
            let q: Vec<String> = (0..n).map(|i| format!("p{i}={i}")).collect();
            let q = q.join("&");
            let p = Params::parse(Some(&q), b"").unwrap();
            assert_eq!(p.len(), n);
            assert_eq!(p.get(&format!("p{}", n - 1)), Some(&*(n - 1).to_string()));
            assert_eq!(p.iter().next(), Some(("p0", "0")));
        }
        let q: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            Params::parse(Some(&q.join("&")), b""),
            Err(ParamError::TooMany)
        );
    }

    /// The straightforward reading (split on '&', then on the first '='), to
    /// hold the one-pass parser to it.
    fn reference(query: Option<&str>, body: &[u8]) -> Result<Vec<(String, String)>, ParamError> {
        let body = std::str::from_utf8(body).map_err(|_| ParamError::NotUtf8)?;
        let mut out: Vec<(String, String)> = Vec::new();
        for source in [query.unwrap_or(""), body] {
            for pair in source.split('&') {
                if pair.is_empty() {
                    continue;
                }
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let k = decode(k)?;
                if k.is_empty() {
                    return Err(ParamError::EmptyName);
                }
                let v = decode(v)?;
                if out.iter().any(|(e, _)| *e == *k) {
                    return Err(ParamError::Duplicate(k.into_owned()));
                }
                if out.len() == MAX_PARAMS {
                    return Err(ParamError::TooMany);
                }
                out.push((k.into_owned(), v.into_owned()));
            }
        }
        Ok(out)
    }

    #[test]
    fn one_pass_parser_matches_the_reference_reading() {
        let alphabet: &[&str] = &[
            "a", "b", "=", "&", "%", "2", "0", "+", "%41", "x", "é", "%zz", "",
        ];
        // Every string of up to 4 pieces from the alphabet, as query and body.
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &inputs {
                for piece in alphabet {
                    next.push(format!("{s}{piece}"));
                }
            }
            inputs.extend(next);
            inputs.sort();
            inputs.dedup();
        }
        let mut compared = 0;
        for s in &inputs {
            for (query, body) in [
                (Some(s.as_str()), "c=1"),
                (None, s.as_str()),
                (Some("b=2"), s.as_str()),
            ] {
                let fast = Params::parse(query, body.as_bytes()).map(|p| {
                    p.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<Vec<_>>()
                });
                assert_eq!(
                    fast,
                    reference(query, body.as_bytes()),
                    "{query:?} {body:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 50_000, "{compared}");
    }
}
