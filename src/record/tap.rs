//! The daemon's recorder (`[record]`): a market consumer in front of the
//! engine that hands a copy of every event the engine takes, stamped with
//! the wall-clock time it was taken (µs), to a writer thread. The writer
//! writes a block at least every second, so a crash loses at most that
//! second. Recording never slows trading: the queue to the writer is
//! bounded, and an event it has no room for is counted
//! (`tradewind_record_dropped_total`) and said in the log, not waited for.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use tradewind_strategies::sdk::MarketEvent;

use super::{RecordError, Recorder};
use crate::sink::{MarketConsumer, Offer};

/// Events waiting for the writer.
const QUEUE: usize = 262_144;

/// Wall-clock µs since the epoch.
pub fn now_us() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// A market consumer that records what `inner` takes.
pub struct Tap {
    inner: Arc<dyn MarketConsumer>,
    tx: SyncSender<(i64, MarketEvent)>,
    dropped: AtomicU64,
}

impl MarketConsumer for Tap {
    fn offer(&self, event: MarketEvent, received: Option<std::time::Instant>) -> Offer {
        let copy = event.clone();
        let offer = self.inner.offer(event, received);
        if let Offer::Taken { .. } = offer {
            match self.tx.try_send((now_us(), copy)) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    metrics::counter!("tradewind_record_dropped_total").increment(1);
                    if self.dropped.fetch_add(1, Ordering::Relaxed).is_power_of_two() {
                        tracing::warn!(
                            dropped = self.dropped.load(Ordering::Relaxed),
                            "the recorder falls behind: events not recorded"
                        );
                    }
                }
                // The writer stopped (its error is in the log).
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
        offer
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.inner.ready()
    }
}

/// Starts recording under `dir` in front of `inner`: the consumer to give the
/// venues, and the writer thread (it ends, having written everything, once
/// the consumer is dropped).
pub fn start(
    dir: &Path,
    inner: Arc<dyn MarketConsumer>,
) -> Result<(Arc<Tap>, std::thread::JoinHandle<()>), RecordError> {
    let recorder = Recorder::new(dir)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let writer = std::thread::Builder::new()
        .name("tradewind-recorder".into())
        .spawn(move || write(recorder, rx))
        .map_err(|source| RecordError::Io { path: dir.to_owned(), source })?;
    tracing::info!(dir = %dir.display(), "recording market data");
    Ok((Arc::new(Tap { inner, tx, dropped: AtomicU64::new(0) }), writer))
}

fn write(mut recorder: Recorder, rx: Receiver<(i64, MarketEvent)>) {
    loop {
        let result = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok((at, event)) => {
                metrics::counter!("tradewind_record_events_total").increment(1);
                recorder.record(at, &event)
            }
            Err(RecvTimeoutError::Timeout) => recorder.flush(),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "recording stopped");
            return;
        }
    }
    if let Err(e) = recorder.flush() {
        tracing::error!(error = %e, "the last recorded block could not be written");
    }
}

#[cfg(test)]
mod tests {
    use tradewind_strategies::sdk::{Connectivity, VenueId};

    use super::*;

    /// Takes every other event.
    struct Alternate(AtomicU64);

    impl MarketConsumer for Alternate {
        fn offer(&self, event: MarketEvent, _: Option<std::time::Instant>) -> Offer {
            if self.0.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                Offer::Taken { requested: false }
            } else {
                Offer::Back(event)
            }
        }

        fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            Box::pin(async {})
        }
    }

    #[test]
    fn what_the_engine_takes_is_recorded_once_and_what_it_gives_back_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (tap, writer) = start(dir.path(), Arc::new(Alternate(AtomicU64::new(0)))).unwrap();
        let venue = VenueId::new("sim").unwrap();
        let before = now_us();
        for up in [true, false, false, true] {
            let _ = tap.offer(MarketEvent::Connectivity(Connectivity { venue, up }), None);
        }
        drop(tap);
        writer.join().unwrap();
        // One file, or two if an hour began meanwhile.
        let recorded = super::super::read_folder(dir.path());
        assert!(recorded.iter().all(|(at, _)| *at >= before && *at <= now_us()));
        let got: Vec<MarketEvent> = recorded.into_iter().map(|(_, e)| e).collect();
        let up = |up| MarketEvent::Connectivity(Connectivity { venue, up });
        assert_eq!(got, [up(true), up(false)], "the first and third offers were taken");
    }
}
