//! Which account a Coinbase request belongs to: the API key name.
//!
//! Coinbase CDP keys sign every request with a short-lived JWT (ES256 or
//! EdDSA) sent as `Authorization: Bearer <jwt>`; its `sub` claim and its `kid`
//! header both name the key (`organizations/{org}/apiKeys/{id}`). Legacy keys
//! send `CB-ACCESS-KEY` with an HMAC instead (ccxt still does for them).
//!
//! riskgate does NOT verify the JWT: it has no key, and it does not need one.
//! The key name only partitions limits between accounts; Coinbase verifies
//! the signature when the request arrives, so a forged token is refused there.
//! To keep one key from posing as many accounts, a token whose `sub` and
//! `kid` disagree is refused (Coinbase looks the key up by one of them).
//! Must not decide anything about risk.

use std::borrow::Cow;

use base64::Engine as _;

use crate::rules::{RejectReason, Rejection};
use crate::venue::RequestView;

/// Legacy HMAC keys: the key itself.
pub const LEGACY_KEY_HEADER: &str = "cb-access-key";
/// Longest bearer token read (CDP JWTs are under 1 KB).
const MAX_TOKEN_BYTES: usize = 8 << 10;
/// Longest key name accepted (`organizations/<uuid>/apiKeys/<uuid>` is 91).
const MAX_KEY_NAME_BYTES: usize = 256;

fn no_key(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::MissingApiKey, msg)
}

#[derive(serde::Deserialize)]
struct JwtHeader {
    kid: Option<String>,
}

#[derive(serde::Deserialize)]
struct JwtClaims {
    sub: Option<String>,
}

fn segment<T: serde::de::DeserializeOwned>(b64: &str) -> Option<T> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_KEY_NAME_BYTES && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The key name a CDP JWT carries (its `sub` claim and/or `kid` header),
/// read without verifying the signature.
pub fn jwt_key_name(token: &str) -> Result<String, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(no_key("bearer token too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(no_key(
            "the bearer token is not a JWT: riskgate needs a Coinbase API key (CDP key JWT or CB-ACCESS-KEY) to know the account; OAuth tokens are not supported",
        ));
    };
    if sig.is_empty() {
        return Err(no_key("unsigned JWT"));
    }
    let header: JwtHeader = segment(h).ok_or_else(|| no_key("JWT header unreadable"))?;
    let claims: JwtClaims = segment(p).ok_or_else(|| no_key("JWT claims unreadable"))?;
    let name = match (header.kid, claims.sub) {
        (Some(kid), Some(sub)) if kid != sub => {
            return Err(no_key("JWT 'kid' and 'sub' name different API keys"))
        }
        (_, Some(name)) | (Some(name), None) => name,
        (None, None) => return Err(no_key("JWT names no API key ('sub' or 'kid')")),
    };
    if !valid_name(&name) {
        return Err(no_key("JWT key name is not a printable key name"));
    }
    Ok(name)
}

/// The account key of a request: `Ok(None)` when it carries no credentials
/// at all (public reads), an error when it carries credentials riskgate
/// cannot read a key name from.
pub fn account_key<'a>(req: &RequestView<'a>) -> Result<Option<Cow<'a, [u8]>>, Rejection> {
    let bearer = match req.headers.get(http::header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| no_key("Authorization header is not ASCII"))?;
            match v.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    Some(token.trim())
                }
                _ => return Err(no_key("Authorization is not a bearer token")),
            }
        }
    };
    let legacy = req.api_key(LEGACY_KEY_HEADER);
    match (bearer, legacy) {
        (Some(_), Some(_)) => Err(no_key(
            "both a bearer JWT and CB-ACCESS-KEY: which key signs is ambiguous",
        )),
        (Some(token), None) => Ok(Some(Cow::Owned(jwt_key_name(token)?.into_bytes()))),
        (None, Some(key)) => {
            if key.len() > MAX_KEY_NAME_BYTES || !key.iter().all(|b| b.is_ascii_graphic()) {
                return Err(no_key("CB-ACCESS-KEY is not a printable key"));
            }
            Ok(Some(key))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn jwt(header: &str, claims: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(claims))
    }

    const KEY: &str = "organizations/org-1/apiKeys/key-1";

    #[test]
    fn reads_the_key_name_from_sub_and_kid() {
        let t = jwt(
            &format!(r#"{{"alg":"ES256","kid":"{KEY}","nonce":"ab","typ":"JWT"}}"#),
            &format!(
                r#"{{"sub":"{KEY}","iss":"cdp","nbf":1,"exp":2,"uri":"POST api.coinbase.com/api/v3/brokerage/orders"}}"#
            ),
        );
        assert_eq!(jwt_key_name(&t).unwrap(), KEY);
        // Only one of them: that one.
        let t = jwt(r#"{"alg":"ES256"}"#, &format!(r#"{{"sub":"{KEY}"}}"#));
        assert_eq!(jwt_key_name(&t).unwrap(), KEY);
        let t = jwt(
            &format!(r#"{{"alg":"EdDSA","kid":"{KEY}"}}"#),
            r#"{"iss":"cdp"}"#,
        );
        assert_eq!(jwt_key_name(&t).unwrap(), KEY);
    }

    #[test]
    fn refuses_tokens_without_a_readable_key_name() {
        for t in [
            "opaque-oauth-token".to_string(),
            jwt(r#"{"kid":"a"}"#, r#"{"sub":"b"}"#),
            jwt(r#"{"alg":"ES256"}"#, r#"{"iss":"cdp"}"#),
            jwt(r#"{"alg":"ES256"}"#, r#"{"sub":"has space"}"#),
            format!("{}.{}.", b64("{}"), b64(r#"{"sub":"a"}"#)),
            "a.b.c.d".to_string(),
            "!!.??.x".to_string(),
        ] {
            assert_eq!(
                jwt_key_name(&t).unwrap_err().reason,
                RejectReason::MissingApiKey,
                "{t}"
            );
        }
    }

    fn key_of(headers: &[(&str, &str)]) -> Result<Option<Vec<u8>>, Rejection> {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let req = RequestView {
            method: &http::Method::POST,
            path: "/api/v3/brokerage/orders",
            query: None,
            headers: &crate::venue::Headers::from_header_map(&h),
            body: b"",
        };
        account_key(&req).map(|k| k.map(|c| c.into_owned()))
    }

    #[test]
    fn bearer_or_legacy_header() {
        let t = jwt(r#"{"alg":"ES256"}"#, &format!(r#"{{"sub":"{KEY}"}}"#));
        let bearer = format!("Bearer {t}");
        assert_eq!(
            key_of(&[("authorization", &bearer)]).unwrap(),
            Some(KEY.as_bytes().to_vec())
        );
        assert_eq!(
            key_of(&[("cb-access-key", "legacy1")]).unwrap(),
            Some(b"legacy1".to_vec())
        );
        assert_eq!(key_of(&[]).unwrap(), None);
        assert!(key_of(&[("authorization", "Basic abc")]).is_err());
        assert!(key_of(&[("authorization", &bearer), ("cb-access-key", "x")]).is_err());
    }
}
