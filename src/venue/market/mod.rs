//! The market-data half of the venue contract: a venue describes its public
//! WebSocket protocol as a [`Dialect`] (which URL, which streams a
//! [`FeedSpec`] means, the messages that subscribe them, an app-level ping
//! if the venue wants one, how a frame reads, and how its books sync), and
//! every venue's connections run on the one session manager here
//! ([`session`]):
//!
//! - connections of at most [`Dialect::MAX_STREAMS`] streams each, opened
//!   within a deadline, subscribed on every (re)connect;
//! - a connection silent longer than the silence timeout is dropped and
//!   replaced; reconnects back off with jitter, from the shortest delay
//!   again once a connection delivered data;
//! - a planned switch (the venue announces it is going away, or the
//!   connection nears its 24 hours) is make-before-break: the new
//!   connection first, then the old one closes;
//! - local books by snapshot and sequence ([`crate::venue::book`]): a
//!   snapshot from REST ([`BookSync::Rest`]) or from the stream itself
//!   ([`BookSync::InStream`]; a gap resubscribes the symbol); every resync is
//!   counted in `tradewind_book_resyncs_total`;
//! - after every (re)connect the top of book of each quoted symbol is read
//!   over REST, where the venue offers it, so a quiet market still has a price.
//!
//! Strategies see `Connectivity` up/down, a `BookSnapshot` after every
//! (re)sync, then `BookDelta`s.

mod meters;
mod session;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{MarketEvent, Quote, Symbol, VenueId};

use crate::sink::MarketConsumer;
use crate::venue::book::Depth;
use crate::venue::feed::FeedSpec;

/// What one market frame carried.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Market(MarketEvent),
    /// Several events in one frame (Bybit's `publicTrade` batches), in order.
    Many(Vec<MarketEvent>),
    /// A full book sent in the stream (Bybit's and OKX's first message of a
    /// depth subscription, or a reset): replaces the local book.
    Snapshot(Symbol, Depth),
    /// A book diff with the checksum the venue computed over the book after
    /// it (OKX's, when it sends one): the local book is checked against
    /// [`Dialect::book_checksum`] once the diff is applied, and resynced if they differ.
    Checked(MarketEvent, i32),
    /// The server is going away: switch to a new connection now (Binance's `serverShutdown`).
    ServerShutdown,
    /// A reply to a subscribe, unsubscribe or ping (Binance's `{"result":…,"id":…}`, a pong).
    ControlReply,
    /// A stream this parser does not handle (kept for metrics, not an error).
    Ignored,
}

/// How a venue's local books get their snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSync {
    /// Fetched over REST while the stream's diffs are buffered (Binance).
    Rest,
    /// Sent in the stream when the depth channel is subscribed (Bybit, OKX).
    InStream,
}

/// A venue's public WebSocket protocol, as the session manager needs it.
pub trait Dialect: Send + Sync + 'static {
    /// Most streams one connection may carry.
    const MAX_STREAMS: usize;
    /// How the books sync.
    const BOOK_SYNC: BookSync;

    /// The venue's names for the streams of `spec` (one per channel).
    fn streams(&self, spec: &FeedSpec) -> Vec<String>;

    /// The URL of a connection for `specs` under the configured base.
    fn url(&self, base: &str, specs: &[FeedSpec]) -> String;

    /// Text messages that subscribe `specs` on a fresh connection (none
    /// where the URL names the streams).
    fn subscribe(&self, specs: &[FeedSpec]) -> Vec<String>;

    /// New connections a second the venue takes from one address, if it
    /// limits them (OKX: 3, all its endpoints together).
    fn connects_per_sec(&self) -> Option<usize> {
        None
    }

    /// Subscribe requests one connection may send (OKX: 480 an hour, its
    /// login and unsubscribes included); past it, a book is resubscribed on
    /// a new connection instead (make-before-break). `None`: no limit.
    fn subscribe_limit(&self) -> Option<usize> {
        None
    }

    /// What of `spec` this endpoint carries (a venue that splits its
    /// channels over endpoints serves part of it here); all of it by default.
    fn narrow(&self, spec: FeedSpec) -> FeedSpec {
        spec
    }

    /// Messages that make the venue send `spec`'s book again from a new
    /// snapshot ([`BookSync::InStream`]; none: reconnect instead).
    fn resubscribe_book(&self, spec: &FeedSpec) -> Vec<String> {
        let _ = spec;
        Vec::new()
    }

    /// An app-level ping (its text) and how often to send it, for venues
    /// that drop a connection without one (WebSocket pings are answered by
    /// the transport whatever this says).
    fn ping(&self) -> Option<(Duration, &'static str)> {
        None
    }

    /// Reads one text frame.
    fn parse(&self, venue: VenueId, text: &str) -> Result<StreamEvent, String>;

    /// The book of `symbol` from REST ([`BookSync::Rest`]; a venue that
    /// sends its books in the stream has none to give).
    fn depth(&self, symbol: Symbol) -> impl Future<Output = Result<Depth, String>> + Send {
        std::future::ready(Err(format!("{symbol}: this venue sends its books in the stream")))
    }

    /// The checksum of a book's best levels (best first, the venue's spelling
    /// of each number kept), as the venue computes it; `None` where the venue has none.
    fn book_checksum(&self, bids: &[[Decimal; 2]], asks: &[[Decimal; 2]]) -> Option<i32> {
        let _ = (bids, asks);
        None
    }

    /// How many of each side's best levels [`Self::book_checksum`] covers.
    const CHECKSUM_DEPTH: usize = 25;

    /// The best bid and ask of `symbols` over REST; by default none (the
    /// first streamed quote is then the first price).
    fn tops(&self, symbols: Vec<Symbol>) -> impl Future<Output = Result<Vec<Quote>, String>> + Send {
        let _ = symbols;
        std::future::ready(Ok(Vec::new()))
    }
}

/// Settings of the market connections.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    pub venue: VenueId,
    /// Base URL, e.g. `wss://stream.binance.com:9443`.
    pub stream_url: String,
    /// Drop a connection that sent nothing (not even a ping) for this long.
    pub silence_timeout: Duration,
    /// Bytes read from the socket at a time ([`crate::venue::ws::READ_BUFFER`] by default).
    pub read_buffer: usize,
}

/// Splits the specs over connections of at most `D::MAX_STREAMS` streams and spawns one task for each.
pub fn spawn_feeds<D: Dialect>(
    options: FeedOptions,
    specs: Vec<FeedSpec>,
    dialect: Arc<D>,
    engine: Arc<dyn MarketConsumer>,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let specs = specs.into_iter().map(|spec| dialect.narrow(spec)).collect();
    group_streams(specs, D::MAX_STREAMS, |spec| dialect.streams(spec).len())
        .into_iter()
        .map(|group| {
            let feed = session::Feed::new(options.clone(), group, dialect.clone(), engine.clone());
            tokio::spawn(feed.run(shutdown.clone()))
        })
        .collect()
}

/// Starts more feeds on a connected venue (a reload that subscribes new
/// symbols or channels): new connections, the running ones untouched.
pub struct FeedLauncher<D> {
    pub options: FeedOptions,
    pub dialect: Arc<D>,
    pub engine: Arc<dyn MarketConsumer>,
    pub shutdown: CancellationToken,
}

impl<D> Clone for FeedLauncher<D> {
    fn clone(&self) -> Self {
        Self {
            options: self.options.clone(),
            dialect: self.dialect.clone(),
            engine: self.engine.clone(),
            shutdown: self.shutdown.clone(),
        }
    }
}

impl<D: Dialect> FeedLauncher<D> {
    pub fn spawn(&self, specs: Vec<FeedSpec>) -> Vec<tokio::task::JoinHandle<()>> {
        spawn_feeds(self.options.clone(), specs, self.dialect.clone(), self.engine.clone(), self.shutdown.clone())
    }
}

impl<D: Dialect> crate::venue::AddFeeds for FeedLauncher<D> {
    fn spawn(&self, specs: Vec<FeedSpec>) -> Vec<tokio::task::JoinHandle<()>> {
        FeedLauncher::spawn(self, specs)
    }
}

/// A venue whose market data comes from several endpoints (OKX: public and
/// business), each taking the streams its dialect serves of every spec.
impl<D: Dialect> crate::venue::AddFeeds for Vec<FeedLauncher<D>> {
    fn spawn(&self, specs: Vec<FeedSpec>) -> Vec<tokio::task::JoinHandle<()>> {
        self.iter().flat_map(|launcher| launcher.spawn(specs.clone())).collect()
    }
}

/// Splits specs over connections of at most `max` streams (`streams` counts a spec's).
pub fn group_streams(specs: Vec<FeedSpec>, max: usize, streams: impl Fn(&FeedSpec) -> usize) -> Vec<Vec<FeedSpec>> {
    let mut groups: Vec<Vec<FeedSpec>> = vec![Vec::new()];
    let mut count = 0;
    for spec in specs {
        let n = streams(&spec);
        if n == 0 {
            continue;
        }
        if count + n > max {
            groups.push(Vec::new());
            count = 0;
        }
        count += n;
        groups.last_mut().expect("groups starts non-empty").push(spec);
    }
    groups.retain(|g| !g.is_empty());
    groups
}
