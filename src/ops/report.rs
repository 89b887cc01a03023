//! Reading a journal without a daemon (`tradewind orders|positions` when none
//! runs): opened read-only, never migrated, never written.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use rust_decimal::Decimal;
use tradewind_strategies::sdk::{Asset, Fill, NewOrder, OrderKind};

use crate::engine::control::{OrderRow, PositionRow};
use crate::journal::{JournalError, check_readable};
use crate::portfolio::Position;

/// What an operator reads from a journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Orders (open ones, or the latest of every state), newest first, with their state.
    pub orders: Vec<(OrderRow, String)>,
    pub positions: Vec<PositionRow>,
}

/// Reads open orders (or, with `all`, the latest `limit` orders) and the
/// positions the journal's fills add up to.
pub fn read(path: &Path, all: bool, limit: usize) -> Result<Report, JournalError> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(JournalError::Io { path: shown, message: "no journal here".into() });
    }
    let sqlite = |source| JournalError::Sqlite { path: shown.clone(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    check_readable(&conn, &shown)?;
    let filter = if all { "" } else { "WHERE state IN ('pending', 'accepted', 'partially_filled', 'unknown')" };
    let sql = format!(
        "SELECT o.instance, o.client_id, o.body, o.state,
                (SELECT group_concat(f.body, char(10)) FROM fills f WHERE f.client_id = o.client_id)
         FROM orders o {filter} ORDER BY o.updated_ms DESC, o.rowid DESC LIMIT ?1"
    );
    let mut stmt = conn.prepare(&sql).map_err(sqlite)?;
    let rows = stmt
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(sqlite)?;
    let mut report = Report::default();
    for row in rows {
        let (instance, client_id, body, state, fills) = row.map_err(sqlite)?;
        let Ok(order) = serde_json::from_str::<NewOrder>(&body) else { continue };
        let filled = fills
            .unwrap_or_default()
            .lines()
            .filter_map(|f| serde_json::from_str::<Fill>(f).ok())
            .map(|f| f.qty.get())
            .sum();
        // All its fills journaled but not yet its state (a crash in between): it is filled.
        let done = filled >= order.qty.get();
        let state = if done { "filled".to_owned() } else { state };
        if done && !all {
            continue;
        }
        report.orders.push((order_row(instance, client_id, &order, filled, &state), state));
    }
    let mut stmt = conn.prepare("SELECT instance, body FROM fills ORDER BY time_ms, rowid").map_err(sqlite)?;
    let fills = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(sqlite)?
        .filter_map(|row| {
            let (instance, body) = row.ok()?;
            Some((instance, serde_json::from_str::<Fill>(&body).ok()?))
        });
    report.positions = positions(fills);
    Ok(report)
}

fn order_row(strategy: String, client_order_id: String, order: &NewOrder, filled: Decimal, state: &str) -> OrderRow {
    let (kind, price) = match order.kind {
        OrderKind::Limit { price, .. } => ("limit", Some(price.get())),
        OrderKind::PostOnly { price } => ("post_only", Some(price.get())),
        OrderKind::Market => ("market", None),
    };
    OrderRow {
        strategy,
        client_order_id,
        venue: order.venue.to_string(),
        symbol: order.symbol.to_string(),
        side: order.side.to_string().to_lowercase(),
        kind: kind.to_owned(),
        price,
        qty: order.qty.get(),
        filled,
        state: state.to_owned(),
    }
}

/// Positions from fills, per (strategy, venue, symbol). Without the venue's
/// rules at hand, a commission's asset counts as base when the symbol starts
/// with it and as quote when it ends with it.
pub fn positions(fills: impl Iterator<Item = (String, Fill)>) -> Vec<PositionRow> {
    let mut held: BTreeMap<(String, String, String), Position> = BTreeMap::new();
    for (instance, fill) in fills {
        let symbol = fill.symbol.as_str();
        let assets = fill.fee_asset.and_then(|fee| {
            let a = fee.as_str();
            if let Some(quote) = symbol.strip_prefix(a) {
                Asset::new(quote).ok().map(|q| (fee, q))
            } else {
                symbol.strip_suffix(a).and_then(|base| Asset::new(base).ok()).map(|b| (b, fee))
            }
        });
        let key = (instance, fill.venue.to_string(), symbol.to_owned());
        held.entry(key).or_default().apply(&fill, assets);
    }
    held.into_iter()
        .map(|((strategy, venue, symbol), p)| PositionRow {
            strategy,
            venue,
            symbol,
            qty: p.qty(),
            avg_entry: p.avg_entry(),
            cost: p.cost(),
            mark: None,
            realized_pnl: p.realized,
            unrealized_pnl: None,
            fees: p.fees,
        })
        .collect()
}
