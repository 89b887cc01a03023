//! The journal: every order intent, every order state change and every fill,
//! in SQLite (WAL, `synchronous=FULL`). After a crash or restart it gives back
//! what the daemon needs before any strategy runs: each instance's next client
//! order sequence number, the orders that were still open (or in flight), the
//! fills that make up the positions, and the client order ids that may have
//! reached the venue without their intent being committed.
//!
//! Intents are queued just before their request leaves, not waited for: an
//! fsync (0.4–0.9 ms here) on every order's path would be most of its
//! latency. What makes that safe is the *lease* ([`Record::Lease`]): before an
//! instance sends an id, a committed lease covers it (its sequence number and
//! its symbol), and says from which id on intents may be missing (every
//! intent queued before it is below its `first`). After a crash, the ids of
//! the last committed lease that have no intent are exactly the ones that may
//! be on the venue unjournaled; reconciliation asks the venue about each,
//! adopts what it finds, and new ids start above the lease, so none is ever
//! used twice.
//! Leases are taken ahead of need, a block at a time, so the order path
//! waits for a commit only when a burst outruns them.
//!
//! SQLite runs on a thread of its own; callers talk to it through a bounded
//! queue. [`Journal::write`] resolves once the record is committed (leases,
//! account binding); [`Journal::write_nowait`] queues and returns (intents,
//! updates, fills). Records are committed in the order they were queued, and
//! consecutive records together, so durability costs one fsync per batch,
//! not per record.

mod recover;
mod schema;
mod writer;

pub use schema::check_readable;

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;
use tradewind_strategies::sdk::{ClientOrderId, Fill, NewOrder, OpenOrder, Symbol, TradeId, VenueOrderId, owner};

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("journal {path}: {message}")]
    Io { path: String, message: String },
    #[error("journal {path}: a SQLite database that is not a Tradewind journal; refusing to touch it")]
    Foreign { path: String },
    #[error("journal {path}: schema version {found} is newer than this build knows ({known})")]
    TooNew { path: String, found: i64, known: i64 },
    #[error(
        "journal {path} belongs to venue {venue:?} at {recorded}, but the venue now is {found}; \
         refusing to mix two accounts' orders (use another [journal] path)"
    )]
    OtherAccount { path: String, venue: String, recorded: String, found: String },
    #[error(
        "journal {path} is in use by another tradewind process ({holder}); two daemons on one journal \
         would both trade the account: stop the other one, or give this one its own [journal] path"
    )]
    Locked { path: String, holder: String },
    #[error("the journal thread has stopped")]
    Stopped,
    #[error("journal {path}: an order intent could not be committed; no new orders until a restart")]
    IntentLost { path: String },
    #[error("journal {path}: the write queue is full")]
    Full { path: String },
    #[error("journal {path}: {source}")]
    Owners { path: String, source: owner::CodeClash },
    #[error("journal record: {0}")]
    Encode(String),
}

/// What the journal records.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A new order, queued before its request is sent.
    Intent {
        id: ClientOrderId,
        order: NewOrder,
        time_ms: i64,
    },
    /// An order's state changed (`accepted`, `canceled`, `rejected`, `expired`, `denied`, `unknown`, `filled`).
    State {
        id: ClientOrderId,
        state: &'static str,
        venue_order_id: Option<VenueOrderId>,
        reason: Option<String>,
        time_ms: i64,
    },
    Fill(Fill),
    /// Something happened to an order that leaves its state as it was (an
    /// amend, applied or refused): a line of its history.
    Event {
        id: ClientOrderId,
        event: &'static str,
        reason: Option<String>,
        time_ms: i64,
    },
    /// An open order's terms changed in place (an amend): `order` is what it is now.
    Terms {
        id: ClientOrderId,
        order: NewOrder,
        time_ms: i64,
    },
    /// Positions and balances at `time_ms` (JSON); the newest [`SNAPSHOTS_KEPT`] are kept.
    Snapshot {
        time_ms: i64,
        body: String,
    },
    /// Instance `instance` may send client order ids with sequence numbers
    /// `first..=upto` on `symbols` of `venue` before their intents are
    /// committed; every intent queued before this record has a lower sequence
    /// number than `first` (or is one still being settled after a crash), so
    /// once it is committed they are too. Replaces the instance's earlier
    /// lease on the venue (a clean stop shrinks it to nothing new).
    Lease(Lease),
    /// The state strategy instance `instance` saved (JSON); replaces its earlier one.
    StrategyState {
        instance: String,
        body: String,
        time_ms: i64,
    },
}

/// A lease on client order ids (see [`Record::Lease`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub venue: String,
    pub instance: String,
    pub first: u64,
    pub upto: u64,
    pub symbols: Vec<Symbol>,
}

/// Ids of a lease that may have reached the venue without a committed intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unjournaled {
    pub lease: Lease,
    /// The lease's sequence numbers the journal has no intent for, ascending.
    pub seqs: Vec<u64>,
    /// The lease was written for ids of the earlier form (`tw-<instance>-<seq>`).
    pub legacy_ids: bool,
}

impl Unjournaled {
    /// The client order ids in question.
    pub fn ids(&self) -> impl Iterator<Item = ClientOrderId> + '_ {
        let instance = &self.lease.instance;
        self.seqs.iter().filter_map(move |&seq| match self.legacy_ids {
            true => ClientOrderId::new(&format!("tw-{instance}-{seq}")).ok(),
            false => ClientOrderId::for_instance(instance, seq).ok(),
        })
    }
}

/// The most ids of one lease read back at a restart. Tradewind's own leases
/// span a few dozen; a wider one was not written by it, and only its top is read.
const LEASE_SPAN_READ: u64 = 1_024;

/// Snapshots kept in the journal (a day at one a minute).
pub const SNAPSHOTS_KEPT: i64 = 1_440;

/// An order that was open (or in flight) when the daemon stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenEntry {
    pub instance: String,
    pub order: OpenOrder,
    pub venue_order_id: Option<VenueOrderId>,
    pub state: String,
    /// Trade ids already applied (so a fill is never counted twice).
    pub trade_ids: Vec<TradeId>,
    /// When its intent was journaled (wall-clock ms), just before its request left.
    pub created_ms: i64,
}

/// What a restart needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    /// Next client order sequence number per instance.
    pub next_seq: HashMap<String, u64>,
    pub open: Vec<OpenEntry>,
    /// Every fill, per instance, oldest first.
    pub fills: Vec<(String, Fill)>,
    /// Orders whose row said open but whose fills were all journaled (a crash
    /// came between the last fill and the state): marked filled at open.
    pub completed: Vec<String>,
    /// Leases with ids the journal has no intent for: the venue is asked about them.
    pub unjournaled: Vec<Unjournaled>,
    /// The last state each instance saved (JSON), by instance.
    pub states: HashMap<String, String>,
}

impl Recovered {
    /// What instance `name` gets back at its start: its fills (oldest first) and
    /// its saved state; `None` if the journal knows nothing of it.
    pub fn restored(&self, name: &str) -> Option<tradewind_strategies::sdk::Restored> {
        let fills: Vec<Fill> = self.fills.iter().filter(|(i, _)| i == name).map(|(_, f)| *f).collect();
        let state = self.states.get(name).cloned();
        let ran = !fills.is_empty() || state.is_some() || self.next_seq.contains_key(name);
        ran.then_some(tradewind_strategies::sdk::Restored { fills, state })
    }
}

enum Job {
    Write(Record, Option<oneshot::Sender<Result<(), String>>>),
    Flush(oneshot::Sender<()>),
    /// Records (or checks) which account a venue name stands for.
    Bind {
        venue: String,
        account: String,
        done: oneshot::Sender<Result<(), JournalError>>,
    },
}

/// Takes the journal's lock file (`<journal>.lock`, holding the pid), so that
/// a second daemon on the same journal refuses to start. The operating system
/// releases it when the process ends, however it ends.
fn lock(path: &Path) -> Result<std::fs::File, JournalError> {
    use std::io::{Read, Seek, Write};
    let lock_path = path.with_file_name(format!(
        "{}.lock",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let shown = path.display().to_string();
    let io = |e: std::io::Error| JournalError::Io { path: lock_path.display().to_string(), message: e.to_string() };
    let mut file =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&lock_path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "pid unknown".to_owned(),
                pid => format!("pid {pid}"),
            };
            return Err(JournalError::Locked { path: shown, holder });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(file)
}

/// The handle; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: Queue,
    path: std::sync::Arc<str>,
    /// Records queued and not yet committed.
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Records queued and not yet committed at most ([`QUEUE`]; tests set less).
    capacity: usize,
    /// Set for good when a batch holding an intent or a lease failed to commit:
    /// from then on no intent is taken (see [`Journal::queue`]).
    intent_lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The lock file, held while any handle is open ([`lock`]).
    _lock: std::sync::Arc<std::fs::File>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

/// The write queue's sending end. The writer thread sleeps (parked) until a
/// sender wakes it, so a record can be queued now and the writer woken a
/// moment later ([`Journal::queue_quietly`]): waking a sleeping thread is a
/// system call that costs microseconds, which an order on its way out should
/// not wait for.
struct Queue {
    /// Taken when this handle is dropped, just before the writer is woken to see it gone.
    tx: Option<std::sync::mpsc::Sender<Job>>,
    writer: std::thread::Thread,
}

impl Queue {
    /// Queues `job` without waking the writer.
    fn push(&self, job: Job) -> Result<(), JournalError> {
        self.tx.as_ref().ok_or(JournalError::Stopped)?.send(job).map_err(|_| JournalError::Stopped)
    }

    /// Queues `job` and wakes the writer.
    fn send(&self, job: Job) -> Result<(), JournalError> {
        self.push(job)?;
        self.writer.unpark();
        Ok(())
    }
}

impl Clone for Queue {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone(), writer: self.writer.clone() }
    }
}

impl Drop for Queue {
    /// The writer ends once every handle is gone: it must wake to see that.
    fn drop(&mut self) {
        drop(self.tx.take());
        self.writer.unpark();
    }
}

/// Wakes the journal's writer when dropped (see [`Journal::queue_quietly`]).
#[must_use = "the writer is woken when this is dropped"]
#[derive(Default)]
pub struct Wake(Option<std::thread::Thread>);

impl Drop for Wake {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            writer.unpark();
        }
    }
}

/// Records queued and not yet committed at most; past it, records are
/// refused (`Full`). The queue itself grows as needed: a channel made with
/// room for all of them up front took 13 MB of a 34 MB daemon.
const QUEUE: usize = 65_536;

impl Journal {
    /// Opens (or creates) the journal, migrates it, and reads what a restart needs.
    pub fn open(path: &Path) -> Result<(Journal, Recovered), JournalError> {
        Self::open_with(path, |_| Ok(()))
    }

    /// [`open`](Self::open), with `prepare` run on the connection once migrated
    /// (tests use it to make the disk "full").
    fn open_with(
        path: &Path,
        prepare: impl FnOnce(&Connection) -> rusqlite::Result<()>,
    ) -> Result<(Journal, Recovered), JournalError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| JournalError::Io { path: shown.clone(), message: e.to_string() })?;
        }
        let lock = lock(path)?;
        let sqlite = |source| JournalError::Sqlite { path: shown.clone(), source };
        let mut conn = Connection::open(path).map_err(sqlite)?;
        schema::migrate(&mut conn, &shown)?;
        prepare(&conn).map_err(sqlite)?;
        let recovered = recover::recover(&conn).map_err(sqlite)?;
        recover::register_owners(&conn, &shown)?;
        for client_id in &recovered.completed {
            conn.execute("UPDATE orders SET state = 'filled' WHERE client_id = ?1", [client_id]).map_err(sqlite)?;
            tracing::info!(client_order_id = %client_id, "journal: order completed by its fills marked filled");
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let path: std::sync::Arc<str> = shown.clone().into();
        let writer_path = path.clone();
        let queued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writer_queued = queued.clone();
        let intent_lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer_lost = intent_lost.clone();
        let writer = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer::writer(conn, rx, &writer_path, &writer_queued, &writer_lost))
            .map_err(|e| JournalError::Io { path: shown, message: e.to_string() })?;
        let tx = Queue { tx: Some(tx), writer: writer.thread().clone() };
        let lock = std::sync::Arc::new(lock);
        Ok((Journal { tx, path, queued, intent_lost, capacity: QUEUE, _lock: lock }, recovered))
    }

    /// Writes a record and waits until it is committed.
    pub async fn write(&self, record: Record) -> Result<(), JournalError> {
        self.submit(record).await
    }

    /// Queues a record now (records commit in the order they were queued);
    /// the future resolves once it is committed.
    pub fn submit(&self, record: Record) -> impl Future<Output = Result<(), JournalError>> + Send + 'static {
        let (done, wait) = oneshot::channel();
        let queued = self.enqueue(Job::Write(record, Some(done)));
        async move {
            queued?;
            wait.await.map_err(|_| JournalError::Stopped)?.map_err(JournalError::Encode)
        }
    }

    /// Queues a record; a failure is logged, never raised.
    pub fn write_nowait(&self, record: Record) {
        if let Err(e) = self.queue(record) {
            tracing::error!(error = %e, "a journal record was not written");
        }
    }

    /// Queues a record without waiting for its commit. Refused once an intent
    /// failed to commit: what the journal holds is then no longer "every
    /// intent below the highest one committed", which recovery relies on, so
    /// the daemon stops placing orders rather than go on without it.
    pub fn queue(&self, record: Record) -> Result<(), JournalError> {
        self.enqueue(self.write_job(record)?)
    }

    /// [`queue`](Self::queue), leaving the writer asleep until the returned
    /// [`Wake`] is dropped. The record is queued now, in order with every
    /// other; only its commit starts later. An order's intent is queued this
    /// way just before its request is sent, and the writer woken just after.
    pub fn queue_quietly(&self, record: Record) -> Result<Wake, JournalError> {
        self.enqueue_quietly(self.write_job(record)?)?;
        Ok(Wake(Some(self.tx.writer.clone())))
    }

    /// The job of a record queued without waiting; an intent is refused once one was lost.
    fn write_job(&self, record: Record) -> Result<Job, JournalError> {
        if self.intent_lost.load(std::sync::atomic::Ordering::Relaxed) && matches!(record, Record::Intent { .. }) {
            return Err(JournalError::IntentLost { path: self.path.to_string() });
        }
        Ok(Job::Write(record, None))
    }

    /// Queues a write and wakes the writer, unless `capacity` records already wait for their commit.
    fn enqueue(&self, job: Job) -> Result<(), JournalError> {
        self.enqueue_quietly(job)?;
        self.tx.writer.unpark();
        Ok(())
    }

    /// [`enqueue`](Self::enqueue) without waking the writer.
    fn enqueue_quietly(&self, job: Job) -> Result<(), JournalError> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.queued.fetch_add(1, Relaxed) >= self.capacity {
            self.queued.fetch_sub(1, Relaxed);
            return Err(JournalError::Full { path: self.path.to_string() });
        }
        self.tx.push(job).inspect_err(|_| {
            self.queued.fetch_sub(1, Relaxed);
        })
    }

    /// Ties venue name `venue` to `account` (e.g. `binance/testnet uid=42`) the
    /// first time; afterwards refuses a different account under that name, so
    /// one journal never mixes two accounts' orders and fills.
    pub async fn bind(&self, venue: &str, account: &str) -> Result<(), JournalError> {
        let (done, wait) = oneshot::channel();
        let job = Job::Bind { venue: venue.to_owned(), account: account.to_owned(), done };
        self.tx.send(job)?;
        wait.await.map_err(|_| JournalError::Stopped)?
    }

    /// Records queued and not yet committed (the writer's backlog).
    pub fn queued(&self) -> usize {
        self.queued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The file, as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The journal's schema version (for `tradewind` diagnostics).
pub fn schema_version(conn: &Connection) -> Option<i64> {
    conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get::<_, String>(0))
        .optional()
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests;
