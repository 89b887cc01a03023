//! What the private stream says about orders and balances, merged into
//! the execution task's view: reports become exactly one update of each kind
//! per order, and a terminal report that overtook its fills waits for them.

use std::collections::HashMap;

use tradewind_strategies::sdk::{ClientOrderId, OrderUpdate, Reason, Symbol};

use super::{Exec, Stage, Tracked};
use crate::execution::report::OrderStatus;
use crate::execution::venue::{AccountEvent, OrderEntry, OrderReport, ReportEvent};

impl<V: OrderEntry> Exec<V> {
    /// A terminal report, applied once every fill it counts is: a report that
    /// overtook some of its fills (reordered or lost events) fetches them first.
    async fn settle_report(&mut self, id: ClientOrderId, r: &OrderReport) {
        let Some(t) = self.orders.get(&id) else { return };
        if r.cum_qty > t.filled {
            let symbol = t.symbol;
            self.fetch_trades(id, symbol, r.venue_order_id, Some(r.status));
            return;
        }
        match &r.event {
            ReportEvent::Rejected(why) => {
                let reason = Reason::new("REJECTED", why.clone());
                self.finish(id, |id| OrderUpdate::Rejected { id, reason: reason.clone() }).await;
            }
            _ => self.apply_terminal(id, r.status).await,
        }
    }

    pub(super) async fn on_user_event(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::Order(report) => self.on_report(&report).await,
            AccountEvent::Balances { balances, time } => self.on_stream_balances(&balances, time).await,
            AccountEvent::BalanceDelta { asset, delta } => {
                tracing::info!(venue = %self.options.venue, %asset, %delta, "balance changed outside trading");
            }
            AccountEvent::Subscribed => {
                // Whatever happened while the stream was down: orders, then the account.
                self.reconcile();
                self.read_account();
            }
            AccountEvent::Down => {
                tracing::warn!(venue = %self.options.venue, "user stream down; order updates will be reconciled on reconnect")
            }
        }
    }

    async fn on_report(&mut self, r: &OrderReport) {
        let Ok(id) = ClientOrderId::new(&r.client_order_id) else { return };
        if self.done.contains(&id) {
            return;
        }
        let Some(t) = self.orders.get_mut(&id) else {
            tracing::debug!(client_order_id = %r.client_order_id, "report for an order this process did not place");
            return;
        };
        let venue_order_id = r.venue_order_id;
        t.venue_order_id = Some(venue_order_id);
        if t.stage != Stage::Live {
            t.stage = Stage::Live;
        }
        let accepted = t.accepted;
        t.accepted = true;
        if !accepted {
            self.emit(OrderUpdate::Accepted { id, venue_order_id }).await;
        }
        match &r.event {
            ReportEvent::New => {
                let (cancel, symbol) = (take_cancel_waiting(&mut self.orders, &id), r.symbol.clone());
                if cancel && let Ok(symbol) = Symbol::new(&symbol) {
                    self.send_cancel(id, symbol, std::time::Duration::ZERO);
                }
            }
            ReportEvent::Trade(trade) => {
                self.apply_trade(id, trade).await;
                // Earlier fills of this order that never arrived (lost or still behind): fetch them.
                if let Some(t) = self.orders.get(&id)
                    && r.cum_qty > t.filled
                {
                    let symbol = t.symbol;
                    let terminal = r.status != OrderStatus::PartiallyFilled;
                    self.fetch_trades(id, symbol, venue_order_id, terminal.then_some(r.status));
                }
            }
            ReportEvent::Ended | ReportEvent::Rejected(_) => self.settle_report(id, r).await,
            ReportEvent::Other => {}
        }
    }
}

/// Takes (and clears) an order's "cancel when acknowledged" mark.
fn take_cancel_waiting(orders: &mut HashMap<ClientOrderId, Tracked>, id: &ClientOrderId) -> bool {
    orders.get_mut(id).is_some_and(|t| std::mem::take(&mut t.cancel_waiting))
}
