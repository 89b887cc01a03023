//! The journal: sustained order-event writes and restart recovery.
//! Targets (order-lifecycle issue): ≥ 20,000 order events/s sustained without
//! blocking the caller; recovery of a journal of 1,000,000 rows ≤ 5 s.

use std::str::FromStr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use tradewind::journal::{Journal, Record};
use tradewind_strategies::sdk::{
    Asset, ClientOrderId, Fill, Liquidity, NewOrder, OrderKind, Price, Qty, Side, Symbol, TimeInForce, Timestamp,
    VenueId,
};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn order() -> NewOrder {
    NewOrder {
        venue: VenueId::new("bn").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: Qty::new(d("0.001")),
        kind: OrderKind::Limit { price: Price::new(d("60000.01")), tif: TimeInForce::Gtc },
    }
}

fn fill(id: ClientOrderId, trade_id: u64) -> Fill {
    Fill {
        venue: VenueId::new("bn").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        id,
        venue_order_id: trade_id.into(),
        trade_id: trade_id.into(),
        side: Side::Buy,
        price: Price::new(d("60000.01")),
        qty: Qty::new(d("0.001")),
        fee: d("0.000001"),
        fee_asset: Asset::new("BTC").ok(),
        liquidity: Liquidity::Maker,
        time: Timestamp(trade_id as i64),
    }
}

/// One order's life in the journal: intent, accepted, fill, filled (4 events).
fn order_life(journal: &Journal, seq: u64) {
    let id = ClientOrderId::new(&format!("tw-bench-{seq}")).unwrap();
    let state =
        |state| Record::State { id, state, venue_order_id: Some(seq.into()), reason: None, time_ms: seq as i64 };
    journal.write_nowait(Record::Intent { id, order: order(), time_ms: seq as i64 });
    journal.write_nowait(state("accepted"));
    journal.write_nowait(Record::Fill(fill(id, seq)));
    journal.write_nowait(state("filled"));
}

fn writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&dir.path().join("bench.db")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut seq = 0u64;
    let mut group = c.benchmark_group("journal");
    // 2,500 orders = 10,000 order events, then wait for the commit.
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function("write_10k_order_events", |b| {
        b.iter(|| {
            for _ in 0..2_500 {
                seq += 1;
                order_life(&journal, seq);
            }
            runtime.block_on(journal.flush());
        })
    });
    // What the caller pays: queueing only (the writer thread commits behind it;
    // the flushes between batches are not timed).
    group.throughput(Throughput::Elements(1));
    group.bench_function("write_nowait_one_event", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let batch = left.min(4_096);
                let records: Vec<Record> = (0..batch)
                    .map(|_| {
                        seq += 1;
                        let id = ClientOrderId::new(&format!("tw-bench-{seq}")).unwrap();
                        Record::State { id, state: "accepted", venue_order_id: None, reason: None, time_ms: 1 }
                    })
                    .collect();
                let start = Instant::now();
                for record in records {
                    journal.write_nowait(record);
                }
                timed += start.elapsed();
                runtime.block_on(journal.flush());
                left -= batch;
            }
            timed
        })
    });
    group.finish();
}

fn recovery(c: &mut Criterion) {
    // 250,000 filled orders (1,000,000 rows: 250k orders + 500k events + 250k fills) and 20 open ones.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let (journal, _) = Journal::open(&path).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for seq in 0..250_000 {
        order_life(&journal, seq);
        if seq.is_multiple_of(10_000) {
            runtime.block_on(journal.flush());
        }
    }
    for seq in 250_000..250_020 {
        let id = ClientOrderId::new(&format!("tw-bench-{seq}")).unwrap();
        journal.write_nowait(Record::Intent { id, order: order(), time_ms: seq as i64 });
    }
    runtime.block_on(journal.flush());
    drop(journal);
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("recover_1m_rows", |b| {
        b.iter(|| {
            let (journal, recovered) = Journal::open(&path).unwrap();
            assert_eq!(recovered.open.len(), 20);
            assert_eq!(recovered.fills.len(), 250_000);
            drop(journal);
        })
    });
    group.finish();
}

criterion_group!(benches, writes, recovery);
criterion_main!(benches);
