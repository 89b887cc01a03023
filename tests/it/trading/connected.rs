//! A venue connected to a simulator through its connector's `connect`,
//! journaling to a scratch file, as the Bybit and OKX end-to-end tests
//! drive it: what it delivers, read in order; requests submitted; a stop
//! the way the daemon stops.

use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tradewind::engine::EngineInput;
use tradewind::execution::ExecRequest;
use tradewind::journal::Journal;
use tradewind::sink::Deliveries;
use tradewind::venue::feed::FeedSpec;
use tradewind::venue::sim::SimHandle;
use tradewind::venue::{StartError, Started, VenueContext};
use tradewind_strategies::sdk::{ClientOrderId, OrderUpdate};

use super::{PATIENCE, venue};

pub struct Harness {
    pub sim: SimHandle,
    pub started: Started,
    rx: mpsc::Receiver<EngineInput>,
    shutdown: CancellationToken,
    dir: tempfile::TempDir,
    journal: std::path::PathBuf,
    /// The journal the venue writes to, flushed before the stop returns.
    writer: Journal,
}

impl Harness {
    /// Connects `sim`'s venue with `connect` (given the venue's context), subscribing `feeds`.
    pub async fn connect<F, Fut>(sim: SimHandle, feeds: Vec<FeedSpec>, connect: F) -> Self
    where
        F: FnOnce(VenueContext) -> Fut,
        Fut: std::future::Future<Output = Result<Started, StartError>>,
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let (journal, recovered) = Journal::open(&path).unwrap();
        let shutdown = CancellationToken::new();
        let (tx, rx) = mpsc::channel(100_000);
        let writer = journal.clone();
        let cx = VenueContext {
            id: venue(),
            config_dir: dir.path().to_owned(),
            journal,
            open: recovered.open,
            unjournaled: recovered.unjournaled,
            traders: Vec::new(),
            feeds,
            host: Deliveries::queue(tx),
            shutdown: shutdown.clone(),
        };
        let started = connect(cx).await.unwrap();
        Harness { sim, started, rx, shutdown, dir, journal: path, writer }
    }

    /// The next input that `pick` accepts (others are skipped).
    pub async fn next<T>(&mut self, mut pick: impl FnMut(EngineInput) -> Option<T>) -> T {
        let wait = async {
            loop {
                if let Some(t) = pick(self.rx.recv().await.expect("the venue is still running")) {
                    return t;
                }
            }
        };
        tokio::time::timeout(PATIENCE, wait).await.expect("the expected event arrived")
    }

    pub async fn update(&mut self, id: ClientOrderId) -> OrderUpdate {
        self.next(|i| match i {
            EngineInput::Order(u) if *u.id() == id => Some(*u),
            _ => None,
        })
        .await
    }

    /// The updates of order `id` up to its terminal one.
    pub async fn until_done(&mut self, id: ClientOrderId) -> Vec<OrderUpdate> {
        let mut updates = Vec::new();
        loop {
            let u = self.update(id).await;
            let done = u.is_terminal();
            updates.push(u);
            if done {
                return updates;
            }
        }
    }

    pub fn submit(&mut self, request: ExecRequest) {
        self.started.client.submit(request).unwrap();
    }

    /// Stops the venue the way the daemon does, the journal written out;
    /// the journal's path, to reopen.
    pub async fn stop(self) -> (std::path::PathBuf, tempfile::TempDir) {
        self.shutdown.cancel();
        drop(self.started.client);
        let _ = self.started.exec_task.await;
        for t in self.started.tasks {
            let _ = t.await;
        }
        self.writer.flush().await;
        self.sim.stop().await;
        (self.journal, self.dir)
    }
}

pub fn filled_qty(updates: &[OrderUpdate]) -> Decimal {
    updates.iter().filter_map(|u| u.fill()).map(|f| f.qty.get()).sum()
}
