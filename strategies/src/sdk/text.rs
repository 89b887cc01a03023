//! Short strings stored inline (no heap allocation, `Copy`).
//!
//! Symbols, assets, venue names and client order ids are short and compared,
//! hashed and copied on every market event. Keeping them inline makes a
//! `MarketEvent` allocation-free and lets parsers build them from borrowed
//! frame bytes.

use std::fmt;
use std::hash::{Hash, Hasher};

/// Why a string could not become an inline identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} bytes, got {len}")]
    TooLong { max: usize, len: usize },
    #[error("contains {0:?}, allowed are {1}")]
    BadChar(char, &'static str),
}

/// A UTF-8 string of at most `N` bytes, stored inline.
#[derive(Clone, Copy)]
pub struct InlineStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// Copies `s`; fails if it is empty or longer than `N` bytes.
    #[inline]
    pub fn new(s: &str) -> Result<Self, TextError> {
        const { assert!(N < 256, "length is stored in a u8") };
        if s.is_empty() {
            return Err(TextError::Empty);
        }
        if s.len() > N {
            return Err(TextError::TooLong { max: N, len: s.len() });
        }
        let mut bytes = [0u8; N];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self { len: s.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        // The bytes were copied from a `&str` in `new`, so they are valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len as usize]).expect("InlineStr holds UTF-8 copied from a str")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl<const N: usize> PartialEq for InlineStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl<const N: usize> Eq for InlineStr<N> {}

impl<const N: usize> PartialOrd for InlineStr<N> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<const N: usize> Ord for InlineStr<N> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl<const N: usize> Hash for InlineStr<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares a newtype over [`InlineStr`] with validation, `FromStr`, `Display`
/// and string serde. With `numbers`, the id also reads from a JSON number
/// (venues that number their orders and trades send them so) and converts from
/// a `u64` without allocating.
macro_rules! inline_id {
    ($(#[$meta:meta])* $name:ident, $cap:literal, $check:expr) => {
        $crate::sdk::text::inline_id!(@common $(#[$meta])* $name, $cap, $check);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Self::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
    ($(#[$meta:meta])* $name:ident, $cap:literal, $check:expr, numbers) => {
        $crate::sdk::text::inline_id!(@common $(#[$meta])* $name, $cap, $check);

        impl From<u64> for $name {
            #[inline]
            fn from(n: u64) -> Self {
                const { assert!($cap >= 20, "room for every u64") };
                let mut buf = [0u8; 20];
                Self::new($crate::sdk::text::decimal(n, &mut buf)).expect("a u64's digits are a valid id")
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($crate::sdk::text::IdVisitor(std::marker::PhantomData::<$name>))
            }
        }

        impl $crate::sdk::text::FromWire for $name {
            const EXPECTING: &'static str = concat!(stringify!($name), ": a string or a non-negative integer");
            fn from_text(s: &str) -> Result<Self, $crate::sdk::text::TextError> {
                Self::new(s)
            }
            fn from_number(n: u64) -> Self {
                Self::from(n)
            }
        }
    };
    (@common $(#[$meta:meta])* $name:ident, $cap:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($crate::sdk::text::InlineStr<$cap>);

        impl $name {
            /// Maximum length in bytes.
            pub const MAX_LEN: usize = $cap;

            #[inline]
            pub fn new(s: &str) -> Result<Self, $crate::sdk::text::TextError> {
                let inner = $crate::sdk::text::InlineStr::new(s)?;
                let check = $check;
                check(s)?;
                Ok(Self(inner))
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::sdk::text::TextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

    };
}
pub(crate) use inline_id;

/// The decimal digits of `n`, written into `buf` (without the formatting
/// machinery: ids are made from numbers on every trade a venue streams).
#[inline]
pub(crate) fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut start = buf.len();
    let mut rest = n;
    loop {
        start -= 1;
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[start..]).expect("ASCII digits")
}

/// An id a venue may send as a string or as a number.
#[doc(hidden)]
pub trait FromWire: Sized {
    const EXPECTING: &'static str;
    fn from_text(s: &str) -> Result<Self, TextError>;
    fn from_number(n: u64) -> Self;
}

#[doc(hidden)]
pub struct IdVisitor<T>(pub std::marker::PhantomData<T>);

impl<T: FromWire> serde::de::Visitor<'_> for IdVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        T::from_text(s).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
        Ok(T::from_number(n))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
        u64::try_from(n).map(T::from_number).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
    }
}

/// Accepts any non-empty string (length is checked by [`InlineStr`]).
#[inline]
pub(crate) fn any_text(_: &str) -> Result<(), TextError> {
    Ok(())
}

/// Accepts printable ASCII without spaces: what venues put in their own ids
/// (digits, UUIDs, Kraken's `OUF4EM-FRGI2-MQMWZD`).
#[inline]
pub(crate) fn venue_chars(s: &str) -> Result<(), TextError> {
    match s.chars().find(|c| !c.is_ascii_graphic()) {
        Some(c) => Err(TextError::BadChar(c, "printable ASCII without spaces")),
        None => Ok(()),
    }
}

/// Accepts `[A-Za-z0-9_-]`, the character set every venue allows in ids.
#[inline]
pub(crate) fn id_chars(s: &str) -> Result<(), TextError> {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Ok(());
    }
    match s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        Some(c) => Err(TextError::BadChar(c, "[A-Za-z0-9_-]")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_lengths() {
        let s = InlineStr::<8>::new("BTCUSDT").unwrap();
        assert_eq!(s.as_str(), "BTCUSDT");
        assert_eq!(InlineStr::<8>::new(""), Err(TextError::Empty));
        assert_eq!(InlineStr::<4>::new("BTCUSDT"), Err(TextError::TooLong { max: 4, len: 7 }));
        // Multi-byte UTF-8 is counted in bytes.
        let unicode = InlineStr::<24>::new("这是测试币456").unwrap();
        assert_eq!(unicode.as_str(), "这是测试币456");
    }

    #[test]
    fn equality_ignores_unused_capacity() {
        let a = InlineStr::<8>::new("ETH").unwrap();
        let b = InlineStr::<8>::new("ETH").unwrap();
        assert_eq!(a, b);
        assert!(InlineStr::<8>::new("BTC").unwrap() < a);
    }
}
