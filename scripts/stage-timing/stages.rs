//! Stage timing of the order path (added by `scripts/stage-timing/run.sh` to
//! a scratch copy of the tree; never part of a shipped build).
//!
//! `mark(i)` notes when the calling thread reached step `i`; `finish`, at
//! the end of the tick-to-order path, turns the marks after the frame's read
//! into the time spent in each step. Every `ROWS` orders it appends each
//! step's p50 and p90 to the file named by `TRADEWIND_STAGES_OUT`.
//! `sample(slot, ns)` collects other timings the same way.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Instant;

const N: usize = 20;
const ROWS: usize = 400;
const SLOTS: usize = 3;

thread_local! {
    static MARKS: RefCell<[Option<Instant>; N]> = const { RefCell::new([None; N]) };
}
static ROWS_SEEN: Mutex<Vec<[u32; N]>> = Mutex::new(Vec::new());
static SAMPLES: Mutex<[Vec<u32>; SLOTS]> = Mutex::new([const { Vec::new() }; SLOTS]);

pub fn mark(step: usize) {
    let now = Instant::now();
    MARKS.with(|m| m.borrow_mut()[step] = Some(now));
}

fn nanos(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
}

fn report(line: &str) {
    let Ok(path) = std::env::var("TRADEWIND_STAGES_OUT") else { return };
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

fn p50_p90(mut v: Vec<u32>) -> (u32, u32) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() * 9 / 10])
}

/// Step 0 is the last: from the latest mark to `sent`.
pub fn finish(origin: Instant, sent: Instant) {
    let marks = MARKS.with(|m| std::mem::replace(&mut *m.borrow_mut(), [None; N]));
    let mut reached: Vec<(Instant, usize)> =
        (1..N).filter_map(|i| marks[i].map(|t| (t, i))).filter(|(t, _)| *t >= origin).collect();
    reached.sort();
    let mut row = [0u32; N];
    let mut prev = origin;
    for (t, i) in reached {
        row[i] = nanos(t - prev);
        prev = t;
    }
    row[0] = nanos(sent - prev);
    let mut rows = ROWS_SEEN.lock().unwrap_or_else(|p| p.into_inner());
    rows.push(row);
    if rows.len() < ROWS {
        return;
    }
    let mut line = String::from("stages");
    for i in 0..N {
        let (p50, p90) = p50_p90(rows.iter().map(|r| r[i]).collect());
        line += &format!(" s{i}={p50}/{p90}");
    }
    let (total, _) = p50_p90(rows.iter().map(|r| r.iter().sum()).collect());
    line += &format!(" total={total}");
    report(&line);
    rows.clear();
}

pub fn sample(slot: usize, ns: u32) {
    let mut samples = SAMPLES.lock().unwrap_or_else(|p| p.into_inner());
    samples[slot].push(ns);
    if samples[slot].len() >= ROWS {
        let (p50, p90) = p50_p90(std::mem::take(&mut samples[slot]));
        report(&format!("sample{slot} {p50}/{p90}"));
    }
}
