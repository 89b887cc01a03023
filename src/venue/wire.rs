//! Reading the numbers venues write as strings: a decimal or a millisecond
//! time in a JSON string, where `""` (Bybit's and OKX's "none") reads as zero
//! or as no time. For `#[serde(deserialize_with = "…")]`.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// A decimal string, `""` (or absent) read as zero.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if text.is_empty() {
        return Ok(Decimal::ZERO);
    }
    text.parse().map_err(|_| serde::de::Error::custom(format!("not a decimal: {text:?}")))
}

/// A millisecond timestamp written as a string (`"1672364262444"`), `""` read as none.
pub fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("not a timestamp: {text:?}")))
}
