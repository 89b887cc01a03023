//! Reading what venues write: the numbers they send as strings (a decimal
//! or a millisecond time in a JSON string, where `""`, Bybit's and OKX's
//! "none", reads as zero or as no time; for `#[serde(deserialize_with =
//! "…")]`), and the error of a stream frame that does not read.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use tradewind_strategies::sdk::Symbol;

/// Why a stream frame did not read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Bad(String),
    /// The venue answered a request with a refusal.
    #[error("the venue refused {0}")]
    Refused(String),
}

/// A frame that is JSON but not what it should be.
pub fn bad(what: impl Into<String>) -> FrameError {
    FrameError::Bad(what.into())
}

/// A decimal field of a frame.
pub fn dec(s: &str, field: &str) -> Result<Decimal, FrameError> {
    s.parse().map_err(|_| bad(format!("{field}: not a decimal: {s:?}")))
}

/// A symbol field of a frame.
pub fn symbol(s: &str) -> Result<Symbol, FrameError> {
    Symbol::new(s).map_err(|e| bad(format!("symbol {s:?}: {e}")))
}

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
