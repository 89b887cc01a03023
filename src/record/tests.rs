use std::io::Write;

use proptest::prelude::*;
use rust_decimal::Decimal;
use tradewind_strategies::sdk::{
    BookDelta, BookSnapshot, Connectivity, Kline, KlineInterval, Level, MarketEvent, Price, Qty, Quote, Side, Symbol,
    Timestamp, Trade, TradeId, VenueId,
};

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn venue(name: &str) -> VenueId {
    VenueId::new(name).unwrap()
}

fn sym(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

fn level(p: &str, q: &str) -> Level {
    Level { price: Price::new(d(p)), qty: Qty::new(d(q)) }
}

/// One of each kind, on two venues.
fn events() -> Vec<MarketEvent> {
    let (a, b) = (venue("sim"), venue("sim_okx"));
    vec![
        MarketEvent::BookSnapshot(BookSnapshot {
            venue: a,
            symbol: sym("BTCUSDT"),
            last_update_id: 1_000,
            bids: vec![level("60000.10", "0.5"), level("59999", "1.25")],
            asks: vec![level("60000.20", "0.001")],
        }),
        MarketEvent::Trade(Trade {
            venue: b,
            symbol: sym("BTC-USDT"),
            trade_id: TradeId::new("1518905529").unwrap(),
            price: Price::new(d("60000.15")),
            qty: Qty::new(d("0.00012345")),
            aggressor: Side::Sell,
            time: Timestamp(1_765_000_000_123),
        }),
        MarketEvent::BookDelta(BookDelta {
            venue: a,
            symbol: sym("BTCUSDT"),
            first_update_id: 1_001,
            last_update_id: 1_004,
            bids: vec![level("60000.10", "0")],
            asks: vec![level("60000.30", "2"), level("60000.40", "0.1")],
            time: Timestamp(1_765_000_000_200),
        }),
        MarketEvent::Quote(Quote {
            venue: a,
            symbol: sym("ETHUSDT"),
            bid_price: Price::new(d("3000.01")),
            bid_qty: Qty::new(d("4")),
            ask_price: Price::new(d("3000.02")),
            ask_qty: Qty::new(d("0.5")),
            update_id: 77,
        }),
        MarketEvent::Kline(Box::new(Kline {
            venue: b,
            symbol: sym("BTC-USDT"),
            interval: KlineInterval::M1,
            open_time: Timestamp(1_765_000_020_000),
            close_time: Timestamp(1_765_000_079_999),
            open: Price::new(d("60000")),
            high: Price::new(d("60010.5")),
            low: Price::new(d("59990")),
            close: Price::new(d("60001")),
            volume: Qty::new(d("12.5")),
            closed: true,
        })),
        MarketEvent::Connectivity(Connectivity { venue: b, up: false }),
    ]
}

fn read_all(path: &Path) -> Result<Vec<(i64, MarketEvent)>, RecordError> {
    let mut reader = Reader::open(path)?;
    let mut out = Vec::new();
    while let Some((at, event)) = reader.next_event()? {
        out.push((at, event.clone()));
    }
    Ok(out)
}

/// 2025-12-06T05:46:40Z, in µs.
const T0: i64 = 1_764_999_999_000_000;

#[test]
fn every_kind_of_event_reads_back_exactly_with_its_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::new(dir.path()).unwrap();
    let written: Vec<(i64, MarketEvent)> =
        events().into_iter().enumerate().map(|(i, e)| (T0 + 1_000 * i as i64, e)).collect();
    for (at, event) in &written {
        recorder.record(*at, event).unwrap();
    }
    drop(recorder);
    let path = file_for(dir.path(), T0);
    assert_eq!(path.file_name().unwrap(), "2025-12-06T05.twr");
    assert_eq!(read_all(&path).unwrap(), written);
    // Scales are kept: 60000.10 is not 60000.1.
    let MarketEvent::BookSnapshot(s) = &read_all(&path).unwrap()[0].1 else { panic!() };
    assert_eq!(s.bids[0].price.get().to_string(), "60000.10");
}

#[test]
fn a_block_is_written_every_second_and_a_file_starts_every_hour() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::new(dir.path()).unwrap();
    let event = events().remove(1);
    // 2.5 s of events at 10 per second, then one in the next hour.
    for i in 0..25 {
        recorder.record(T0 + i * 100_000, &event).unwrap();
    }
    let path = file_for(dir.path(), T0);
    let on_disk = read_all(&path).unwrap().len();
    assert!((20..25).contains(&on_disk), "the blocks of the whole seconds are on disk already: {on_disk}");
    let next_hour = (T0 / HOUR_US + 1) * HOUR_US;
    recorder.record(next_hour + 5, &event).unwrap();
    assert_eq!(read_all(&path).unwrap().len(), 25, "the old hour's file was completed");
    drop(recorder);
    let later = read_all(&file_for(dir.path(), next_hour)).unwrap();
    assert_eq!(later, vec![(next_hour + 5, event)], "streams are defined again in each file");
}

#[test]
fn a_torn_last_block_ends_the_file_and_a_new_run_cuts_it_off_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_for(dir.path(), T0);
    let written: Vec<(i64, MarketEvent)> = events().into_iter().map(|e| (T0, e)).collect();
    {
        let mut recorder = Recorder::new(dir.path()).unwrap();
        for (at, event) in &written {
            recorder.record(*at, event).unwrap();
        }
    }
    let whole = std::fs::metadata(&path).unwrap().len();
    // A crash in the middle of the next block's write: half a header, then half a body.
    for tail in [
        &b"\x10\x00\x00"[..],
        &[0x40, 0, 0, 0, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3][..],
    ] {
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(tail).unwrap();
        assert_eq!(read_all(&path).unwrap(), written, "everything before the torn block");
        // The next run cuts the torn block off, then appends after what was whole.
        let mut recorder = Recorder::new(dir.path()).unwrap();
        recorder.record(T0 + 1, &written[1].1).unwrap();
        drop(recorder);
        let after = read_all(&path).unwrap();
        assert_eq!(after.len(), written.len() + 1);
        assert_eq!(after.last().unwrap(), &(T0 + 1, written[1].1.clone()));
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(whole).unwrap();
    }
}

#[test]
fn damage_before_the_last_block_is_an_error_naming_the_file_and_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::new(dir.path()).unwrap();
    let event = events().remove(1);
    for i in 0..30 {
        recorder.record(T0 + i * 100_000, &event).unwrap();
    }
    drop(recorder);
    let path = file_for(dir.path(), T0);
    let mut bytes = std::fs::read(&path).unwrap();
    // A flipped bit in the first block's body.
    bytes[MAGIC.len() + BLOCK_HEADER + 3] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    let error = read_all(&path).unwrap_err().to_string();
    assert!(error.contains("2025-12-06T05.twr") && error.contains("the block at byte 8 is damaged"), "{error}");
    std::fs::write(&path, b"not a recording").unwrap();
    assert!(matches!(Reader::open(&path), Err(RecordError::NotARecording { .. })));
}

#[test]
fn replaying_reuses_the_book_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::new(dir.path()).unwrap();
    let delta = events().remove(2);
    for i in 0..100 {
        recorder.record(T0 + i, &delta).unwrap();
        recorder.record(T0 + i, &events()[1]).unwrap();
    }
    drop(recorder);
    let mut reader = Reader::open(&file_for(dir.path(), T0)).unwrap();
    let mut seen = std::collections::HashSet::new();
    while let Some((_, event)) = reader.next_event().unwrap() {
        if let MarketEvent::BookDelta(d) = event {
            seen.insert(d.asks.as_ptr() as usize);
        }
    }
    assert_eq!(seen.len(), 1, "one asks buffer for every delta");
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=18).prop_map(|(m, scale)| Decimal::new(m, scale))
}

proptest! {
    #[test]
    fn any_trade_or_delta_reads_back(
        price in decimal(), qty in decimal(), time in any::<i64>(), gap in -1_000_000i64..1_000_000,
        first in any::<u32>(), span in 0u64..1_000, levels in proptest::collection::vec((decimal(), decimal()), 0..20),
    ) {
        let (v, s) = (venue("v"), sym("X"));
        let trade = MarketEvent::Trade(Trade {
            venue: v, symbol: s, trade_id: TradeId::new("t1").unwrap(), price: Price::new(price), qty: Qty::new(qty),
            aggressor: Side::Buy, time: Timestamp(time),
        });
        let book: Vec<Level> = levels.iter().map(|(p, q)| Level { price: Price::new(*p), qty: Qty::new(*q) }).collect();
        let delta = MarketEvent::BookDelta(BookDelta {
            venue: v, symbol: s, first_update_id: u64::from(first), last_update_id: u64::from(first) + span,
            bids: book.clone(), asks: book, time: Timestamp(time),
        });
        let mut bytes = Vec::new();
        codec::put_stream(&mut bytes, 0, codec::stream_of(&trade));
        codec::put_event(&mut bytes, gap, 0, &trade);
        codec::put_event(&mut bytes, -gap, 0, &delta);
        let mut cursor = Cursor::new(&bytes);
        let mut slot = Slot::default();
        let Entry::Stream(0, stream) = codec::read_entry(&mut cursor, &[], &mut slot).unwrap() else { panic!() };
        let streams = [Some(stream)];
        prop_assert_eq!(codec::read_entry(&mut cursor, &streams, &mut slot).unwrap(), Entry::Event { gap_us: gap });
        prop_assert_eq!(&slot.event, &trade);
        prop_assert_eq!(codec::read_entry(&mut cursor, &streams, &mut slot).unwrap(), Entry::Event { gap_us: -gap });
        prop_assert_eq!(&slot.event, &delta);
        prop_assert_eq!(cursor.remaining(), 0);
    }
}
