//! Wiring: builds the engine and venues from a [`Config`], runs them until
//! shutdown, and publishes the lifecycle [`Phase`] on a `watch` channel that
//! health checks and tests observe. Parses no exchange data.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::Strategy;

use crate::config::{Config, Environment, VenueConfig};
use crate::engine::{self, Engine};
use crate::risk::RiskManager;

/// Where the daemon is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Starting,
    Running,
    Reloading,
    Draining,
    Stopped,
}

/// Why the daemon refused to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("venue {0:?} is on mainnet (real money): set runtime.live = true or pass --live to trade on it")]
    LiveNotConfirmed(String),
}

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
        if let VenueConfig::Binance(b) = venue
            && b.environment == Environment::Mainnet
            && !live
        {
            return Err(StartError::LiveNotConfirmed(b.name.clone()));
        }
    }
    Ok(())
}

/// Builds the engine with every enabled strategy instance.
pub fn build_engine(config: &Config) -> Engine {
    let mut engine = Engine::new(RiskManager::new(config.risk.clone()));
    // Client order ids must not repeat across restarts; until the journal
    // keeps each instance's sequence, start it at the wall-clock millisecond.
    let first_seq = u64::try_from(engine::wall_clock_now().as_millis()).unwrap_or(1);
    for s in config.strategies.iter().filter(|s| s.enabled) {
        let strategy: Box<dyn Strategy> = s.params.build(&s.instance);
        tracing::info!(
            strategy = %s.instance.name,
            kind = s.params.kind(),
            venue = %s.instance.venue,
            summary = %s.params.summary(),
            "strategy loaded"
        );
        engine.add_instance(&s.instance.name, strategy, first_seq);
    }
    engine
}

/// Runs the daemon until `shutdown` fires; returns once everything drained.
pub async fn run(
    config: Config,
    options: RunOptions,
    shutdown: CancellationToken,
    phase: watch::Sender<Phase>,
) -> anyhow::Result<()> {
    check_live(&config, options)?;
    phase.send_replace(Phase::Starting);
    let engine = build_engine(&config);
    let (_engine_tx, engine_rx) = mpsc::channel(config.runtime.engine_queue);
    for venue in &config.venues {
        tracing::warn!(
            venue = venue.name(),
            kind = venue.kind(),
            "this build has no connector for this venue kind yet; strategies on it receive no market data"
        );
    }
    let engine_task = tokio::spawn(engine::run(
        engine,
        engine_rx,
        Duration::from_millis(config.runtime.timer_interval_ms),
        config.runtime.cancel_on_shutdown,
        shutdown.clone(),
    ));
    phase.send_replace(Phase::Running);
    tracing::info!(strategies = config.strategies.len(), venues = config.venues.len(), "running");

    shutdown.cancelled().await;
    phase.send_replace(Phase::Draining);
    tracing::info!("shutting down");
    let deadline = Duration::from_secs(config.runtime.shutdown_timeout_secs);
    match tokio::time::timeout(deadline, engine_task).await {
        Ok(Ok(engine)) => {
            for info in engine.instances() {
                tracing::info!(strategy = %info.name, status = ?info.status, open_orders = info.open_orders, "strategy stopped");
            }
        }
        Ok(Err(e)) => anyhow::bail!("engine task failed: {e}"),
        Err(_) => anyhow::bail!("engine did not stop within {deadline:?}"),
    }
    phase.send_replace(Phase::Stopped);
    tracing::info!("stopped");
    Ok(())
}
