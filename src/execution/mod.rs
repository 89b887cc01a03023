//! Order execution, below the engine and above the venues' connectors.
//!
//! The engine hands each approved intent to the [`ExecutionClient`] of its
//! venue. `submit` must not block: the order manager ([`orders`]) sends it
//! (from the call itself when nothing stands in the way, otherwise from its
//! own task), tracks it and reports what becomes of it into a [`Sink`] as
//! `OrderUpdate`s. The order manager is written once against the venue
//! contract ([`venue`]) that each connector implements; [`error`] is how
//! every connector classifies what went wrong, [`report`] how it names order
//! statuses and fills. This module decides nothing about what to trade.

pub mod error;
pub mod orders;
pub mod rate_limit;
pub mod report;
pub mod venue;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tradewind_strategies::sdk::{Asset, Balance, ClientOrderId, NewOrder, OpenOrder, OrderUpdate, Symbol, VenueId};

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

/// What the order manager tells its host.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecEvent {
    /// Boxed: an update with a fill is 224 bytes.
    Order(Box<OrderUpdate>),
    /// Balances of a venue's assets that changed.
    Balances(VenueId, Vec<(Asset, Balance)>),
    /// An order of an instance that reached the venue before a crash without
    /// its journal entry, found after the restart (its updates follow).
    Adopt(Box<(String, OpenOrder)>),
}

type Deliver = dyn Fn(ExecEvent) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// Where the order manager's events go: in the daemon, the engine's input
/// queue (waiting for room, so nothing is dropped); in tests, a channel.
#[derive(Clone)]
pub struct Sink(Arc<Deliver>);

impl Sink {
    /// Events sent into `tx`, converted into its item type.
    pub fn channel<T: From<ExecEvent> + Send + 'static>(tx: tokio::sync::mpsc::Sender<T>) -> Self {
        Self(Arc::new(move |event| {
            let tx = tx.clone();
            Box::pin(async move {
                // A closed queue means the host is shutting down: nothing is left to tell.
                let _ = tx.send(T::from(event)).await;
            })
        }))
    }

    pub async fn send(&self, event: ExecEvent) {
        (self.0)(event).await;
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}
