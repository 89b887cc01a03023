//! `GET /api/v3/exchangeInfo`, read: the rate limits and each symbol's filters.

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{Asset, InstrumentSpec, Symbol};

use super::ExchangeInfo;
use crate::venue::binance::error::VenueError;
use crate::venue::binance::limits::Limits;

/// Reads `exchangeInfo`: rate limits and each symbol's filters.
pub fn parse_exchange_info(raw: &serde_json::Value) -> Result<ExchangeInfo, VenueError> {
    let bad = |what: &str| VenueError::not_sent(format!("exchangeInfo: {what}"));
    let mut limits = Limits::default();
    for l in raw["rateLimits"].as_array().ok_or_else(|| bad("no rateLimits"))? {
        let limit = l["limit"].as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| bad("bad rate limit"))?;
        match (l["rateLimitType"].as_str(), l["interval"].as_str(), l["intervalNum"].as_u64()) {
            (Some("REQUEST_WEIGHT"), Some("MINUTE"), Some(1)) => limits.weight_per_minute = limit,
            (Some("ORDERS"), Some("SECOND"), Some(10)) => limits.orders_per_10s = limit,
            (Some("ORDERS"), Some("DAY"), Some(1)) => limits.orders_per_day = limit,
            _ => {}
        }
    }
    let mut instruments = Vec::new();
    let mut halted = Vec::new();
    for s in raw["symbols"].as_array().ok_or_else(|| bad("no symbols"))? {
        let text = |key: &str| s[key].as_str().ok_or_else(|| bad(&format!("symbol without {key}")));
        // Symbols this build cannot represent (too long, non-ASCII) are skipped, not fatal.
        let (Ok(symbol), Ok(base), Ok(quote)) =
            (Symbol::new(text("symbol")?), Asset::new(text("baseAsset")?), Asset::new(text("quoteAsset")?))
        else {
            continue;
        };
        let mut spec = InstrumentSpec {
            symbol,
            base,
            quote,
            tick_size: Decimal::ZERO,
            min_price: Decimal::ZERO,
            max_price: Decimal::ZERO,
            step_size: Decimal::ZERO,
            min_qty: Decimal::ZERO,
            max_qty: Decimal::ZERO,
            min_notional: Decimal::ZERO,
            max_notional: Decimal::ZERO,
        };
        for f in s["filters"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let dec = |key: &str| -> Result<Decimal, VenueError> {
                f[key]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| bad(&format!("{symbol}: filter field {key}")))
            };
            match f["filterType"].as_str() {
                Some("PRICE_FILTER") => {
                    spec.tick_size = dec("tickSize")?;
                    spec.min_price = dec("minPrice")?;
                    spec.max_price = dec("maxPrice")?;
                }
                Some("LOT_SIZE") => {
                    spec.step_size = dec("stepSize")?;
                    spec.min_qty = dec("minQty")?;
                    spec.max_qty = dec("maxQty")?;
                }
                Some("NOTIONAL") => {
                    spec.min_notional = dec("minNotional")?;
                    spec.max_notional = dec("maxNotional")?;
                }
                Some("MIN_NOTIONAL") => spec.min_notional = dec("minNotional")?,
                _ => {}
            }
        }
        if s["status"].as_str() != Some("TRADING") {
            halted.push(symbol);
        }
        instruments.push(spec);
    }
    Ok(ExchangeInfo { limits, instruments, halted })
}
