//! What the user-data stream says about orders and balances, merged into
//! the execution task's view: reports become exactly one update of each kind
//! per order, and a terminal report that overtook its fills waits for them.

use std::collections::HashMap;

use tradewind_strategies::sdk::{
    Asset, ClientOrderId, Liquidity, OrderUpdate, Reason, Symbol, Timestamp, VenueOrderId,
};

use super::{Exec, Stage, Tracked};
use crate::execution::report::{OrderStatus, VenueTrade};
use crate::venue::binance::user_stream::{ExecutionReport, UserEvent};

impl Exec {
    /// A terminal report, applied once every fill it counts is: a report that
    /// overtook some of its fills (reordered or lost events) fetches them first.
    async fn settle_report(&mut self, id: ClientOrderId, r: &ExecutionReport) {
        let Some(t) = self.orders.get(&id) else { return };
        if r.cum_qty > t.filled {
            let symbol = t.symbol;
            self.fetch_trades(id, symbol, r.order_id, Some(r.status));
            return;
        }
        match r.exec_type.as_str() {
            "REJECTED" => {
                let reason = Reason::new("REJECTED", r.reject_reason.clone().unwrap_or_default());
                self.finish(id, |id| OrderUpdate::Rejected { id, reason: reason.clone() }).await;
            }
            _ => self.apply_terminal(id, r.status).await,
        }
    }

    pub(super) async fn on_user_event(&mut self, event: UserEvent) {
        match event {
            UserEvent::Execution(report) => self.on_report(&report).await,
            UserEvent::Balances { balances, time } => self.on_stream_balances(&balances, time).await,
            UserEvent::BalanceDelta { asset, delta } => {
                tracing::info!(venue = %self.options.venue, %asset, %delta, "balance changed outside trading");
            }
            UserEvent::Subscribed => {
                // Whatever happened while the stream was down: orders, then the account.
                self.reconcile();
                self.read_account();
            }
            UserEvent::Down => {
                tracing::warn!(venue = %self.options.venue, "user stream down; order updates will be reconciled on reconnect")
            }
        }
    }

    async fn on_report(&mut self, r: &ExecutionReport) {
        let Ok(id) = ClientOrderId::new(r.order_client_id()) else { return };
        if self.done.contains(&id) {
            return;
        }
        let Some(t) = self.orders.get_mut(&id) else {
            tracing::debug!(client_order_id = r.order_client_id(), "report for an order this process did not place");
            return;
        };
        let venue_order_id = VenueOrderId::from(r.order_id);
        t.venue_order_id = Some(venue_order_id);
        if t.stage != Stage::Live {
            t.stage = Stage::Live;
        }
        let accepted = t.accepted;
        t.accepted = true;
        if !accepted {
            self.emit(OrderUpdate::Accepted { id, venue_order_id }).await;
        }
        match r.exec_type.as_str() {
            "NEW" => {
                let (cancel, symbol) = (take_cancel_waiting(&mut self.orders, &id), r.symbol.clone());
                if cancel && let Ok(symbol) = Symbol::new(&symbol) {
                    self.send_cancel(id, symbol, std::time::Duration::ZERO);
                }
            }
            "TRADE" => {
                let trade = VenueTrade {
                    trade_id: u64::try_from(r.trade_id).unwrap_or(0).into(),
                    venue_order_id,
                    price: r.last_price,
                    qty: r.last_qty,
                    fee: r.commission.unwrap_or_default(),
                    fee_asset: r.commission_asset.as_deref().and_then(|a| Asset::new(a).ok()),
                    liquidity: if r.maker { Liquidity::Maker } else { Liquidity::Taker },
                    time: Timestamp(r.time),
                };
                self.apply_trade(id, &trade).await;
                // Earlier fills of this order that never arrived (lost or still behind): fetch them.
                if let Some(t) = self.orders.get(&id)
                    && r.cum_qty > t.filled
                {
                    let symbol = t.symbol;
                    let terminal = r.status != OrderStatus::PartiallyFilled;
                    self.fetch_trades(id, symbol, r.order_id, terminal.then_some(r.status));
                }
            }
            "CANCELED" | "REJECTED" | "EXPIRED" | "TRADE_PREVENTION" => self.settle_report(id, r).await,
            _ => {}
        }
    }
}

/// Takes (and clears) an order's "cancel when acknowledged" mark.
fn take_cancel_waiting(orders: &mut HashMap<ClientOrderId, Tracked>, id: &ClientOrderId) -> bool {
    orders.get_mut(id).is_some_and(|t| std::mem::take(&mut t.cancel_waiting))
}
