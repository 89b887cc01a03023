//! Readiness: whether the market data the running strategies need is live —
//! every venue they subscribe to has its feed up, every book they subscribe
//! to is synced, and every symbol they take quotes or books of has a price
//! (a top of book) since the feed last came up. Published on a `watch` for
//! READY and `/readyz`.

use std::collections::{HashMap, HashSet};

use tradewind_strategies::sdk::{Symbol, VenueId};

use super::Engine;

/// Which feeds are up, which books are synced and which symbols have a price.
pub(super) struct Feeds {
    pub(super) up: HashMap<VenueId, bool>,
    pub(super) books: HashSet<(VenueId, Symbol)>,
    /// Symbols with a top of book since their venue's feed last came up.
    pub(super) priced: HashSet<(VenueId, Symbol), foldhash::fast::RandomState>,
    pub(super) ready: tokio::sync::watch::Sender<Readiness>,
    pub(super) changed: bool,
}

impl Default for Feeds {
    fn default() -> Self {
        Feeds {
            up: HashMap::new(),
            books: Default::default(),
            priced: Default::default(),
            ready: tokio::sync::watch::channel(Readiness::starting()).0,
            changed: false,
        }
    }
}

/// What the strategies' market data lacks; nothing once it is live.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Readiness {
    /// Each missing piece in a few words (`sim: feed down`, `sim BTCUSDT: no price`, ...), at most a few dozen.
    pub missing: Vec<String>,
}

impl Readiness {
    /// Before the engine has looked.
    pub fn starting() -> Self {
        Self { missing: vec!["engine not started".to_owned()] }
    }

    pub fn is_live(&self) -> bool {
        self.missing.is_empty()
    }
}

/// The most missing pieces listed (the count of the rest is given).
const MISSING_LISTED: usize = 20;

impl Feeds {
    pub(super) fn connectivity(&mut self, venue: VenueId, up: bool) {
        self.up.insert(venue, up);
        if !up {
            // A dead feed's books resync when it is back, and its prices are stale.
            self.books.retain(|(v, _)| *v != venue);
            self.priced.retain(|(v, _)| *v != venue);
        }
        self.changed = true;
    }

    pub(super) fn synced(&mut self, venue: VenueId, symbol: Symbol) {
        self.changed |= self.books.insert((venue, symbol));
        self.priced(venue, symbol);
    }

    /// A top of book arrived (per quote: a lookup, and an insert only the first time).
    pub(super) fn priced(&mut self, venue: VenueId, symbol: Symbol) {
        if !self.priced.contains(&(venue, symbol)) {
            self.priced.insert((venue, symbol));
            self.changed = true;
        }
    }
}

impl Engine {
    /// Whether the market data the strategies need is live: every venue they
    /// subscribe to has its feed up, every book they subscribe to is synced,
    /// and every symbol they take quotes or books of has a price.
    pub fn readiness(&self) -> tokio::sync::watch::Receiver<Readiness> {
        self.feeds.ready.subscribe()
    }

    /// Publishes readiness on `tx` (a channel made before the engine, e.g. for `/readyz`).
    pub fn report_readiness_to(&mut self, tx: tokio::sync::watch::Sender<Readiness>) {
        self.feeds.ready = tx;
        self.feeds.changed = true;
        self.publish_readiness();
    }

    pub(super) fn publish_readiness(&mut self) {
        self.feeds.changed = false;
        let mut missing: Vec<String> = Vec::new();
        let mut note = |what: String| {
            if !missing.contains(&what) {
                missing.push(what);
            }
        };
        for s in self.subscriptions() {
            if !self.feeds.up.get(&s.venue).copied().unwrap_or(false) {
                note(format!("{}: market data down", s.venue));
                continue;
            }
            for symbol in &s.symbols {
                let key = (s.venue, *symbol);
                if s.book && !self.feeds.books.contains(&key) {
                    note(format!("{} {symbol}: book not synced", s.venue));
                } else if (s.quotes || s.book) && !self.feeds.priced.contains(&key) {
                    note(format!("{} {symbol}: no price", s.venue));
                }
            }
        }
        if missing.len() > MISSING_LISTED {
            let more = missing.len() - MISSING_LISTED;
            missing.truncate(MISSING_LISTED);
            missing.push(format!("and {more} more"));
        }
        let now = Readiness { missing };
        self.feeds.ready.send_if_modified(|r| {
            let changed = *r != now;
            *r = now;
            changed
        });
    }
}
