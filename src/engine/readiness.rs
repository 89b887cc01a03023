//! Readiness: whether the market data the running strategies need is live —
//! every venue they subscribe to has its feed up, every book they subscribe
//! to is synced. Published on a `watch` for READY and `/readyz`.

use std::collections::{HashMap, HashSet};

use tradewind_strategies::sdk::{Subscription, Symbol, VenueId};

use super::Engine;

/// Which feeds are up and which books are synced.
pub(super) struct Feeds {
    pub(super) up: HashMap<VenueId, bool>,
    pub(super) books: HashSet<(VenueId, Symbol)>,
    pub(super) ready: tokio::sync::watch::Sender<bool>,
    pub(super) changed: bool,
}

impl Default for Feeds {
    fn default() -> Self {
        Feeds {
            up: HashMap::new(),
            books: Default::default(),
            ready: tokio::sync::watch::channel(false).0,
            changed: false,
        }
    }
}

impl Feeds {
    pub(super) fn connectivity(&mut self, venue: VenueId, up: bool) {
        self.up.insert(venue, up);
        if !up {
            // A dead feed's books resync when it is back.
            self.books.retain(|(v, _)| *v != venue);
        }
        self.changed = true;
    }

    pub(super) fn synced(&mut self, venue: VenueId, symbol: Symbol) {
        self.changed |= self.books.insert((venue, symbol));
    }
}

impl Engine {
    /// Whether the market data the strategies need is live: every venue they
    /// subscribe to has its feed up, and every book they subscribe to is synced.
    pub fn readiness(&self) -> tokio::sync::watch::Receiver<bool> {
        self.feeds.ready.subscribe()
    }

    /// Publishes readiness on `tx` (a channel made before the engine, e.g. for `/readyz`).
    pub fn report_readiness_to(&mut self, tx: tokio::sync::watch::Sender<bool>) {
        self.feeds.ready = tx;
        self.feeds.changed = true;
        self.publish_readiness();
    }

    pub(super) fn publish_readiness(&mut self) {
        self.feeds.changed = false;
        let subs: Vec<&Subscription> = self.subscriptions().collect();
        let ready = subs.iter().all(|s| self.feeds.up.get(&s.venue).copied().unwrap_or(false))
            && subs
                .iter()
                .filter(|s| s.book)
                .all(|s| s.symbols.iter().all(|sym| self.feeds.books.contains(&(s.venue, *sym))));
        self.feeds.ready.send_if_modified(|r| std::mem::replace(r, ready) != ready);
    }
}
