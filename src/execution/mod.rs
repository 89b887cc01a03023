//! Order execution: what the engine hands orders to, and what every venue
//! connector builds on (imported by both, importing neither).
//!
//! The engine hands each approved intent to the [`ExecutionClient`] of its
//! venue. `submit` must not block: the order manager ([`orders`]) sends it
//! (from the call itself when nothing stands in the way, otherwise from its
//! own task), tracks it and reports what becomes of it into a
//! [`Sink`](crate::sink::Sink) as `OrderUpdate`s. The order manager is written once against the venue
//! contract ([`venue`]) that each connector implements; [`error`] is how
//! every connector classifies what went wrong, [`report`] how it names order
//! statuses and fills. This module decides nothing about what to trade.

pub mod error;
pub mod orders;
pub mod rate_limit;
pub mod report;
pub mod venue;

use tradewind_strategies::sdk::{ClientOrderId, NewOrder, Symbol};

/// A request the engine hands to a venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecRequest {
    /// `origin`: when the market frame that caused the order was read, if one did.
    Place {
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    },
    Cancel {
        id: ClientOrderId,
        symbol: Symbol,
    },
    Replace {
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    },
    /// Change open order `id` in place to `order` (its new total quantity and limit price).
    Amend {
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    },
}

/// Why a request could not be queued (it never left the process).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the venue's request queue is full")]
    QueueFull,
    #[error("the venue is not connected")]
    Unavailable,
}

impl SubmitError {
    /// The code strategies see in `Denied`.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::QueueFull => "queue_full",
            SubmitError::Unavailable => "venue_unavailable",
        }
    }
}

/// A venue's order entry, as the engine sees it.
pub trait ExecutionClient: Send {
    /// Queues a request; never blocks.
    fn submit(&mut self, request: ExecRequest) -> Result<(), SubmitError>;

    /// Whether new order `id` is waiting for room in the venue's rate budget
    /// (operators see it as queued). None is, by default.
    fn is_queued(&self, _id: &ClientOrderId) -> bool {
        false
    }

    /// Whether the venue amends open orders in place (`ExecRequest::Amend`). None does, by default.
    fn amends(&self) -> bool {
        false
    }
}

/// An execution client that records requests, for tests and benchmarks.
#[derive(Debug, Default, Clone)]
pub struct RecordingClient {
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<ExecRequest>>>,
    /// The orders [`ExecutionClient::is_queued`] says wait for the rate budget.
    pub queued: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<ClientOrderId>>>,
}

impl ExecutionClient for RecordingClient {
    fn submit(&mut self, request: ExecRequest) -> Result<(), SubmitError> {
        self.requests.lock().expect("recording mutex is never poisoned: pushes cannot panic").push(request);
        Ok(())
    }

    fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.queued.lock().expect("recording mutex is never poisoned: inserts cannot panic").contains(id)
    }
}
