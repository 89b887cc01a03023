//! One market connection's life: connect, subscribe, read frames into the
//! engine, keep its books in sync, ping where the venue wants it, and
//! reconnect or switch connections.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{Connectivity, MarketEvent, Quote, Symbol};

use super::meters::Meters;
use super::{BookSync, Dialect, FeedOptions, StreamEvent};
use crate::sink::MarketConsumer;
use crate::venue::book::{Applied, Depth, LocalBook, SyncError};
use crate::venue::feed::FeedSpec;
use crate::venue::ws::{self, Reconnect, Ws};

/// Planned switch to a fresh connection before the venue's 24-hour cut.
const ROLLOVER_AFTER: Duration = Duration::from_secs(23 * 3600 + 30 * 60);

/// Frames taken in a row, once one was ready, before the session loop looks
/// at snapshots, timers and shutdown again.
const FRAME_RUN: usize = 64;

/// What a frame leaves the session to do.
enum Flow {
    Next,
    /// The venue is going away: switch to a new connection.
    Switch,
    Lost(String),
}

/// How a connection ended.
enum End {
    Shutdown,
    /// The venue announced it is going away or the connection is near its
    /// 24 hours: switch to a new one, keeping this one until then.
    Switch(Box<Ws>),
    Lost(String),
}

type Snapshots = mpsc::Sender<(Symbol, Result<Depth, String>)>;

pub(super) struct Feed<D> {
    options: FeedOptions,
    specs: Vec<FeedSpec>,
    dialect: Arc<D>,
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
    /// Messages to send on the connection (book resubscriptions).
    outbox: std::sync::Mutex<Vec<String>>,
    /// Subscribe requests sent on the current connection.
    subscribes: std::sync::atomic::AtomicUsize,
}

impl<D: Dialect> Feed<D> {
    pub(super) fn new(
        options: FeedOptions,
        specs: Vec<FeedSpec>,
        dialect: Arc<D>,
        engine: Arc<dyn MarketConsumer>,
    ) -> Self {
        Self {
            meters: Meters::new(options.venue),
            options,
            specs,
            dialect,
            engine,
            requested: AtomicBool::new(false),
            delivered: AtomicBool::new(false),
            awaiting: std::sync::Mutex::new(std::collections::HashSet::new()),
            awaiting_top: AtomicBool::new(false),
            outbox: std::sync::Mutex::new(Vec::new()),
            subscribes: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn stream_count(&self) -> usize {
        self.specs.iter().map(|s| self.dialect.streams(s).len()).sum()
    }

    pub(super) async fn run(self, shutdown: CancellationToken) {
        let url = self.dialect.url(&self.options.stream_url, &self.specs);
        let mut reconnect = Reconnect::new(self.options.venue, "market", "market stream");
        // Books live across connections: a venue's update ids are its own, so
        // a new connection continues a book unless there is a gap (which the
        // book detects and answers with a resync).
        let mut books: HashMap<Symbol, LocalBook> = self
            .specs
            .iter()
            .filter(|s| s.book)
            .map(|s| (s.symbol, LocalBook::new(self.options.venue, s.symbol)))
            .collect();
        // A connection opened (and subscribed) before the previous one was let go.
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
                tracing::info!(venue = %self.options.venue, streams = self.stream_count(), down_ms, "market stream connected");
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
                            let _ = (*old).close(None).await;
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

    /// Connects once and subscribes; `None` on shutdown.
    async fn connect(&self, url: &str, shutdown: &CancellationToken) -> Option<Result<Ws, String>> {
        let mut ws = match ws::connect(url, self.options.read_buffer, self.dialect.connects_per_sec(), shutdown).await?
        {
            Ok(ws) => ws,
            Err(e) => return Some(Err(e)),
        };
        let messages = self.dialect.subscribe(&self.specs);
        self.subscribes.store(messages.len(), Ordering::Relaxed);
        for message in messages {
            if let Err(e) = ws.send(Message::text(message)).await {
                return Some(Err(format!("subscribing failed: {e}")));
            }
        }
        Some(Ok(ws))
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
        // The venue's app-level ping, if it wants one.
        let mut pings = ws::pings(self.dialect.ping());
        let mut fetching: HashMap<Symbol, bool> = HashMap::new();
        let (snap_tx, mut snap_rx) = mpsc::channel::<(Symbol, Result<Depth, String>)>(64);
        let (tops_tx, mut tops_rx) = mpsc::channel::<Result<Vec<Quote>, String>>(4);
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
                            // REST snapshots: a failed one is fetched again, never a reconnect.
                            Ok(s) => {
                                let _ = self.install_snapshot(book, s, &mut fetching, &snap_tx).await;
                            }
                            Err(e) => {
                                tracing::warn!(venue = %self.options.venue, %symbol, error = %e, "depth snapshot failed; retrying");
                                self.fetch_snapshot(symbol, Duration::from_secs(1), &mut fetching, &snap_tx);
                            }
                        }
                    }
                    continue;
                }
                () = &mut rollover => return End::Switch(Box::new(ws)),
                ping = ws::next_ping(&mut pings) => {
                    if let Err(e) = ws.send(Message::text(ping)).await {
                        return End::Lost(format!("ping failed: {e}"));
                    }
                    continue;
                }
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
            let outbox = std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|p| p.into_inner()));
            for message in outbox {
                if let Err(e) = ws.send(Message::text(message)).await {
                    return End::Lost(format!("resubscribing failed: {e}"));
                }
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
        snap_tx: &Snapshots,
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
        match self.dialect.parse(self.options.venue, &text) {
            Ok(StreamEvent::Market(event)) => {
                return self.on_event(event, None, received, books, fetching, snap_tx).await;
            }
            Ok(StreamEvent::Checked(event, checksum)) => {
                return self.on_event(event, Some(checksum), received, books, fetching, snap_tx).await;
            }
            Ok(StreamEvent::Many(events)) => {
                for event in events {
                    let flow = self.on_event(event, None, received, books, fetching, snap_tx).await;
                    if !matches!(flow, Flow::Next) {
                        return flow;
                    }
                }
            }
            Ok(StreamEvent::Snapshot(symbol, depth)) => {
                if let Some(book) = books.get_mut(&symbol) {
                    book.reset();
                    return self.install_snapshot(book, depth, fetching, snap_tx).await;
                }
            }
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

    /// One market event: a book diff goes through its book, the rest to the engine.
    /// `checksum`: the venue's over the book after a diff, checked once it is applied.
    async fn on_event(
        &self,
        event: MarketEvent,
        checksum: Option<i32>,
        received: Option<std::time::Instant>,
        books: &mut HashMap<Symbol, LocalBook>,
        fetching: &mut HashMap<Symbol, bool>,
        snap_tx: &Snapshots,
    ) -> Flow {
        let MarketEvent::BookDelta(delta) = event else {
            self.emit(event, received).await;
            return Flow::Next;
        };
        let symbol = delta.symbol;
        let Some(book) = books.get_mut(&symbol) else { return Flow::Next };
        match book.on_delta(delta) {
            Ok(Applied::Live(delta)) => {
                let (bids, asks) = match checksum {
                    Some(_) => book.levels(D::CHECKSUM_DEPTH),
                    None => (Vec::new(), Vec::new()),
                };
                if let Some(expected) = checksum
                    && let Some(computed) = self.dialect.book_checksum(&bids, &asks)
                    && computed != expected
                {
                    book.reset();
                    return self.resync(symbol, &SyncError::Checksum { expected, computed });
                }
                self.emit(MarketEvent::BookDelta(delta), received).await
            }
            Ok(Applied::Buffered) => {
                if D::BOOK_SYNC == BookSync::Rest && !fetching.get(&symbol).copied().unwrap_or(false) {
                    self.fetch_snapshot(symbol, Duration::ZERO, fetching, snap_tx);
                }
            }
            Ok(Applied::Stale) => {}
            Err(e) => return self.resync(symbol, &e),
        }
        Flow::Next
    }

    /// The book of `symbol` is out of sync and was discarded: get a new snapshot.
    fn resync(&self, symbol: Symbol, e: &SyncError) -> Flow {
        tracing::warn!(venue = %self.options.venue, %symbol, error = %e, "book out of sync; resyncing");
        self.count_resync(symbol);
        match D::BOOK_SYNC {
            // The next diff is buffered and asks for a snapshot.
            BookSync::Rest => Flow::Next,
            BookSync::InStream => {
                let spec = self.specs.iter().find(|s| s.symbol == symbol);
                let messages = spec.map(|s| self.dialect.resubscribe_book(s)).unwrap_or_default();
                if messages.is_empty() {
                    return Flow::Lost(format!("the book of {symbol} is out of sync; reconnecting for a snapshot"));
                }
                let sent = self.subscribes.fetch_add(messages.len(), Ordering::Relaxed) + messages.len();
                if self.dialect.subscribe_limit().is_some_and(|limit| sent > limit) {
                    tracing::info!(venue = %self.options.venue, %symbol, sent, "the connection's subscribe requests reached the venue's limit: a new connection for the snapshot");
                    return Flow::Switch;
                }
                self.outbox.lock().unwrap_or_else(|p| p.into_inner()).extend(messages);
                Flow::Next
            }
        }
    }

    async fn install_snapshot(
        &self,
        book: &mut LocalBook,
        s: Depth,
        fetching: &mut HashMap<Symbol, bool>,
        snap_tx: &Snapshots,
    ) -> Flow {
        let symbol = book.snapshot().symbol;
        match book.on_snapshot(s.update_id, &s.bids, &s.asks) {
            Ok((snapshot, deltas)) => {
                tracing::debug!(venue = %self.options.venue, %symbol, update_id = book.update_id(), "book synced");
                self.emit(MarketEvent::BookSnapshot(snapshot), None).await;
                for d in deltas {
                    self.emit(MarketEvent::BookDelta(d), None).await;
                }
                Flow::Next
            }
            Err(SyncError::SnapshotTooOld { .. }) if D::BOOK_SYNC == BookSync::Rest => {
                self.fetch_snapshot(symbol, Duration::from_millis(250), fetching, snap_tx);
                Flow::Next
            }
            Err(e) => self.resync(symbol, &e),
        }
    }

    fn fetch_snapshot(&self, symbol: Symbol, after: Duration, fetching: &mut HashMap<Symbol, bool>, tx: &Snapshots) {
        fetching.insert(symbol, true);
        let (dialect, tx) = (self.dialect.clone(), tx.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let result = dialect.depth(symbol).await;
            let _ = tx.send((symbol, result)).await;
        });
    }

    /// Fetches the top of book of the quoted symbols over REST (after `after`),
    /// for those that get no quote from the stream first.
    fn fetch_tops(&self, after: Duration, tx: &mpsc::Sender<Result<Vec<Quote>, String>>) {
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
        let (dialect, tx) = (self.dialect.clone(), tx.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(dialect.tops(symbols).await).await;
        });
    }

    /// REST tops for the symbols still without a quote on this connection.
    async fn install_tops(&self, tops: Vec<Quote>) {
        let wanted: Vec<Quote> = {
            let mut awaiting = self.awaiting.lock().unwrap_or_else(|p| p.into_inner());
            let wanted = tops.into_iter().filter(|t| awaiting.remove(&t.symbol)).collect();
            self.awaiting_top.store(!awaiting.is_empty(), Ordering::Relaxed);
            wanted
        };
        for quote in wanted {
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
