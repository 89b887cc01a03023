//! Amends: an open order's quantity and price changed in place, same id.
//!
//! One amend per order at a time. The venue's yes makes it `Amended` (the
//! journal takes the new terms); a refusal makes it `AmendRefused` and the
//! order stands as it was (refused because the venue no longer has it: it is
//! queried, since it filled or closed meanwhile). An unknown outcome is
//! settled by asking for the order: if it shows the new terms the amend
//! applied. Fills and the order's end arrive as they do for any order,
//! amended or not.

use std::time::Duration;

use tradewind_strategies::sdk::{ClientOrderId, NewOrder, OrderUpdate, Reason};

use super::{Done, Exec};
use crate::execution::error::{ErrorKind, Outcome, VenueError};
use crate::execution::venue::{OrderEntry, OrderState};
use crate::journal::Record;

/// Queries of an order whose amend has an unknown outcome, before it is given up as refused.
const AMEND_QUERIES: u32 = 3;

impl<V: OrderEntry> Exec<V> {
    pub(super) async fn amend(&mut self, id: ClientOrderId, order: NewOrder) {
        let refuse = |code: &str, message: String| OrderUpdate::AmendRefused { id, reason: Reason::new(code, message) };
        let Some(t) = self.orders.get_mut(&id) else {
            // Filled or closed while the amend was on its way (or never this venue's).
            let refused = refuse("amend_not_open", format!("{id} is not an open order here"));
            self.emit_on(Some(order.symbol), refused).await;
            return;
        };
        if !t.accepted || t.cancel.is_some() || t.cancel_waiting {
            let why = if t.accepted { "being cancelled" } else { "not acknowledged by the venue yet" };
            self.emit(refuse("amend_not_open", format!("{id} is {why}"))).await;
            return;
        }
        if t.amending.is_some() {
            self.emit(refuse("amend_in_flight", format!("an amend of {id} is on its way"))).await;
            return;
        }
        let checked = self.gate().check(&order);
        if let Err(reason) = checked {
            self.emit(OrderUpdate::AmendRefused { id, reason }).await;
            return;
        }
        if let Some(t) = self.orders.get_mut(&id) {
            t.amending = Some(order);
        }
        self.spawn(move |venue| async move { Done::Amended { id, order, result: venue.amend(id, order).await } });
    }

    pub(super) async fn on_amended(&mut self, id: ClientOrderId, order: NewOrder, result: Result<(), VenueError>) {
        let Some(t) = self.orders.get(&id) else { return };
        let symbol = t.symbol;
        match result {
            Ok(()) => self.amend_applied(id, order).await,
            Err(e) if e.outcome == Outcome::Unknown => {
                tracing::warn!(client_order_id = %id, error = %e, "amend outcome unknown; asking for the order");
                self.check_amend(id, order, 1, Duration::ZERO);
            }
            Err(e) => {
                if e.kind == ErrorKind::UnknownOrder {
                    // Filled or closed while the amend was on its way: its state tells.
                    self.query_later(id, symbol, Duration::ZERO);
                }
                let code = match (e.outcome, e.kind) {
                    (Outcome::NotSent, ErrorKind::RateLimited) => "rate_limited".to_owned(),
                    (Outcome::NotSent, _) => "not_sent".to_owned(),
                    _ => e.reason_code(),
                };
                self.amend_refused(id, Reason::new(code, e.message)).await;
            }
        }
    }

    /// Asks for order `id` to learn whether an amend with an unknown outcome applied.
    fn check_amend(&mut self, id: ClientOrderId, order: NewOrder, attempt: u32, after: Duration) {
        self.spawn(move |venue| async move {
            tokio::time::sleep(after).await;
            Done::AmendChecked { id, order, attempt, result: venue.query(order.symbol, id).await }
        });
    }

    pub(super) async fn on_amend_checked(
        &mut self,
        id: ClientOrderId,
        order: NewOrder,
        attempt: u32,
        result: Result<OrderState, VenueError>,
    ) {
        if !self.orders.contains_key(&id) {
            return;
        }
        match result {
            Ok(state) => {
                let price = order.kind.price().map(|p| p.get()).unwrap_or_default();
                if state.qty == order.qty.get() && state.price == price {
                    self.amend_applied(id, order).await;
                } else {
                    self.amend_refused(id, Reason::new("amend_not_applied", "the venue shows the order's old terms"))
                        .await;
                }
                self.apply_status(id, &state).await;
            }
            Err(e) if attempt < AMEND_QUERIES => {
                tracing::debug!(client_order_id = %id, error = %e, attempt, "asking about an amend again");
                self.check_amend(id, order, attempt + 1, Duration::from_millis(500) * (1 << attempt));
            }
            Err(e) => {
                tracing::warn!(client_order_id = %id, error = %e, "an amend's outcome stays unknown; taken as not applied");
                self.amend_refused(id, Reason::new("amend_unknown", e.to_string())).await;
            }
        }
    }

    async fn amend_applied(&mut self, id: ClientOrderId, order: NewOrder) {
        let Some(t) = self.orders.get_mut(&id) else { return };
        t.amending = None;
        t.qty = order.qty.get();
        if let Some(journal) = &self.journal {
            journal.write_nowait(Record::Terms { id, order, time_ms: crate::clock::now().0 });
        }
        let price = order.kind.price().unwrap_or_default();
        self.emit(OrderUpdate::Amended { id, qty: order.qty, price }).await;
    }

    async fn amend_refused(&mut self, id: ClientOrderId, reason: Reason) {
        if let Some(t) = self.orders.get_mut(&id) {
            t.amending = None;
        }
        self.emit(OrderUpdate::AmendRefused { id, reason }).await;
    }
}
