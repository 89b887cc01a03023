//! Reading a recording: trades and 10×10 book deltas (one of each in turn,
//! around a walking price), decompressed and decoded into the reader's
//! reused event, per event; and writing them.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tradewind::record::{Reader, Recorder, file_for};
use tradewind_strategies::sdk::{
    BookDelta, Level, MarketEvent, Price, Qty, Side, Symbol, Timestamp, Trade, TradeId, VenueId,
};

const EVENTS: u64 = 200_000;
const T0: i64 = 1_764_999_999_000_000;

/// Event `n`: a trade (even) or a 10×10 delta (odd) around a walking price,
/// with quantities from a pseudo-random sequence (the same every run).
fn event(n: u64) -> MarketEvent {
    let (venue, symbol) = (VenueId::new("sim").unwrap(), Symbol::new("BTCUSDT").unwrap());
    let noise = |k: u64| {
        let x = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(k.wrapping_mul(1_442_695_040_888_963_407));
        i64::try_from((x >> 33) % 1_000).unwrap()
    };
    let mid = 6_000_000 + i64::try_from(n % 2_000).unwrap() - 1_000;
    let level = |i: i64| Level {
        price: Price::new(Decimal::new(mid + i, 2)),
        qty: Qty::new(Decimal::new(noise(i.unsigned_abs()) + 1, 3)),
    };
    let time = Timestamp(1_765_000_000_000 + i64::try_from(n).unwrap());
    if n.is_multiple_of(2) {
        MarketEvent::Trade(Trade {
            venue,
            symbol,
            trade_id: TradeId::from(4_012_345_678 + n),
            price: Price::new(Decimal::new(mid, 2)),
            qty: Qty::new(Decimal::new(noise(99) + 1, 5)),
            aggressor: if noise(98) < 500 { Side::Buy } else { Side::Sell },
            time,
        })
    } else {
        MarketEvent::BookDelta(BookDelta {
            venue,
            symbol,
            first_update_id: 1_000 + n,
            last_update_id: 1_000 + n,
            bids: (0..10).map(|i| level(-i)).collect(),
            asks: (0..10).map(|i| level(i + 1)).collect(),
            time,
        })
    }
}

fn write(dir: &std::path::Path, events: &[MarketEvent]) {
    let mut recorder = Recorder::new(dir).unwrap();
    for (i, e) in events.iter().enumerate() {
        recorder.record(T0 + i64::try_from(i).unwrap() * 10, e).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let events: Vec<MarketEvent> = (0..EVENTS).map(event).collect();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &events);
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
            write(out.path(), &events);
        })
    });
    group.finish();
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!("file: {bytes} bytes for {EVENTS} events ({:.1} bytes an event)", bytes as f64 / EVENTS as f64);
}

criterion_group!(benches, bench);
criterion_main!(benches);
