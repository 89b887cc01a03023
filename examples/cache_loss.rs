//! How much of its caches a thread keeps across a pause, on this machine.
//!
//! `cargo run --release --example cache_loss [KiB ...]` (default 64 512 1536)
//!
//! Walks a working set of the given size once to warm it, pauses, then times
//! a second walk: the cost per 64-byte line after no pause, after sleeping
//! 100 µs, 1 ms or 20 ms, and after spinning 1 ms. The walk is a chain of
//! dependent loads in a shuffled order, so the prefetchers cannot hide a
//! miss, as in a branchy code path run cold. Sleeping lets the vCPU halt; on
//! a shared host the core may then run other work, or idle, and lose the
//! lines. Spinning keeps it busy. `benches/BENCHMARKS.md` ("Tick to order")
//! reads the order path's in-daemon cost against these figures.

use std::time::{Duration, Instant};

/// One cache line: the index of the next line of the walk.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Line {
    next: usize,
}

/// A single cycle through all `lines`, in a shuffled order (seeded xorshift).
fn chain(lines: usize) -> Vec<Line> {
    let mut order: Vec<usize> = (0..lines).collect();
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for i in (1..lines).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = usize::try_from(x % (i as u64 + 1)).expect("below the slice's length");
        order.swap(i, j);
    }
    let mut chain = vec![Line { next: 0 }; lines];
    for pair in order.windows(2) {
        chain[pair[0]].next = pair[1];
    }
    chain[order[lines - 1]].next = order[0];
    chain
}

/// Follows the chain once around; returns where it ended (always 0).
fn walk(chain: &[Line]) -> usize {
    let mut at = 0;
    for _ in 0..chain.len() {
        at = std::hint::black_box(chain[at].next);
    }
    at
}

#[derive(Clone, Copy)]
enum Pause {
    None,
    Sleep(Duration),
    Spin(Duration),
}

impl Pause {
    fn run(self) {
        match self {
            Pause::None => {}
            Pause::Sleep(d) => std::thread::sleep(d),
            Pause::Spin(d) => {
                let start = Instant::now();
                while start.elapsed() < d {
                    std::hint::spin_loop();
                }
            }
        }
    }

    fn label(self) -> String {
        match self {
            Pause::None => "none".into(),
            Pause::Sleep(d) => format!("sleep {d:?}"),
            Pause::Spin(d) => format!("spin {d:?}"),
        }
    }
}

/// Median time of the second walk, over `rounds` pauses.
fn median_after(chain: &[Line], pause: Pause, rounds: usize) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            std::hint::black_box(walk(chain));
            pause.run();
            let start = Instant::now();
            std::hint::black_box(walk(chain));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a size in KiB")).collect();
    let sizes = if sizes.is_empty() { vec![64, 512, 1536] } else { sizes };
    let pauses = [
        Pause::None,
        Pause::Sleep(Duration::from_micros(100)),
        Pause::Sleep(Duration::from_millis(1)),
        Pause::Sleep(Duration::from_millis(20)),
        Pause::Spin(Duration::from_millis(1)),
    ];
    println!("{:>9} {:>14} {:>12} {:>9}", "working", "pause", "ns per line", "× none");
    for kib in sizes {
        let chain = chain((kib * 1024 / 64).max(2));
        let mut hot = None;
        for pause in pauses {
            let per_line = median_after(&chain, pause, 100).as_secs_f64() * 1e9 / chain.len() as f64;
            let base = *hot.get_or_insert(per_line);
            println!("{:>5} KiB {:>14} {:>12.2} {:>9.1}", kib, pause.label(), per_line, per_line / base);
        }
    }
}
