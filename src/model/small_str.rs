//! Short strings kept inline: instrument names and client order ids travel
//! from the parsed request through the check, the journal, the book and its
//! indexes without a heap allocation per order, and a map keyed by them finds
//! its key in the entry itself rather than behind a pointer.
//!
//! Pure data. A string longer than the inline capacity is kept on the heap,
//! so nothing is ever truncated or refused here (the venues bound lengths).

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// A string of up to `N` bytes stored inline (a clone is a copy, no
/// allocation); a longer one on the heap. It compares, orders and hashes
/// exactly as its `str` does, so maps keyed by it can be probed with a `&str`.
#[derive(Clone)]
pub struct SmallStr<const N: usize>(Repr<N>);

#[derive(Clone)]
enum Repr<const N: usize> {
    /// `bytes[..len]` is a whole `&str` copied in (never written otherwise).
    Inline {
        len: u8,
        bytes: [u8; N],
    },
    Heap(Box<str>),
}

impl<const N: usize> SmallStr<N> {
    /// The inline length must fit the `u8` that records it.
    const CAPACITY_FITS_U8: () = assert!(N <= u8::MAX as usize);

    pub fn new(s: &str) -> SmallStr<N> {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_FITS_U8;
        if s.len() <= N {
            let mut bytes = [0u8; N];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            SmallStr(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            SmallStr(Repr::Heap(Box::from(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let b = &bytes[..*len as usize];
                debug_assert!(std::str::from_utf8(b).is_ok());
                // SAFETY: an inline value is only ever made by `new`, which
                // copies a whole `&str` (valid UTF-8) into `bytes[..len]`;
                // the bytes are never written afterwards. Checking again on
                // every read would cost more than the allocation it replaces
                // (this runs on every hash probe and compare).
                unsafe { std::str::from_utf8_unchecked(b) }
            }
            Repr::Heap(s) => s,
        }
    }

    /// Whether the string is stored inline (no heap allocation).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl<const N: usize> Default for SmallStr<N> {
    fn default() -> SmallStr<N> {
        SmallStr::new("")
    }
}

impl<const N: usize> Deref for SmallStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for SmallStr<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> Borrow<str> for SmallStr<N> {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> PartialEq for SmallStr<N> {
    fn eq(&self, other: &SmallStr<N>) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for SmallStr<N> {}

impl<const N: usize> PartialEq<str> for SmallStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for SmallStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> PartialOrd for SmallStr<N> {
    fn partial_cmp(&self, other: &SmallStr<N>) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> Ord for SmallStr<N> {
    fn cmp(&self, other: &SmallStr<N>) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// As `str` hashes: required for `Borrow<str>` lookups.
impl<const N: usize> Hash for SmallStr<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl<const N: usize> fmt::Display for SmallStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for SmallStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> From<&str> for SmallStr<N> {
    fn from(s: &str) -> SmallStr<N> {
        SmallStr::new(s)
    }
}

impl<const N: usize> From<&String> for SmallStr<N> {
    fn from(s: &String) -> SmallStr<N> {
        SmallStr::new(s)
    }
}

/// Keeps a long string's allocation rather than copying it.
impl<const N: usize> From<Box<str>> for SmallStr<N> {
    fn from(s: Box<str>) -> SmallStr<N> {
        if s.len() <= N {
            SmallStr::new(&s)
        } else {
            SmallStr(Repr::Heap(s))
        }
    }
}

impl<const N: usize> From<String> for SmallStr<N> {
    fn from(s: String) -> SmallStr<N> {
        if s.len() <= N {
            SmallStr::new(&s)
        } else {
            SmallStr(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl<const N: usize> From<Cow<'_, str>> for SmallStr<N> {
    fn from(s: Cow<'_, str>) -> SmallStr<N> {
        match s {
            Cow::Borrowed(s) => SmallStr::new(s),
            Cow::Owned(s) => SmallStr::from(s),
        }
    }
}

impl<const N: usize> serde::Serialize for SmallStr<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for SmallStr<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SmallStr<N>, D::Error> {
        struct Visitor<const N: usize>;
        impl<const N: usize> serde::de::Visitor<'_> for Visitor<N> {
            type Value = SmallStr<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            // Borrowed, transient (unescaped into a scratch buffer) and owned
            // strings all arrive here (`visit_string` defaults to it): a
            // short one is copied inline without an intermediate `String`.
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SmallStr<N>, E> {
                Ok(SmallStr::new(v))
            }
        }
        d.deserialize_str(Visitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    type S = SmallStr<8>;

    #[test]
    fn keeps_every_string_whole_inline_or_not() {
        for s in ["", "a", "12345678", "123456789", "é", "ééééé", "ünïcødé!"] {
            let v = S::new(s);
            assert_eq!(v.as_str(), s);
            assert_eq!(v.is_inline(), s.len() <= 8, "{s}");
            assert_eq!(S::from(s.to_string()), v);
            assert_eq!(S::from(Box::<str>::from(s)).as_str(), s);
            assert_eq!(S::from(Cow::Owned(s.to_string())).as_str(), s);
            assert_eq!(v.clone(), v);
            assert_eq!(format!("{v}"), s);
            assert_eq!(format!("{v:?}"), format!("{s:?}"));
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, serde_json::to_string(s).unwrap());
            assert_eq!(serde_json::from_str::<S>(&json).unwrap(), v);
        }
        // Escaped JSON (read through serde_json's scratch buffer).
        assert_eq!(
            serde_json::from_str::<S>(r#""a\"b\u00e9""#)
                .unwrap()
                .as_str(),
            "a\"bé"
        );
        assert!(serde_json::from_str::<S>("12").is_err());
    }

    #[test]
    fn hashes_compares_and_orders_as_str() {
        let h = hashbrown::DefaultHashBuilder::default();
        let words = ["", "b", "a", "abcdefgh", "abcdefghi", "abcdefgha", "zz"];
        for a in words {
            assert_eq!(h.hash_one(S::new(a)), h.hash_one(a));
            for b in words {
                assert_eq!(S::new(a) == S::new(b), a == b);
                assert_eq!(S::new(a).cmp(&S::new(b)), a.cmp(b), "{a} {b}");
            }
        }
    }

    #[test]
    fn inline_strings_stay_small() {
        // What the order path's types cost per value (see Symbol, ClientOrderId).
        assert!(std::mem::size_of::<SmallStr<22>>() <= 24);
        assert!(std::mem::size_of::<SmallStr<38>>() <= 40);
        assert_eq!(
            std::mem::size_of::<Option<SmallStr<38>>>(),
            std::mem::size_of::<SmallStr<38>>()
        );
    }
}
