//! The engine: it owns every strategy instance and drives them, one caller at a time.
//!
//! Market events fan out to the instances subscribed to their symbol; the
//! intents a callback emits go through [`risk`](crate::risk) to the venue's
//! [`ExecutionClient`]; order updates go back to the instance that placed the
//! order, in order. A strategy that returns an error or panics is contained:
//! that instance is marked failed, its resting orders are cancelled, and the
//! others go on. The engine never blocks on I/O. Market connections hand it
//! their events on their own tasks ([`SharedEngine`]), so an event reaches
//! the strategies, and the order it causes the venue's execution client,
//! without a hand-over between tasks; everything else (order updates,
//! timers, operators' commands) comes through [`EngineInput`] to [`run`].

pub mod control;
mod dispatch;
mod limits;
mod readiness;
pub mod reload;
mod shared;
mod state;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{
    Asset, Balance, ClientOrderId, Context, Fill, InstrumentSpec, Intents, MarketEvent, OpenOrder, OrderIntent,
    OrderKind, OrderUpdate, Qty, Reason, Restored, Strategy, StrategyError, Subscription, Symbol, Timestamp, Trading,
    VenueId,
};

use crate::config::RiskConfig;
use crate::execution::{ExecRequest, ExecutionClient};
use crate::portfolio::Position;
use crate::risk::{LossWatch, RiskManager, TradingState};
use readiness::Feeds;
pub use readiness::Readiness;
pub use shared::SharedEngine;
pub use state::MarketState;
use state::StrategyView;

/// Rounds of "denied → strategy reacts → new intents" handled per callback,
/// so a strategy that keeps re-sending refused orders cannot spin the engine.
const MAX_DENIAL_ROUNDS: usize = 8;

/// What venues and operators send the engine.
#[derive(Debug)]
pub enum EngineInput {
    /// A market event, and when the frame that carried it was read (none for REST snapshots).
    Market(MarketEvent, Option<std::time::Instant>),
    /// Boxed, like `Reconfigure`: an update with a fill is 224 bytes, and
    /// every market event moves through the channel at the size of the largest variant.
    Order(Box<OrderUpdate>),
    /// Trading rules of a venue's symbols (on connect and on refresh).
    Instruments(VenueId, Vec<InstrumentSpec>),
    Balances(VenueId, Vec<(Asset, Balance)>),
    /// An operator's command (control API); answered on its reply channel.
    Control(control::Request),
    /// A new set of strategies and limits (hot reload).
    Reconfigure(Box<reload::Reconfigure>),
    /// An order of an instance that reached the venue before a crash without
    /// its journal entry, found after the restart (its updates follow).
    Adopt(Box<(String, OpenOrder)>),
}

impl From<crate::sink::VenueEvent> for EngineInput {
    fn from(event: crate::sink::VenueEvent) -> Self {
        use crate::sink::VenueEvent;
        match event {
            VenueEvent::Order(update) => EngineInput::Order(update),
            VenueEvent::Balances(venue, balances) => EngineInput::Balances(venue, balances),
            VenueEvent::Instruments(venue, specs) => EngineInput::Instruments(venue, specs),
            VenueEvent::Adopt(adopted) => EngineInput::Adopt(adopted),
        }
    }
}

impl From<(MarketEvent, Option<std::time::Instant>)> for EngineInput {
    fn from((event, received): (MarketEvent, Option<std::time::Instant>)) -> Self {
        EngineInput::Market(event, received)
    }
}

/// Whether an instance is still being called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "reason")]
pub enum InstanceStatus {
    Running,
    /// Returned an error or panicked; no longer called.
    Failed(String),
    Stopped,
}

/// A summary of one instance, for status reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceInfo {
    pub name: String,
    pub status: InstanceStatus,
    pub trading_state: TradingState,
    pub open_orders: usize,
}

struct Slot {
    name: String,
    strategy: Box<dyn Strategy>,
    intents: Intents,
    status: InstanceStatus,
    trading_state: TradingState,
    positions: FastMap<(VenueId, Symbol), Position>,
    open_orders: Vec<OpenOrder>,
    subscriptions: Vec<Subscription>,
    /// This strategy's limits (`[risk]` with its own overrides).
    limits: RiskConfig,
    /// Wall-clock ms of the new orders sent in the last minute (order-rate limits).
    sent: std::collections::VecDeque<i64>,
    loss: LossWatch,
    /// What an earlier run of this instance did, handed to `on_restore` at the start.
    restored: Option<Restored>,
    /// The state it saved last (a reload that restarts it hands it back).
    last_state: Option<String>,
}

impl Slot {
    fn new(
        name: &str,
        strategy: Box<dyn Strategy>,
        first_seq: u64,
        subscriptions: Vec<Subscription>,
        limits: RiskConfig,
    ) -> Self {
        Slot {
            name: name.to_owned(),
            strategy,
            intents: Intents::new(name, first_seq),
            status: InstanceStatus::Running,
            trading_state: if limits.reduce_only { TradingState::Reducing } else { TradingState::Active },
            positions: FastMap::default(),
            open_orders: Vec::new(),
            subscriptions,
            limits,
            sent: std::collections::VecDeque::new(),
            loss: LossWatch::default(),
            restored: None,
            last_state: None,
        }
    }

    /// Realised + unrealised (at the marks) − fees over every position.
    fn pnl(&self, market: &MarketState) -> rust_decimal::Decimal {
        self.positions
            .iter()
            .map(|((venue, symbol), p)| {
                let unrealized = market.mark(*venue, *symbol).map_or(rust_decimal::Decimal::ZERO, |m| p.unrealized(m));
                p.realized + unrealized - p.fees
            })
            .sum()
    }
}

/// Everything but the routing tables, so routes can be read while instances are called.
struct Core {
    slots: Vec<Slot>,
    market: MarketState,
    risk: RiskManager,
    venues: FastMap<VenueId, Box<dyn ExecutionClient>>,
    /// Which instance placed each live order.
    owners: FastMap<ClientOrderId, usize>,
    /// Live orders the venue has acknowledged (the others are queued or on their way).
    acknowledged: std::collections::HashSet<ClientOrderId, foldhash::fast::RandomState>,
    /// The account's PnL against `[risk.account]`.
    account_loss: LossWatch,
    /// When the frame of the market event being handled was read.
    origin: Option<std::time::Instant>,
    /// When each (strategy, reason) denial was last logged at INFO.
    denials_logged: HashMap<(usize, String), std::time::Instant>,
    /// Requests handed to execution clients so far.
    requests: u64,
    /// Where the states strategies save go (the journal), with their instance's name.
    state_sink: Option<StateSink>,
}

/// Takes the states strategies save (instance, JSON), e.g. into the journal.
pub type StateSink = Box<dyn FnMut(&str, String) + Send>;

/// The strategy host. Drive it with [`run`], or call its methods directly in tests.
pub struct Engine {
    /// Wall-clock ms of the last timer tick: the loop's heartbeat (systemd watchdog).
    heartbeat: std::sync::Arc<std::sync::atomic::AtomicI64>,
    core: Core,
    routes: FastMap<(VenueId, Symbol), Vec<usize>>,
    venue_routes: FastMap<VenueId, Vec<usize>>,
    feeds: Feeds,
}

impl Engine {
    pub fn new(risk: RiskManager) -> Self {
        let core = Core {
            slots: Vec::new(),
            market: MarketState::default(),
            risk,
            venues: FastMap::default(),
            owners: FastMap::default(),
            acknowledged: Default::default(),
            account_loss: LossWatch::default(),
            origin: None,
            denials_logged: HashMap::new(),
            requests: 0,
            state_sink: None,
        };
        let heartbeat = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(crate::clock::now().0));
        Self { heartbeat, core, routes: FastMap::default(), venue_routes: FastMap::default(), feeds: Feeds::default() }
    }

    /// Each instance that may trade on `venue`: its name, the sequence number
    /// of its next order and the symbols it subscribes to there.
    pub fn traders(&self, venue: VenueId) -> Vec<(String, u64, Vec<Symbol>)> {
        self.core
            .slots
            .iter()
            .filter(|s| s.status == InstanceStatus::Running)
            .filter_map(|s| {
                let mut symbols: Vec<Symbol> = Vec::new();
                for &symbol in s.subscriptions.iter().filter(|sub| sub.venue == venue).flat_map(|sub| &sub.symbols) {
                    if !symbols.contains(&symbol) {
                        symbols.push(symbol);
                    }
                }
                (!symbols.is_empty()).then(|| (s.name.clone(), s.intents.next_seq(), symbols))
            })
            .collect()
    }

    /// Adds a strategy instance under the daemon-wide limits; its first order
    /// gets sequence number `first_seq`.
    pub fn add_instance(&mut self, name: &str, strategy: Box<dyn Strategy>, first_seq: u64) {
        let limits = self.core.risk.limits().clone();
        self.add_instance_with(name, strategy, first_seq, limits);
    }

    /// Adds a strategy instance with limits of its own.
    pub fn add_instance_with(&mut self, name: &str, strategy: Box<dyn Strategy>, first_seq: u64, limits: RiskConfig) {
        let subscriptions = strategy.subscriptions();
        self.core.slots.push(Slot::new(name, strategy, first_seq, subscriptions, limits));
        self.rebuild_routes();
    }

    /// What every running instance subscribed to (venues connect their feeds from this).
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.core.slots.iter().filter(|s| s.status == InstanceStatus::Running).flat_map(|s| s.subscriptions.iter())
    }

    /// The loop's heartbeat: wall-clock ms of the last timer tick.
    pub fn heartbeat(&self) -> std::sync::Arc<std::sync::atomic::AtomicI64> {
        self.heartbeat.clone()
    }

    /// Connects a venue's execution client.
    pub fn add_venue(&mut self, venue: VenueId, client: Box<dyn ExecutionClient>) {
        if client.amends() && !self.core.market.amends.contains(&venue) {
            self.core.market.amends.push(venue);
        }
        self.core.venues.insert(venue, client);
    }

    pub fn market(&self) -> &MarketState {
        &self.core.market
    }

    pub fn instances(&self) -> Vec<InstanceInfo> {
        self.core
            .slots
            .iter()
            .map(|s| InstanceInfo {
                name: s.name.clone(),
                status: s.status.clone(),
                trading_state: s.trading_state,
                open_orders: s.open_orders.len(),
            })
            .collect()
    }

    /// Applies a fill of an earlier run to an instance's position (no callback).
    pub fn restore_fill(&mut self, name: &str, fill: &Fill) {
        let Some(slot) = self.core.slots.iter_mut().find(|s| s.name == name) else {
            tracing::warn!(strategy = name, "journal has fills of an instance that is not configured; ignored");
            return;
        };
        let assets = self.core.market.instruments.get(&(fill.venue, fill.symbol)).map(|s| (s.base, s.quote));
        slot.positions.entry((fill.venue, fill.symbol)).or_default().apply(fill, assets);
    }

    /// Takes back an order an earlier run left open, so its updates reach the
    /// instance; `acknowledged` if the venue is known to have it.
    pub fn restore_open_order(&mut self, name: &str, order: OpenOrder, acknowledged: bool) {
        let Some(idx) = self.core.slots.iter().position(|s| s.name == name) else {
            tracing::warn!(strategy = name, client_order_id = %order.id, "open order of an instance that is not configured");
            return;
        };
        self.core.owners.insert(order.id, idx);
        if acknowledged {
            self.core.acknowledged.insert(order.id);
        }
        self.core.slots[idx].open_orders.push(order);
    }

    /// Applies what reconciliation found about an earlier run's order (no callback:
    /// strategies have not started).
    pub fn restore_update(&mut self, update: &OrderUpdate) {
        self.core.apply_update(update);
    }

    /// The positions of one instance, by (venue, symbol).
    pub fn positions(&self, name: &str) -> Vec<((VenueId, Symbol), Position)> {
        let slot = self.core.slots.iter().find(|s| s.name == name);
        slot.map(|s| s.positions.iter().map(|(k, p)| (*k, p.clone())).collect()).unwrap_or_default()
    }

    /// The open orders of instance `name`.
    pub fn open_orders(&self, name: &str) -> &[OpenOrder] {
        self.core.slots.iter().find(|s| s.name == name).map_or(&[], |s| &s.open_orders)
    }

    /// Hands what an earlier run of instance `name` did (its fills, its saved
    /// state) to its `on_restore`, called at the start.
    pub fn restore(&mut self, name: &str, restored: Restored) {
        match self.core.slots.iter_mut().find(|s| s.name == name) {
            Some(slot) => {
                slot.last_state.clone_from(&restored.state);
                slot.restored = Some(restored);
            }
            None => {
                tracing::warn!(strategy = name, "journal has the state of an instance that is not configured; ignored")
            }
        }
    }

    /// Where the states strategies save go (instance, JSON): the daemon journals them.
    pub fn set_state_sink(&mut self, sink: StateSink) {
        self.core.state_sink = Some(sink);
    }

    /// Calls `on_restore` of every instance that ran before, then every instance's `on_start`.
    pub fn start(&mut self) {
        self.feeds.changed = true;
        self.publish_readiness();
        for idx in 0..self.core.slots.len() {
            if let Some(restored) = self.core.slots[idx].restored.take() {
                tracing::info!(
                    strategy = %self.core.slots[idx].name,
                    fills = restored.fills.len(),
                    state = restored.state.is_some(),
                    open_orders = self.core.slots[idx].open_orders.len(),
                    "strategy restored from the journal"
                );
                self.core.dispatch(idx, |s, ctx, out| s.on_restore(ctx, &restored, out));
            }
            self.core.dispatch(idx, |s, ctx, out| s.on_start(ctx, out));
        }
    }

    /// Calls every running instance's `on_stop`, then (if asked) cancels every open order.
    pub fn stop(&mut self, cancel_open_orders: bool) {
        for idx in 0..self.core.slots.len() {
            self.core.dispatch(idx, |s, ctx, out| s.on_stop(ctx, out));
            if self.core.slots[idx].status == InstanceStatus::Running {
                self.core.slots[idx].status = InstanceStatus::Stopped;
            }
            if cancel_open_orders {
                self.core.cancel_all(idx);
            }
        }
    }

    pub fn handle(&mut self, input: EngineInput) {
        match input {
            EngineInput::Market(event, received) => self.on_market_event_at(&event, received),
            EngineInput::Order(update) => self.core.on_order_update(*update),
            EngineInput::Instruments(venue, specs) => {
                for spec in specs {
                    self.core.market.instruments.insert((venue, spec.symbol), spec);
                }
            }
            EngineInput::Balances(venue, balances) => {
                for (asset, balance) in balances {
                    self.core.market.balances.insert((venue, asset), balance);
                }
            }
            EngineInput::Reconfigure(change) => self.reconfigure(*change),
            EngineInput::Adopt(adopted) => {
                let (instance, order) = *adopted;
                self.restore_open_order(&instance, order, true);
            }
            EngineInput::Control(request) => {
                let reply = self.control(request.command);
                // The asker may have given up (timeout); the command took effect regardless.
                let _ = request.reply.send(reply);
            }
        }
    }

    /// [`on_market_event`](Self::on_market_event) for an event whose frame was
    /// read at `received`: the orders it causes carry that instant, so the
    /// execution client can measure tick-to-order latency; the time to reach
    /// the strategies is recorded here.
    pub fn on_market_event_at(&mut self, event: &MarketEvent, received: Option<std::time::Instant>) {
        if let Some(at) = received {
            crate::latency::TICK_TO_STRATEGY.record(at.elapsed());
        }
        self.core.origin = received;
        self.on_market_event(event);
        self.core.origin = None;
    }

    /// Updates market state and calls `on_event` of every subscribed instance.
    pub fn on_market_event(&mut self, event: &MarketEvent) {
        self.core.market.apply(event);
        match event {
            MarketEvent::Connectivity(c) => self.feeds.connectivity(c.venue, c.up),
            MarketEvent::BookSnapshot(b) => self.feeds.synced(b.venue, b.symbol),
            MarketEvent::Quote(q) => self.feeds.priced(q.venue, q.symbol),
            _ => {}
        }
        if self.feeds.changed {
            self.publish_readiness();
        }
        let targets = match event.symbol() {
            Some(symbol) => self.routes.get(&(event.venue(), symbol)),
            None => self.venue_routes.get(&event.venue()),
        };
        for &idx in targets.map_or(&[][..], Vec::as_slice) {
            self.core.dispatch(idx, |s, ctx, out| s.on_event(ctx, event, out));
        }
    }

    /// Calls every running instance's `on_timer` at wall-clock time `now`.
    pub fn on_timer(&mut self, now: Timestamp) {
        self.heartbeat.store(crate::clock::now().0, std::sync::atomic::Ordering::Relaxed);
        self.core.market.now = self.core.market.now.max(now);
        self.core.watch_losses(None);
        for idx in 0..self.core.slots.len() {
            self.core.dispatch(idx, |s, ctx, out| s.on_timer(ctx, out));
        }
    }
}

pub use crate::collections::FastMap;

/// Inputs handled in a row before the loop looks at timers and shutdown again.
const INPUT_BATCH: usize = 256;

/// Drives `engine` until `shutdown` fires or every sender is gone, then stops
/// it (cancelling open orders if `cancel_on_shutdown`) and hands it back.
pub async fn run(
    engine: Engine,
    input: mpsc::Receiver<EngineInput>,
    timer_interval: Duration,
    cancel_on_shutdown: bool,
    shutdown: CancellationToken,
) -> Engine {
    run_shared(SharedEngine::new(), engine, input, timer_interval, cancel_on_shutdown, shutdown).await
}

/// [`run`], with market connections handing their events to `shared` on
/// their own tasks: `engine` is started in it, and taken back out at the stop.
pub async fn run_shared(
    shared: SharedEngine,
    engine: Engine,
    mut input: mpsc::Receiver<EngineInput>,
    timer_interval: Duration,
    cancel_on_shutdown: bool,
    shutdown: CancellationToken,
) -> Engine {
    shared.start(engine);
    let mut timer = tokio::time::interval(timer_interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    loop {
        tokio::select! {
            biased;
            () = &mut cancelled => break,
            message = input.recv() => match message {
                Some(message) => {
                    let sent = shared.with(|engine| {
                        let requests = engine.core.requests;
                        engine.handle(message);
                        // What else is queued, without going round the select:
                        // a bounded batch, so timers and shutdown are not held up.
                        for _ in 0..INPUT_BATCH {
                            if engine.core.requests != requests {
                                break;
                            }
                            match input.try_recv() {
                                Ok(message) => engine.handle(message),
                                Err(_) => break,
                            }
                        }
                        engine.core.requests != requests
                    });
                    if sent == Some(true) {
                        // A request went to an execution client: let it leave
                        // before the inputs queued behind the one that caused it.
                        tokio::task::yield_now().await;
                    }
                }
                None => break,
            },
            _ = timer.tick() => {
                shared.with(|engine| engine.on_timer(crate::clock::now()));
            }
        }
    }
    let mut engine = shared.take().expect("the engine runs until this loop ends");
    engine.stop(cancel_on_shutdown);
    engine
}
