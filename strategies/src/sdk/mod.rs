//! The strategy contract: everything a strategy sees and may ask for.
//!
//! Layout: [`types`] (identifiers, `Price`, `Qty`, `Side`, time), [`instrument`]
//! (venue filters and safe rounding), [`market`] (normalised market events),
//! [`order`] (intents out, updates and fills in), [`context`] (the read-only
//! view) and [`strategy`] (the trait). Nothing here does I/O; the daemon
//! imports these types, never the other way round.

pub mod context;
pub mod instrument;
pub mod market;
pub mod order;
pub mod strategy;
pub mod testing;
pub(crate) mod text;
pub mod types;

pub use context::{Balance, Context, OpenOrder, TestContext};
pub use instrument::{FilterViolation, InstrumentSpec};
pub use market::{BookDelta, BookSnapshot, Connectivity, Kline, KlineInterval, Level, MarketEvent, Quote, Trade};
pub use order::{Fill, Intents, Liquidity, NewOrder, OrderIntent, OrderKind, OrderUpdate, Reason, TimeInForce};
pub use strategy::{Strategy, StrategyError, Subscription};
pub use text::TextError;
pub use types::{Asset, ClientOrderId, Price, Qty, Side, Symbol, Timestamp, VenueId};
