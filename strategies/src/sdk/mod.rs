//! The strategy contract: everything a strategy sees and may ask for.
//!
//! Layout: [`types`] (identifiers, `Price`, `Qty`, `Side`, time), [`instrument`]
//! (venue filters and safe rounding), [`market`] (normalised market events),
//! [`book`] (an L2 book kept from them), [`order`] (intents out, updates and
//! fills in), [`context`] (the read-only view), [`strategy`] (the trait, and
//! what a restarted instance gets back) and [`cooldown`] (waiting longer
//! after each refusal). Nothing here does I/O; the daemon imports these
//! types, never the other way round.

pub mod book;
pub mod context;
pub mod cooldown;
pub mod instrument;
pub mod market;
pub mod order;
pub mod owner;
pub mod strategy;
pub mod testing;
pub(crate) mod text;
pub mod types;

pub use book::OrderBook;
pub use context::{Balance, Context, OpenOrder, TestContext, Trading};
pub use cooldown::Cooldown;
pub use instrument::{FilterViolation, InstrumentSpec};
pub use market::{BookDelta, BookSnapshot, Connectivity, Kline, KlineInterval, Level, MarketEvent, Quote, Trade};
pub use order::{Fill, Intents, Liquidity, NewOrder, OrderIntent, OrderKind, OrderUpdate, Reason, TimeInForce};
pub use owner::{CodeClash, InstanceCode};
pub use strategy::{Restored, Strategy, StrategyError, Subscription};
pub use text::TextError;
pub use types::{Asset, ClientOrderId, Price, Qty, Side, Symbol, Timestamp, TradeId, VenueId, VenueOrderId};
