//! Operations: the HTTP endpoints operators and monitoring scrape
//! (`/healthz`, `/readyz`, `/metrics` and the control API [`api`] under
//! `/v1`, all on `[ops] listen`), the Prometheus
//! recorder every module's `metrics::counter!` calls feed, and systemd
//! notification (READY, STATUS, STOPPING, and WATCHDOG driven by the
//! engine's heartbeat, so a stuck engine gets restarted). Changes no trading
//! state. Without systemd (`NOTIFY_SOCKET` unset) notifications are no-ops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::engine::EngineInput;
use crate::engine::control::{self, Command, Reply};
use crate::lifecycle::Phase;
use crate::risk::TradingState;

pub mod api;
pub mod client;
pub mod report;
pub mod series;

/// The process's Prometheus recorder (installed on first use).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Latency histograms (seconds): 100 µs to 10 s.
        const BUCKETS: &[f64] =
            &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let builder = PrometheusBuilder::new().set_buckets(BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what it records");
        }
        series::describe();
        handle
    })
}

/// `/metrics`: the recorder's metrics, then the per-event latency histograms.
fn render_metrics() -> String {
    let mut text = metrics_handle().render();
    crate::latency::render_prometheus(&mut text);
    text
}

#[derive(Clone)]
struct OpsState {
    phase: watch::Receiver<Phase>,
    trading: watch::Receiver<TradingState>,
    /// Feeds live and books synced (from the engine).
    feeds: watch::Receiver<crate::engine::Readiness>,
}

/// Serves the ops endpoints until `shutdown`; returns the bound address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    phase: watch::Receiver<Phase>,
    trading: watch::Receiver<TradingState>,
    feeds: watch::Receiver<crate::engine::Readiness>,
    api: api::ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    metrics_handle();
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { render_metrics() }))
        .with_state(OpsState { phase, trading, feeds })
        .merge(api::router(api));
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "ops server failed");
        }
    });
    tracing::info!(%addr, paths = "/healthz /readyz /metrics /v1", "ops endpoints listening");
    Ok((addr, task))
}

/// 200 while the daemon trades (running, feeds live, books synced, not
/// halted); 503 with what is missing otherwise.
async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    let phase = *state.phase.borrow();
    let trading = *state.trading.borrow();
    let feeds = state.feeds.borrow().clone();
    let live = feeds.is_live();
    let body = axum::Json(serde_json::json!({
        "phase": phase, "trading_state": trading, "feeds_live": live, "missing": feeds.missing,
    }));
    let ready = phase == Phase::Running && trading != TradingState::Halted && live;
    if ready { (StatusCode::OK, body) } else { (StatusCode::SERVICE_UNAVAILABLE, body) }
}

/// Tells systemd the daemon is ready, with a one-line status.
pub fn notify_ready(status: &str) {
    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status(status)]);
}

pub fn notify_reloading() {
    notify(&[sd_notify::NotifyState::Reloading, sd_notify::NotifyState::Status("reloading")]);
}

pub fn notify_stopping() {
    notify(&[sd_notify::NotifyState::Stopping, sd_notify::NotifyState::Status("draining")]);
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Pings the systemd watchdog at half its interval, but only while the engine's
/// heartbeat (its timer tick, in wall-clock ms) is fresh: a stuck engine stops
/// the pings and systemd restarts the service.
pub fn spawn_watchdog(heartbeat: Arc<AtomicI64>, shutdown: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()?;
    let every = interval / 2;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let age = crate::clock::now().0 - heartbeat.load(Ordering::Relaxed);
            if age < i64::try_from(interval.as_millis()).unwrap_or(i64::MAX) {
                notify(&[sd_notify::NotifyState::Watchdog]);
            } else {
                tracing::error!(heartbeat_age_ms = age, "engine loop stalled; withholding the watchdog ping");
            }
        }
    }))
}

/// How often the status line is refreshed.
pub const STATUS_EVERY: Duration = Duration::from_secs(5);

/// While the daemon runs, refreshes systemd's one-line `STATUS=` (strategies,
/// open orders, PnL) and the trading state `/readyz` reports, from an engine
/// snapshot every [`STATUS_EVERY`].
pub fn spawn_status(
    engine: mpsc::Sender<EngineInput>,
    journal: Option<crate::journal::Journal>,
    mut phase: watch::Receiver<Phase>,
    trading: watch::Sender<TradingState>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STATUS_EVERY);
        let mut last_summary = tokio::time::Instant::now();
        let mut last_snapshot = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
                // At once when the daemon starts running.
                changed = phase.changed() => if changed.is_err() { return },
            }
            // Histogram samples queue up until the exporter folds them in: without this
            // (and without anyone scraping /metrics) they would grow without bound.
            metrics_handle().run_upkeep();
            let now = *phase.borrow();
            if now != Phase::Running {
                continue;
            }
            let Ok(Ok(Reply::Snapshot(snapshot))) = control::ask(&engine, Command::Snapshot, STATUS_EVERY).await else {
                continue;
            };
            let status = api::Status::of(&snapshot, now, started.elapsed().as_secs());
            trading.send_replace(status.trading_state);
            export_gauges(&snapshot);
            if last_summary.elapsed() >= SUMMARY_EVERY {
                last_summary = tokio::time::Instant::now();
                log_positions(&snapshot);
            }
            if let Some(journal) = &journal {
                metrics::gauge!("tradewind_journal_queue").set(journal.queued() as f64);
                if last_snapshot.is_none_or(|t: tokio::time::Instant| t.elapsed() >= SNAPSHOT_EVERY) {
                    last_snapshot = Some(tokio::time::Instant::now());
                    let body = serde_json::json!({ "positions": snapshot.positions, "balances": snapshot.balances });
                    let time_ms = crate::clock::now().0;
                    journal.write_nowait(crate::journal::Record::Snapshot { time_ms, body: body.to_string() });
                }
            }
            notify(&[sd_notify::NotifyState::Status(&status_line(&status))]);
        }
    })
}

/// How often positions and balances are journaled.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(60);

/// How often the positions summary is logged.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(30);

/// One log line per strategy and position: what an operator tailing the log wants to see.
fn log_positions(snapshot: &control::Snapshot) {
    for s in &snapshot.strategies {
        tracing::info!(
            strategy = %s.name,
            open_orders = s.open_orders,
            realized_pnl = %s.realized_pnl.normalize(),
            unrealized_pnl = %s.unrealized_pnl.normalize(),
            fees = %s.fees.normalize(),
            "strategy summary"
        );
    }
    for p in &snapshot.positions {
        tracing::info!(
            strategy = %p.strategy,
            venue = %p.venue,
            symbol = %p.symbol,
            qty = %p.qty.normalize(),
            avg_entry = %p.avg_entry.map(|d| d.normalize().to_string()).unwrap_or_default(),
            "position"
        );
    }
}

/// Per-strategy positions, PnL and open orders, and the process's memory, as gauges.
fn export_gauges(snapshot: &control::Snapshot) {
    use rust_decimal::prelude::ToPrimitive;
    let f = |d: rust_decimal::Decimal| d.to_f64().unwrap_or(f64::NAN);
    for s in &snapshot.strategies {
        metrics::gauge!("tradewind_pnl_realized", "strategy" => s.name.clone()).set(f(s.realized_pnl));
        metrics::gauge!("tradewind_pnl_unrealized", "strategy" => s.name.clone()).set(f(s.unrealized_pnl));
        metrics::gauge!("tradewind_fees", "strategy" => s.name.clone()).set(f(s.fees));
        metrics::gauge!("tradewind_open_orders", "strategy" => s.name.clone()).set(s.open_orders as f64);
    }
    for p in &snapshot.positions {
        let labels = [("strategy", p.strategy.clone()), ("venue", p.venue.clone()), ("symbol", p.symbol.clone())];
        metrics::gauge!("tradewind_position", &labels).set(f(p.qty));
    }
    if let Some(rss) = resident_bytes() {
        metrics::gauge!("tradewind_process_resident_memory_bytes").set(rss as f64);
    }
}

/// The process's resident set size, from `/proc/self/statm` (Linux).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `running, trading active: 3 strategies (3 running), 12 open orders, PnL realised 1.2 unrealised -0.4 fees 0.1`.
pub fn status_line(s: &api::Status) -> String {
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    format!(
        "{}, trading {}: {} strategies ({} running), {} open orders, PnL realised {} unrealised {} fees {}",
        name(serde_json::to_value(s.phase).unwrap_or_default()),
        name(serde_json::to_value(s.trading_state).unwrap_or_default()),
        s.strategies,
        s.strategies_running,
        s.open_orders,
        s.realized_pnl.normalize(),
        s.unrealized_pnl.normalize(),
        s.fees.normalize()
    )
}
