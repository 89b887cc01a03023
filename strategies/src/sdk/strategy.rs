//! The strategy trait: synchronous, object-safe, event in, intents out.

use super::context::Context;
use super::market::MarketEvent;
use super::order::{Fill, Intents, OrderUpdate};
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

/// What an instance that ran before gets back after a restart (or a crash):
/// everything it did is in the journal. Its orders still open on the venue
/// are in `Context::open_orders` already (reconciled with the venue), and its
/// position counts every fill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restored {
    /// Every fill of its orders, oldest first.
    pub fills: Vec<Fill>,
    /// The last state it saved with [`Intents::save_state`] (JSON), if any.
    pub state: Option<String>,
}

impl Restored {
    /// The saved state read back as `T`; `None` if none was saved, an error
    /// if it does not read as `T` (a state saved by another version).
    pub fn state<T: serde::de::DeserializeOwned>(&self) -> Option<Result<T, StrategyError>> {
        let text = self.state.as_deref()?;
        Some(serde_json::from_str(text).map_err(|e| StrategyError::new(format!("saved state unreadable: {e}"))))
    }
}

/// A trading strategy: a pure state machine the engine drives.
///
/// Callbacks must not block or do I/O; they read the [`Context`] and push
/// intents into `out`. Returning an error (or panicking) halts the instance.
pub trait Strategy: Send {
    /// The market data this instance needs.
    fn subscriptions(&self) -> Vec<Subscription>;

    /// Called once, before `on_start`, when the instance ran before: what it
    /// had done ([`Restored`]). A strategy continues from there: it takes its
    /// open orders back (or cancels them on purpose) and never does again
    /// what already filled. Nothing to do by default.
    fn on_restore(
        &mut self,
        _ctx: &dyn Context,
        _restored: &Restored,
        _out: &mut Intents,
    ) -> Result<(), StrategyError> {
        Ok(())
    }

    /// Called once before the first event, after reconciliation (and after
    /// `on_restore`); `Context::open_orders` holds the orders an earlier run left open.
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
