//! `tradewind record`: the market data the configured strategies subscribe
//! to, from every venue they use, recorded under a folder (the format of
//! `crate::record`) without trading. The strategies are built only to ask
//! what they subscribe to; none runs. Exchange venues connect without their
//! keys (market data only); a simulated venue starts as it does for `run`.
//! Stops on SIGINT/SIGTERM, having written everything received.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{MarketEvent, VenueId};

use crate::config::Config;
use crate::journal::Journal;
use crate::sink::{Deliveries, MarketConsumer, Offer, Sink};

/// Takes every event (the recorder's tap keeps the copy).
struct Discard;

impl MarketConsumer for Discard {
    fn offer(&self, _: MarketEvent, _: Option<std::time::Instant>) -> Offer {
        Offer::Taken { requested: false }
    }

    fn ready(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}

/// Records until `shutdown`, under `out` (or `[record] dir`).
pub async fn record(config: Config, out: Option<PathBuf>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let dir = out
        .or_else(|| config.record.as_ref().map(|r| r.dir.clone()))
        .ok_or_else(|| anyhow::anyhow!("no folder to record to: give --out DIR or set [record] dir"))?;
    let engine = super::build_engine(&config, &std::collections::HashMap::new());
    let (tap, writer) = crate::record::tap::start(&dir, Arc::new(Discard))?;
    // The venues' starts want a journal: one of this recording's own, in a folder beside its files.
    let journal_dir = dir.join("journal");
    std::fs::create_dir_all(&journal_dir)?;
    let (journal, _) = Journal::open(&journal_dir.join("record.db"))?;
    let (events_tx, mut events_rx) = mpsc::channel::<crate::engine::EngineInput>(1024);
    tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
    let venues_shutdown = CancellationToken::new();
    let mut venues = Vec::new();
    for venue in &config.venues {
        let id = VenueId::new(venue.name()).map_err(|e| anyhow::anyhow!("bad venue name: {e}"))?;
        let feeds = super::feed_specs(&engine, id);
        if feeds.is_empty() {
            continue;
        }
        let channels: Vec<String> = feeds.iter().flat_map(crate::venue::feed::FeedSpec::channels).collect();
        tracing::info!(venue = %id, ?channels, "recording");
        let cx = crate::venue::VenueContext {
            id,
            config_dir: config.file.parent().unwrap_or(std::path::Path::new(".")).to_owned(),
            journal: journal.clone(),
            open: Vec::new(),
            unjournaled: Vec::new(),
            traders: Vec::new(),
            feeds,
            host: Deliveries { market: tap.clone(), events: Sink::channel(events_tx.clone()) },
            shutdown: venues_shutdown.clone(),
        };
        let keyless = venue.without_credentials();
        let started = tokio::select! {
            _ = shutdown.cancelled() => break,
            started = crate::venue::start(&keyless, cx) => started,
        };
        venues.push(started.map_err(|e| anyhow::anyhow!("venue {:?} did not start: {e}", venue.name()))?);
    }
    if venues.is_empty() && !shutdown.is_cancelled() {
        anyhow::bail!("no enabled strategy subscribes to anything: nothing to record");
    }
    crate::ops::notify_ready("recording");
    tracing::info!(dir = %dir.display(), venues = venues.len(), "running");
    shutdown.cancelled().await;
    tracing::info!("shutting down");
    venues_shutdown.cancel();
    for v in venues {
        drop(v.client);
        let _ = v.exec_task.await;
        for task in v.tasks {
            let _ = task.await;
        }
        if let Some(sim) = v.sim {
            sim.stop().await;
        }
    }
    drop(tap);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    journal.flush().await;
    tracing::info!("stopped");
    Ok(())
}
