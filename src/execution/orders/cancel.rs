//! Cancels, sent until the venue confirms the order closed.
//!
//! A cancel that fails for a reason that says nothing about the order (a
//! timestamp refused, a 5xx, a timeout, the rate budget) is sent again after
//! a growing delay (250 ms doubling to 30 s, for as long as the order is
//! tracked); one the venue answers with "unknown order" asks about the order
//! instead, which settles it as filled or cancelled. A query or a
//! reconciliation that finds a cancelled-for order still open sends the
//! cancel again. Until the venue confirms, the order stays open for its
//! strategy.

use std::time::Duration;

use tradewind_strategies::sdk::{ClientOrderId, Symbol};

use super::{Done, Exec, Stage};
use crate::execution::error::VenueError;
use crate::execution::venue::{OrderEntry, OrderState};

/// A cancel asked for, and how it is going.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Retry {
    /// Attempts that failed so far.
    attempts: u32,
    /// A cancel request is on its way (or waiting to be sent).
    in_flight: bool,
}

/// Failed attempts after which every further failure is logged as an error.
const ERROR_AFTER: u32 = 5;

/// The delay before attempt `attempts + 1`.
fn delay(attempts: u32) -> Duration {
    (Duration::from_millis(250) * (1 << attempts.min(7))).min(Duration::from_secs(30))
}

impl<V: OrderEntry> Exec<V> {
    /// A strategy's (or operator's) cancel.
    pub(super) fn cancel(&mut self, id: ClientOrderId, symbol: Symbol) {
        if self.done.contains(&id) {
            return;
        }
        let Some(t) = self.orders.get_mut(&id) else {
            // Not tracked (an order of an earlier run the engine still shows): let the venue answer.
            self.spawn(move |venue| async move { Done::Canceled { id, result: venue.cancel(symbol, id).await } });
            return;
        };
        if t.stage == Stage::Sent {
            // Sent once the venue acknowledges the order.
            t.cancel_waiting = true;
            t.cancel.get_or_insert_with(Retry::default);
            return;
        }
        if t.cancel.is_some_and(|c| c.in_flight) {
            return;
        }
        self.send_cancel(id, symbol, Duration::ZERO);
    }

    /// Sends the cancel of `id` after `after`.
    pub(super) fn send_cancel(&mut self, id: ClientOrderId, symbol: Symbol, after: Duration) {
        if let Some(t) = self.orders.get_mut(&id) {
            t.cancel.get_or_insert_with(Retry::default).in_flight = true;
        }
        self.spawn(move |venue| async move {
            tokio::time::sleep(after).await;
            Done::Canceled { id, result: venue.cancel(symbol, id).await }
        });
    }

    pub(super) async fn on_cancel_done(&mut self, id: ClientOrderId, result: Result<OrderState, VenueError>) {
        let Some(t) = self.orders.get_mut(&id) else { return };
        let symbol = t.symbol;
        let retry = t.cancel.get_or_insert_with(Retry::default);
        retry.in_flight = false;
        match result {
            Ok(info) => self.apply_status(id, &info).await,
            Err(e) if e.is_unknown_order() => {
                tracing::debug!(client_order_id = %id, "cancel: the venue no longer has the order; querying it");
                self.query_later(id, symbol, Duration::ZERO);
            }
            Err(e) => {
                retry.attempts += 1;
                let (attempts, after) = (retry.attempts, delay(retry.attempts));
                let retry_in_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                if attempts >= ERROR_AFTER {
                    tracing::error!(client_order_id = %id, error = %e, attempts, retry_in_ms, "cancel keeps failing; the order may still be open on the venue");
                } else {
                    tracing::warn!(client_order_id = %id, error = %e, attempts, retry_in_ms, "cancel failed; sending it again");
                }
                // One whose outcome is unknown may have worked: the next attempt's
                // "unknown order" then settles it through a query.
                self.send_cancel(id, symbol, after);
            }
        }
    }

    /// The venue still has `id` open: a cancel asked for earlier that did not take goes again.
    pub(super) fn cancel_again(&mut self, id: ClientOrderId) {
        let Some(t) = self.orders.get(&id) else { return };
        let Some(retry) = t.cancel.filter(|c| !c.in_flight) else { return };
        let symbol = t.symbol;
        tracing::info!(client_order_id = %id, "the order is still open after its cancel; cancelling it again");
        self.send_cancel(id, symbol, delay(retry.attempts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_half_a_minute() {
        let delays: Vec<u64> = (0..10).map(|a| delay(a).as_millis() as u64).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    }
}
