//! Shorthands for strategy unit tests (and benchmarks): decimals and
//! identifiers from literals, a typical instrument, a fill. Panics on bad
//! literals — test code only.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::{Asset, ClientOrderId, Fill, InstrumentSpec, Liquidity, Price, Qty, Side, Symbol, Timestamp, VenueId};

/// A decimal from a literal.
pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("bad decimal literal {s:?}: {e}"))
}

pub fn venue(name: &str) -> VenueId {
    VenueId::new(name).unwrap_or_else(|e| panic!("bad venue literal {name:?}: {e}"))
}

pub fn symbol(name: &str) -> Symbol {
    Symbol::new(name).unwrap_or_else(|e| panic!("bad symbol literal {name:?}: {e}"))
}

/// `<base><quote>` with tick 0.01, lot step (and minimum) `step`, max quantity 1000, minimum notional 5.
pub fn spec(base: &str, quote: &str, step: &str) -> InstrumentSpec {
    InstrumentSpec {
        symbol: symbol(&format!("{base}{quote}")),
        base: Asset::new(base).unwrap_or_else(|e| panic!("bad asset literal {base:?}: {e}")),
        quote: Asset::new(quote).unwrap_or_else(|e| panic!("bad asset literal {quote:?}: {e}")),
        tick_size: d("0.01"),
        min_price: d("0.01"),
        max_price: Decimal::ZERO,
        step_size: d(step),
        min_qty: d(step),
        max_qty: d("1000"),
        min_notional: d("5"),
        max_notional: Decimal::ZERO,
    }
}

/// A fill of order `id` (no fee).
pub fn fill(venue: VenueId, symbol: Symbol, id: ClientOrderId, side: Side, qty: &str, price: &str) -> Fill {
    Fill {
        venue,
        symbol,
        id,
        venue_order_id: crate::sdk::VenueOrderId::from(1),
        trade_id: crate::sdk::TradeId::from(1),
        side,
        price: Price::new(d(price)),
        qty: Qty::new(d(qty)),
        fee: Decimal::ZERO,
        fee_asset: None,
        liquidity: Liquidity::Maker,
        time: Timestamp(1),
    }
}
