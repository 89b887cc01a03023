//! The engine's side of the execution client: a bounded queue into the
//! execution task, which admits, journals, signs and sends each request.

use std::sync::Arc;

use tokio::sync::mpsc;
use tradewind_strategies::sdk::ClientOrderId;

use crate::execution::{ExecRequest, ExecutionClient, SubmitError};
use crate::venue::binance::rest::RestClient;

/// The engine's side: requests go through a bounded queue into the execution task.
pub struct ExecHandle {
    tx: mpsc::Sender<ExecRequest>,
    rest: Arc<RestClient>,
}

impl ExecutionClient for ExecHandle {
    fn submit(&mut self, request: ExecRequest) -> Result<(), SubmitError> {
        self.tx.try_send(request).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Unavailable,
        })
    }

    fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.rest.is_queued(id)
    }
}

impl ExecHandle {
    pub(super) fn new(tx: mpsc::Sender<ExecRequest>, rest: Arc<RestClient>) -> Self {
        Self { tx, rest }
    }
}
