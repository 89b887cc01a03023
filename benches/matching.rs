//! Simulator matching engine: a seeded mix of limit inserts (some crossing),
//! cancels and market orders on one book, single thread.
//! Target (issue: simulator): ≥ 1,000,000 order operations per second.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tradewind::venue::sim::matching::{Book, BookSide, Incoming, OrderType, Tif};

enum Op {
    Submit(Incoming),
    Cancel(u64),
}

/// A deterministic operation mix: 55 % limit orders within ±20 ticks of 10,000
/// (about a third cross), 35 % cancels of recent orders, 10 % market orders.
fn ops(n: usize) -> Vec<Op> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n as u64)
        .map(|id| {
            let r = next();
            let side = if r & 1 == 0 { BookSide::Bid } else { BookSide::Ask };
            let qty = 1 + (r >> 8) as i64 % 50;
            match (r >> 16) % 100 {
                0..55 => {
                    let offset = (r >> 24) as i64 % 40 - 20;
                    let price = match side {
                        BookSide::Bid => 10_000 - 5 + offset,
                        BookSide::Ask => 10_000 + 5 - offset,
                    };
                    Op::Submit(Incoming { id, owner: 1, side, qty, kind: OrderType::Limit { price, tif: Tif::Gtc } })
                }
                55..90 => Op::Cancel(id.saturating_sub(1 + (r >> 32) % 64)),
                _ => Op::Submit(Incoming { id, owner: 2, side, qty, kind: OrderType::Market }),
            }
        })
        .collect()
}

fn matching(c: &mut Criterion) {
    let ops = ops(100_000);
    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(ops.len() as u64));
    group.bench_function("mixed_100k_ops", |b| {
        b.iter_batched(
            || (Book::new(), Vec::with_capacity(64)),
            |(mut book, mut matches)| {
                for op in &ops {
                    match op {
                        Op::Submit(order) => {
                            matches.clear();
                            black_box(book.submit(*order, &mut matches));
                        }
                        Op::Cancel(id) => {
                            black_box(book.cancel(*id));
                        }
                    }
                }
                book
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
