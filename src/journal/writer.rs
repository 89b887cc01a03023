//! The writer thread: commits queued records in batches, in the order they
//! were queued (one fsync per batch), and answers those waited for.

use rusqlite::{Connection, OptionalExtension, params};
use tradewind_strategies::sdk::{ClientOrderId, VenueOrderId, owner};

use super::{Job, JournalError, Record, SNAPSHOTS_KEPT};

/// The `instance` and `seq` columns of client order id `id`: its owner's name
/// (the code itself if no name is registered for it) and sequence number; empty
/// and 0 for an id another client chose.
fn owner_columns(id: &ClientOrderId) -> (std::borrow::Cow<'_, str>, u64) {
    if let Some((name, seq)) = id.owner() {
        return (name.into(), seq);
    }
    match owner::parts(id.as_str()) {
        Some((code, seq)) => (code.to_string().into(), seq),
        None => ("".into(), 0),
    }
}

/// A fault for the crash test, set in the environment: the writer commits
/// this many intents, then commits nothing more (writes waited for fail as
/// if the disk had gone), so the daemon can be killed with intents handed
/// off but not committed.
const STALL_AFTER_ENV: &str = "TRADEWIND_TEST_JOURNAL_STALL_AFTER";

/// The next job, once there is one; none once every handle is gone. The
/// writer sleeps (parked) while the queue is empty: senders wake it.
fn next_job(rx: &std::sync::mpsc::Receiver<Job>) -> Option<Job> {
    loop {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(std::sync::mpsc::TryRecvError::Empty) => std::thread::park(),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
        }
    }
}

/// The writer thread: commits queued records in batches until every handle is gone.
pub(super) fn writer(
    mut conn: Connection,
    rx: std::sync::mpsc::Receiver<Job>,
    path: &str,
    queued: &std::sync::atomic::AtomicUsize,
    intent_lost: &std::sync::atomic::AtomicBool,
) {
    let mut stall_after: Option<usize> = std::env::var(STALL_AFTER_ENV).ok().and_then(|v| v.parse().ok());
    while let Some(first) = next_job(&rx) {
        if let Job::Bind { venue, account, done } = first {
            let _ = done.send(bind(&conn, path, &venue, &account));
            continue;
        }
        let mut jobs = vec![first];
        while jobs.len() < 512
            && let Ok(more) = rx.try_recv()
        {
            jobs.push(more);
        }
        if let Some(left) = &mut stall_after {
            let mut intents = jobs.iter().filter_map(|j| match j {
                Job::Write(Record::Intent { id, .. }, _) => Some(id),
                _ => None,
            });
            if let Some(held) = intents.nth(*left) {
                tracing::warn!(client_order_id = %held, env = STALL_AFTER_ENV, "journal writer stalled on purpose");
                // Drops everything from here on; the test kills the process.
                drop(jobs);
                rx.iter().for_each(drop);
                return;
            }
            *left -= jobs.iter().filter(|j| matches!(j, Job::Write(Record::Intent { .. }, _))).count();
        }
        let result = commit(&mut conn, &jobs);
        let written = jobs.iter().filter(|j| matches!(j, Job::Write(..))).count();
        queued.fetch_sub(written, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = &result {
            tracing::error!(error = %e, "journal write failed");
            if jobs.iter().any(|j| matches!(j, Job::Write(Record::Intent { .. } | Record::Lease(_), _))) {
                intent_lost.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::error!("an order intent was not committed: no new orders until a restart");
            }
        }
        for job in jobs {
            match job {
                Job::Write(_, Some(done)) => {
                    let _ = done.send(result.clone().map_err(|e| e.to_string()).map(drop));
                }
                Job::Write(_, None) => {}
                Job::Flush(done) => {
                    let _ = done.send(());
                }
                Job::Bind { venue, account, done } => {
                    let _ = done.send(bind(&conn, path, &venue, &account));
                }
            }
        }
    }
}

fn bind(conn: &Connection, path: &str, venue: &str, account: &str) -> Result<(), JournalError> {
    let sqlite = |source| JournalError::Sqlite { path: path.to_owned(), source };
    let key = format!("venue.{venue}");
    let recorded: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| r.get(0)).optional().map_err(sqlite)?;
    match recorded {
        Some(r) if r == account => Ok(()),
        Some(recorded) => Err(JournalError::OtherAccount {
            path: path.to_owned(),
            venue: venue.to_owned(),
            recorded,
            found: account.to_owned(),
        }),
        None => {
            conn.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![key, account]).map_err(sqlite)?;
            Ok(())
        }
    }
}

fn commit(conn: &mut Connection, jobs: &[Job]) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    for job in jobs {
        if let Job::Write(record, _) = job {
            apply(&tx, record).map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

fn apply(tx: &rusqlite::Transaction<'_>, record: &Record) -> Result<(), Box<dyn std::error::Error>> {
    match record {
        Record::Intent { id, order, time_ms } => {
            let (instance, seq) = owner_columns(id);
            tx.prepare_cached("INSERT OR IGNORE INTO orders (client_id, instance, seq, venue, symbol, body, state, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)")?.execute(
                params![id.as_str(), instance, seq as i64, order.venue.as_str(), order.symbol.as_str(), serde_json::to_string(order)?, time_ms],
            )?;
        }
        Record::State { id, state, venue_order_id, reason, time_ms } => {
            tx.prepare_cached(
                "UPDATE orders SET state = ?2, venue_order_id = COALESCE(?3, venue_order_id),
                   reason = COALESCE(?4, reason), updated_ms = ?5 WHERE client_id = ?1",
            )?
            .execute(params![
                id.as_str(),
                state,
                venue_order_id.as_ref().map(VenueOrderId::as_str),
                reason,
                time_ms
            ])?;
            tx.prepare_cached("INSERT INTO order_events (client_id, state, reason, time_ms) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![id.as_str(), state, reason, time_ms])?;
        }
        Record::Event { id, event, reason, time_ms } => {
            tx.prepare_cached("INSERT INTO order_events (client_id, state, reason, time_ms) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![id.as_str(), event, reason, time_ms])?;
        }
        Record::Terms { id, order, time_ms } => {
            tx.prepare_cached("UPDATE orders SET body = ?2, updated_ms = ?3 WHERE client_id = ?1")?
                .execute(params![id.as_str(), serde_json::to_string(order)?, time_ms])?;
        }
        Record::Snapshot { time_ms, body } => {
            tx.prepare_cached("INSERT INTO snapshots (time_ms, body) VALUES (?1, ?2)")?
                .execute(params![time_ms, body])?;
            tx.prepare_cached("DELETE FROM snapshots WHERE rowid <= (SELECT MAX(rowid) FROM snapshots) - ?1")?
                .execute(params![SNAPSHOTS_KEPT])?;
        }
        Record::Lease(lease) => {
            tx.prepare_cached(
                "INSERT INTO leases (venue, instance, first, upto, symbols, time_ms, coded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
                 ON CONFLICT (venue, instance) DO UPDATE SET first = excluded.first, upto = excluded.upto,
                   symbols = excluded.symbols, time_ms = excluded.time_ms, coded = 1",
            )?
            .execute(params![
                lease.venue,
                lease.instance,
                i64::try_from(lease.first)?,
                i64::try_from(lease.upto)?,
                serde_json::to_string(&lease.symbols)?,
                crate::clock::now().0
            ])?;
        }
        Record::StrategyState { instance, body, time_ms } => {
            tx.prepare_cached(
                "INSERT INTO strategy_state (instance, body, time_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (instance) DO UPDATE SET body = excluded.body, time_ms = excluded.time_ms",
            )?
            .execute(params![instance, body, time_ms])?;
        }
        Record::Fill(fill) => {
            let (instance, _) = owner_columns(&fill.id);
            tx.prepare_cached(
                "INSERT OR IGNORE INTO fills (venue, venue_order_id, trade_id, client_id, instance, body, time_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                fill.venue.as_str(),
                fill.venue_order_id.as_str(),
                fill.trade_id.as_str(),
                fill.id.as_str(),
                instance,
                serde_json::to_string(fill)?,
                fill.time.0
            ])?;
        }
    }
    Ok(())
}
