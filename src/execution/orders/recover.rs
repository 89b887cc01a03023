//! Reconciliation with the venue: at start, before any strategy runs, and
//! then periodically while trading.
//!
//! At start every order the journal left open (or in flight) is queried by
//! its client order id: fills the journal missed are fetched and applied,
//! finished orders are closed, an intent the venue never saw is closed as
//! rejected. The ids an earlier run may have sent without a committed intent
//! are asked about too, and what the venue has of them is adopted (see
//! `lease`). Then the account's open orders are listed: an order this
//! process does not track is *external* — reported, counted, never touched.
//! The updates found at start are handed back for the engine to apply before
//! its strategies run, and the account's balances are read again after them;
//! later ones flow like any other update.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, OpenOrder, OrderUpdate};

use super::{Done, Exec};
use crate::execution::error::VenueError;
use crate::execution::venue::{OrderEntry, OrderState};
use crate::journal::Unjournaled;

/// Queries of an order the venue does not know, at start, before it counts as
/// never placed — and not before its receive window has passed, after which the
/// venue can no longer accept the request, however late it arrives.
pub(super) const STARTUP_QUERIES: u32 = 3;
/// Delay between those queries.
pub(super) const STARTUP_QUERY_DELAY: Duration = Duration::from_millis(250);

impl<V: OrderEntry> Exec<V> {
    /// Settles the orders of an earlier run and lists the account's open
    /// orders; returns the updates this produced. Gives up waiting at
    /// `deadline`: what is still in flight then settles while trading.
    pub(super) async fn recover(
        &mut self,
        results: &mut mpsc::Receiver<Done>,
        unjournaled: &[Unjournaled],
        deadline: Duration,
    ) -> (Vec<OrderUpdate>, Vec<(String, OpenOrder)>) {
        self.recovering = Some(Vec::new());
        self.adopted = Some(Vec::new());
        let from_journal = self.orders.len();
        self.reconcile();
        let venue = self.options.venue.to_string();
        let windows: Vec<Unjournaled> = unjournaled.iter().filter(|w| w.lease.venue == venue).cloned().collect();
        let probes = self.gate().leases.probes(&windows, self.options.recv_window_ms);
        let probed = probes.len();
        for (id, symbol) in probes {
            self.probe(id, symbol, Duration::ZERO);
        }
        let until = Instant::now() + deadline;
        self.settle(results, until).await;
        // Open orders are listed once the probes have adopted what they found; the
        // account is read again once the fills found are in it (strategies that
        // trade balances start from these, not from the read before reconciliation).
        self.scan_open_orders();
        self.read_account();
        self.settle(results, until).await;
        let updates = self.recovering.take().unwrap_or_default();
        let adopted = self.adopted.take().unwrap_or_default();
        tracing::info!(
            venue = %self.options.venue,
            orders_from_journal = from_journal,
            unjournaled_ids_asked = probed,
            adopted = adopted.len(),
            updates = updates.len(),
            still_open = self.orders.len(),
            external_orders = self.external.len(),
            "reconciled with the venue"
        );
        (updates, adopted)
    }

    /// Handles the answers of the requests in flight until none is left or `until`.
    async fn settle(&mut self, results: &mut mpsc::Receiver<Done>, until: Instant) {
        while self.in_flight > 0 {
            match tokio::time::timeout_at(until, results.recv()).await {
                Ok(Some(done)) => {
                    self.in_flight -= 1;
                    self.on_done(done).await;
                }
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        venue = %self.options.venue,
                        in_flight = self.in_flight,
                        "reconciliation not finished at its deadline; the rest settles while trading"
                    );
                    break;
                }
            }
        }
    }

    /// Lists the account's open orders (all symbols) to find external ones.
    pub(super) fn scan_open_orders(&mut self) {
        self.spawn(|venue| async move { Done::OpenOrders { result: venue.open_orders().await } });
    }

    /// Compares the venue's open orders with what this process tracks.
    pub(super) fn on_open_orders(&mut self, result: Result<Vec<OrderState>, VenueError>) {
        let open = match result {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(venue = %self.options.venue, error = %e, "listing open orders failed; retried at the next reconciliation");
                return;
            }
        };
        let mut external = HashSet::new();
        for o in &open {
            let own = ClientOrderId::new(&o.client_order_id).ok().filter(|id| self.orders.contains_key(id));
            if own.is_some() {
                continue;
            }
            if !self.external.contains(&o.client_order_id) {
                let instance = tradewind_strategies::sdk::owner::owner(&o.client_order_id).map(|(name, _)| name);
                let ours = instance.is_some();
                if instance.is_some_and(|name| self.instances.contains(name)) {
                    // Our instance's id, never leased by this journal: another
                    // process trades the account under the same strategy name.
                    tracing::error!(
                        venue = %self.options.venue,
                        symbol = %o.symbol,
                        client_order_id = %o.client_order_id,
                        "an open order carries one of this daemon's strategy names but its journal never leased it: \
                         another process is trading this account under the same name (two daemons on copies \
                         of one configuration?); it is tracked, never touched"
                    );
                }
                tracing::warn!(
                    venue = %self.options.venue,
                    symbol = %o.symbol,
                    client_order_id = %o.client_order_id,
                    venue_order_id = %o.venue_order_id,
                    side = o.side.map(|s| s.to_string()).unwrap_or_default(),
                    price = %o.price,
                    qty = %o.qty,
                    looks_like_ours = ours,
                    "external open order on the account: tracked, never touched"
                );
            }
            external.insert(o.client_order_id.clone());
        }
        self.external = external;
        metrics::gauge!("tradewind_external_open_orders", "venue" => self.options.venue.to_string())
            .set(self.external.len() as f64);
    }
}
