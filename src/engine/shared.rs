//! The engine shared between the task that drives it and the market
//! connections, which hand it their events on their own task.
//!
//! A market frame is read, parsed, dispatched to the strategies, and the
//! order it causes is checked, signed and handed to the HTTP client, all in
//! one call on the connection's task: no hand-over between tasks (each costs
//! tens of microseconds on a busy machine) sits on the tick-to-order path.
//! Everything else (order updates, timers, operators' commands) still comes
//! through the engine's input queue, handled by [`run`](super::run) under
//! the same lock, so the engine is still driven by one caller at a time.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tradewind_strategies::sdk::MarketEvent;

use super::Engine;
use crate::sink::{MarketConsumer, Offer};

/// Events that may wait for the engine to start; past this the connections
/// wait too (stop reading), as they would behind a full queue.
pub(super) const EARLY_EVENTS: usize = 65_536;

enum Stage {
    /// Not started yet: events wait here until [`run`](super::run) starts it.
    Starting(Vec<(MarketEvent, Option<Instant>)>),
    Running(Box<Engine>),
    /// Stopped: events have no one to go to.
    Stopped,
}

struct Shared {
    stage: Mutex<Stage>,
    /// Wakes connections waiting for the engine to start.
    started: tokio::sync::Notify,
}

/// A handle on the engine for market connections. Cheap to clone.
#[derive(Clone)]
pub struct SharedEngine(Arc<Shared>);

impl std::fmt::Debug for SharedEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedEngine")
    }
}

impl Default for SharedEngine {
    fn default() -> Self {
        Self(Arc::new(Shared { stage: Mutex::new(Stage::Starting(Vec::new())), started: tokio::sync::Notify::new() }))
    }
}

impl SharedEngine {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Stage> {
        // Strategies run inside `catch_unwind`: a poisoned lock means a panic
        // in the engine's own bookkeeping, whose state is still the best there is.
        self.0.stage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a market event to the engine on the caller's task; `received`
    /// is when its frame was read. Returns whether the strategies sent any
    /// request to a venue (the caller should let it leave soon). Before the
    /// engine starts, events wait for it; once too many wait, so does the caller.
    pub async fn deliver(&self, event: MarketEvent, received: Option<Instant>) -> bool {
        crate::sink::deliver(self, event, received).await
    }

    /// Starts `engine` (`on_start` of every instance), hands it the events
    /// that came meanwhile, and makes it the one events go to.
    pub(super) fn start(&self, mut engine: Engine) {
        let mut stage = self.lock();
        engine.start();
        if let Stage::Starting(early) = std::mem::replace(&mut *stage, Stage::Stopped) {
            for (event, received) in early {
                engine.on_market_event_at(&event, received);
            }
        }
        *stage = Stage::Running(Box::new(engine));
        drop(stage);
        self.0.started.notify_waiters();
    }

    /// Runs `f` on the running engine (none before the start and after the stop).
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
        match &mut *self.lock() {
            Stage::Running(engine) => Some(f(engine)),
            _ => None,
        }
    }

    /// Takes the engine out: from now on market events are dropped.
    pub(super) fn take(&self) -> Option<Engine> {
        let taken = match std::mem::replace(&mut *self.lock(), Stage::Stopped) {
            Stage::Running(engine) => Some(*engine),
            _ => None,
        };
        // Connections still waiting for a start that will not come.
        self.0.started.notify_waiters();
        taken
    }
}

impl MarketConsumer for SharedEngine {
    /// Delivers the event now and says whether it caused a request; gives it
    /// back if too many already wait for the start.
    fn offer(&self, event: MarketEvent, received: Option<Instant>) -> Offer {
        match &mut *self.lock() {
            Stage::Running(engine) => {
                let requests = engine.core.requests;
                engine.on_market_event_at(&event, received);
                Offer::Taken { requested: engine.core.requests != requests }
            }
            Stage::Starting(early) if early.len() >= EARLY_EVENTS => Offer::Back(event),
            Stage::Starting(early) => {
                early.push((event, received));
                Offer::Taken { requested: false }
            }
            Stage::Stopped => Offer::Taken { requested: false },
        }
    }

    fn ready(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.started.notified())
    }
}
