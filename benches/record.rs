//! Reading a recording: trades and 10×10 book deltas (one of each in turn),
//! decompressed and decoded into the reader's reused event, per event; and
//! writing them.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tradewind::record::{Reader, Recorder, file_for};
use tradewind_strategies::sdk::{
    BookDelta, Level, MarketEvent, Price, Qty, Side, Symbol, Timestamp, Trade, TradeId, VenueId,
};

const EVENTS: u64 = 200_000;
const T0: i64 = 1_764_999_999_000_000;

fn events() -> [MarketEvent; 2] {
    let (venue, symbol) = (VenueId::new("sim").unwrap(), Symbol::new("BTCUSDT").unwrap());
    let level =
        |i: i64| Level { price: Price::new(Decimal::new(6_000_000 + i, 2)), qty: Qty::new(Decimal::new(125 + i, 3)) };
    [
        MarketEvent::Trade(Trade {
            venue,
            symbol,
            trade_id: TradeId::new("4012345678").unwrap(),
            price: Price::new(Decimal::new(6_000_015, 2)),
            qty: Qty::new(Decimal::new(12_345, 8)),
            aggressor: Side::Buy,
            time: Timestamp(1_765_000_000_123),
        }),
        MarketEvent::BookDelta(BookDelta {
            venue,
            symbol,
            first_update_id: 1_000,
            last_update_id: 1_003,
            bids: (0..10).map(|i| level(-i)).collect(),
            asks: (0..10).map(|i| level(i + 1)).collect(),
            time: Timestamp(1_765_000_000_200),
        }),
    ]
}

fn write(dir: &std::path::Path) {
    let mut recorder = Recorder::new(dir).unwrap();
    let events = events();
    for i in 0..EVENTS {
        recorder.record(T0 + i64::try_from(i).unwrap() * 10, &events[usize::try_from(i % 2).unwrap()]).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let path = file_for(dir.path(), T0);
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("read trades and 10x10 deltas", |b| {
        b.iter(|| {
            let mut reader = Reader::open(&path).unwrap();
            let mut n = 0u64;
            while let Some((_, event)) = reader.next_event().unwrap() {
                n += u64::from(matches!(event, MarketEvent::Trade(_)));
            }
            assert_eq!(n, EVENTS / 2);
        })
    });
    group.bench_function("write trades and 10x10 deltas", |b| {
        b.iter(|| {
            let out = tempfile::tempdir().unwrap();
            write(out.path());
        })
    });
    group.finish();
    println!("file: {} bytes for {EVENTS} events", std::fs::metadata(&path).unwrap().len());
}

criterion_group!(benches, bench);
criterion_main!(benches);
