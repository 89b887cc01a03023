//! What the venue says about an order, applied: acks, failed sends, query
//! answers, statuses and fills, merged into exactly one update of each kind
//! (`Accepted` once, each fill once by trade id, one terminal state), and
//! what goes out with each update (journal records, metrics, the engine).

use std::time::Duration;

use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, Fill, OrderUpdate, Price, Qty, Reason, Symbol, VenueOrderId};

use super::{DONE_MEMORY, Done, Exec, NEVER_SEEN, Stage, record, recover};
use crate::execution::error::{ErrorKind, Outcome, VenueError};
use crate::execution::report::{OrderStatus, VenueTrade};
use crate::execution::venue::{OrderEntry, OrderState};
use crate::sink::VenueEvent;

impl<V: OrderEntry> Exec<V> {
    pub(super) async fn on_ack(&mut self, id: ClientOrderId, order_id: VenueOrderId) {
        let Some(t) = self.orders.get_mut(&id) else { return };
        t.venue_order_id = Some(order_id);
        if t.stage != Stage::Live {
            t.stage = Stage::Live;
        }
        let (accepted, cancel, query, symbol) = (t.accepted, t.cancel_waiting, t.query_on_ack, t.symbol);
        t.accepted = true;
        t.cancel_waiting = false;
        t.query_on_ack = false;
        if !accepted {
            self.emit(OrderUpdate::Accepted { id, venue_order_id: order_id }).await;
        }
        if query {
            self.query_later(id, symbol, Duration::ZERO);
        }
        if cancel {
            self.send_cancel(id, symbol, Duration::ZERO);
        }
    }

    pub(super) async fn on_send_failed(&mut self, id: ClientOrderId, e: VenueError) {
        match e.outcome {
            Outcome::NotSent => {
                let code = if e.kind == ErrorKind::RateLimited { "rate_limited" } else { "not_sent" };
                tracing::warn!(client_order_id = %id, error = %e, "order not sent");
                self.finish(id, |id| OrderUpdate::Denied { id, reason: Reason::new(code, e.message.clone()) }).await;
            }
            Outcome::Rejected => {
                // A replacement refused because the order it replaced had filled or gone:
                // one code on every venue, counted apart from the venue's real rejections.
                let code = match e.kind {
                    ErrorKind::ReplacedOrderGone => record::REPLACED_ORDER_GONE.to_owned(),
                    _ => e.reason_code(),
                };
                self.finish(id, |id| OrderUpdate::Rejected { id, reason: Reason::new(code, e.message.clone()) }).await;
            }
            Outcome::Unknown => {
                tracing::warn!(client_order_id = %id, error = %e, "order outcome unknown; settling it by query");
                let Some(t) = self.orders.get_mut(&id) else { return };
                if t.accepted {
                    // The user stream already told us the venue has it.
                    return;
                }
                t.stage = Stage::Unknown { queries: 0 };
                let symbol = t.symbol;
                self.emit(OrderUpdate::Unknown { id }).await;
                self.query_later(id, symbol, Duration::from_millis(500));
            }
        }
    }

    pub(super) async fn on_query(&mut self, id: ClientOrderId, result: Result<OrderState, VenueError>) {
        let Some(t) = self.orders.get_mut(&id) else { return };
        match result {
            Ok(info) => {
                if t.stage != Stage::Live {
                    t.stage = Stage::Live;
                }
                self.apply_status(id, &info).await;
            }
            Err(e) => {
                let symbol = t.symbol;
                let queries = match t.stage {
                    Stage::Unknown { queries } => queries + 1,
                    _ => 1,
                };
                let (limit, delay) = if self.recovering.is_some() {
                    (recover::STARTUP_QUERIES, recover::STARTUP_QUERY_DELAY)
                } else {
                    (self.options.unknown_queries, Duration::from_millis(500) * (1 << queries.min(6)))
                };
                // Until its receive window has passed the venue may still take the request:
                // only then does "unknown order" prove it never will.
                let expired = Instant::now() > t.acceptable_until;
                if queries >= limit && e.is_unknown_order() && expired {
                    tracing::warn!(client_order_id = %id, "the venue never saw the order; counting it as rejected");
                    let reason = Reason::new(NEVER_SEEN, "order not found after an unknown outcome");
                    self.finish(id, |id| OrderUpdate::Rejected { id, reason: reason.clone() }).await;
                    return;
                }
                if let Some(t) = self.orders.get_mut(&id) {
                    t.stage = Stage::Unknown { queries };
                }
                self.query_later(id, symbol, delay);
            }
        }
    }

    /// Brings a tracked order in line with what the venue says about it.
    pub(super) async fn apply_status(&mut self, id: ClientOrderId, info: &OrderState) {
        let Some(t) = self.orders.get_mut(&id) else { return };
        let venue_order_id = info.venue_order_id;
        t.venue_order_id = Some(venue_order_id);
        let (accepted, filled, symbol) = (t.accepted, t.filled, t.symbol);
        t.accepted = true;
        if !accepted {
            self.emit(OrderUpdate::Accepted { id, venue_order_id }).await;
        }
        let terminal = !info.status.is_open();
        if !terminal {
            // Still open: a cancel asked for earlier that did not take is sent again,
            // and a replacement the venue refused can now be reported.
            self.cancel_again(id);
            self.release_replacement(id).await;
        }
        if info.executed_qty > filled {
            // Fills we have not seen: fetch them, then apply the final state.
            self.fetch_trades(id, symbol, venue_order_id, terminal.then_some(info.status));
        } else if terminal {
            self.apply_terminal(id, info.status).await;
        }
    }

    /// Fetches an order's trades (applied once each), then applies `final_status` if given.
    pub(super) fn fetch_trades(
        &mut self,
        id: ClientOrderId,
        symbol: Symbol,
        order: VenueOrderId,
        final_status: Option<OrderStatus>,
    ) {
        self.spawn(move |venue| async move {
            Done::Trades { id, final_status, result: venue.order_trades(symbol, order).await }
        });
    }

    /// Ends an order the venue says has ended (as `status`).
    pub(super) async fn apply_terminal(&mut self, id: ClientOrderId, status: OrderStatus) {
        match status {
            OrderStatus::Filled => {
                // The fill that completed the order finished it; still here means fills are missing.
                if let Some(t) = self.orders.get(&id) {
                    let symbol = t.symbol;
                    tracing::warn!(client_order_id = %id, "filled on the venue but fills are missing; asking again");
                    self.query_later(id, symbol, Duration::from_secs(1));
                }
            }
            OrderStatus::Canceled => self.finish(id, |id| OrderUpdate::Canceled { id }).await,
            OrderStatus::Rejected => {
                self.finish(id, |id| OrderUpdate::Rejected {
                    id,
                    reason: Reason::new("REJECTED", "rejected by the venue"),
                })
                .await
            }
            // A report that ended the order (its execution type said so) while its
            // status still read open: the venue has closed it all the same.
            OrderStatus::Expired | OrderStatus::New | OrderStatus::PartiallyFilled => {
                self.finish(id, |id| OrderUpdate::Expired { id }).await
            }
        }
    }

    /// After a (re)subscription: ask about every order not known to be finished.
    /// Orders still in flight are asked about once the venue acknowledges them
    /// (before that, "unknown order" would prove nothing).
    pub(super) fn reconcile(&mut self) {
        let mut pending = Vec::new();
        for (id, t) in &mut self.orders {
            if t.stage == Stage::Sent {
                t.query_on_ack = true;
            } else {
                pending.push((*id, t.symbol));
            }
        }
        for (id, symbol) in pending {
            self.query_later(id, symbol, Duration::ZERO);
        }
    }

    /// Applies one fill unless it was seen before; the fill that completes the order finishes it.
    pub(super) async fn apply_trade(&mut self, id: ClientOrderId, trade: &VenueTrade) {
        let venue = self.options.venue;
        let Some(t) = self.orders.get_mut(&id) else { return };
        if !t.trades.insert(trade.trade_id) {
            return;
        }
        t.filled += trade.qty;
        let fill = Fill {
            venue,
            symbol: t.symbol,
            id,
            venue_order_id: trade.venue_order_id,
            trade_id: trade.trade_id,
            side: t.side,
            price: Price::new(trade.price),
            qty: Qty::new(trade.qty),
            fee: trade.fee,
            fee_asset: trade.fee_asset,
            liquidity: trade.liquidity,
            time: trade.time,
        };
        if t.filled >= t.qty {
            self.finish(id, |id| OrderUpdate::Filled { id, fill }).await;
        } else {
            self.emit(OrderUpdate::PartiallyFilled { id, fill }).await;
        }
    }

    /// Ends an order: emits its terminal update (once) and forgets it.
    pub(super) async fn finish(&mut self, id: ClientOrderId, update: impl FnOnce(ClientOrderId) -> OrderUpdate) {
        if self.done.contains(&id) {
            return;
        }
        let (symbol, replaced_by) = match self.orders.remove(&id) {
            Some(t) => (Some(t.symbol), t.replaced_by),
            None => (None, None),
        };
        self.remember_done(id);
        self.emit_on(symbol, update(id)).await;
        if let Some((replacement, error)) = replaced_by {
            // Its strategy knows this order is gone: now it hears its replacement failed.
            Box::pin(self.on_send_failed(replacement, error)).await;
        }
    }

    pub(super) fn remember_done(&mut self, id: ClientOrderId) {
        if self.done.insert(id) {
            self.done_order.push_back(id);
            if self.done_order.len() > DONE_MEMORY
                && let Some(old) = self.done_order.pop_front()
            {
                self.done.remove(&old);
            }
        }
    }

    pub(super) async fn emit(&mut self, update: OrderUpdate) {
        let symbol = self.orders.get(update.id()).map(|t| t.symbol);
        self.emit_on(symbol, update).await;
    }

    /// [`emit`](Self::emit) for an order on `symbol` (known by the caller when
    /// the order is no longer tracked).
    pub(super) async fn emit_on(&mut self, symbol: Option<Symbol>, update: OrderUpdate) {
        if let Some(journal) = &self.journal {
            for record in record::journal_records(&update) {
                journal.write_nowait(record);
            }
        }
        let symbol = symbol.or_else(|| update.fill().map(|f| f.symbol));
        record::observe(self.options.venue, symbol, &update);
        match &mut self.recovering {
            Some(collected) => collected.push(update),
            None => self.sink.send(VenueEvent::Order(Box::new(update))).await,
        }
    }
}
