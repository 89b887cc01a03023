//! Replace (cancel and place as one request where the venue has one), and
//! what a failed one leaves to learn.
//!
//! When the venue refuses a replace because its cancel failed
//! (`ErrorKind::ReplacedOrderGone`: Binance's -2022, the order already filled
//! or gone), nothing new was placed, but what became
//! of the order to replace is not known yet. Its strategy would fall back to
//! it and send the same replace again at once, so the rejection is held back
//! until that order's state is known: its fills and terminal update (or a
//! query that finds it still open) reach the strategy first, then the
//! rejection. If the venue does not say within [`RELEASE_AFTER`], the
//! rejection goes anyway.

use std::time::Duration;

use tradewind_strategies::sdk::ClientOrderId;

use super::{Done, Exec};
use crate::execution::error::{Outcome, VenueError};
use crate::execution::venue::{Ack, Closed, OrderEntry};

/// Longest wait for the replaced order's state before its replacement's rejection is passed on.
const RELEASE_AFTER: Duration = Duration::from_secs(5);

impl<V: OrderEntry> Exec<V> {
    pub(super) async fn on_replaced(
        &mut self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        result: Result<Ack, VenueError>,
    ) {
        let error = match result {
            Ok(ack) => {
                self.close_replaced(cancel, ack.replaced).await;
                self.on_ack(id, ack.venue_order_id).await;
                return;
            }
            Err(e) => e,
        };
        let Some(old) = self.orders.get_mut(&cancel) else {
            self.on_send_failed(id, error).await;
            return;
        };
        let symbol = old.symbol;
        if error.outcome == Outcome::Rejected && old.replaced_by.is_none() {
            tracing::debug!(client_order_id = %id, replaces = %cancel, error = %error, "replace refused; learning the state of the order it replaces first");
            old.replaced_by = Some((id, error));
            self.query_later(cancel, symbol, Duration::ZERO);
            self.spawn(move |_| async move {
                tokio::time::sleep(RELEASE_AFTER).await;
                Done::Release { cancel }
            });
            return;
        }
        // Which half failed is settled by asking about both.
        self.query_later(cancel, symbol, Duration::ZERO);
        self.on_send_failed(id, error).await;
    }

    /// The order a replace cancelled ends: at once when the venue said how
    /// it ended and every fill it had is known; after fetching the fills its
    /// reports have not brought yet (a fill just before the cancel); after
    /// asking, when the venue did not say.
    async fn close_replaced(&mut self, cancel: ClientOrderId, closed: Option<Closed>) {
        let Some(t) = self.orders.get(&cancel) else { return };
        let (symbol, filled, venue_order_id) = (t.symbol, t.filled, t.venue_order_id);
        match (closed, venue_order_id) {
            (Some(c), _) if c.executed_qty <= filled => self.apply_terminal(cancel, c.status).await,
            (Some(c), Some(order)) => self.fetch_trades(cancel, symbol, order, Some(c.status)),
            _ => self.query_later(cancel, symbol, Duration::ZERO),
        }
    }

    /// Passes on the rejection of the replacement of `cancel`, if one is held back.
    pub(super) async fn release_replacement(&mut self, cancel: ClientOrderId) {
        let Some((replacement, error)) = self.orders.get_mut(&cancel).and_then(|t| t.replaced_by.take()) else {
            return;
        };
        self.on_send_failed(replacement, error).await;
    }
}
