//! Wiring: builds the engine and venues from a [`Config`], runs them until
//! shutdown, and publishes the lifecycle [`Phase`] on a `watch` channel that
//! health checks and tests observe. Parses no exchange data.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{Strategy, VenueId, owner};

use crate::config::{Config, VenueConfig};
use crate::engine::{self, Engine};
use crate::journal::{Journal, OpenEntry, Recovered, Unjournaled};
use crate::lifecycle::{Phase, ReloadRequest};
use crate::risk::RiskManager;
use crate::venue::credentials;
use crate::venue::feed::FeedSpec;
use crate::venue::sim::SimHandle;

/// Publishes the phase (health checks, the API) and exports it as
/// `tradewind_phase{phase}` (1 for the current one, 0 for the others).
fn set_phase(phase: &watch::Sender<Phase>, now: Phase) {
    phase.send_replace(now);
    for p in Phase::ALL {
        metrics::gauge!("tradewind_phase", "phase" => p.as_str()).set(if p == now { 1.0 } else { 0.0 });
    }
}

/// Why the daemon refused to start.
/// A configuration the venue showed to be wrong at start (a symbol it does
/// not list): `run` exits 2 for it, as for any configuration error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigRefused(pub crate::config::ConfigErrors);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("venue {0:?} is on mainnet (real money): set runtime.live = true or pass --live to trade on it")]
    LiveNotConfirmed(String),
}

/// Longest wait for live feeds and synced books before reporting READY anyway.
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// Options from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// `--live`: allow mainnet venues.
    pub live: bool,
}

/// Refuses mainnet venues unless going live was confirmed.
pub fn check_live(config: &Config, options: RunOptions) -> Result<(), StartError> {
    let live = options.live || config.runtime.live;
    for venue in &config.venues {
        if venue.is_mainnet() && !live {
            return Err(StartError::LiveNotConfirmed(venue.name().to_owned()));
        }
    }
    Ok(())
}

/// Builds the engine with every enabled strategy instance. Each instance's
/// client order ids continue from `next_seq` (the journal's), or start at the
/// wall-clock millisecond for an instance the journal has never seen, so ids
/// never repeat across restarts.
pub fn build_engine(config: &Config, next_seq: &HashMap<String, u64>) -> Engine {
    let mut engine = Engine::new(RiskManager::new(config.risk.clone()));
    if let Some(every) = config.runtime.warm_interval_us {
        tracing::warn!(warm_interval_us = every, "runtime.warm_interval_us no longer has any effect; remove it");
    }
    let fresh = u64::try_from(crate::clock::now().as_millis()).unwrap_or(1);
    for s in config.strategies.iter().filter(|s| s.enabled) {
        let strategy: Box<dyn Strategy> = s.params.build(&s.instance);
        tracing::info!(
            strategy = %s.instance.name,
            kind = s.params.kind(),
            venue = %s.instance.venue,
            summary = %s.params.summary(),
            "strategy loaded"
        );
        let first_seq = next_seq.get(&s.instance.name).copied().unwrap_or(fresh);
        engine.add_instance_with(&s.instance.name, strategy, first_seq, config.risk.for_strategy(&s.risk));
    }
    engine
}

/// Makes each instance's client order ids read as its own (see
/// `sdk::owner`); refuses a name whose code another instance of the journal
/// holds: their orders could not be told apart. (Configured names are checked
/// against each other when the config is read.)
pub fn register_owners<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), owner::CodeClash> {
    names.into_iter().try_for_each(|name| owner::register(name).map(drop))
}

/// The journal file: `[journal] path` relative to the config file's folder,
/// or to `$STATE_DIRECTORY` when systemd sets it.
pub fn journal_path(config: &Config) -> std::path::PathBuf {
    let path = &config.journal.path;
    if path.is_absolute() {
        return path.clone();
    }
    match std::env::var_os("STATE_DIRECTORY") {
        Some(dir) => std::path::Path::new(&dir).join(path.file_name().unwrap_or(path.as_os_str())),
        None => config.file.parent().unwrap_or(std::path::Path::new(".")).join(path),
    }
}

/// The embedded simulator starts with a fresh ledger every run, so what the
/// journal holds for it (open orders, positions) no longer exists: its open
/// orders are closed as `abandoned` and its fills are not replayed.
fn forget_embedded_sim_state(config: &Config, journal: &Journal, recovered: &mut Recovered) {
    let sims: Vec<&str> =
        config.venues.iter().filter(|v| matches!(v, VenueConfig::Sim(_))).map(VenueConfig::name).collect();
    let is_sim = |venue: &str| sims.contains(&venue);
    let now = crate::clock::now().0;
    recovered.open.retain(|o| {
        let sim = is_sim(o.order.order.venue.as_str());
        if sim {
            journal.write_nowait(crate::journal::Record::State {
                id: o.order.id,
                state: "abandoned",
                venue_order_id: None,
                reason: Some("the embedded simulator restarted".into()),
                time_ms: now,
            });
        }
        !sim
    });
    recovered.fills.retain(|(_, f)| !is_sim(f.venue.as_str()));
    recovered.unjournaled.retain(|u| !is_sim(&u.lease.venue));
    // What a strategy saved about its progress there is gone with the ledger too.
    for s in &config.strategies {
        let venues = std::iter::once(s.instance.venue.as_str()).chain(s.params.other_venues());
        if venues.into_iter().any(is_sim) {
            recovered.states.remove(&s.instance.name);
        }
    }
}

pub mod online;
pub mod preflight;
pub mod record;
mod reload;

/// Where reload requests (SIGHUP, the control API) reach the running daemon.
pub struct Reloads {
    tx: mpsc::Sender<ReloadRequest>,
    rx: mpsc::Receiver<ReloadRequest>,
}

impl Reloads {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel(8);
        Self { tx, rx }
    }

    /// A handle that asks for a reload.
    pub fn sender(&self) -> mpsc::Sender<ReloadRequest> {
        self.tx.clone()
    }
}

impl Default for Reloads {
    fn default() -> Self {
        Self::new()
    }
}

/// A venue the daemon is connected to.
struct StartedVenue {
    name: String,
    id: VenueId,
    /// Starts feeds for what a reload adds, and what is subscribed so far.
    feeds: Box<dyn crate::venue::AddFeeds>,
    subscribed: Vec<FeedSpec>,
    /// Swaps the API key (reload), and a digest of the key in use to see that it changed.
    keys: Box<dyn crate::venue::KeyRotation>,
    key_fingerprint: Option<[u8; 32]>,
    /// What reconciling the journal's open orders with the venue changed.
    reconciled: Vec<tradewind_strategies::sdk::OrderUpdate>,
    adopted: Vec<(String, tradewind_strategies::sdk::OpenOrder)>,
    exec_task: tokio::task::JoinHandle<()>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    sim: Option<SimHandle>,
}

/// Runs the daemon until `shutdown` fires; returns once everything drained.
pub async fn run(
    config: Config,
    options: RunOptions,
    shutdown: CancellationToken,
    phase: watch::Sender<Phase>,
    reloads: Reloads,
) -> anyhow::Result<()> {
    let Reloads { tx: reload_tx, rx: mut reload_requests } = reloads;
    check_live(&config, options)?;
    set_phase(&phase, Phase::Starting);
    let (engine_tx, engine_rx) = mpsc::channel(config.runtime.engine_queue);
    let ops_shutdown = CancellationToken::new();
    let (trading_tx, trading_rx) = watch::channel(crate::risk::TradingState::Active);
    let (feeds_tx, feeds_rx) = watch::channel(engine::Readiness::starting());
    let (ops_addr, ops_task) = start_ops(
        &config,
        &phase,
        (engine_tx.clone(), trading_tx.clone(), trading_rx, feeds_rx.clone()),
        reload_tx,
        ops_shutdown.clone(),
    )
    .await?;
    let path = journal_path(&config);
    let (journal, mut recovered) = Journal::open(&path)?;
    forget_embedded_sim_state(&config, &journal, &mut recovered);
    register_owners(config.strategies.iter().filter(|s| s.enabled).map(|s| s.instance.name.as_str()))
        .map_err(|e| anyhow::anyhow!("{e} (the journal {} knows the first)", path.display()))?;
    tracing::info!(
        path = %path.display(),
        open_orders = recovered.open.len(),
        fills = recovered.fills.len(),
        "journal opened"
    );
    let mut engine = build_engine(&config, &recovered.next_seq);
    // Market connections hand their events to it on their own tasks (see `engine::SharedEngine`).
    let shared = engine::SharedEngine::new();
    // With `[record]`, the venues deliver through the recorder's tap.
    let (market, recorder): (std::sync::Arc<dyn crate::sink::MarketConsumer>, _) = match &config.record {
        Some(record) => {
            let (tap, writer) = crate::record::tap::start(&record.dir, std::sync::Arc::new(shared.clone()))?;
            (tap, Some(writer))
        }
        None => (std::sync::Arc::new(shared.clone()), None),
    };
    // Venues outlive the engine's drain: its last cancels still need them.
    let venues_shutdown = CancellationToken::new();
    let mut venues = Vec::new();
    for venue in &config.venues {
        let started = tokio::select! {
            _ = shutdown.cancelled() => Err(anyhow::anyhow!("shutdown requested while connecting")),
            r = start_venue(&config, venue, &mut engine, (engine_tx.clone(), market.clone()), (&journal, &recovered), venues_shutdown.clone()) => r,
        };
        match started {
            Ok(v) => venues.push(v),
            Err(e) => {
                venues_shutdown.cancel();
                return Err(e.context(format!("venue {:?} did not start", venue.name())));
            }
        }
    }
    // Positions and open orders of the earlier run, before any strategy starts.
    for (instance, fill) in &recovered.fills {
        engine.restore_fill(instance, fill);
    }
    for entry in &recovered.open {
        let acknowledged = matches!(entry.state.as_str(), "accepted" | "partially_filled");
        engine.restore_open_order(&entry.instance, entry.order, acknowledged);
    }
    for (instance, order) in venues.iter_mut().flat_map(|v| std::mem::take(&mut v.adopted)) {
        engine.restore_open_order(&instance, order, true);
    }
    let reconciled: Vec<tradewind_strategies::sdk::OrderUpdate> =
        venues.iter_mut().flat_map(|v| std::mem::take(&mut v.reconciled)).collect();
    for update in &reconciled {
        engine.restore_update(update);
    }
    // What each instance did before, for its `on_restore` (with the fills reconciliation
    // just found: the crash may have come before they were journaled); what it saves from
    // now on goes to the journal.
    for s in config.strategies.iter().filter(|s| s.enabled) {
        let name = &s.instance.name;
        if let Some(mut restored) = recovered.restored(name) {
            let found = reconciled
                .iter()
                .filter_map(|u| u.fill())
                .filter(|f| f.id.owner().is_some_and(|(instance, _)| instance == name.as_str()));
            restored.fills.extend(found);
            engine.restore(name, restored);
        }
    }
    let states = journal.clone();
    engine.set_state_sink(Box::new(move |instance, body| {
        let time_ms = crate::clock::now().0;
        states.write_nowait(crate::journal::Record::StrategyState { instance: instance.to_owned(), body, time_ms });
    }));
    // The journal's history is in the engine now; only the sequences are still needed.
    let next_seq = std::mem::take(&mut recovered.next_seq);
    drop(recovered);
    let watchdog = crate::ops::spawn_watchdog(engine.heartbeat(), ops_shutdown.clone());
    let status_task = crate::ops::spawn_status(
        engine_tx.clone(),
        Some(journal.clone()),
        phase.subscribe(),
        trading_tx,
        ops_shutdown.clone(),
    );
    let engine_control = engine_tx;
    engine.report_readiness_to(feeds_tx);
    let engine_task = tokio::spawn(engine::run_shared(
        shared,
        engine,
        engine_rx,
        Duration::from_millis(config.runtime.timer_interval_ms),
        config.runtime.cancel_on_shutdown,
        shutdown.clone(),
    ));
    // READY once the feeds are live and the books synced (or, failing that, after a deadline:
    // /readyz keeps telling the truth).
    let mut feeds_live = feeds_rx;
    tokio::select! {
        _ = shutdown.cancelled() => {}
        waited = tokio::time::timeout(READY_DEADLINE, feeds_live.wait_for(engine::Readiness::is_live)) => {
            if waited.is_err() {
                tracing::warn!(deadline_secs = READY_DEADLINE.as_secs(), "market data not live yet; running anyway (see /readyz)");
            }
        }
    }
    set_phase(&phase, Phase::Running);
    let enabled = config.strategies.iter().filter(|s| s.enabled).count();
    let status = format!("running: {enabled} strategies on {} venues; ops on {ops_addr}", config.venues.len());
    crate::ops::notify_ready(&status);
    tracing::info!(
        strategies = enabled,
        disabled = config.strategies.len() - enabled,
        venues = config.venues.len(),
        "running"
    );

    let mut live = reload::Live { config, next_seq };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(request) = reload_requests.recv() => {
                set_phase(&phase, Phase::Reloading);
                crate::ops::notify_reloading();
                let outcome = reload::apply(&mut live, &engine_control, &mut venues).await;
                set_phase(&phase, Phase::Running);
                crate::ops::notify_ready(if outcome.ok { "running (reloaded)" } else { "running (reload failed)" });
                if let Some(reply) = request {
                    let _ = reply.send(outcome);
                }
            }
        }
    }
    let config = live.config;
    crate::ops::notify_stopping();
    set_phase(&phase, Phase::Draining);
    tracing::info!("shutting down");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(config.runtime.shutdown_timeout_secs);
    let result = match tokio::time::timeout_at(deadline, engine_task).await {
        Ok(Ok(engine)) => {
            for info in engine.instances() {
                tracing::info!(strategy = %info.name, status = ?info.status, open_orders = info.open_orders, "strategy stopped");
            }
            Ok(())
        }
        Ok(Err(e)) => Err(anyhow::anyhow!("engine task failed: {e}")),
        Err(_) => Err(anyhow::anyhow!("engine did not stop within the shutdown deadline")),
    };
    // The engine (and its execution clients) are gone: requests in flight finish, then venues close.
    for v in &mut venues {
        if tokio::time::timeout_at(deadline, &mut v.exec_task).await.is_err() {
            tracing::warn!(venue = %v.name, "requests still in flight at the shutdown deadline");
        }
    }
    journal.flush().await;
    venues_shutdown.cancel();
    for v in venues {
        for task in v.tasks {
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
        if let Some(sim) = v.sim {
            sim.stop().await;
        }
    }
    // The venues' feeds are gone: the recorder writes what is left and ends.
    drop(market);
    if let Some(writer) = recorder {
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    }
    ops_shutdown.cancel();
    let _ = ops_task.await;
    let _ = status_task.await;
    if let Some(w) = watchdog {
        let _ = w.await;
    }
    result?;
    set_phase(&phase, Phase::Stopped);
    tracing::info!("stopped");
    Ok(())
}

/// Binds the ops listener and serves health, metrics and the control API.
async fn start_ops(
    config: &Config,
    phase: &watch::Sender<Phase>,
    (engine, trading_tx, trading_rx, feeds_rx): (
        mpsc::Sender<engine::EngineInput>,
        watch::Sender<crate::risk::TradingState>,
        watch::Receiver<crate::risk::TradingState>,
        watch::Receiver<engine::Readiness>,
    ),
    reload: mpsc::Sender<ReloadRequest>,
    shutdown: CancellationToken,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listen = config.ops.listen;
    let token = credentials::api_token(config.ops.token_file.as_deref(), &|k| std::env::var(k).ok())
        .map_err(|e| anyhow::anyhow!("control API token: {e}"))?;
    if token.is_none() {
        tracing::warn!("no control API token configured: /v1 is read-only (and loopback-only)");
    }
    let loopback = listen.ip().is_loopback();
    let api = crate::ops::api::ApiState::new(engine, phase.subscribe(), token.as_ref(), loopback, trading_tx)
        .with_reload(reload);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("ops endpoints cannot listen on {listen}: {e}"))?;
    Ok(crate::ops::serve(listener, phase.subscribe(), trading_rx, feeds_rx, api, shutdown).await?)
}

/// Connects one venue (starting the embedded simulator for `kind = "sim"`) and
/// hands its execution client to the engine.
async fn start_venue(
    config: &Config,
    venue: &VenueConfig,
    engine: &mut Engine,
    (engine_tx, market): (mpsc::Sender<engine::EngineInput>, std::sync::Arc<dyn crate::sink::MarketConsumer>),
    (journal, recovered): (&Journal, &Recovered),
    shutdown: CancellationToken,
) -> anyhow::Result<StartedVenue> {
    let open: Vec<OpenEntry> =
        recovered.open.iter().filter(|o| o.order.order.venue.as_str() == venue.name()).cloned().collect();
    let unjournaled: Vec<Unjournaled> =
        recovered.unjournaled.iter().filter(|u| u.lease.venue == venue.name()).cloned().collect();
    let id = VenueId::new(venue.name()).map_err(|e| anyhow::anyhow!("bad venue name: {e}"))?;
    let traders: Vec<crate::execution::orders::Trader> = engine
        .traders(id)
        .into_iter()
        .map(|(instance, first_seq, symbols)| crate::execution::orders::Trader { instance, first_seq, symbols })
        .collect();
    let feeds = feed_specs(engine, id);
    let subscribed = feeds.clone();
    let cx = crate::venue::VenueContext {
        id,
        config_dir: config.file.parent().unwrap_or(std::path::Path::new(".")).to_owned(),
        journal: journal.clone(),
        open,
        unjournaled,
        traders,
        feeds,
        host: crate::sink::Deliveries { market, events: crate::sink::Sink::channel(engine_tx) },
        shutdown,
    };
    let connection = match crate::venue::start(venue, cx).await {
        Ok(connection) => connection,
        // The venue's configuration is wrong: a restart would not help.
        Err(crate::venue::StartError::Refused { key, message }) => {
            let index = config.venues.iter().position(|v| v.name() == venue.name()).unwrap_or_default();
            let issue = crate::config::ConfigIssue::new(&config.file, Some(&format!("venues[{index}].{key}")), message);
            return Err(ConfigRefused(crate::config::ConfigErrors(vec![issue])).into());
        }
        Err(crate::venue::StartError::Failed(e)) => return Err(e),
    };
    let trading_here: Vec<&crate::config::StrategyConfig> =
        config.strategies.iter().filter(|s| s.enabled && s.venue_name == venue.name()).collect();
    let mut symbols: Vec<String> =
        trading_here.iter().flat_map(|s| s.instance.symbols.iter().map(|x| x.to_string())).collect();
    symbols.sort();
    symbols.dedup();
    crate::ops::series::venue_at_zero(venue.name(), &symbols);
    for s in &trading_here {
        crate::ops::series::strategy_at_zero(&s.instance.name, venue.name());
    }
    // A strategy on a symbol the venue does not list would run and never trade: refuse.
    let unlisted: Vec<crate::config::ConfigIssue> = config
        .strategies
        .iter()
        .filter(|s| s.enabled && s.venue_name == venue.name())
        .flat_map(|s| s.instance.symbols.iter().enumerate().map(move |(i, symbol)| (s, i, symbol)))
        .filter(|(_, _, symbol)| !connection.instruments.iter().any(|spec| spec.symbol == **symbol))
        .map(|(s, i, symbol)| {
            crate::config::ConfigIssue::new(
                &s.file,
                Some(&format!("symbols[{i}]")),
                format!("{symbol} is not listed on venue {:?}", venue.name()),
            )
        })
        .collect();
    if !unlisted.is_empty() {
        return Err(ConfigRefused(crate::config::ConfigErrors(unlisted)).into());
    }
    // The rules now, so restored positions can tell base-asset fees (the queued copy follows).
    engine.handle(engine::EngineInput::Instruments(id, connection.instruments.clone()));
    engine.add_venue(id, connection.client);
    Ok(StartedVenue {
        name: venue.name().to_owned(),
        id,
        feeds: connection.feeds,
        subscribed,
        keys: connection.keys,
        key_fingerprint: connection.key_fingerprint,
        reconciled: connection.recovered,
        adopted: connection.adopted,
        exec_task: connection.exec_task,
        tasks: connection.tasks,
        sim: connection.sim,
    })
}

/// Merges every instance's subscriptions on one venue into one spec per symbol.
pub(crate) fn feed_specs(engine: &Engine, venue: VenueId) -> Vec<FeedSpec> {
    crate::venue::feed::of_subscriptions(engine.subscriptions(), venue)
}
