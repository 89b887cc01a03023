//! The strategy trait: synchronous, object-safe, event in, intents out.

use super::context::Context;
use super::market::MarketEvent;
use super::order::{Intents, OrderUpdate};
use super::types::{Symbol, VenueId};

/// A failure inside a strategy. The engine halts the instance and reports it;
/// the daemon goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StrategyError(pub String);

impl StrategyError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// What a strategy wants to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub venue: VenueId,
    pub symbols: Vec<Symbol>,
    pub trades: bool,
    pub quotes: bool,
    /// Local order book (snapshot + deltas).
    pub book: bool,
    pub klines: Option<super::market::KlineInterval>,
}

impl Subscription {
    /// Best bid and ask of `symbols` on `venue`, nothing else.
    pub fn quotes(venue: VenueId, symbols: Vec<Symbol>) -> Self {
        Subscription { venue, symbols, trades: false, quotes: true, book: false, klines: None }
    }
}

/// A trading strategy: a pure state machine the engine drives.
///
/// Callbacks must not block or do I/O; they read the [`Context`] and push
/// intents into `out`. Returning an error (or panicking) halts the instance.
pub trait Strategy: Send {
    /// The market data this instance needs.
    fn subscriptions(&self) -> Vec<Subscription>;

    /// Called once before the first event, after reconciliation.
    fn on_start(&mut self, _ctx: &dyn Context, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }

    /// Called for every market event on a subscribed symbol (and every
    /// connectivity change of a subscribed venue).
    fn on_event(&mut self, ctx: &dyn Context, event: &MarketEvent, out: &mut Intents) -> Result<(), StrategyError>;

    /// Called for every update of an order this instance placed, in order.
    fn on_order_update(
        &mut self,
        _ctx: &dyn Context,
        _update: &OrderUpdate,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        Ok(())
    }

    /// Called on the engine's timer (once a second by default).
    fn on_timer(&mut self, _ctx: &dyn Context, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }

    /// Called once when the instance stops (shutdown, removal, reload).
    fn on_stop(&mut self, _ctx: &dyn Context, _out: &mut Intents) -> Result<(), StrategyError> {
        Ok(())
    }
}
