//! Binance's public data (data.binance.vision), unzipped: spot and futures
//! `trades` (tradeId, price, qty, quoteQty, time, isBuyerMaker,
//! isBestMatch), `aggTrades` (aggTradeId, price, qty, firstTradeId,
//! lastTradeId, time, isBuyerMaker, isBestMatch) and `klines` of any
//! interval (openTime, open, high, low, close, volume, closeTime, …). Spot
//! files have no header, newer futures files have one: a first line that
//! does not start with a digit is taken as the header. Spot times changed
//! from milliseconds to microseconds on 2025-01-01: each time is read by its
//! size (above 10^14, microseconds), not by its date.

use std::io::BufRead;
use std::path::Path;

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{
    Kline, KlineInterval, MarketEvent, Price, Qty, Side, Symbol, Timestamp, Trade, TradeId, VenueId,
};

use super::{ImportError, Imported, Row};
use crate::record::Recorder;

/// Which of Binance's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Trades,
    AggTrades,
    Klines(KlineInterval),
}

/// A time as Binance wrote it, in µs: microseconds above 10^14 (from
/// 2025-01-01 on spot), milliseconds below.
fn micros(value: i64) -> i64 {
    if value.abs() > 100_000_000_000_000 { value } else { value.saturating_mul(1_000) }
}

/// The event of one row and its time (µs).
fn event(row: &Row<'_>, kind: Kind, venue: VenueId, symbol: Symbol) -> Result<(i64, MarketEvent), ImportError> {
    match kind {
        Kind::Trades | Kind::AggTrades => {
            let time_column = if kind == Kind::Trades { 4 } else { 5 };
            let maker_column = time_column + 1;
            let id = row.text(0, "id")?;
            let trade_id = TradeId::new(id).map_err(|e| row.bad(0, "id", e.to_string()))?;
            let price = row.decimal(1, "price")?;
            let qty = row.decimal(2, "qty")?;
            if price <= Decimal::ZERO || qty <= Decimal::ZERO {
                return Err(row.bad(1, "price", format!("a trade of {qty} at {price}")));
            }
            let time = micros(row.int(time_column, "time")?);
            // The buyer was the maker: the seller took.
            let aggressor = if row.boolean(maker_column, "isBuyerMaker")? { Side::Sell } else { Side::Buy };
            let trade = Trade {
                venue,
                symbol,
                trade_id,
                price: Price::new(price),
                qty: Qty::new(qty),
                aggressor,
                time: Timestamp(time.div_euclid(1_000)),
            };
            Ok((time, MarketEvent::Trade(trade)))
        }
        Kind::Klines(interval) => {
            let open_time = micros(row.int(0, "openTime")?);
            let close_time = micros(row.int(6, "closeTime")?);
            if close_time < open_time {
                return Err(row.bad(6, "closeTime", "before the open time"));
            }
            let kline = Kline {
                venue,
                symbol,
                interval,
                open_time: Timestamp(open_time.div_euclid(1_000)),
                close_time: Timestamp(close_time.div_euclid(1_000)),
                open: Price::new(row.decimal(1, "open")?),
                high: Price::new(row.decimal(2, "high")?),
                low: Price::new(row.decimal(3, "low")?),
                close: Price::new(row.decimal(4, "close")?),
                volume: Qty::new(row.decimal(5, "volume")?),
                closed: true,
            };
            // A candle is known once it closed.
            Ok((close_time, MarketEvent::Kline(Box::new(kline))))
        }
    }
}

/// Imports one unzipped CSV file of `kind` for `venue`'s `symbol` into `recorder`.
pub fn import(
    path: &Path,
    kind: Kind,
    (venue, symbol): (VenueId, Symbol),
    recorder: &mut Recorder,
) -> Result<Imported, ImportError> {
    let io = |source| ImportError::Io { path: path.to_owned(), source };
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        return Err(ImportError::File {
            path: path.to_owned(),
            message: "unzip it first (the CSV inside is read)".into(),
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut imported = Imported::default();
    let mut last: Option<i64> = None;
    for (n, line) in std::io::BufReader::with_capacity(1 << 20, file).lines().enumerate() {
        let line = line.map_err(io)?;
        let number = n as u64 + 1;
        let text = line.trim_end_matches('\r');
        if text.is_empty() {
            continue;
        }
        if number == 1 && !text.starts_with(|c: char| c.is_ascii_digit()) {
            continue; // a header (newer futures files)
        }
        let row = Row { path, line: number, columns: text.split(',').collect() };
        let (time, event) = event(&row, kind, venue, symbol)?;
        if let Some(before) = last.filter(|before| time < *before) {
            return Err(ImportError::Backwards { path: path.to_owned(), line: number, before, after: time });
        }
        recorder.record(time, &event)?;
        if imported.events == 0 {
            imported.first_us = time;
        }
        imported.events += 1;
        imported.last_us = time;
        last = Some(time);
    }
    recorder.flush()?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/binance").join(name)
    }

    fn pair() -> (VenueId, Symbol) {
        (VenueId::new("binance").unwrap(), Symbol::new("BTCUSDT").unwrap())
    }

    #[test]
    fn spot_trades_in_milliseconds_and_microseconds_read_as_the_same_clock() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new(dir.path()).unwrap();
        let imported = import(&data("BTCUSDT-trades-2024-12-31.csv"), Kind::Trades, pair(), &mut recorder).unwrap();
        assert_eq!(imported.events, 4);
        let after = import(&data("BTCUSDT-trades-2025-01-01.csv"), Kind::Trades, pair(), &mut recorder).unwrap();
        assert_eq!(after.first_us, 1_735_689_600_010_866, "microseconds kept as they are");
        assert!(imported.last_us < after.first_us, "{} then {}", imported.last_us, after.first_us);
        drop(recorder);
        let events = crate::record::read_folder(dir.path());
        assert_eq!(events.len(), 7);
        let MarketEvent::Trade(first) = &events[0].1 else { panic!() };
        assert_eq!(
            (first.trade_id.as_str(), first.price.get(), first.qty.get()),
            ("4370000001", "93500.01".parse().unwrap(), "0.00120000".parse().unwrap())
        );
        assert_eq!(first.aggressor, Side::Sell, "the buyer was the maker");
        assert_eq!(events[0].0, 1_735_689_500_123_000, "milliseconds as µs");
        assert_eq!(first.time, Timestamp(1_735_689_500_123));
    }

    #[test]
    fn agg_trades_and_klines_with_a_futures_header_import() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new(dir.path()).unwrap();
        assert_eq!(
            import(&data("BTCUSDT-aggTrades-2025-01-01.csv"), Kind::AggTrades, pair(), &mut recorder).unwrap().events,
            3
        );
        let klines = import(&data("BTCUSDT-1m-2025-01-01.csv"), Kind::Klines(KlineInterval::M1), pair(), &mut recorder);
        assert_eq!(klines.unwrap().events, 2);
        let futures =
            import(&data("BTCUSDT-1m-futures-header.csv"), Kind::Klines(KlineInterval::M1), pair(), &mut recorder);
        assert_eq!(futures.unwrap().events, 2, "the header line is skipped");
        drop(recorder);
        let klines: Vec<_> = crate::record::read_folder(dir.path())
            .into_iter()
            .filter_map(|(at, e)| match e {
                MarketEvent::Kline(k) => Some((at, k)),
                _ => None,
            })
            .collect();
        assert_eq!(klines[0].1.close_time.0 - klines[0].1.open_time.0, 59_999);
        assert_eq!(klines[0].0, 1_735_689_659_999_999, "known when it closed");
        assert!(klines.iter().all(|(_, k)| k.closed));
    }

    #[test]
    fn a_bad_row_names_its_file_line_and_column_and_time_may_not_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::new(dir.path()).unwrap();
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "1,100.5,0.1,10.05,1735689600000,true,true\n2,100.x,0.1,10,1735689600001,false,true\n")
            .unwrap();
        let e = import(&bad, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string();
        assert!(e.ends_with("bad.csv:2: column 2 (price): not a decimal: \"100.x\""), "{e}");
        std::fs::write(&bad, "1,100.5,0.1,10.05,1735689600000,true,true\n2,100,0.1,10,1735689599999,nope,true\n")
            .unwrap();
        let e = import(&bad, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string();
        assert!(e.ends_with("bad.csv:2: column 6 (isBuyerMaker): not true or false: \"nope\""), "{e}");
        std::fs::write(&bad, "1,100.5,0.1,10.05,1735689600000,true,true\n2,100,0.1,10,1735689599999,false,true\n")
            .unwrap();
        let e = import(&bad, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string();
        assert!(e.ends_with("bad.csv:2: the time goes back, from 1735689600000000 to 1735689599999000 (µs)"), "{e}");
        std::fs::write(&bad, "1,100.5,0.1\n").unwrap();
        let e = import(&bad, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string();
        assert!(e.ends_with("bad.csv:1: column 5 (time): missing (3 columns)"), "{e}");
        let zip = dir.path().join("BTCUSDT-trades-2025-01-01.zip");
        assert!(import(&zip, Kind::Trades, pair(), &mut recorder).unwrap_err().to_string().contains("unzip it first"));
    }
}
