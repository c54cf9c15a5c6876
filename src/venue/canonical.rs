//! Path hygiene shared by every venue.
//!
//! Owns only the "could an exchange read this path another way?" test. It must
//! not know any endpoint: each venue module decides what a path means.

/// A path an exchange could only read one way: starts with `/`, printable ASCII,
/// no percent-encoding, no fragments or backslashes, no empty or dot segments.
/// Anything else might be normalised upstream into an order endpoint riskgate
/// did not recognise, so mutating requests to it are refused.
pub fn is_canonical_path(path: &str) -> bool {
    path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'%' && b != b'#' && b != b'\\')
        && !path[1..]
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
}

/// The first `max_chars` characters of `s`, for quoting untrusted input in reasons.
pub fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths() {
        assert!(is_canonical_path("/api/v5/trade/order"));
        for p in [
            "api/v5/trade/order",
            "/api/v5//trade/order",
            "/api/v5/./trade/order",
            "/api/v5/x/../trade/order",
            "/api/v5/trade/%6Frder",
            "/api/v5/trade/order/",
            "/api/v5/trade/order#x",
            "/api/v5\\trade/order",
        ] {
            assert!(!is_canonical_path(p), "{p}");
        }
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("ééé", 2), "éé");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
