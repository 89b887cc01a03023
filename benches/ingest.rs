//! Ingest ceiling: market events per second that the daemon's market path
//! takes in on one core — WebSocket read, frame parse, local book, engine
//! queue, market state, one strategy callback — with the Prometheus recorder
//! installed as in the daemon.
//!
//! A replay thread plays a Binance combined stream over loopback as fast as
//! the socket takes it (frames pre-encoded; depth update ids numbered on the
//! fly so the book applies every diff). The measured side is the real
//! connector (`venue::binance::market`) and [`engine::run`] on one
//! current-thread runtime, driven by the benchmark thread: one core. Target
//! (performance issue): ≥ 1,000,000 trades/s and ≥ 300,000 10-level depth
//! diffs/s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tradewind::config::RiskConfig;
use tradewind::engine::{self, Engine, EngineInput, SharedEngine};
use tradewind::execution::rate_limit::RateLimiter;
use tradewind::risk::RiskManager;
use tradewind::venue::binance::Limits;
use tradewind::venue::binance::market::Binance;
use tradewind::venue::binance::rest::RestClient;
use tradewind::venue::feed::FeedSpec;
use tradewind::venue::market::{FeedOptions, spawn_feeds};
use tradewind_strategies::sdk::{
    Context, Intents, MarketEvent, Strategy, StrategyError, Subscription, Symbol, VenueId,
};

/// The snapshot's update id: diffs continue from it.
const SNAPSHOT_ID: u64 = 1_000;
/// Levels per side in a depth diff.
const LEVELS: usize = 10;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Trade,
    Depth,
}

/// Counts the events of one kind it is shown and wakes the benchmark at `target`.
struct Counter {
    kind: Kind,
    venue: VenueId,
    symbol: Symbol,
    seen: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    reached: Arc<Notify>,
}

impl Strategy for Counter {
    fn subscriptions(&self) -> Vec<Subscription> {
        vec![Subscription {
            venue: self.venue,
            symbols: vec![self.symbol],
            trades: self.kind == Kind::Trade,
            quotes: false,
            book: self.kind == Kind::Depth,
            klines: None,
        }]
    }

    fn on_event(&mut self, _ctx: &dyn Context, event: &MarketEvent, _out: &mut Intents) -> Result<(), StrategyError> {
        let counted = match (self.kind, event) {
            (Kind::Trade, MarketEvent::Trade(t)) => !std::hint::black_box(t).trade_id.as_str().is_empty(),
            (Kind::Depth, MarketEvent::BookDelta(d)) => std::hint::black_box(d).last_update_id > SNAPSHOT_ID,
            _ => false,
        };
        if counted && self.seen.fetch_add(1, Ordering::Relaxed) + 1 == self.target.load(Ordering::Relaxed) {
            self.reached.notify_one();
        }
        Ok(())
    }
}

/// A server-to-client (unmasked) WebSocket text frame.
fn ws_frame(payload: &[u8], out: &mut Vec<u8>) {
    out.push(0x81);
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=65535 => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// 4,096 distinct trade frames (prices and sizes from a fixed walk).
fn trade_frames() -> Vec<Vec<u8>> {
    (0..4096u64)
        .map(|i| {
            let price = 6_400_000 + (i * 7919) % 20_000;
            let payload = format!(
                "{{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\",\"E\":{e},\"s\":\"BTCUSDT\",\"t\":{t},\
                 \"p\":\"{}.{:02}\",\"q\":\"0.{:05}\",\"T\":{e},\"m\":{},\"M\":true}}}}",
                price / 100,
                price % 100,
                1 + (i * 104_729) % 99_999,
                i.is_multiple_of(3),
                e = 1_700_000_000_000u64 + i,
                t = 1 + i,
            );
            let mut frame = Vec::new();
            ws_frame(payload.as_bytes(), &mut frame);
            frame
        })
        .collect()
}

/// The bid and ask halves of 256 distinct 10×10 diffs: bids stay below
/// 64,000 and asks above, so the book never crosses; about one level in
/// eight is a delete.
fn depth_levels() -> Vec<String> {
    let side = |i: u64, bid: bool| -> String {
        let levels: Vec<String> = (0..LEVELS as u64)
            .map(|l| {
                let ticks = 1 + (i * 31 + l * 17) % 400;
                let cents = if bid { 6_400_000 - ticks } else { 6_400_000 + ticks };
                let qty = if (i + l).is_multiple_of(8) {
                    "0.00000".to_owned()
                } else {
                    format!("{}.{:05}", l % 3, 1 + (i * l) % 99_999)
                };
                format!("[\"{}.{:02}\",\"{qty}\"]", cents / 100, cents % 100)
            })
            .collect();
        format!("[{}]", levels.join(","))
    };
    (0..256).map(|i| format!("\"b\":{},\"a\":{}", side(i, true), side(i, false))).collect()
}

enum Play {
    Trades(u64),
    Depth(u64),
}

/// Accepts one WebSocket client, then plays what it is told.
fn replay(listener: TcpListener, commands: std_mpsc::Receiver<Play>) {
    let (mut socket, _) = listener.accept().expect("the feed connects");
    handshake(&mut socket);
    let trades = trade_frames();
    let levels = depth_levels();
    // The first diff straddles the snapshot, as the documented procedure wants.
    let (mut next_trade, mut next_id) = (0usize, SNAPSHOT_ID);
    let mut out = Vec::with_capacity(1 << 17);
    let mut payload = Vec::with_capacity(1024);
    for command in commands {
        let (kind, mut left) = match command {
            Play::Trades(n) => (Kind::Trade, n),
            Play::Depth(n) => (Kind::Depth, n),
        };
        while left > 0 {
            out.clear();
            while left > 0 && out.len() < 1 << 16 {
                match kind {
                    Kind::Trade => {
                        out.extend_from_slice(&trades[next_trade % trades.len()]);
                        next_trade += 1;
                    }
                    Kind::Depth => {
                        payload.clear();
                        let last = next_id + 2 * LEVELS as u64 - 1;
                        write!(
                            payload,
                            "{{\"stream\":\"btcusdt@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1700000000000,\
                             \"s\":\"BTCUSDT\",\"U\":{next_id},\"u\":{last},{}}}}}",
                            levels[(next_id as usize / 20) % levels.len()]
                        )
                        .expect("writing to a vector");
                        ws_frame(&payload, &mut out);
                        next_id = last + 1;
                    }
                }
                left -= 1;
            }
            if socket.write_all(&out).is_err() {
                return;
            }
        }
    }
}

/// The server half of the WebSocket opening handshake.
fn handshake(socket: &mut TcpStream) {
    let mut reader = BufReader::new(socket.try_clone().expect("a socket clone"));
    let mut key = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("the request");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("sec-websocket-key")
        {
            key = value.trim().to_owned();
        }
    }
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    write!(
        socket,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .expect("the handshake answer");
}

/// Answers every HTTP request (the depth snapshot) with the same book.
fn snapshot_server(listener: TcpListener) {
    let level = |cents: u64| format!("[\"{}.{:02}\",\"1.00000\"]", cents / 100, cents % 100);
    let bids: Vec<String> = (1..=500).map(|t| level(6_400_000 - t)).collect();
    let asks: Vec<String> = (1..=500).map(|t| level(6_400_000 + t)).collect();
    let body =
        format!("{{\"lastUpdateId\":{SNAPSHOT_ID},\"bids\":[{}],\"asks\":[{}]}}", bids.join(","), asks.join(","));
    for socket in listener.incoming() {
        let Ok(mut socket) = socket else { continue };
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request);
        let _ = write!(
            socket,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

/// The measured side: the connector and the engine on one current-thread runtime.
struct Daemon {
    runtime: tokio::runtime::Runtime,
    commands: std_mpsc::Sender<Play>,
    seen: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    reached: Arc<Notify>,
    shutdown: CancellationToken,
    /// The engine runs while its input queue is open.
    _engine_input: mpsc::Sender<EngineInput>,
}

impl Daemon {
    fn start(kind: Kind) -> Self {
        // INGEST_READ_BUFFER=131072 compares another socket read size.
        let read_buffer = std::env::var("INGEST_READ_BUFFER")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(tradewind::venue::ws::READ_BUFFER);
        tradewind::ops::metrics_handle();
        tradewind::venue::install_tls_provider();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
        let venue = VenueId::new("bench").unwrap();
        let symbol = Symbol::new("BTCUSDT").unwrap();
        let stream = TcpListener::bind("127.0.0.1:0").unwrap();
        let rest = TcpListener::bind("127.0.0.1:0").unwrap();
        let (stream_url, rest_url) =
            (format!("ws://{}", stream.local_addr().unwrap()), format!("http://{}", rest.local_addr().unwrap()));
        let (commands, played) = std_mpsc::channel();
        std::thread::spawn(move || replay(stream, played));
        std::thread::spawn(move || snapshot_server(rest));

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (seen, target, reached) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(u64::MAX)), Arc::new(Notify::new()));
        let shutdown = CancellationToken::new();
        let counter =
            Counter { kind, venue, symbol, seen: seen.clone(), target: target.clone(), reached: reached.clone() };
        let engine_input = runtime.block_on(async {
            let limiter = Arc::new(RateLimiter::new(Limits::default().budgets()));
            let rest = RestClient::new(&rest_url, None, 5000, Duration::from_secs(5), limiter).unwrap();
            let (tx, rx) = mpsc::channel(10_000);
            let mut engine = Engine::new(RiskManager::new(RiskConfig::default()));
            engine.add_instance("counter", Box::new(counter), 1);
            // As the daemon runs it: events go into the engine on the connection's task.
            let shared = SharedEngine::new();
            tokio::spawn(engine::run_shared(
                shared.clone(),
                engine,
                rx,
                Duration::from_secs(1),
                false,
                shutdown.clone(),
            ));
            let options = FeedOptions { venue, stream_url, silence_timeout: Duration::from_secs(60), read_buffer };
            let spec = FeedSpec {
                symbol,
                trades: kind == Kind::Trade,
                quotes: false,
                book: kind == Kind::Depth,
                klines: vec![],
            };
            let dialect = Binance { venue, rest: Arc::new(rest), snapshot_depth: 500 };
            spawn_feeds(options, vec![spec], Arc::new(dialect), Arc::new(shared), shutdown.clone());
            tx
        });
        Self { runtime, commands, seen, target, reached, shutdown, _engine_input: engine_input }
    }

    /// Plays `n` events and returns how long the daemon took to take them all in.
    fn ingest(&self, play: Play) -> Duration {
        let n = match play {
            Play::Trades(n) | Play::Depth(n) => n,
        };
        let start = Instant::now();
        self.target.store(self.seen.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        self.commands.send(play).expect("the replay thread runs");
        self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), self.reached.notified()).await.expect("every event arrives")
        });
        start.elapsed()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(1));
    let trades = Daemon::start(Kind::Trade);
    group.bench_function("trade", |b| b.iter_custom(|n| trades.ingest(Play::Trades(n))));
    drop(trades);
    let depth = Daemon::start(Kind::Depth);
    group.bench_function("depth_10x10", |b| b.iter_custom(|n| depth.ingest(Play::Depth(n))));
    group.finish();
}

criterion_group!(benches, ingest);

/// `INGEST_FIXED=trade:200000` (or `depth:N`): plays N events once after a
/// warm-up and prints the time, for instruction counts under callgrind
/// (`valgrind --tool=callgrind --separate-threads=yes`): run two counts and
/// divide the difference.
fn main() {
    match std::env::var("INGEST_FIXED") {
        Ok(spec) => {
            let (kind, n) = spec.split_once(':').expect("INGEST_FIXED=trade:N or depth:N");
            let n: u64 = n.parse().expect("a count");
            let (kind, play): (Kind, fn(u64) -> Play) = match kind {
                "trade" => (Kind::Trade, Play::Trades),
                "depth" => (Kind::Depth, Play::Depth),
                other => panic!("unknown kind {other}"),
            };
            let daemon = Daemon::start(kind);
            daemon.ingest(play(1_000));
            let took = daemon.ingest(play(n));
            println!("{n} events in {took:?}: {:.0} ns each", took.as_nanos() as f64 / n as f64);
        }
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
