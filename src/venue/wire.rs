//! Reading what venues write: the numbers they send as strings (a decimal
//! or a millisecond time in a JSON string, where `""`, Bybit's and OKX's
//! "none", reads as zero or as no time; for `#[serde(deserialize_with =
//! "…")]`), and the error of a stream frame that does not read.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use tradewind_strategies::sdk::{MarketEvent, Price, Qty, Side, Symbol, Timestamp, Trade, TradeId, VenueId};

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

/// A public trade's fields as a venue writes them (each in its own
/// spelling: the taker's side as `Buy`/`buy`, `Sell`/`sell`).
pub struct RawTrade<'a> {
    pub symbol: &'a str,
    pub id: &'a str,
    pub price: &'a str,
    pub qty: &'a str,
    pub taker_side: &'a str,
    pub time_ms: i64,
}

/// A public trade read into a strategy's event.
pub fn trade(venue: VenueId, t: &RawTrade<'_>) -> Result<MarketEvent, FrameError> {
    let aggressor = match t.taker_side {
        s if s.eq_ignore_ascii_case("buy") => Side::Buy,
        s if s.eq_ignore_ascii_case("sell") => Side::Sell,
        other => return Err(bad(format!("taker side {other:?}"))),
    };
    Ok(MarketEvent::Trade(Trade {
        venue,
        symbol: symbol(t.symbol)?,
        trade_id: TradeId::new(t.id).map_err(|e| bad(format!("trade id {:?}: {e}", t.id)))?,
        price: Price::new(dec(t.price, "price")?),
        qty: Qty::new(dec(t.qty, "size")?),
        aggressor,
        time: Timestamp(t.time_ms),
    }))
}

/// A millisecond timestamp written as a string (`"1672364262444"`), `""` read as none.
pub fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("not a timestamp: {text:?}")))
}
