//! Header fields as they came on the wire, for a bot's request or an
//! exchange's answer.
//!
//! Names and values are slices of one shared, immutable buffer (the message's
//! head), so reading a message allocates nothing per field, and forwarding
//! writes each field back exactly as it arrived (name case included). Lookups
//! are by case-insensitive name; repeated fields are kept, in order.
//!
//! Owns only the container. What a field means (hop-by-hop or end to end, an
//! API key, a signature) is decided by the proxy and the venue adapters.

use bytes::Bytes;

/// Most fields a message may carry (hyper's default).
pub const MAX_HEADERS: usize = 100;

/// Fields kept inline before spilling to the heap: a bot's request carries
/// well under this, an exchange's answer about 20 (Binance behind its CDN).
/// Small enough that moving a message around costs little.
const INLINE_FIELDS: usize = 24;

/// Largest head the offsets can address: a message head (request line or
/// status line and every field) must be shorter than this.
pub const MAX_HEAD_BYTES: usize = u16::MAX as usize;

/// One field: offsets into the shared buffer.
#[derive(Clone, Copy, Default)]
struct Field {
    name_at: u16,
    name_len: u16,
    value_at: u16,
    value_len: u16,
}

/// The fields of one message.
#[derive(Clone)]
pub struct Headers {
    buf: Bytes,
    fields: smallvec::SmallVec<[Field; INLINE_FIELDS]>,
}

/// A field's value, borrowed from its message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value<'a>(&'a [u8]);

/// A value that is not visible ASCII (obs-text), where text was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("header value is not visible ASCII")]
pub struct NotAscii;

impl<'a> Value<'a> {
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The value as text: visible ASCII, spaces and tabs only, as
    /// `http::HeaderValue::to_str` accepts.
    pub fn to_str(&self) -> Result<&'a str, NotAscii> {
        if self
            .0
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            std::str::from_utf8(self.0).map_err(|_| NotAscii)
        } else {
            Err(NotAscii)
        }
    }
}

impl std::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.0))
    }
}

impl PartialEq<&str> for Value<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// A field that cannot be kept: too many fields, or a head too long to address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadersError {
    #[error("more than {MAX_HEADERS} header fields")]
    TooMany,
    #[error("message head over {MAX_HEAD_BYTES} bytes")]
    TooLong,
}

impl Default for Headers {
    fn default() -> Self {
        Headers::new()
    }
}

impl Headers {
    /// No fields.
    pub fn new() -> Headers {
        Headers {
            buf: Bytes::new(),
            fields: smallvec::SmallVec::new(),
        }
    }

    /// Adds a field whose name and value are slices of `head` (as httparse
    /// returns them when it parses `head`). The fields refer to `head` by
    /// offset: `attach` the same bytes, frozen, once every field is in.
    pub(crate) fn push_parsed(
        &mut self,
        head: &[u8],
        name: &[u8],
        value: &[u8],
    ) -> Result<(), HeadersError> {
        let base = head.as_ptr() as usize;
        let end = base + head.len();
        let offset = |s: &[u8]| -> Option<(u16, u16)> {
            // An empty value may point anywhere: store it as empty.
            if s.is_empty() {
                return Some((0, 0));
            }
            let at = s.as_ptr() as usize;
            if at < base || at + s.len() > end {
                return None;
            }
            Some((u16::try_from(at - base).ok()?, u16::try_from(s.len()).ok()?))
        };
        let (Some((name_at, name_len)), Some((value_at, value_len))) =
            (offset(name), offset(value))
        else {
            return Err(HeadersError::TooLong);
        };
        if self.fields.len() >= MAX_HEADERS {
            return Err(HeadersError::TooMany);
        }
        self.fields.push(Field {
            name_at,
            name_len,
            value_at,
            value_len,
        });
        Ok(())
    }

    /// Gives the fields pushed with `push_parsed` the bytes they index: the
    /// same bytes as the `head` they were pushed with. (Other bytes would only
    /// read wrong, never out of bounds: every slice is range-checked.)
    pub(crate) fn attach(mut self, head: Bytes) -> Headers {
        self.buf = head;
        self
    }

    /// Fields built from pairs (tests, mocks, and requests riskgate makes
    /// itself). Panics beyond `MAX_HEADERS` fields or `MAX_HEAD_BYTES` bytes:
    /// never called with a peer's input.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<[u8]>>(pairs: &[(N, V)]) -> Headers {
        let mut raw = Vec::new();
        let mut spans = Vec::with_capacity(pairs.len());
        for (n, v) in pairs {
            let (n, v) = (n.as_ref().as_bytes(), v.as_ref());
            spans.push((raw.len(), n.len(), raw.len() + n.len(), v.len()));
            raw.extend_from_slice(n);
            raw.extend_from_slice(v);
        }
        assert!(pairs.len() <= MAX_HEADERS && raw.len() <= MAX_HEAD_BYTES);
        let mut h = Headers::new();
        h.buf = Bytes::from(raw);
        for (na, nl, va, vl) in spans {
            // In range: the whole buffer is at most MAX_HEAD_BYTES.
            h.fields.push(Field {
                name_at: na as u16,
                name_len: nl as u16,
                value_at: va as u16,
                value_len: vl as u16,
            });
        }
        h
    }

    /// The fields of an `http::HeaderMap` (mock exchanges built on hyper).
    pub fn from_header_map(map: &http::HeaderMap) -> Headers {
        let pairs: Vec<(&str, &[u8])> = map
            .iter()
            .take(MAX_HEADERS)
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        Headers::from_pairs(&pairs)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn slice(&self, at: u16, len: u16) -> &[u8] {
        self.buf
            .get(at as usize..at as usize + len as usize)
            .unwrap_or_default()
    }

    fn name_bytes(&self, f: &Field) -> &[u8] {
        self.slice(f.name_at, f.name_len)
    }

    /// Every field, in order: (name as sent, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Value<'_>)> + '_ {
        self.fields.iter().map(|f| {
            // Names are tokens (checked by the parser, or given as &str).
            let name = std::str::from_utf8(self.name_bytes(f)).unwrap_or_default();
            (name, Value(self.slice(f.value_at, f.value_len)))
        })
    }

    /// Every field, in order, as bytes: what forwarding writes back out
    /// (no UTF-8 check per name on the hot path).
    pub(crate) fn iter_raw(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(|f| (self.name_bytes(f), self.slice(f.value_at, f.value_len)))
    }

    /// The first field named `name` (any case).
    pub fn get<N: AsRef<str>>(&self, name: N) -> Option<Value<'_>> {
        let name = name.as_ref().as_bytes();
        self.fields
            .iter()
            .find(|f| self.name_bytes(f).eq_ignore_ascii_case(name))
            .map(|f| Value(self.slice(f.value_at, f.value_len)))
    }

    /// Every field named `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Value<'a>> + 'a {
        self.fields
            .iter()
            .filter(move |f| self.name_bytes(f).eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| Value(self.slice(f.value_at, f.value_len)))
    }

    pub fn contains<N: AsRef<str>>(&self, name: N) -> bool {
        self.get(name).is_some()
    }

    /// Does a comma-separated field named `name` list `token` (any case)?
    pub fn has_token(&self, name: &[u8], token: &[u8]) -> bool {
        self.fields
            .iter()
            .filter(|f| self.name_bytes(f).eq_ignore_ascii_case(name))
            .any(|f| {
                self.slice(f.value_at, f.value_len)
                    .split(|b| *b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
            })
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_keep_order() {
        let h = Headers::from_pairs(&[
            ("X-MBX-APIKEY", "k1"),
            ("Connection", "keep-alive, X-Drop"),
            ("x-mbx-apikey", "k2"),
            ("Empty", ""),
        ]);
        assert_eq!(h.len(), 4);
        assert_eq!(h.get("x-mbx-apikey").unwrap(), "k1");
        assert_eq!(
            h.get_all("X-Mbx-ApiKey").collect::<Vec<_>>(),
            [Value(b"k1"), Value(b"k2")]
        );
        assert_eq!(h.get("empty").unwrap().as_bytes(), b"");
        assert!(h.get("absent").is_none());
        assert!(h.has_token(b"connection", b"x-drop"));
        assert!(!h.has_token(b"connection", b"close"));
        let names: Vec<&str> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["X-MBX-APIKEY", "Connection", "x-mbx-apikey", "Empty"]
        );
        assert_eq!(
            h.get(http::header::CONNECTION).unwrap(),
            "keep-alive, X-Drop"
        );
    }

    #[test]
    fn parsed_slices_share_the_head() {
        let head = Bytes::from_static(b"GET / HTTP/1.1\r\nHost: a\r\nX-K: v\xff\r\n\r\n");
        let mut slots = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut slots);
        assert!(req.parse(&head).unwrap().is_complete());
        let mut h = Headers::new();
        for f in req.headers.iter() {
            h.push_parsed(&head, f.name.as_bytes(), f.value).unwrap();
        }
        let h = h.attach(head.clone());
        assert_eq!(h.get("host").unwrap().to_str(), Ok("a"));
        assert_eq!(h.get("x-k").unwrap().to_str(), Err(NotAscii));
        assert_eq!(h.get("x-k").unwrap().as_bytes(), b"v\xff");
        // A slice of another buffer is refused, not mis-addressed.
        let mut h = h;
        assert_eq!(h.push_parsed(&head, b"x", b"y"), Err(HeadersError::TooLong));
    }

    #[test]
    fn too_many_fields_are_refused() {
        let head = Bytes::from(b"a: b\r\n".repeat(MAX_HEADERS + 1));
        let mut h = Headers::new();
        for i in 0..MAX_HEADERS {
            h.push_parsed(&head, &head[i * 6..i * 6 + 1], &head[i * 6 + 3..i * 6 + 4])
                .unwrap();
        }
        let i = MAX_HEADERS;
        assert_eq!(
            h.push_parsed(&head, &head[i * 6..i * 6 + 1], &head[i * 6 + 3..i * 6 + 4]),
            Err(HeadersError::TooMany)
        );
        let h = h.attach(head);
        assert_eq!(h.get_all("A").count(), MAX_HEADERS);
        assert!(h.get_all("A").all(|v| v == "b"));
    }
}
