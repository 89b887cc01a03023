//! Domain values: identifiers, prices, quantities, sides, time.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::text::{any_text, id_chars, inline_id, venue_chars};

inline_id!(
    /// An instrument as the venue names it, e.g. `BTCUSDT` (at most 23 bytes:
    /// with its length byte a symbol fills three words, and a quote with venue
    /// and symbol fits a `MarketEvent` in two cache lines).
    Symbol,
    23,
    |s: &str| {
        // Venue symbols are printable ASCII; only others need the Unicode tables.
        if s.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(());
        }
        match s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            Some(c) => Err(super::text::TextError::BadChar(c, "no whitespace")),
            None => Ok(()),
        }
    }
);

inline_id!(
    /// An asset (coin) as the venue names it, e.g. `BTC`, `USDT`.
    Asset,
    16,
    any_text
);

inline_id!(
    /// The operator's name for a configured venue, e.g. `sim` or `binance-testnet`
    /// (at most 23 bytes, like [`Symbol`]).
    VenueId,
    23,
    id_chars
);

inline_id!(
    /// A client order id: at most 36 characters of `[A-Za-z0-9_-]`, the set
    /// every supported venue accepts. Tradewind's own ids read `tw` + the
    /// instance's code + the sequence number (see [`super::owner`]).
    ClientOrderId,
    36,
    id_chars
);

impl ClientOrderId {
    /// The id of order number `seq` of strategy instance `instance`:
    /// `tw` + the instance's code + `seq` in base 36, at most 18 lowercase
    /// alphanumerics. Fails past 18 characters (`seq` ≥ 36¹¹) or if
    /// `instance` holds characters outside `[A-Za-z0-9_]`.
    pub fn for_instance(instance: &str, seq: u64) -> Result<Self, super::text::TextError> {
        if let Some(c) = instance.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            return Err(super::text::TextError::BadChar(c, "[A-Za-z0-9_]"));
        }
        let id = super::owner::own_id(instance, seq);
        if id.len() > super::owner::MAX_OWN_ID {
            return Err(super::text::TextError::TooLong { max: super::owner::MAX_OWN_ID, len: id.len() });
        }
        Self::new(&id)
    }
}

inline_id!(
    /// The venue's id of an order: a number on Binance, Bybit and OKX, a UUID on
    /// Coinbase, `OUF4EM-FRGI2-MQMWZD` on Kraken (at most 36 bytes: a UUID fits).
    /// Reads from a JSON string or number.
    VenueOrderId,
    36,
    venue_chars,
    numbers
);

inline_id!(
    /// The venue's id of a trade (public or one's own fill): a number on most
    /// venues, a string on some (at most 36 bytes: a UUID fits). Reads from a
    /// JSON string or number.
    TradeId,
    36,
    venue_chars,
    numbers
);

/// Which side of the book an order or trade is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for buys, -1 for sells: the sign a fill of this side gives a position.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        })
    }
}

/// Declares a `Decimal` newtype with the arithmetic that keeps its unit.
macro_rules! decimal_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Decimal);

        impl $name {
            pub const ZERO: $name = $name(Decimal::ZERO);

            pub const fn new(value: Decimal) -> Self {
                Self(value)
            }

            pub const fn get(self) -> Decimal {
                self.0
            }

            pub fn is_zero(self) -> bool {
                self.0.is_zero()
            }

            pub fn is_positive(self) -> bool {
                self.0 > Decimal::ZERO
            }
        }

        impl From<Decimal> for $name {
            fn from(value: Decimal) -> Self {
                Self(value)
            }
        }

        impl FromStr for $name {
            type Err = rust_decimal::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Decimal::from_str_exact(s).map(Self)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl Add for $name {
            type Output = $name;
            fn add(self, rhs: $name) -> $name {
                $name(self.0 + rhs.0)
            }
        }

        impl Sub for $name {
            type Output = $name;
            fn sub(self, rhs: $name) -> $name {
                $name(self.0 - rhs.0)
            }
        }

        impl AddAssign for $name {
            fn add_assign(&mut self, rhs: $name) {
                self.0 += rhs.0;
            }
        }

        impl SubAssign for $name {
            fn sub_assign(&mut self, rhs: $name) {
                self.0 -= rhs.0;
            }
        }

        impl Neg for $name {
            type Output = $name;
            fn neg(self) -> $name {
                $name(-self.0)
            }
        }
    };
}

decimal_newtype!(
    /// A price in quote asset per unit of base asset.
    Price
);

decimal_newtype!(
    /// A quantity of base asset (signed where it is a position).
    Qty
);

impl Price {
    /// Price × quantity, in quote asset.
    pub fn notional(self, qty: Qty) -> Decimal {
        self.0 * qty.0
    }
}

impl Qty {
    pub fn abs(self) -> Qty {
        Qty(self.0.abs())
    }

    pub fn min(self, other: Qty) -> Qty {
        Qty(self.0.min(other.0))
    }
}

/// Milliseconds since the Unix epoch (UTC), the unit every venue here uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub const fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn client_order_id_format_and_limits() {
        let id = ClientOrderId::for_instance("mm_btc", 42).unwrap();
        assert_eq!(id.as_str(), "twtgd2716");
        // Any name up to the strategy name limit fits; the id's length
        // depends on the sequence number only.
        let long = ClientOrderId::for_instance("abcdefghijklmnopqrstuvwxyz", 1_796_609_447_857).unwrap();
        assert_eq!(long.as_str().len(), 15);
        assert!(ClientOrderId::for_instance("a-b", 1).is_err(), "instance names never hold '-'");
        assert!(ClientOrderId::for_instance("a", u64::MAX).is_err(), "past 18 characters");
        assert!(ClientOrderId::new("has space").is_err());
        assert!(ClientOrderId::new("dot.ted").is_err());
    }

    #[test]
    fn venue_ids_read_from_strings_and_numbers_and_write_strings() {
        // Binance numbers its orders and trades, Coinbase uses UUIDs, Kraken its own
        // text: one type holds all, and a journal written with numbers reads back.
        let uuid = "e5c0a8a3-7c5e-4b1e-9f7a-2d6c1f0b3a99";
        for (json, text) in [("28457", "28457"), ("18446744073709551615", "18446744073709551615")] {
            let id: VenueOrderId = serde_json::from_str(json).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
        }
        for text in [uuid, "OUF4EM-FRGI2-MQMWZD", "2290000000061666327", "0"] {
            let id: TradeId = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(id.as_str(), text);
        }
        assert_eq!(VenueOrderId::from(0).as_str(), "0");
        assert_eq!(TradeId::from(u64::MAX), TradeId::new("18446744073709551615").unwrap());
        let refused = |json: &str| serde_json::from_str::<TradeId>(json).unwrap_err().to_string();
        assert!(refused("-1").contains("a string or a non-negative integer"), "{}", refused("-1"));
        assert!(refused("\"\"").contains("empty"), "{}", refused("\"\""));
        assert!(refused("\"has space\"").contains("printable ASCII"), "{}", refused("\"has space\""));
        assert!(refused("1.5").contains("a string or a non-negative integer"));
        assert!(refused(&format!("\"{uuid}x\"")).contains("at most 36 bytes"));
    }

    #[test]
    fn decimal_newtypes_parse_exactly_and_serialize_as_strings() {
        let p: Price = "64000.10000000".parse().unwrap();
        assert_eq!(p.to_string(), "64000.10000000");
        assert_eq!(serde_json_like(&p), "\"64000.10000000\"");
        let q: Qty = "0.001".parse().unwrap();
        assert_eq!(p.notional(q), Decimal::from_str("64.00010000000").unwrap());
        assert!("1e400".parse::<Price>().is_err());
    }

    #[test]
    fn side_sign_and_opposite() {
        assert_eq!(Side::Buy.sign(), Decimal::ONE);
        assert_eq!(Side::Sell.opposite(), Side::Buy);
    }

    fn serde_json_like(p: &Price) -> String {
        // The crate has no JSON dependency; TOML's inline value shows the
        // same quoting rule (a string, not a float).
        toml::Value::try_from(p).unwrap().to_string()
    }
}
