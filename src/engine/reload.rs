//! Changing the running set of strategies (hot reload): new instances start,
//! removed ones stop, changed ones restart with their new parameters; the
//! others are not touched. An instance keeps its positions, its open-order
//! bookkeeping, its client order sequence and the state it saved across a
//! restart, so its ids never repeat, its fills keep counting where they
//! belong, and it continues where it was (`on_restore` gets the saved state).

use tokio::sync::oneshot;
use tradewind_strategies::sdk::{Strategy, Subscription};

use super::{Engine, InstanceStatus, Slot};
use crate::config::RiskConfig;
use crate::risk::RiskManager;

/// An instance to start (or restart, when one of that name exists).
pub struct Start {
    pub name: String,
    pub strategy: Box<dyn Strategy>,
    /// First client order sequence number, for an instance this run has never had.
    pub first_seq: u64,
}

/// A change of the running set.
pub struct Reconfigure {
    /// New daemon-wide limits, if they changed.
    pub risk: Option<RiskConfig>,
    /// Every configured strategy's limits (`[risk]` with its own overrides).
    pub limits: std::collections::HashMap<String, RiskConfig>,
    /// Instances to stop.
    pub stop: Vec<String>,
    pub start: Vec<Start>,
    /// Cancel the resting orders of stopped and restarted instances.
    pub cancel_orders: bool,
    /// Every running instance's subscriptions once applied (venues subscribe what is missing).
    pub reply: oneshot::Sender<Vec<Subscription>>,
}

impl std::fmt::Debug for Reconfigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let start: Vec<&str> = self.start.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("Reconfigure").field("stop", &self.stop).field("start", &start).finish_non_exhaustive()
    }
}

impl Engine {
    /// Applies a change of the running set and answers with every running
    /// instance's subscriptions.
    pub fn reconfigure(&mut self, change: Reconfigure) {
        let Reconfigure { risk, limits, stop, start, cancel_orders, reply } = change;
        if let Some(limits) = risk {
            let global = self.core.risk.global_state();
            self.core.risk = RiskManager::new(limits);
            self.core.risk.set_global_state(global);
            tracing::info!("risk limits changed");
        }
        for name in stop {
            let Some(idx) = self.running_slot(&name) else { continue };
            self.core.dispatch(idx, |s, ctx, out| s.on_stop(ctx, out));
            self.core.slots[idx].status = InstanceStatus::Stopped;
            let cancels = if cancel_orders { self.core.cancel_all(idx) } else { 0 };
            tracing::info!(strategy = %name, cancels_sent = cancels, "strategy removed");
        }
        for Start { name, strategy, first_seq } in start {
            let idx = match self.core.slots.iter().rposition(|s| s.name == name) {
                Some(idx) => {
                    // The old strategy object is dropped; its orders are cancelled below.
                    let slot = &mut self.core.slots[idx];
                    slot.status = InstanceStatus::Running;
                    slot.subscriptions = strategy.subscriptions();
                    slot.strategy = strategy;
                    slot.intents.clear();
                    let cancels = if cancel_orders { self.core.cancel_all(idx) } else { 0 };
                    tracing::info!(strategy = %name, cancels_sent = cancels, "strategy restarted with its new configuration");
                    idx
                }
                None => {
                    let subscriptions = strategy.subscriptions();
                    let own = limits.get(&name).cloned().unwrap_or_else(|| self.core.risk.limits().clone());
                    self.core.slots.push(Slot::new(&name, strategy, first_seq, subscriptions, own));
                    tracing::info!(strategy = %name, "strategy added");
                    self.core.slots.len() - 1
                }
            };
            self.rebuild_routes();
            // A restarted instance gets back the state it saved (its position and open orders are kept).
            if let Some(state) = self.core.slots[idx].last_state.clone() {
                let restored = tradewind_strategies::sdk::Restored { fills: Vec::new(), state: Some(state) };
                self.core.dispatch(idx, |s, ctx, out| s.on_restore(ctx, &restored, out));
            }
            self.core.dispatch(idx, |s, ctx, out| s.on_start(ctx, out));
        }
        for slot in &mut self.core.slots {
            if let Some(own) = limits.get(&slot.name) {
                slot.limits = own.clone();
            }
        }
        self.rebuild_routes();
        self.feeds.changed = true;
        self.publish_readiness();
        // The asker may be gone (shutdown); the change stands regardless.
        let _ = reply.send(self.subscriptions().cloned().collect());
    }

    fn running_slot(&self, name: &str) -> Option<usize> {
        self.core.slots.iter().position(|s| s.name == name && s.status != InstanceStatus::Stopped)
    }

    /// Market-event routes of every running instance.
    pub(super) fn rebuild_routes(&mut self) {
        self.routes.clear();
        self.venue_routes.clear();
        for (idx, slot) in self.core.slots.iter().enumerate() {
            if slot.status != InstanceStatus::Running {
                continue;
            }
            for sub in &slot.subscriptions {
                for symbol in &sub.symbols {
                    self.routes.entry((sub.venue, *symbol)).or_default().push(idx);
                }
                let venue = self.venue_routes.entry(sub.venue).or_default();
                if !venue.contains(&idx) {
                    venue.push(idx);
                }
            }
        }
    }
}
