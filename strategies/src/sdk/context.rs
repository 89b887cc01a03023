//! The read-only view of the world a strategy gets in every callback.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::instrument::InstrumentSpec;
use super::market::Quote;
use super::order::NewOrder;
use super::types::{Asset, ClientOrderId, Qty, Symbol, Timestamp, VenueId};

/// Free and locked amounts of one asset on one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Balance {
    pub free: Decimal,
    pub locked: Decimal,
}

impl Balance {
    pub fn total(&self) -> Decimal {
        self.free + self.locked
    }
}

/// An order of this strategy that can still trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    pub id: ClientOrderId,
    pub order: NewOrder,
    /// Quantity filled so far.
    pub filled: Qty,
}

/// What a strategy may do now: the stricter of its own trading state and the
/// daemon's (the operator's kill switch, a loss limit, `reduce_only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trading {
    /// Any order within the limits.
    #[default]
    Active,
    /// Only orders that shrink a position.
    Reducing,
    /// No new orders (they would be denied); resting ones are being cancelled.
    Halted,
}

/// What a strategy may look at. Implemented by the engine; [`TestContext`]
/// implements it for unit tests.
pub trait Context {
    /// Current time (venue-aligned wall clock).
    fn now(&self) -> Timestamp;
    /// Trading rules of a symbol, once the venue has sent them.
    fn instrument(&self, venue: VenueId, symbol: Symbol) -> Option<&InstrumentSpec>;
    /// This strategy's net position in base asset (negative = short).
    fn position(&self, venue: VenueId, symbol: Symbol) -> Qty;
    /// The account's balance of `asset` on `venue`.
    fn balance(&self, venue: VenueId, asset: Asset) -> Balance;
    /// This strategy's open orders.
    fn open_orders(&self) -> &[OpenOrder];
    /// Best bid and ask, if the book is live.
    fn book_top(&self, venue: VenueId, symbol: Symbol) -> Option<Quote>;
    /// Whether new orders may go now. A strategy that waits while halted
    /// (instead of sending orders that are denied) and puts its working
    /// orders back once active again survives halts and pauses.
    fn trading(&self) -> Trading {
        Trading::Active
    }
    /// Whether `venue` amends open orders in place ([`super::OrderIntent::Amend`]);
    /// where it does not, an amend is refused and a replace is the way.
    fn amends(&self, venue: VenueId) -> bool {
        let _ = venue;
        false
    }
}

/// A plain [`Context`] whose fields tests (and simple hosts) fill in directly.
#[derive(Debug, Default, Clone)]
pub struct TestContext {
    pub now: Timestamp,
    pub instruments: HashMap<(VenueId, Symbol), InstrumentSpec>,
    pub positions: HashMap<(VenueId, Symbol), Qty>,
    pub balances: HashMap<(VenueId, Asset), Balance>,
    pub open_orders: Vec<OpenOrder>,
    pub book_tops: HashMap<(VenueId, Symbol), Quote>,
    pub trading: Trading,
    /// What [`Context::amends`] says of every venue.
    pub amends: bool,
}

impl TestContext {
    pub fn with_instrument(mut self, venue: VenueId, spec: InstrumentSpec) -> Self {
        self.instruments.insert((venue, spec.symbol), spec);
        self
    }
}

impl Context for TestContext {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn instrument(&self, venue: VenueId, symbol: Symbol) -> Option<&InstrumentSpec> {
        self.instruments.get(&(venue, symbol))
    }

    fn position(&self, venue: VenueId, symbol: Symbol) -> Qty {
        self.positions.get(&(venue, symbol)).copied().unwrap_or_default()
    }

    fn balance(&self, venue: VenueId, asset: Asset) -> Balance {
        self.balances.get(&(venue, asset)).copied().unwrap_or_default()
    }

    fn open_orders(&self) -> &[OpenOrder] {
        &self.open_orders
    }

    fn book_top(&self, venue: VenueId, symbol: Symbol) -> Option<Quote> {
        self.book_tops.get(&(venue, symbol)).copied()
    }

    fn trading(&self) -> Trading {
        self.trading
    }

    fn amends(&self, _venue: VenueId) -> bool {
        self.amends
    }
}
