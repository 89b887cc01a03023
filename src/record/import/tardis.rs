//! Tardis.dev's downloadable CSVs (unzipped; comma-separated, with a
//! header; times in µs since the epoch: `timestamp` the venue's,
//! `local_timestamp` Tardis' arrival, which becomes the receive time):
//! `trades` (id, side = the taker's, price, amount), `quotes` (best ask and
//! bid with their amounts) and `incremental_book_L2` (is_snapshot, side,
//! price, amount = the level's new size, 0 removes it). Book rows that
//! share a `local_timestamp` and `is_snapshot` are one message: snapshot
//! rows become a [`BookSnapshot`] (a run of them after updates resets the
//! book), update rows one [`BookDelta`]. Tardis gives no update ids: the
//! messages are numbered in order, so each delta follows the one before.
//! Columns are found by their header names.

use std::io::BufRead;
use std::path::Path;

use tradewind_strategies::sdk::{
    BookDelta, BookSnapshot, Level, MarketEvent, Price, Qty, Quote, Side, Symbol, Timestamp, Trade, TradeId, VenueId,
};

use super::{ImportError, Imported, Row};
use crate::record::Recorder;

/// Which of Tardis' files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Trades,
    Quotes,
    IncrementalBookL2,
}

impl Kind {
    /// The columns read, by header name.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Trades => &["timestamp", "local_timestamp", "id", "side", "price", "amount"],
            Kind::Quotes => &["timestamp", "local_timestamp", "ask_amount", "ask_price", "bid_price", "bid_amount"],
            Kind::IncrementalBookL2 => &["timestamp", "local_timestamp", "is_snapshot", "side", "price", "amount"],
        }
    }
}

/// A book message being gathered: its receive and venue times, whether a snapshot, its levels.
struct Message {
    local_us: i64,
    time_us: i64,
    snapshot: bool,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

/// Imports one unzipped Tardis CSV of `kind` for `venue`'s `symbol` into `recorder`.
pub fn import(
    path: &Path,
    kind: Kind,
    (venue, symbol): (VenueId, Symbol),
    recorder: &mut Recorder,
) -> Result<Imported, ImportError> {
    let io = |source| ImportError::Io { path: path.to_owned(), source };
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz")) {
        return Err(ImportError::File {
            path: path.to_owned(),
            message: "gunzip it first (the CSV inside is read)".into(),
        });
    }
    let mut lines = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).map_err(io)?).lines();
    let header = lines.next().transpose().map_err(io)?.unwrap_or_default();
    let names: Vec<&str> = header.trim_end_matches('\r').split(',').collect();
    let mut at = Vec::new();
    for wanted in kind.columns() {
        let column = names.iter().position(|n| n == wanted).ok_or_else(|| ImportError::File {
            path: path.to_owned(),
            message: format!("no {wanted:?} column in the header {header:?}"),
        })?;
        at.push(column);
    }
    let mut imported = Imported::default();
    let mut last: Option<i64> = None;
    let mut message: Option<Message> = None;
    let mut update_id: u64 = 0;
    let mut emit = |recorder: &mut Recorder, m: Message, imported: &mut Imported| -> Result<(), ImportError> {
        update_id += 1;
        let event = if m.snapshot {
            MarketEvent::BookSnapshot(BookSnapshot {
                venue,
                symbol,
                last_update_id: update_id,
                bids: m.bids,
                asks: m.asks,
            })
        } else {
            MarketEvent::BookDelta(BookDelta {
                venue,
                symbol,
                first_update_id: update_id,
                last_update_id: update_id,
                bids: m.bids,
                asks: m.asks,
                time: Timestamp(m.time_us.div_euclid(1_000)),
            })
        };
        record(recorder, m.local_us, &event, imported)
    };
    for (n, line) in lines.enumerate() {
        let line = line.map_err(io)?;
        let number = n as u64 + 2;
        let text = line.trim_end_matches('\r');
        if text.is_empty() {
            continue;
        }
        // Read by the header's positions: an error names the file's own column.
        let row = Row { path, line: number, columns: text.split(',').collect() };
        let time_us = row.int(at[0], "timestamp")?;
        let local_us = row.int(at[1], "local_timestamp")?;
        if let Some(before) = last.filter(|before| local_us < *before) {
            return Err(ImportError::Backwards { path: path.to_owned(), line: number, before, after: local_us });
        }
        last = Some(local_us);
        match kind {
            Kind::Trades => {
                let trade_id = TradeId::new(row.text(at[2], "id")?).map_err(|e| row.bad(at[2], "id", e.to_string()))?;
                let aggressor = side(&row, at[3], ("buy", "sell"))?;
                let trade = Trade {
                    venue,
                    symbol,
                    trade_id,
                    price: Price::new(row.decimal(at[4], "price")?),
                    qty: Qty::new(row.decimal(at[5], "amount")?),
                    aggressor,
                    time: Timestamp(time_us.div_euclid(1_000)),
                };
                record(recorder, local_us, &MarketEvent::Trade(trade), &mut imported)?;
            }
            Kind::Quotes => {
                let quote = Quote {
                    venue,
                    symbol,
                    ask_qty: Qty::new(row.decimal(at[2], "ask_amount")?),
                    ask_price: Price::new(row.decimal(at[3], "ask_price")?),
                    bid_price: Price::new(row.decimal(at[4], "bid_price")?),
                    bid_qty: Qty::new(row.decimal(at[5], "bid_amount")?),
                    update_id: 0,
                };
                record(recorder, local_us, &MarketEvent::Quote(quote), &mut imported)?;
            }
            Kind::IncrementalBookL2 => {
                let snapshot = row.boolean(at[2], "is_snapshot")?;
                let bid = side(&row, at[3], ("bid", "ask"))? == Side::Buy;
                let level = Level {
                    price: Price::new(row.decimal(at[4], "price")?),
                    qty: Qty::new(row.decimal(at[5], "amount")?),
                };
                if message.as_ref().is_some_and(|m| m.local_us != local_us || m.snapshot != snapshot) {
                    let done = message.take().expect("checked above");
                    emit(recorder, done, &mut imported)?;
                }
                let m = message.get_or_insert_with(|| Message {
                    local_us,
                    time_us,
                    snapshot,
                    bids: Vec::new(),
                    asks: Vec::new(),
                });
                if bid { m.bids.push(level) } else { m.asks.push(level) }
            }
        }
    }
    if let Some(done) = message.take() {
        emit(recorder, done, &mut imported)?;
    }
    recorder.flush()?;
    Ok(imported)
}

/// `first` (`buy`, `bid`) or `second` (`sell`, `ask`) as a side; anything else (`unknown`) is refused.
fn side(row: &Row<'_>, column: usize, (first, second): (&str, &str)) -> Result<Side, ImportError> {
    match row.text(column, "side")? {
        s if s == first => Ok(Side::Buy),
        s if s == second => Ok(Side::Sell),
        other => Err(row.bad(column, "side", format!("neither {first} nor {second}: {other:?}"))),
    }
}

fn record(
    recorder: &mut Recorder,
    local_us: i64,
    event: &MarketEvent,
    imported: &mut Imported,
) -> Result<(), ImportError> {
    recorder.record(local_us, event)?;
    if imported.events == 0 {
        imported.first_us = local_us;
    }
    imported.events += 1;
    imported.last_us = local_us;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tardis").join(name)
    }

    fn pair() -> (VenueId, Symbol) {
        (VenueId::new("binance").unwrap(), Symbol::new("BTCUSDT").unwrap())
    }

    fn imported(name: &str, kind: Kind) -> Vec<(i64, MarketEvent)> {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new(dir.path()).unwrap();
        import(&data(name), kind, pair(), &mut recorder).unwrap();
        drop(recorder);
        crate::record::read_folder(dir.path())
    }

    #[test]
    fn trades_and_quotes_read_with_tardis_arrival_as_the_receive_time() {
        let trades = imported("binance_trades_2025-01-01_BTCUSDT.csv", Kind::Trades);
        assert_eq!(trades.len(), 3);
        let (at, MarketEvent::Trade(t)) = &trades[0] else { panic!() };
        assert_eq!(*at, 1_735_689_600_012_345);
        assert_eq!((t.trade_id.as_str(), t.aggressor, t.time), ("4370000005", Side::Buy, Timestamp(1_735_689_600_010)));
        let quotes = imported("binance_quotes_2025-01-01_BTCUSDT.csv", Kind::Quotes);
        let (_, MarketEvent::Quote(q)) = &quotes[0] else { panic!() };
        assert_eq!((q.bid_price.get(), q.ask_price.get()), ("93509.99".parse().unwrap(), "93510".parse().unwrap()));
    }

    #[test]
    fn book_rows_of_one_message_are_one_event_and_a_second_snapshot_resets_the_book() {
        let book = imported("binance_incremental_book_L2_2025-01-01_BTCUSDT.csv", Kind::IncrementalBookL2);
        let kinds: Vec<String> = book
            .iter()
            .map(|(_, e)| match e {
                MarketEvent::BookSnapshot(s) => {
                    format!("snapshot {} {}x{}", s.last_update_id, s.bids.len(), s.asks.len())
                }
                MarketEvent::BookDelta(d) => {
                    format!("delta {}..{} {}x{}", d.first_update_id, d.last_update_id, d.bids.len(), d.asks.len())
                }
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["snapshot 1 2x2", "delta 2..2 1x1", "delta 3..3 0x1", "snapshot 4 1x1", "delta 5..5 1x0"]);
        let MarketEvent::BookDelta(d) = &book[2].1 else { panic!() };
        assert!(d.asks[0].qty.get().is_zero(), "0 removes the level");
    }

    #[test]
    fn a_missing_column_or_a_bad_side_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new(dir.path()).unwrap();
        let bad = dir.path().join("t.csv");
        std::fs::write(&bad, "exchange,symbol,timestamp,local_timestamp,id,price,amount\n").unwrap();
        let e = import(&bad, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string();
        assert!(e.contains("no \"side\" column in the header"), "{e}");
        std::fs::write(
            &bad,
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbinance,BTCUSDT,1,2,7,unknown,1,1\n",
        )
        .unwrap();
        let e = import(&bad, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string();
        assert!(e.ends_with("t.csv:2: column 6 (side): neither buy nor sell: \"unknown\""), "{e}");
    }
}
