//! Admission: what a new order must pass before it may leave, shared by the
//! engine's synchronous order path and the execution task.
//!
//! When nothing stands in the way — the symbol's filters pass, a committed
//! lease covers the client order id, the rate budget has room now, and no
//! earlier order is still waiting in the execution task — the engine's call
//! itself queues the intent, signs the request and hands it to the HTTP
//! client ([`ExecHandle`](super::ExecHandle)); the execution task is told
//! afterwards and tracks the order from there. Otherwise the request goes
//! through the execution task's queue as before (it may wait for a lease's
//! commit or for the rate budget, or be denied), and later orders follow it
//! there until it is admitted, so intents are always queued in sequence order.

use std::sync::{MutexGuard, PoisonError};

use tradewind_strategies::sdk::{ClientOrderId, InstrumentSpec, NewOrder, OrderKind, Reason, Symbol, VenueId};

use super::lease::{Held, LEASE_BLOCK, Leases};
use crate::clock;
use crate::collections::FastMap;
use crate::journal::{Journal, JournalError, Lease, Record, Wake};

pub(super) struct Gate {
    venue: VenueId,
    pub(super) journal: Option<Journal>,
    /// The venue's trading rules, refreshed by the connection.
    instruments: tokio::sync::watch::Receiver<Vec<InstrumentSpec>>,
    specs: FastMap<Symbol, InstrumentSpec>,
    pub(super) leases: Leases,
    /// New orders handed to the execution task and not admitted (or denied) yet.
    pub(super) waiting: usize,
}

/// The gate, locked. Never held across an `.await`.
pub(super) type Locked<'a> = MutexGuard<'a, Gate>;

pub(super) fn lock(gate: &std::sync::Mutex<Gate>) -> Locked<'_> {
    gate.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Gate {
    pub(super) fn new(
        venue: VenueId,
        journal: Option<Journal>,
        instruments: tokio::sync::watch::Receiver<Vec<InstrumentSpec>>,
    ) -> Self {
        Self { venue, journal, instruments, specs: FastMap::default(), leases: Leases::default(), waiting: 0 }
    }

    /// The symbol's filters, checked before anything is sent.
    pub(super) fn check(&mut self, order: &NewOrder) -> Result<(), Reason> {
        if self.specs.is_empty() || self.instruments.has_changed().unwrap_or(false) {
            self.specs = self.instruments.borrow_and_update().iter().map(|s| (s.symbol, s.clone())).collect();
        }
        let Some(spec) = self.specs.get(&order.symbol) else {
            return Err(Reason::new("unknown_symbol", format!("{} is not traded on {}", order.symbol, self.venue)));
        };
        let checked = match order.kind {
            OrderKind::Limit { price, .. } | OrderKind::PostOnly { price } => spec.validate(price, order.qty),
            OrderKind::Market => spec.check_qty(order.qty.get()),
        };
        checked.map_err(|v| Reason::new("filter", v.to_string()))
    }

    /// Whether `order` may go out as `id` without waiting for anything but
    /// the rate budget: no earlier order waiting, filters pass, and (when
    /// journaled) a committed lease covers the id.
    pub(super) fn clear(&mut self, id: &ClientOrderId, order: &NewOrder) -> bool {
        if self.waiting > 0 || self.check(order).is_err() {
            return false;
        }
        if self.journal.is_none() {
            return true;
        }
        id.owner().is_some_and(|(instance, seq)| self.lease_needed(instance, seq, order.symbol).is_none())
    }

    /// Queues the intent of `id` (after `clear`, or once its lease is
    /// committed); the journal's writer is woken when the [`Wake`] is dropped.
    pub(super) fn queue_intent(&mut self, id: ClientOrderId, order: &NewOrder) -> Result<Wake, JournalError> {
        let Some(journal) = &self.journal else { return Ok(Wake::default()) };
        let wake = journal.queue_quietly(Record::Intent { id, order: *order, time_ms: clock::now().0 })?;
        if let Some((instance, seq)) = id.owner()
            && let Some(held) = self.leases.held.get_mut(instance)
        {
            held.highest = Some(held.highest.map_or(seq, |h| h.max(seq)));
        }
        Ok(wake)
    }

    /// The lease to take (and wait for) before `seq` may go out on `symbol`;
    /// none if a committed one covers it.
    pub(super) fn lease_needed(&self, instance: &str, seq: u64, symbol: Symbol) -> Option<Lease> {
        let held = self.leases.held.get(instance);
        if held.is_some_and(|h| seq <= h.upto && h.symbols.contains(&symbol)) {
            return None;
        }
        let mut symbols = held.map(|h| h.symbols.clone()).unwrap_or_default();
        if !symbols.contains(&symbol) {
            symbols.push(symbol);
        }
        let next = held.and_then(|h| h.highest).map_or(seq, |h| h + 1);
        Some(Lease {
            venue: self.venue.to_string(),
            instance: instance.to_owned(),
            first: self.leases.first(instance, next),
            upto: held.map_or(0, |h| h.upto).max(seq + LEASE_BLOCK),
            symbols,
        })
    }

    /// The lease to renew in the background, queued to the journal now (so
    /// leases reach it in the order they were taken), when less than half a
    /// block is left after `seq`; the future resolves once it is committed.
    pub(super) fn renewal(
        &mut self,
        instance: &str,
        seq: u64,
    ) -> Option<(Lease, impl Future<Output = Result<(), JournalError>> + Send + 'static)> {
        let journal = self.journal.as_ref()?;
        let held = self.leases.held.get(instance)?;
        if held.renewing || held.upto.saturating_sub(seq) >= LEASE_BLOCK / 2 {
            return None;
        }
        // Every intent queued so far is below `first`.
        let next = held.highest.map_or(seq, |h| h.max(seq)) + 1;
        let lease = Lease {
            venue: self.venue.to_string(),
            instance: instance.to_owned(),
            first: self.leases.first(instance, next),
            upto: held.upto.max(seq + LEASE_BLOCK),
            symbols: held.symbols.clone(),
        };
        let committed = journal.submit(Record::Lease(lease.clone()));
        if let Some(held) = self.leases.held.get_mut(instance) {
            held.renewing = true;
        }
        Some((lease, committed))
    }

    /// A lease is committed.
    pub(super) fn leased(&mut self, lease: Lease) {
        let held = self.leases.held.entry(lease.instance.clone()).or_insert(Held {
            upto: 0,
            symbols: Vec::new(),
            renewing: false,
            highest: None,
            first_seq: None,
        });
        held.renewing = false;
        // Leases are queued in the order they are taken, each covering the one
        // before; a background renewal may report after a later lease.
        if (lease.upto, lease.symbols.len()) >= (held.upto, held.symbols.len()) {
            held.upto = lease.upto;
            held.symbols = lease.symbols;
        }
    }

    /// A background renewal failed: the next id past the lease waits for one of its own.
    pub(super) fn lease_failed(&mut self, lease: &Lease, error: &str) {
        tracing::error!(strategy = %lease.instance, error, "renewing a client order id lease failed");
        if let Some(held) = self.leases.held.get_mut(&lease.instance) {
            held.renewing = false;
        }
    }

    /// Writes each lease again from the next id on (the ids below it are settled),
    /// queued under the gate's lock, so every intent queued before it is below its `first`.
    pub(super) fn rebase_leases(&mut self) {
        let Some(journal) = &self.journal else { return };
        // A lease being renewed is left as it is: its renewal, queued already, covers more ids.
        for (instance, held) in self.leases.held.iter().filter(|(_, h)| !h.renewing) {
            let Some(next) = held.highest.map(|h| h + 1).or(held.first_seq) else { continue };
            let lease = Lease {
                venue: self.venue.to_string(),
                instance: instance.clone(),
                first: next,
                upto: held.upto,
                symbols: held.symbols.clone(),
            };
            journal.write_nowait(Record::Lease(lease));
        }
    }

    /// At a clean stop: each lease shrunk to the last id sent (all of whose
    /// intents are committed with it), so the next start has nothing to ask
    /// about (but ids of an earlier crash still unsettled).
    pub(super) fn releases(&self) -> Vec<Lease> {
        let mut out = Vec::new();
        for (instance, held) in &self.leases.held {
            // An instance that sent nothing gives back every id it was leased.
            let Some(upto) = held.highest.or(held.first_seq.map(|s| s.saturating_sub(1))) else { continue };
            out.push(Lease {
                venue: self.venue.to_string(),
                instance: instance.clone(),
                first: self.leases.first(instance, upto + 1),
                upto,
                symbols: held.symbols.clone(),
            });
        }
        out
    }
}
