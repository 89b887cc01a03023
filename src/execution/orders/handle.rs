//! The engine's side of the execution client.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder};

use super::{Done, gate};
use crate::execution::venue::OrderEntry;
use crate::execution::{ExecRequest, ExecutionClient, SubmitError};

/// The engine's side: new orders that may go out at once are sent from the
/// engine's own call (see [`gate`]); everything else goes through a bounded
/// queue into the execution task.
pub struct ExecHandle<V: OrderEntry> {
    tx: mpsc::Sender<Job>,
    gate: Arc<Mutex<gate::Gate>>,
    venue: Arc<V>,
    results: mpsc::Sender<Done>,
    sent_directly: u64,
}

/// What the execution task is handed.
pub(super) enum Job {
    Request(ExecRequest),
    /// A new order the engine's call sent itself; its `Done` follows.
    Sent {
        id: ClientOrderId,
        order: NewOrder,
    },
}

impl<V: OrderEntry> ExecutionClient for ExecHandle<V> {
    fn submit(&mut self, request: ExecRequest) -> Result<(), SubmitError> {
        // Room for whatever the execution task must hear of this request, first.
        let permit = self.tx.try_reserve().map_err(|e| match e {
            mpsc::error::TrySendError::Full(()) => SubmitError::QueueFull,
            mpsc::error::TrySendError::Closed(()) => SubmitError::Unavailable,
        })?;
        if self.send_now(request, permit) {
            self.sent_directly += 1;
        }
        Ok(())
    }

    fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.venue.is_queued(id)
    }

    fn amends(&self) -> bool {
        V::AMENDS
    }
}

impl<V: OrderEntry> ExecHandle<V> {
    pub(super) fn new(
        tx: mpsc::Sender<Job>,
        gate: Arc<Mutex<gate::Gate>>,
        venue: Arc<V>,
        results: mpsc::Sender<Done>,
    ) -> Self {
        Self { tx, gate, venue, results, sent_directly: 0 }
    }

    /// New orders this handle sent from the caller's own call (the others went through the execution task).
    pub fn sent_directly(&self) -> u64 {
        self.sent_directly
    }

    /// Sends a new order (or cancel-replace) from this call if it is clear to
    /// go now: filters, a committed lease, the rate budget, no order waiting
    /// before it (true). Otherwise it goes to the execution task, and the
    /// gate counts it as waiting there.
    fn send_now(&self, request: ExecRequest, permit: mpsc::Permit<'_, Job>) -> bool {
        let (id, order, origin, cancel) = match &request {
            ExecRequest::Place { id, order, origin } => (*id, *order, *origin, None),
            ExecRequest::Replace { cancel, id, order, origin } => (*id, *order, *origin, Some(*cancel)),
            ExecRequest::Cancel { .. } | ExecRequest::Amend { .. } => {
                permit.send(Job::Request(request));
                return false;
            }
        };
        let mut gate = gate::lock(&self.gate);
        let prepared = if gate.clear(&id, &order) {
            match &cancel {
                Some(cancel) => self.venue.prepare_replace_now(*cancel, id, &order, origin),
                None => self.venue.prepare_place_now(id, &order, origin),
            }
        } else {
            None
        };
        // The intent is queued before the request can leave (the journal's
        // writer is woken once it has: `wake`, dropped below).
        let ready = match prepared {
            Some(Ok(prepared)) => gate.queue_intent(id, &order).ok().map(|wake| (prepared, wake)),
            _ => None,
        };
        let Some((prepared, wake)) = ready else {
            gate.waiting += 1;
            permit.send(Job::Request(request));
            return false;
        };
        drop(gate);
        // The execution task hears of the order before anything about it can come back.
        permit.send(Job::Sent { id, order });
        let mut send = sending(self.venue.clone(), self.results.clone(), id, cancel, prepared);
        // Started here, so the request reaches the HTTP client (and its
        // connection's task) within this call; the task polls it from then
        // on (a future heeds the waker of its latest poll).
        let mut started = std::task::Context::from_waker(std::task::Waker::noop());
        if send.as_mut().poll(&mut started).is_pending() {
            tokio::spawn(send);
        }
        drop(wake);
        true
    }
}

/// The task that sends new order `id` (replacing `cancel`, if given) and
/// reports its outcome.
fn sending<V: OrderEntry>(
    venue: Arc<V>,
    results: mpsc::Sender<Done>,
    id: ClientOrderId,
    cancel: Option<ClientOrderId>,
    prepared: V::Prepared,
) -> std::pin::Pin<Box<impl Future<Output = ()> + Send>> {
    Box::pin(async move {
        let result = venue.complete(prepared).await;
        let done = match cancel {
            Some(cancel) => Done::Replaced { cancel, id, result },
            None => Done::Placed { id, result },
        };
        let _ = results.send(done).await;
    })
}
