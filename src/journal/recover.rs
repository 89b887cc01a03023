//! Reading a journal back at open: each instance's next sequence number, the
//! ids of the last lease without an intent, saved strategy states, the
//! fills, the orders still open, and the names the journal knows.

use rusqlite::{Connection, params};
use tradewind_strategies::sdk::{ClientOrderId, Fill, NewOrder, OpenOrder, Qty, Symbol, VenueOrderId, owner};

use super::{JournalError, LEASE_SPAN_READ, Lease, OpenEntry, Recovered, Unjournaled};

/// Reads sequence numbers, open orders and fills.
pub(super) fn recover(conn: &Connection) -> Result<Recovered, rusqlite::Error> {
    let mut recovered = Recovered::default();
    let mut seqs = conn.prepare("SELECT instance, MAX(seq) FROM orders GROUP BY instance")?;
    for row in seqs.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (instance, max) = row?;
        recovered.next_seq.insert(instance, u64::try_from(max).unwrap_or(0) + 1);
    }
    let mut leases =
        conn.prepare("SELECT venue, instance, first, upto, symbols, coded FROM leases ORDER BY venue, instance")?;
    let rows = leases.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, bool>(5)?,
        ))
    })?;
    let mut journaled = conn.prepare("SELECT seq FROM orders WHERE instance = ?1 AND seq BETWEEN ?2 AND ?3")?;
    for row in rows {
        let (venue, instance, first, upto, symbols, coded) = row?;
        let Ok(symbols) = serde_json::from_str::<Vec<Symbol>>(&symbols) else {
            tracing::error!(%venue, strategy = %instance, "unreadable lease in the journal skipped");
            continue;
        };
        let (mut first, upto) = (u64::try_from(first).unwrap_or(0), u64::try_from(upto).unwrap_or(0));
        let next = recovered.next_seq.entry(instance.clone()).or_insert(0);
        *next = (*next).max(upto + 1);
        if first > upto {
            continue;
        }
        if upto - first >= LEASE_SPAN_READ {
            tracing::error!(%venue, strategy = %instance, first, upto, "unexpectedly wide lease; reading only its top ids");
            first = upto - (LEASE_SPAN_READ - 1);
        }
        let known: std::collections::HashSet<u64> = journaled
            .query_map(
                params![instance, i64::try_from(first).unwrap_or(i64::MAX), i64::try_from(upto).unwrap_or(i64::MAX)],
                |r| r.get::<_, i64>(0),
            )?
            .filter_map(|s| u64::try_from(s.ok()?).ok())
            .collect();
        let seqs: Vec<u64> = (first..=upto).filter(|s| !known.contains(s)).collect();
        if !seqs.is_empty() {
            let lease = Lease { venue, instance, first, upto, symbols };
            recovered.unjournaled.push(Unjournaled { lease, seqs, legacy_ids: !coded });
        }
    }
    let mut states = conn.prepare("SELECT instance, body FROM strategy_state")?;
    for row in states.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (instance, body) = row?;
        recovered.states.insert(instance, body);
    }
    let mut fills = conn.prepare("SELECT instance, body FROM fills ORDER BY time_ms, rowid")?;
    for row in fills.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (instance, body) = row?;
        match serde_json::from_str::<Fill>(&body) {
            Ok(fill) => recovered.fills.push((instance, fill)),
            Err(e) => tracing::error!(error = %e, "unreadable fill in the journal skipped"),
        }
    }
    let mut open = conn.prepare(
        "SELECT client_id, instance, body, venue_order_id, state, created_ms FROM orders
         WHERE state IN ('pending', 'accepted', 'partially_filled', 'unknown') ORDER BY created_ms, rowid",
    )?;
    let rows = open.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (client_id, instance, body, venue_order_id, state, created_ms) = row?;
        let (Ok(id), Ok(order)) = (ClientOrderId::new(&client_id), serde_json::from_str::<NewOrder>(&body)) else {
            tracing::error!(client_order_id = %client_id, "unreadable order in the journal skipped");
            continue;
        };
        let own: Vec<&Fill> = recovered.fills.iter().filter(|(_, f)| f.id == id).map(|(_, f)| f).collect();
        let filled: rust_decimal::Decimal = own.iter().map(|f| f.qty.get()).sum();
        if filled >= order.qty.get() {
            // Its fills are all here: the order is done, whatever state the crash left on its row.
            recovered.completed.push(client_id);
            continue;
        }
        let trade_ids = own.iter().map(|f| f.trade_id).collect();
        recovered.open.push(OpenEntry {
            instance,
            order: OpenOrder { id, order, filled: Qty::new(filled) },
            venue_order_id: venue_order_id.and_then(|v| {
                VenueOrderId::new(&v)
                    .inspect_err(|e| tracing::error!(client_order_id = %id, venue_order_id = %v, error = %e, "unreadable venue order id in the journal; the order is looked up by its client id"))
                    .ok()
            }),
            state,
            trade_ids,
            created_ms,
        });
    }
    Ok(recovered)
}

/// Makes the ids of every instance the journal knows read as that instance's
/// (see [`owner`]), so orders of an instance no longer configured keep their owner.
pub(super) fn register_owners(conn: &Connection, path: &str) -> Result<(), JournalError> {
    let sqlite = |source| JournalError::Sqlite { path: path.to_owned(), source };
    let mut names = conn
        .prepare(
            "SELECT instance FROM orders UNION SELECT instance FROM leases
             UNION SELECT instance FROM fills UNION SELECT instance FROM strategy_state",
        )
        .map_err(sqlite)?;
    let names: Vec<String> =
        names.query_map([], |r| r.get(0)).map_err(sqlite)?.collect::<Result<_, _>>().map_err(sqlite)?;
    for name in names.iter().filter(|n| !n.is_empty()) {
        owner::register(name).map_err(|source| JournalError::Owners { path: path.to_owned(), source })?;
    }
    Ok(())
}
