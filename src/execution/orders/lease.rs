//! Client order id leases and the probes that settle them after a crash.
//!
//! An intent is queued to the journal just before its request leaves and
//! committed a moment later, off the order's path. Before an id is sent, a
//! *committed* lease covers it: its instance's sequence number is at most the
//! lease's `upto` and its symbol is among the lease's symbols. Leases are
//! renewed a block ahead while ids still remain, so an order waits for a
//! commit only when a burst uses up a block faster than one commit takes.
//!
//! A lease record also says from which id on intents may be missing: its
//! `first` is above every intent queued before it (the journal commits in
//! queue order), and below any id still being settled from an earlier crash.
//! After a crash, the ids of the last committed lease that the journal has no
//! intent for may be on the venue without the journal knowing them. At start
//! each is queried by client order id on each of the lease's symbols: what the
//! venue has is adopted (journaled, handed to its instance, its fills fetched)
//! and what it does not have is asked about once more after the receive
//! window of a request sent just before the crash has passed.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, OpenOrder, Qty, Reason, Symbol};

use super::{Done, Exec, Stage, Tracked, acceptable_after};
use crate::clock;
use crate::collections::FastMap;
use crate::execution::error::VenueError;
use crate::execution::venue::{OrderEntry, OrderState};
use crate::journal::{Record, Unjournaled};
use crate::sink::VenueEvent;

/// Sequence numbers one lease covers ahead of the id that takes it.
pub(super) const LEASE_BLOCK: u64 = 16;

/// One instance's lease, as far as it is committed.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) upto: u64,
    pub(super) symbols: Vec<Symbol>,
    /// A renewal is being committed.
    pub(super) renewing: bool,
    /// The highest sequence number whose intent was queued in this run.
    pub(super) highest: Option<u64>,
    /// The sequence number this run started from, when its lease was taken
    /// at startup (see [`Trader`]): a clean stop gives back the ids of an
    /// instance that sent nothing.
    pub(super) first_seq: Option<u64>,
}

/// An instance that will trade on the venue: its lease is taken at startup,
/// so that its first order does not wait for a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trader {
    pub instance: String,
    /// The sequence number of its first order in this run.
    pub first_seq: u64,
    /// The symbols it may trade on this venue.
    pub symbols: Vec<Symbol>,
}

/// Leases of this venue's instances, and ids to ask about again later.
#[derive(Debug, Default)]
pub(super) struct Leases {
    pub(super) held: FastMap<String, Held>,
    /// Ids from the journal's windows, by instance, until the second round
    /// of questions has answered: the leases written meanwhile still cover them.
    unsettled: FastMap<String, BTreeSet<u64>>,
    /// Questions of the second round not answered yet.
    asking_later: usize,
    /// Ids the venue did not know at start, asked about again once a request
    /// sent before the crash can no longer be accepted.
    later: Vec<(ClientOrderId, Symbol)>,
    /// When "unknown order" is final for the probes.
    probe_until: Option<Instant>,
}

impl Leases {
    /// The probes (id, symbol) for the journal's unjournaled windows. Until
    /// the second round has answered, the leases this run writes for such an
    /// instance start no higher than its window.
    pub(super) fn probes(&mut self, windows: &[Unjournaled], recv_window_ms: i64) -> Vec<(ClientOrderId, Symbol)> {
        self.probe_until = Some(acceptable_after(clock::now().0, recv_window_ms));
        let mut probes = Vec::new();
        for w in windows {
            self.unsettled.entry(w.lease.instance.clone()).or_default().extend(w.seqs.iter().copied());
            let ids: Vec<ClientOrderId> = w.ids().collect();
            // A lease spans a block and a half, plus what an earlier crash left
            // unsettled for a few seconds; many more ids are not this code's.
            let most = usize::try_from(16 * LEASE_BLOCK).unwrap_or(usize::MAX);
            if ids.len() > most {
                tracing::error!(
                    strategy = %w.lease.instance,
                    ids = ids.len(),
                    "unexpectedly many unjournaled ids in the journal; asking about the last ones only"
                );
            }
            for &id in ids.iter().rev().take(most) {
                probes.extend(w.lease.symbols.iter().map(|&symbol| (id, symbol)));
            }
        }
        probes
    }

    /// The `first` of a new lease record of `instance` whose next possibly
    /// unjournaled id is `next`.
    pub(super) fn first(&self, instance: &str, next: u64) -> u64 {
        self.unsettled.get(instance).and_then(|s| s.first()).map_or(next, |&u| u.min(next))
    }
}

impl<V: OrderEntry> Exec<V> {
    /// Journals a new order's intent, waiting for a lease's commit if none
    /// covers it yet; once this returns `Ok`, the order may be sent.
    pub(super) async fn journal_intent(&mut self, id: ClientOrderId, order: &NewOrder) -> Result<(), Reason> {
        let Some(journal) = self.journal.clone() else { return Ok(()) };
        let refused = |e: crate::journal::JournalError| {
            tracing::error!(client_order_id = %id, error = %e, "journal write failed; order not sent");
            Reason::new("journal", e.to_string())
        };
        let Some((instance, seq)) = id.owner() else {
            // Not one of our sequenced ids: no lease covers it, so its intent is committed first.
            let record = Record::Intent { id, order: *order, time_ms: clock::now().0 };
            return journal.write(record).await.map_err(refused);
        };
        let needed = self.gate().lease_needed(instance, seq, order.symbol);
        if let Some(lease) = needed {
            journal.write(Record::Lease(lease.clone())).await.map_err(refused)?;
            self.gate().leased(lease);
        }
        drop(self.gate().queue_intent(id, order).map_err(refused)?);
        self.renew_ahead(&id);
        Ok(())
    }

    /// Takes the lease of each of `traders` (one commit for them all), before
    /// any order. One that fails is logged; its first order takes it then.
    pub(super) async fn lease_ahead(&mut self, traders: &[Trader]) {
        let Some(journal) = self.journal.clone() else { return };
        let mut pending = Vec::new();
        for t in traders.iter().filter(|t| !t.symbols.is_empty()) {
            let Some(mut lease) = self.gate().lease_needed(&t.instance, t.first_seq, t.symbols[0]) else { continue };
            for &symbol in &t.symbols[1..] {
                if !lease.symbols.contains(&symbol) {
                    lease.symbols.push(symbol);
                }
            }
            let committed = journal.submit(Record::Lease(lease.clone()));
            pending.push((lease, t.first_seq, committed));
        }
        for (lease, first_seq, committed) in pending {
            match committed.await {
                Ok(()) => {
                    let instance = lease.instance.clone();
                    let mut gate = self.gate();
                    gate.leased(lease);
                    if let Some(held) = gate.leases.held.get_mut(&instance) {
                        held.first_seq = Some(first_seq);
                    }
                }
                Err(e) => {
                    tracing::warn!(strategy = %lease.instance, error = %e, "taking a client order id lease at startup failed")
                }
            }
        }
    }

    /// Renews the lease of `id`'s instance in the background when less than half a block is left.
    pub(super) fn renew_ahead(&mut self, id: &ClientOrderId) {
        let Some((instance, seq)) = id.owner() else { return };
        let Some((lease, committed)) = self.gate().renewal(instance, seq) else { return };
        self.spawn(move |_| async move {
            let result = committed.await.map_err(|e| e.to_string());
            Done::Leased { lease, result }
        });
    }

    /// At a clean stop: each lease shrinks to the last id sent.
    pub(super) async fn release_leases(&mut self) {
        let Some(journal) = self.journal.clone() else { return };
        let releases = self.gate().releases();
        for lease in releases {
            let instance = lease.instance.clone();
            if let Err(e) = journal.write(Record::Lease(lease)).await {
                tracing::warn!(strategy = %instance, error = %e, "releasing the client order id lease failed");
            }
        }
    }

    /// Asks the venue about an id that may have been sent unjournaled.
    pub(super) fn probe(&mut self, id: ClientOrderId, symbol: Symbol, after: Duration) {
        self.spawn(move |venue| async move {
            tokio::time::sleep(after).await;
            Done::Probed { id, symbol, result: venue.query(symbol, id).await }
        });
    }

    /// The probes that found nothing at start, asked once more when that is final.
    pub(super) fn probe_later(&mut self) {
        let (wait, later) = {
            let mut gate = self.gate();
            let later = std::mem::take(&mut gate.leases.later);
            gate.leases.asking_later = later.len();
            let wait =
                gate.leases.probe_until.map_or(Duration::ZERO, |until| until.saturating_duration_since(Instant::now()));
            (wait, later)
        };
        for (id, symbol) in later {
            self.probe(id, symbol, wait);
        }
        self.settled_if_answered();
    }

    /// Once the second round has answered, the earlier crash's ids are settled;
    /// each lease is written again without them, so a later crash does not ask
    /// about them once more (the windows would grow with every crash).
    fn settled_if_answered(&mut self) {
        let mut gate = self.gate();
        if gate.leases.asking_later != 0 || gate.leases.unsettled.is_empty() {
            return;
        }
        gate.leases.unsettled.clear();
        gate.rebase_leases();
    }

    pub(super) async fn on_probe(&mut self, id: ClientOrderId, symbol: Symbol, result: Result<OrderState, VenueError>) {
        let second_round = self.recovering.is_none();
        if second_round {
            let mut gate = self.gate();
            gate.leases.asking_later = gate.leases.asking_later.saturating_sub(1);
        }
        self.settle_probe(id, symbol, result).await;
        if second_round {
            self.settled_if_answered();
        }
    }

    async fn settle_probe(&mut self, id: ClientOrderId, symbol: Symbol, result: Result<OrderState, VenueError>) {
        if self.orders.contains_key(&id) || self.done.contains(&id) {
            return;
        }
        let info = match result {
            Ok(info) => info,
            Err(e) => {
                if self.recovering.is_some() {
                    // Whatever the answer, asked again once a request sent before the crash is void.
                    self.gate().leases.later.push((id, symbol));
                } else if e.is_unknown_order() {
                    tracing::debug!(client_order_id = %id, %symbol, "the venue never saw this id");
                } else {
                    tracing::warn!(client_order_id = %id, %symbol, error = %e, "asking about an unjournaled id failed; asking again");
                    self.gate().leases.asking_later += 1;
                    self.probe(id, symbol, Duration::from_secs(5));
                }
                return;
            }
        };
        let Some(order) = info.order(self.options.venue, symbol) else {
            tracing::error!(client_order_id = %id, ?info, "an order of ours the journal missed, in a form not understood; left alone");
            return;
        };
        let Some((instance, _)) = id.owner() else { return };
        tracing::warn!(
            client_order_id = %id,
            %symbol,
            status = %info.status,
            "an order sent just before the crash, on the venue but not in the journal: adopted"
        );
        if let Some(journal) = &self.journal {
            journal.write_nowait(Record::Intent { id, order, time_ms: info.time.unwrap_or(clock::now().0) });
        }
        let open = (instance.to_owned(), OpenOrder { id, order, filled: Qty::ZERO });
        match &mut self.adopted {
            Some(adopted) => adopted.push(open),
            None => self.sink.send(VenueEvent::Adopt(Box::new(open))).await,
        }
        self.orders.insert(
            id,
            Tracked { venue_order_id: Some(info.venue_order_id), ..Tracked::new(&order, Stage::Live, Instant::now()) },
        );
        self.apply_status(id, &info).await;
    }
}
