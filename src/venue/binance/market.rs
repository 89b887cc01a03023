//! Market-data connections: combined streams for the subscribed symbols and
//! channels (at most 1024 streams a connection), local books synced from
//! REST snapshots, keep-alive, and reconnects with backoff and jitter.
//!
//! A connection that stays silent longer than the silence timeout (the
//! venue pings every 20 s) is dropped and replaced. `serverShutdown` means
//! reconnect now, without backoff. Strategies see `Connectivity` up/down,
//! a `BookSnapshot` after every (re)sync, then `BookDelta`s. After every
//! (re)connect the top of book of each quoted symbol is read over REST, so a
//! quiet market (which sends no quote until its book changes) still has a price.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{Connectivity, MarketEvent, Quote, Symbol, VenueId};

use super::book::{Applied, LocalBook, SyncError};
use super::parse::{StreamEvent, parse_combined};
use super::rest::{BookTicker, DepthSnapshot, RestClient};
use crate::sink::MarketConsumer;
use crate::venue::feed::FeedSpec;
use crate::venue::ws::{self, Reconnect, Ws};

/// Binance's limit of streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// The stream names of `spec`, lower-case as Binance requires.
pub fn streams(spec: &FeedSpec) -> Vec<String> {
    let s = spec.symbol.as_str().to_ascii_lowercase();
    let mut out = Vec::new();
    if spec.trades {
        out.push(format!("{s}@trade"));
    }
    if spec.quotes {
        out.push(format!("{s}@bookTicker"));
    }
    if spec.book {
        out.push(format!("{s}@depth@100ms"));
    }
    out.extend(spec.klines.iter().map(|k| format!("{s}@kline_{}", k.as_str())));
    out
}

/// Settings of the market connections.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    pub venue: VenueId,
    /// Base URL, e.g. `wss://stream.binance.com:9443`.
    pub stream_url: String,
    /// Drop a connection that sent nothing (not even a ping) for this long.
    pub silence_timeout: Duration,
    /// Levels of the REST snapshot (≤ 5000).
    pub snapshot_depth: u32,
    /// Bytes read from the socket at a time ([`crate::venue::ws::READ_BUFFER`] by default).
    pub read_buffer: usize,
}

/// Splits the specs over connections of at most 1024 streams and spawns one task for each.
pub fn spawn_feeds(
    options: FeedOptions,
    specs: Vec<FeedSpec>,
    rest: Arc<RestClient>,
    engine: Arc<dyn MarketConsumer>,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    group_streams(specs)
        .into_iter()
        .map(|group| {
            let meters = Meters::new(options.venue);
            let feed = Feed {
                options: options.clone(),
                specs: group,
                rest: rest.clone(),
                engine: engine.clone(),
                meters,
                requested: AtomicBool::new(false),
                delivered: AtomicBool::new(false),
                awaiting: std::sync::Mutex::new(std::collections::HashSet::new()),
                awaiting_top: AtomicBool::new(false),
            };
            tokio::spawn(feed.run(shutdown.clone()))
        })
        .collect()
}

/// Starts more feeds on a connected venue (a reload that subscribes new
/// symbols or channels): new connections, the running ones untouched.
#[derive(Clone)]
pub struct FeedLauncher {
    pub(super) options: FeedOptions,
    pub(super) rest: Arc<RestClient>,
    pub(super) engine: Arc<dyn MarketConsumer>,
    pub(super) shutdown: CancellationToken,
}

impl FeedLauncher {
    pub fn spawn(&self, specs: Vec<FeedSpec>) -> Vec<tokio::task::JoinHandle<()>> {
        spawn_feeds(self.options.clone(), specs, self.rest.clone(), self.engine.clone(), self.shutdown.clone())
    }
}

/// The combined-stream URL of `specs` under `base`. Stream names are
/// percent-encoded: Binance lists symbols such as `币安人生USDT`, and raw UTF-8
/// in a URL is refused by strict servers (ASCII names go as they are).
pub fn stream_url(base: &str, specs: &[FeedSpec]) -> String {
    let mut url = format!("{}/stream?streams=", base.trim_end_matches('/'));
    for (i, stream) in specs.iter().flat_map(streams).enumerate() {
        if i > 0 {
            url.push('/');
        }
        for b in stream.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'@' | b'_' | b'-' | b'.') {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
    }
    url
}

/// Splits specs over connections of at most [`MAX_STREAMS_PER_CONNECTION`] streams.
pub fn group_streams(specs: Vec<FeedSpec>) -> Vec<Vec<FeedSpec>> {
    let mut groups: Vec<Vec<FeedSpec>> = vec![Vec::new()];
    let mut count = 0;
    for spec in specs {
        let n = streams(&spec).len();
        if n == 0 {
            continue;
        }
        if count + n > MAX_STREAMS_PER_CONNECTION {
            groups.push(Vec::new());
            count = 0;
        }
        count += n;
        groups.last_mut().expect("groups starts non-empty").push(spec);
    }
    groups.retain(|g| !g.is_empty());
    groups
}

struct Feed {
    options: FeedOptions,
    specs: Vec<FeedSpec>,
    rest: Arc<RestClient>,
    engine: Arc<dyn MarketConsumer>,
    meters: Meters,
    /// An event of the current run of frames made a strategy send a request.
    requested: AtomicBool,
    /// The connection delivered market data: it has proved itself, so the
    /// next failure retries from the shortest delay.
    delivered: AtomicBool,
    /// Quoted symbols that have had no quote since the connection opened: the
    /// top of book fetched over REST stands in for it (a quiet market sends
    /// no quote until the book changes). `awaiting_top` is set while any is.
    awaiting: std::sync::Mutex<std::collections::HashSet<Symbol>>,
    awaiting_top: AtomicBool,
}

/// The per-event metrics of one connection, registered once: looking a
/// labelled metric up (and allocating its labels) on every event costs more
/// than parsing a trade. Events are counted here by the one task that owns
/// the connection (plain loads and stores) and added to the shared counters
/// once per run of frames.
struct Meters {
    /// Events by kind, in [`Meters::CHANNELS`] order.
    events: [metrics::Counter; 6],
    pending: [AtomicU64; 6],
    lag: std::sync::Arc<crate::latency::Histogram>,
}

impl Meters {
    const CHANNELS: [&'static str; 6] = ["trade", "quote", "book_delta", "book_snapshot", "kline", "connectivity"];

    fn new(venue: VenueId) -> Self {
        let venue = venue.to_string();
        Self {
            events: Self::CHANNELS.map(|channel| {
                metrics::counter!("tradewind_market_events_total", "venue" => venue.clone(), "channel" => channel)
            }),
            pending: [const { AtomicU64::new(0) }; 6],
            lag: crate::latency::market_lag(&venue),
        }
    }

    fn count(&self, event: &MarketEvent) {
        let pending = &self.pending[match event {
            MarketEvent::Trade(_) => 0,
            MarketEvent::Quote(_) => 1,
            MarketEvent::BookDelta(_) => 2,
            MarketEvent::BookSnapshot(_) => 3,
            MarketEvent::Kline(_) => 4,
            MarketEvent::Connectivity(_) => 5,
        }];
        // One writer: no read-modify-write needed.
        pending.store(pending.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Adds what was counted since the last flush to the shared counters.
    fn flush(&self) {
        for (pending, counter) in self.pending.iter().zip(&self.events) {
            let n = pending.load(Ordering::Relaxed);
            if n > 0 {
                pending.store(0, Ordering::Relaxed);
                counter.increment(n);
            }
        }
    }
}

/// Planned switch to a fresh connection before the venue's 24-hour cut.
const ROLLOVER_AFTER: Duration = Duration::from_secs(23 * 3600 + 30 * 60);

/// What a frame leaves the session to do.
enum Flow {
    Next,
    /// `serverShutdown`: switch to a new connection.
    Switch,
    Lost(String),
}

/// Frames taken in a row, once one was ready, before the session loop looks
/// at snapshots, timers and shutdown again.
const FRAME_RUN: usize = 64;

/// How a connection ended.
enum End {
    Shutdown,
    /// The venue announced it is going away (`serverShutdown`) or the
    /// connection is near its 24 hours: switch to a new one, keeping this one until then.
    Switch(Box<Ws>),
    Lost(String),
}

impl Feed {
    fn url(&self) -> String {
        stream_url(&self.options.stream_url, &self.specs)
    }

    async fn run(self, shutdown: CancellationToken) {
        let url = self.url();
        let mut reconnect = Reconnect::new(self.options.venue, "market", "market stream");
        // Books live across connections: the depth stream's update ids are the
        // venue's, so a new connection continues a book unless there is a gap
        // (which the book detects and answers with a resync).
        let mut books: HashMap<Symbol, LocalBook> = self
            .specs
            .iter()
            .filter(|s| s.book)
            .map(|s| (s.symbol, LocalBook::new(self.options.venue, s.symbol)))
            .collect();
        // A connection opened before the previous one was let go (planned switch).
        let mut standby: Option<Ws> = None;
        loop {
            let planned = standby.is_some();
            let ws = match standby.take() {
                Some(ws) => ws,
                None => match self.connect(&url, &shutdown).await {
                    Some(Ok(ws)) => ws,
                    Some(Err(why)) => {
                        reconnect.wait(&why, &shutdown).await;
                        continue;
                    }
                    None => return,
                },
            };
            if !planned {
                let down_ms = reconnect.up();
                tracing::info!(venue = %self.options.venue, streams = self.specs.iter().map(|s| streams(s).len()).sum::<usize>(), down_ms, "market stream connected");
                self.connectivity(true).await;
            }
            let end = self.session(ws, &mut books, &shutdown).await;
            // A connection that delivered data has proved itself.
            if self.delivered.swap(false, Ordering::Relaxed) {
                reconnect.proven();
            }
            match end {
                End::Shutdown => return,
                End::Switch(mut old) => {
                    // New connection first, then let the old one go: no gap, no resync.
                    match self.connect(&url, &shutdown).await {
                        Some(Ok(ws)) => {
                            tracing::info!(venue = %self.options.venue, "market stream switched to a new connection");
                            standby = Some(ws);
                            let _ = old.close(None).await;
                        }
                        Some(Err(why)) => {
                            reconnect.down();
                            self.connectivity(false).await;
                            reconnect.wait(&why, &shutdown).await;
                        }
                        None => return,
                    }
                }
                End::Lost(why) => {
                    metrics::counter!("tradewind_ws_reconnects_total", "venue" => self.options.venue.to_string())
                        .increment(1);
                    reconnect.down();
                    self.connectivity(false).await;
                    reconnect.wait(&why, &shutdown).await;
                }
            }
        }
    }

    /// Connects once; `None` on shutdown.
    async fn connect(&self, url: &str, shutdown: &CancellationToken) -> Option<Result<Ws, String>> {
        ws::connect(url, self.options.read_buffer, shutdown).await
    }

    async fn connectivity(&self, up: bool) {
        let event = MarketEvent::Connectivity(Connectivity { venue: self.options.venue, up });
        self.deliver(event, None).await;
    }

    async fn session(&self, mut ws: Ws, books: &mut HashMap<Symbol, LocalBook>, shutdown: &CancellationToken) -> End {
        // Snapshot requests of an earlier connection are gone with it: those books start over.
        for book in books.values_mut().filter(|b| !b.is_live()) {
            book.reset();
        }
        let rollover = tokio::time::sleep(ROLLOVER_AFTER);
        tokio::pin!(rollover);
        // Pinned once, not made again per frame: a future per frame registers
        // and drops a waiter (the token) or a timer entry (the silence check).
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        let silence_timeout = self.options.silence_timeout;
        let mut last_frame = std::time::Instant::now();
        let silence = tokio::time::sleep(silence_timeout);
        tokio::pin!(silence);
        let mut fetching: HashMap<Symbol, bool> = HashMap::new();
        let (snap_tx, mut snap_rx) = mpsc::channel::<(Symbol, Result<DepthSnapshot, String>)>(64);
        let (tops_tx, mut tops_rx) = mpsc::channel::<Result<Vec<BookTicker>, String>>(4);
        self.fetch_tops(Duration::ZERO, &tops_tx);
        loop {
            // Snapshots before frames, so a busy stream cannot hold a resync back.
            let frame = tokio::select! {
                biased;
                () = &mut cancelled => {
                    let _ = ws.close(None).await;
                    return End::Shutdown;
                }
                Some(tops) = tops_rx.recv() => {
                    match tops {
                        Ok(tops) => self.install_tops(tops).await,
                        Err(e) => {
                            tracing::warn!(venue = %self.options.venue, error = %e, "top of book over REST failed; retrying");
                            self.fetch_tops(Duration::from_secs(1), &tops_tx);
                        }
                    }
                    continue;
                }
                Some((symbol, snapshot)) = snap_rx.recv() => {
                    fetching.insert(symbol, false);
                    if let Some(book) = books.get_mut(&symbol) {
                        match snapshot {
                            Ok(s) => self.install_snapshot(book, s, &mut fetching, &snap_tx).await,
                            Err(e) => {
                                tracing::warn!(venue = %self.options.venue, %symbol, error = %e, "depth snapshot failed; retrying");
                                self.fetch_snapshot(symbol, Duration::from_secs(1), &mut fetching, &snap_tx);
                            }
                        }
                    }
                    continue;
                }
                () = &mut rollover => return End::Switch(Box::new(ws)),
                frame = ws.next() => frame,
                // The timer is moved on only when it fires: no timer work per frame.
                () = &mut silence => {
                    if last_frame.elapsed() >= silence_timeout {
                        return End::Lost(format!("no frame for {silence_timeout:?}"));
                    }
                    silence.as_mut().reset(Instant::from_std(last_frame + silence_timeout));
                    continue;
                }
            };
            let mut flow = self.on_frame(frame, &mut last_frame, books, &mut fetching, &snap_tx).await;
            // Frames already read go in without another round of the select
            // (a bounded run, so snapshots and shutdown are seen in time).
            for _ in 0..FRAME_RUN {
                if !matches!(flow, Flow::Next) || self.requested.load(Ordering::Relaxed) {
                    break;
                }
                let Some(frame) = ws.next().now_or_never() else { break };
                flow = self.on_frame(frame, &mut last_frame, books, &mut fetching, &snap_tx).await;
            }
            self.meters.flush();
            if self.requested.swap(false, Ordering::Relaxed) {
                // The request an event caused is with the HTTP client: its
                // connection's task writes it once this one yields, before the next frames.
                tokio::task::yield_now().await;
            }
            match flow {
                Flow::Next => {}
                Flow::Switch => return End::Switch(Box::new(ws)),
                Flow::Lost(why) => return End::Lost(why),
            }
        }
    }

    /// One frame from the connection (`None`: it closed).
    async fn on_frame(
        &self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        last_frame: &mut std::time::Instant,
        books: &mut HashMap<Symbol, LocalBook>,
        fetching: &mut HashMap<Symbol, bool>,
        snap_tx: &mpsc::Sender<(Symbol, Result<DepthSnapshot, String>)>,
    ) -> Flow {
        // When the frame was read: tick-to-order latency starts there.
        *last_frame = std::time::Instant::now();
        let text = match frame {
            None => return Flow::Lost("connection closed".into()),
            Some(Err(e)) => return Flow::Lost(format!("read failed: {e}")),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Flow::Lost(format!(
                    "closed by the venue: {}",
                    frame.map(|f| f.reason.to_string()).unwrap_or_default()
                ));
            }
            // Pings are answered by tungstenite itself; they still count as life.
            Some(Ok(_)) => return Flow::Next,
        };
        let received = Some(*last_frame);
        match parse_combined(self.options.venue, &text) {
            Ok(StreamEvent::Market(MarketEvent::BookDelta(delta))) => {
                let symbol = delta.symbol;
                let Some(book) = books.get_mut(&symbol) else { return Flow::Next };
                match book.on_delta(delta) {
                    Ok(Applied::Live(delta)) => self.emit(MarketEvent::BookDelta(delta), received).await,
                    Ok(Applied::Buffered) => {
                        if !fetching.get(&symbol).copied().unwrap_or(false) {
                            self.fetch_snapshot(symbol, Duration::ZERO, fetching, snap_tx);
                        }
                    }
                    Ok(Applied::Stale) => {}
                    Err(e) => {
                        tracing::warn!(venue = %self.options.venue, %symbol, error = %e, "book out of sync; resyncing");
                        self.count_resync(symbol);
                    }
                }
            }
            Ok(StreamEvent::Market(event)) => self.emit(event, received).await,
            Ok(StreamEvent::ServerShutdown) => {
                tracing::info!(venue = %self.options.venue, "venue announced a shutdown; switching connections");
                return Flow::Switch;
            }
            Ok(StreamEvent::ControlReply | StreamEvent::Ignored) => {}
            Err(e) => {
                metrics::counter!("tradewind_parse_errors_total", "venue" => self.options.venue.to_string())
                    .increment(1);
                tracing::warn!(venue = %self.options.venue, error = %e, "unreadable market frame skipped");
            }
        }
        Flow::Next
    }

    async fn install_snapshot(
        &self,
        book: &mut LocalBook,
        s: DepthSnapshot,
        fetching: &mut HashMap<Symbol, bool>,
        snap_tx: &mpsc::Sender<(Symbol, Result<DepthSnapshot, String>)>,
    ) {
        let symbol = book.snapshot().symbol;
        match book.on_snapshot(s.last_update_id, &s.bids, &s.asks) {
            Ok((snapshot, deltas)) => {
                tracing::debug!(venue = %self.options.venue, %symbol, update_id = book.update_id(), "book synced");
                self.emit(MarketEvent::BookSnapshot(snapshot), None).await;
                for d in deltas {
                    self.emit(MarketEvent::BookDelta(d), None).await;
                }
            }
            Err(SyncError::SnapshotTooOld { .. }) => {
                self.fetch_snapshot(symbol, Duration::from_millis(250), fetching, snap_tx);
            }
            Err(e) => {
                tracing::warn!(venue = %self.options.venue, %symbol, error = %e, "book out of sync; resyncing");
                self.count_resync(symbol);
            }
        }
    }

    fn fetch_snapshot(
        &self,
        symbol: Symbol,
        after: Duration,
        fetching: &mut HashMap<Symbol, bool>,
        tx: &mpsc::Sender<(Symbol, Result<DepthSnapshot, String>)>,
    ) {
        fetching.insert(symbol, true);
        let (rest, tx, depth) = (self.rest.clone(), tx.clone(), self.options.snapshot_depth);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let result = rest.depth(symbol, depth).await.map_err(|e| e.to_string());
            let _ = tx.send((symbol, result)).await;
        });
    }

    /// Fetches the top of book of the quoted symbols over REST (after `after`),
    /// for those that get no quote from the stream first.
    fn fetch_tops(&self, after: Duration, tx: &mpsc::Sender<Result<Vec<BookTicker>, String>>) {
        let symbols: Vec<Symbol> = self.specs.iter().filter(|s| s.quotes && !s.book).map(|s| s.symbol).collect();
        if symbols.is_empty() {
            return;
        }
        {
            let mut awaiting = self.awaiting.lock().unwrap_or_else(|p| p.into_inner());
            if after.is_zero() {
                awaiting.clear();
                awaiting.extend(symbols.iter().copied());
            }
            if awaiting.is_empty() {
                return;
            }
        }
        self.awaiting_top.store(true, Ordering::Relaxed);
        let (rest, tx) = (self.rest.clone(), tx.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(rest.book_tickers(&symbols).await.map_err(|e| e.to_string())).await;
        });
    }

    /// REST tops for the symbols still without a quote on this connection.
    async fn install_tops(&self, tops: Vec<BookTicker>) {
        let wanted: Vec<BookTicker> = {
            let mut awaiting = self.awaiting.lock().unwrap_or_else(|p| p.into_inner());
            let wanted = tops.into_iter().filter(|t| awaiting.remove(&t.symbol)).collect();
            self.awaiting_top.store(!awaiting.is_empty(), Ordering::Relaxed);
            wanted
        };
        for t in wanted {
            let quote = Quote {
                venue: self.options.venue,
                symbol: t.symbol,
                bid_price: t.bid_price,
                bid_qty: t.bid_qty,
                ask_price: t.ask_price,
                ask_qty: t.ask_qty,
                update_id: 0,
            };
            self.emit(MarketEvent::Quote(quote), None).await;
        }
    }

    fn count_resync(&self, symbol: Symbol) {
        let (venue, symbol) = (self.options.venue.to_string(), symbol.to_string());
        metrics::counter!("tradewind_book_resyncs_total", "venue" => venue, "symbol" => symbol).increment(1);
    }

    /// Hands an event to the engine; `received` is when its frame was read.
    async fn emit(&self, event: MarketEvent, received: Option<std::time::Instant>) {
        self.meters.count(&event);
        self.delivered.store(true, Ordering::Relaxed);
        if let MarketEvent::Quote(q) = &event
            && received.is_some()
            && self.awaiting_top.load(Ordering::Relaxed)
        {
            // The stream's quote came first: the REST one, older, is not needed.
            let mut awaiting = self.awaiting.lock().unwrap_or_else(|p| p.into_inner());
            awaiting.remove(&q.symbol);
            self.awaiting_top.store(!awaiting.is_empty(), Ordering::Relaxed);
        }
        if let MarketEvent::Trade(t) = &event {
            // Exchange time to now: network and queueing delay (plus any clock skew).
            let lag_ms = crate::clock::now().0 - t.time.0;
            self.meters.lag.record(Duration::from_millis(u64::try_from(lag_ms).unwrap_or(0)));
        }
        self.deliver(event, received).await;
    }

    async fn deliver(&self, event: MarketEvent, received: Option<std::time::Instant>) {
        if crate::sink::deliver(self.engine.as_ref(), event, received).await {
            self.requested.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewind_strategies::sdk::KlineInterval;

    #[test]
    fn more_than_1024_streams_are_split_over_connections() {
        let spec = |i: usize| FeedSpec {
            symbol: Symbol::new(&format!("S{i}USDT")).unwrap(),
            trades: true,
            quotes: true,
            book: true,
            klines: vec![KlineInterval::M1],
        };
        let groups = group_streams((0..300).map(spec).collect());
        let sizes: Vec<usize> = groups.iter().map(|g| g.iter().map(|s| streams(s).len()).sum()).collect();
        assert_eq!(sizes, [1024, 176]);
        assert!(
            group_streams(vec![FeedSpec { klines: vec![], trades: false, quotes: false, book: false, ..spec(1) }])
                .is_empty()
        );
    }

    #[test]
    fn non_ascii_stream_names_are_percent_encoded_in_the_url() {
        // regression: non_ascii_symbols (raw UTF-8 in the handshake URL; a strict server refused it forever)
        let spec = |s: &str| FeedSpec {
            symbol: Symbol::new(s).unwrap(),
            trades: true,
            quotes: false,
            book: false,
            klines: vec![],
        };
        let url = stream_url("wss://stream.binance.com:9443/", &[spec("币安人生USDT"), spec("BTCUSDT")]);
        assert_eq!(
            url,
            "wss://stream.binance.com:9443/stream?streams=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@trade/btcusdt@trade"
        );
        assert!(url.is_ascii());
        assert!(reqwest::Url::parse(&url).is_ok());
    }

    #[test]
    fn stream_names_are_lower_case_binance_names() {
        let spec = FeedSpec {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            trades: true,
            quotes: true,
            book: true,
            klines: vec![KlineInterval::M1],
        };
        assert_eq!(streams(&spec), ["btcusdt@trade", "btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@kline_1m"]);
    }
}
