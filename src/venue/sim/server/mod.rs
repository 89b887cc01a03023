//! The simulator's server on loopback: Binance Spot's protocol, with
//! Bybit v5's ([`bybit`]) and OKX v5's ([`okx`]) on the same port.
//!
//! Layout: [`params`] reads and authenticates requests, [`limits`] enforces
//! the rate limits, [`rest`] answers `/api/v3/*`, [`ws`] serves the market
//! streams (`/ws`, `/stream`) and the WebSocket API (`/ws-api/v3`, user
//! data), [`wire`] renders Binance's JSON; [`sessions`] holds the
//! connection loops the other two dialects share. One mutex guards the
//! exchange; every change publishes its events (in order, while still
//! holding it) on broadcast channels that the WebSocket connections filter.
//! Background tasks ([`tasks`]) step the synthetic market, flush depth diffs
//! every 100 ms and inject faults. Shutdown is a token passed in, so tests
//! can trigger it.

mod bybit;
mod control;
mod limits;
mod market_data;
mod okx;
mod orders;
mod params;
mod rest;
mod sessions;
mod tasks;
mod wire;
mod ws;
mod ws_api;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{any, get};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::config::{FaultConfig, SimConfig};
use super::exchange::{Event, Exchange};
use super::ledger::AccountId;
use super::synth::{Rng, Synth};
use crate::secret::Secret;
use limits::RateState;
use params::Credential;

/// The demo account's key and secret (documented in the README; simulator only).
pub const DEMO_API_KEY: &str = "tradewind-demo-key";
pub const DEMO_API_SECRET: &str = "tradewind-demo-secret";
/// The passphrase of every key in the OKX dialect.
pub use okx::PASSPHRASE as OKX_PASSPHRASE;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: SocketAddr,
    pub seed: u64,
    pub config: SimConfig,
    /// (API key, HMAC secret) of each account; empty = the demo account.
    pub accounts: Vec<(String, Secret)>,
}

/// A stream frame: its stream (Binance) or topic (Bybit) name and raw payload.
#[derive(Debug)]
pub struct StreamFrame {
    pub stream: String,
    pub payload: String,
    /// A Bybit book delta's number (`u`), so that a connection that just sent
    /// a snapshot skips the deltas it already holds; 0 for everything else.
    pub seq: u64,
}

/// A user-data event for one account, rendered by each protocol's connection.
#[derive(Debug)]
pub struct UserFrame {
    pub account: AccountId,
    pub event: Event,
}

/// State shared by every request and connection.
pub struct Shared {
    exchange: Mutex<Exchange>,
    /// API key → account and secret (keys can be added and revoked at run time).
    keys: std::sync::RwLock<HashMap<String, Credential>>,
    rate: Mutex<RateState>,
    public: broadcast::Sender<Arc<StreamFrame>>,
    user: broadcast::Sender<Arc<UserFrame>>,
    /// Bumped to close every WebSocket connection (fault injection).
    drops: watch::Sender<u64>,
    /// Bumped to send `serverShutdown` on every market connection (planned maintenance).
    notices: watch::Sender<u64>,
    faults_rng: Mutex<Rng>,
    /// Responses with HTTP 429 or 418 so far.
    limited_responses: std::sync::atomic::AtomicU64,
    /// Of those, 418 (an IP ban).
    banned_responses: std::sync::atomic::AtomicU64,
    /// The synthetic market stands still while set (tests compare ledgers at rest).
    market_paused: std::sync::atomic::AtomicBool,
    /// The venue's clock minus the machine's (`faults.clock_offset_ms`), kept
    /// apart so the time can be read while the exchange is locked.
    clock_offset_ms: std::sync::atomic::AtomicI64,
    /// REST requests answered so far, by endpoint (`GET /api/v3/order`, ...).
    requests: Mutex<HashMap<String, u64>>,
    /// REST requests still to fail (`faults.fail_next_requests`, counting down).
    fail_next: std::sync::atomic::AtomicU32,
    /// WebSocket API connections closed so far.
    api_closed: watch::Sender<u64>,
    /// User-data subscriptions accepted so far.
    user_subscribed: watch::Sender<u64>,
    /// Bybit-protocol market connections open now.
    bybit_public: std::sync::atomic::AtomicUsize,
    /// OKX-protocol market connections open now.
    okx_public: std::sync::atomic::AtomicUsize,
    /// Each symbol's book as the Bybit and OKX streams published it, with
    /// its message number `u` (locked after the exchange).
    bybit_books: Vec<Mutex<bybit::ws::Published>>,
    bybit_rate: Mutex<bybit::BybitRate>,
    okx_rate: Mutex<okx::OkxRate>,
    /// When the OKX-dialect WebSocket connections of the last second were opened.
    okx_connects: Mutex<std::collections::VecDeque<i64>>,
    shutdown: CancellationToken,
}

impl Shared {
    /// Symbol `index`'s book as the Bybit stream published it (lock the exchange first).
    fn bybit_book(&self, index: usize) -> MutexGuard<'_, bybit::ws::Published> {
        self.bybit_books[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn exchange(&self) -> MutexGuard<'_, Exchange> {
        self.exchange.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Credential>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn rate(&self) -> MutexGuard<'_, RateState> {
        self.rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> FaultConfig {
        self.exchange().config().faults.clone()
    }

    fn set_faults(&self, faults: FaultConfig) {
        self.clock_offset_ms.store(faults.clock_offset_ms, std::sync::atomic::Ordering::Relaxed);
        self.fail_next.store(faults.fail_next_requests, std::sync::atomic::Ordering::Relaxed);
        self.exchange().set_faults(faults);
    }

    /// The venue's clock as clients read it and are checked against (the
    /// machine's, plus any injected offset: the client's clock is that far
    /// off). What the exchange records carries the machine's time, so its
    /// event times never go backwards when the offset changes.
    fn now(&self) -> i64 {
        crate::clock::now_ms() + self.clock_offset_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this request is one of the next ones set to fail (and counts it down).
    fn fail_this(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.fail_next.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1)).is_ok()
    }

    /// Counts a REST request (`METHOD path`).
    fn count_request(&self, method: &str, path: &str) {
        let mut requests = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *requests.entry(format!("{method} {path}")).or_default() += 1;
    }

    /// True with probability `p` (fault injection).
    fn roll(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        let mut rng = self.faults_rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (rng.below(1_000_000) as f64) < p * 1_000_000.0
    }

    /// Publishes the exchange's pending events. Call with the exchange locked,
    /// right after the change, so frames leave in the order things happened.
    fn publish(&self, exchange: &mut Exchange) {
        let events: Vec<Event> = exchange.drain_events().collect();
        let (bybit, okx) = (self.bybit_listening(), self.okx_listening());
        for event in events {
            match &event {
                Event::Trade { symbol, id, price, qty, buyer_is_maker, time } => {
                    let lower = symbol.to_ascii_lowercase();
                    let trade = wire::trade_payload(symbol, *id, *price, *qty, *buyer_is_maker, *time);
                    let agg = wire::agg_trade_payload(symbol, *id, *price, *qty, *buyer_is_maker, *time);
                    self.send_public(format!("{lower}@trade"), trade);
                    self.send_public(format!("{lower}@aggTrade"), agg);
                    if bybit {
                        let message = bybit::ws::trade(symbol, *id, *price, *qty, *buyer_is_maker, *time);
                        self.send_public(format!("publicTrade.{symbol}"), message);
                    }
                    if okx {
                        let inst = okx::inst_id(exchange, symbol);
                        let message = okx::ws::trade(&inst, *id, *price, *qty, *buyer_is_maker, *time);
                        self.send_public(okx::ws::stream("trades", &inst), message);
                    }
                }
                Event::BookTicker { symbol } => {
                    if let Ok(s) = exchange.symbol(symbol) {
                        self.send_public(
                            format!("{}@bookTicker", symbol.to_ascii_lowercase()),
                            wire::book_ticker_payload(s),
                        );
                        if bybit {
                            self.send_public(format!("orderbook.1.{symbol}"), bybit::ws::top(s, self.now()));
                        }
                        if okx {
                            let inst = okx::inst_id(exchange, symbol);
                            self.send_public(okx::ws::stream("bbo-tbt", &inst), okx::ws::bbo(&inst, s, self.now()));
                        }
                    }
                }
                Event::Execution { account, .. } | Event::Balances { account, .. } => {
                    let _ = self.user.send(Arc::new(UserFrame { account: *account, event: event.clone() }));
                }
            }
        }
    }

    fn send_public(&self, stream: String, payload: String) {
        // No receivers is normal: nobody subscribed yet.
        let _ = self.public.send(Arc::new(StreamFrame { stream, payload, seq: 0 }));
    }

    /// Whether a Bybit-protocol market connection is open (only then are its messages rendered).
    fn bybit_listening(&self) -> bool {
        self.bybit_public.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Whether an OKX-protocol market connection is open.
    fn okx_listening(&self) -> bool {
        self.okx_public.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    fn bybit_rate(&self) -> MutexGuard<'_, bybit::BybitRate> {
        self.bybit_rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn okx_rate(&self) -> MutexGuard<'_, okx::OkxRate> {
        self.okx_rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes every WebSocket connection now.
    pub fn drop_connections(&self) {
        self.drops.send_modify(|n| *n += 1);
    }
}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stream_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn ws_api_url(&self) -> String {
        format!("ws://{}/ws-api/v3", self.addr)
    }

    /// Runs `f` on the exchange (tests and the control endpoint), then publishes what it changed.
    pub fn with_exchange<T>(&self, f: impl FnOnce(&mut Exchange) -> T) -> T {
        let mut exchange = self.shared.exchange();
        let out = f(&mut exchange);
        self.shared.publish(&mut exchange);
        out
    }

    pub fn drop_connections(&self) {
        self.shared.drop_connections();
    }

    /// Sends `serverShutdown` on every market connection, as the venue does before
    /// maintenance; connections stay open until clients leave.
    pub fn announce_shutdown(&self) {
        self.shared.notices.send_modify(|n| *n += 1);
    }

    /// How many responses were 429 or 418.
    pub fn limited_responses(&self) -> u64 {
        self.shared.limited_responses.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many responses were 418 (an IP banned for going on after a 429).
    pub fn banned_responses(&self) -> u64 {
        self.shared.banned_responses.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The most request weight ever used within one minute.
    pub fn peak_weight(&self) -> u32 {
        self.shared.rate().peak_weight()
    }

    /// Gives `account` (2 is the first) another API key, as an exchange does for key rotation.
    pub fn add_key(&self, api_key: &str, secret: &Secret, account: AccountId) {
        let mut keys = self.shared.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.insert(api_key.to_owned(), Credential::new(account, secret.expose()));
    }

    /// Revokes an API key: requests signed with it are refused from now on.
    pub fn revoke_key(&self, api_key: &str) {
        self.shared.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(api_key);
    }

    /// Stops (or restarts) the synthetic market: no price moves, requotes or takers while paused.
    pub fn pause_market(&self, paused: bool) {
        self.shared.market_paused.store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.set_faults(faults);
    }

    /// Replaces the rate limits (the venue tightening them at run time);
    /// `exchangeInfo` publishes the new ones.
    pub fn set_limits(&self, limits: super::config::LimitConfig) {
        self.shared.exchange().set_limits(limits);
    }

    /// Counts the WebSocket API connections closed so far; changes at every close.
    pub fn closed_api_connections(&self) -> watch::Receiver<u64> {
        self.shared.api_closed.subscribe()
    }

    /// Counts the user-data subscriptions accepted so far; changes at every one.
    pub fn user_subscriptions(&self) -> watch::Receiver<u64> {
        self.shared.user_subscribed.subscribe()
    }

    /// How many REST requests `METHOD path` (e.g. `GET /api/v3/order`) were answered.
    pub fn requests(&self, endpoint: &str) -> u64 {
        let requests = self.shared.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        requests.get(endpoint).copied().unwrap_or(0)
    }

    /// Stops the server and its tasks and waits for them.
    pub async fn stop(self) {
        self.shared.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Starts a simulator: binds, spawns the server and the market, returns once it accepts connections.
pub async fn start(options: SimOptions, shutdown: CancellationToken) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let mut exchange = Exchange::new(options.config);
    let accounts = if options.accounts.is_empty() {
        vec![(DEMO_API_KEY.to_owned(), Secret::new(DEMO_API_SECRET))]
    } else {
        options.accounts
    };
    let mut keys = HashMap::new();
    for (i, (key, secret)) in accounts.iter().enumerate() {
        let account = 2 + AccountId::try_from(i).unwrap_or(AccountId::MAX - 2);
        exchange.open_account(account);
        keys.insert(key.clone(), Credential::new(account, secret.expose()));
    }
    let mut synth = Synth::new(options.seed, &exchange);
    let market_speed = exchange.config().market.events_per_sec;
    let symbol_count = exchange.symbols().len();
    let shared = Arc::new(Shared {
        exchange: Mutex::new(exchange),
        keys: std::sync::RwLock::new(keys),
        rate: Mutex::new(RateState::default()),
        public: broadcast::channel(65_536).0,
        user: broadcast::channel(16_384).0,
        drops: watch::channel(0).0,
        notices: watch::channel(0).0,
        faults_rng: Mutex::new(Rng::new(options.seed ^ 0x5EED)),
        limited_responses: std::sync::atomic::AtomicU64::new(0),
        banned_responses: std::sync::atomic::AtomicU64::new(0),
        market_paused: std::sync::atomic::AtomicBool::new(false),
        clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
        requests: Mutex::new(HashMap::new()),
        fail_next: std::sync::atomic::AtomicU32::new(0),
        api_closed: watch::channel(0).0,
        user_subscribed: watch::channel(0).0,
        bybit_public: std::sync::atomic::AtomicUsize::new(0),
        okx_public: std::sync::atomic::AtomicUsize::new(0),
        bybit_books: (0..symbol_count).map(|_| Mutex::default()).collect(),
        bybit_rate: Mutex::new(bybit::BybitRate::default()),
        okx_rate: Mutex::new(okx::OkxRate::default()),
        okx_connects: Mutex::new(std::collections::VecDeque::new()),
        shutdown: shutdown.clone(),
    });
    shared.set_faults(shared.faults());
    // Fill the book before anyone connects, so the first snapshot has depth.
    {
        let mut ex = shared.exchange();
        synth.step(&mut ex, crate::clock::now_ms());
        ex.drain_events().for_each(drop);
    }
    let firehose = shared.exchange().config().market.firehose_per_sec;
    if firehose > 0 {
        tasks::spawn_firehose(shared.clone(), options.seed, firehose);
    }
    tasks::spawn_market(shared.clone(), synth, market_speed);
    tasks::spawn_flusher(shared.clone());
    tasks::spawn_fault_dropper(shared.clone());

    let app = Router::new()
        .route("/ws", get(ws::market_handler))
        .route("/ws/{stream}", get(ws::market_handler))
        .route("/stream", get(ws::market_handler))
        .route("/ws-api/v3", get(ws_api::api_handler))
        .route("/v5/public/spot", get(bybit::ws::public_handler))
        .route("/v5/private", get(bybit::ws::private_handler))
        .route("/v5/{*path}", any(bybit::rest::handler))
        .route("/api/v5/{*path}", any(okx::handler))
        .route("/ws/v5/public", get(okx::ws::public_handler))
        .route("/ws/v5/business", get(okx::ws::business_handler))
        .route("/ws/v5/private", get(okx::ws::private_handler))
        .route("/sim/v1/faults", any(control::faults_handler))
        .route("/sim/v1/limits", any(control::limits_handler))
        .route("/sim/v1/drop-connections", any(control::drop_handler))
        .fallback(rest::handler)
        .with_state(shared.clone());
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "simulator server failed");
        }
    });
    tracing::info!(addr = %addr, accounts = accounts.len(), "listening on http://{addr}");
    Ok(SimHandle { addr, shared, task })
}
