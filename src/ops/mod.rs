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
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::app::Phase;

pub mod api;
pub mod client;

/// The process's Prometheus recorder (installed on first use).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what it records");
        }
        handle
    })
}

#[derive(Clone)]
struct OpsState {
    phase: watch::Receiver<Phase>,
}

/// Serves the ops endpoints until `shutdown`; returns the bound address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    phase: watch::Receiver<Phase>,
    api: api::ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    metrics_handle();
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { metrics_handle().render() }))
        .with_state(OpsState { phase })
        .merge(api::router(api));
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "ops server failed");
        }
    });
    tracing::info!(%addr, paths = "/healthz /readyz /metrics /v1", "ops endpoints listening");
    Ok((addr, task))
}

/// 200 once the daemon trades (venues connected, strategies running); 503 with the phase otherwise.
async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    let phase = *state.phase.borrow();
    let body = axum::Json(serde_json::json!({ "phase": phase }));
    if phase == Phase::Running { (StatusCode::OK, body) } else { (StatusCode::SERVICE_UNAVAILABLE, body) }
}

/// Tells systemd the daemon is ready, with a one-line status.
pub fn notify_ready(status: &str) {
    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status(status)]);
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
            let age = crate::engine::wall_clock_now().0 - heartbeat.load(Ordering::Relaxed);
            if age < i64::try_from(interval.as_millis()).unwrap_or(i64::MAX) {
                notify(&[sd_notify::NotifyState::Watchdog]);
            } else {
                tracing::error!(heartbeat_age_ms = age, "engine loop stalled; withholding the watchdog ping");
            }
        }
    }))
}

/// How often the status line is refreshed.
pub const STATUS_EVERY: Duration = Duration::from_secs(10);
