//! The simulator's background tasks: the synthetic market's steps, the
//! load-test firehose, the flusher (depth diffs every 100 ms in each
//! dialect, changed klines every second) and the fault injector that drops
//! connections or announces maintenance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;

use super::super::synth::{Rng, Synth};
use super::{Shared, bybit, okx, wire};

pub(super) fn spawn_market(shared: Arc<Shared>, mut synth: Synth, events_per_sec: u32) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1) / events_per_sec.max(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shared.shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if shared.market_paused.load(std::sync::atomic::Ordering::Relaxed) {
                        continue;
                    }
                    let mut ex = shared.exchange();
                    synth.step(&mut ex, crate::clock::now_ms());
                    shared.publish(&mut ex);
                }
            }
        }
    });
}

/// Load tests: `per_sec` synthetic trades a second, symbols in turn, each a
/// seeded random walk around its start price. Trade ids count from 10^12,
/// apart from the book's own trades.
pub(super) fn spawn_firehose(shared: Arc<Shared>, seed: u64, per_sec: u32) {
    let symbols: Vec<(String, String, Decimal, Decimal, i64)> = {
        let ex = shared.exchange();
        ex.symbols()
            .iter()
            .map(|s| {
                let c = &s.config;
                let ticks = (c.start_price / c.tick_size).trunc().mantissa();
                let ticks = i64::try_from(ticks).unwrap_or(1).max(100);
                (c.symbol.clone(), format!("{}@trade", c.symbol.to_ascii_lowercase()), c.tick_size, c.step_size, ticks)
            })
            .collect()
    };
    if symbols.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let mut rng = Rng::new(seed ^ 0xF12E);
        let mut mids: Vec<i64> = symbols.iter().map(|s| s.4).collect();
        let started = tokio::time::Instant::now();
        let (mut sent, mut next_id, mut turn) = (0u64, 1_000_000_000_000u64, 0usize);
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shared.shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let due = (started.elapsed().as_secs_f64() * f64::from(per_sec)) as u64;
                    let time = crate::clock::now_ms();
                    while sent < due {
                        let (name, stream, tick_size, step, start) = &symbols[turn];
                        let mid = &mut mids[turn];
                        *mid = (*mid + rng.below(3) as i64 - 1).clamp(start / 2, start * 2);
                        let price = Decimal::from(*mid) * tick_size;
                        let qty = step * Decimal::from(1 + rng.below(100));
                        let payload = wire::trade_payload(name, next_id, price, qty, rng.below(2) == 0, time);
                        shared.send_public(stream.clone(), payload);
                        (sent, next_id, turn) = (sent + 1, next_id + 1, (turn + 1) % symbols.len());
                    }
                }
            }
        }
    });
}

/// Every 100 ms: depth diffs; every second: the 1-minute klines that changed.
pub(super) fn spawn_flusher(shared: Arc<Shared>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut klines: HashMap<usize, KlineSeen> = HashMap::new();
        let mut rounds: u64 = 0;
        loop {
            tokio::select! {
                _ = shared.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            rounds += 1;
            let now = crate::clock::now_ms();
            let drop_diffs = shared.faults().drop_depth_diffs;
            let mut ex = shared.exchange();
            for index in 0..ex.symbols().len() {
                let name = ex.symbols()[index].config.symbol.clone();
                let lower = name.to_ascii_lowercase();
                let diff = ex.take_depth_diff(index);
                // Lost on the way: the next diff's first update id (or `u`) shows the gap.
                let dropped = diff.is_some() && shared.roll(drop_diffs);
                if let Some(diff) = diff.as_ref().filter(|_| !dropped) {
                    let payload = wire::depth_payload(&name, diff, now);
                    shared.send_public(format!("{lower}@depth"), payload.clone());
                    shared.send_public(format!("{lower}@depth@100ms"), payload);
                }
                // Numbered even when lost or unheard, as the venue's own messages are.
                let change = diff.as_ref().and_then(|d| shared.bybit_book(index).apply(d));
                if let Some((bids, asks, u)) = change.filter(|_| !dropped) {
                    if shared.bybit_listening() {
                        for frame in bybit::ws::deltas(&name, &bids, &asks, u, shared.now()) {
                            let _ = shared.public.send(Arc::new(frame));
                        }
                    }
                    if shared.okx_listening() {
                        let inst = okx::inst_id(&ex, &name);
                        let _ =
                            shared.public.send(Arc::new(okx::ws::book_update(&inst, &bids, &asks, u, shared.now())));
                    }
                }
                if rounds.is_multiple_of(10) {
                    let s = &ex.symbols()[index];
                    for (candle, closed) in kline_frames(s, klines.entry(index).or_default(), now) {
                        shared
                            .send_public(format!("{lower}@kline_1m"), wire::kline_payload(&name, candle, closed, now));
                        if shared.bybit_listening() {
                            let message = bybit::ws::kline(&name, candle, closed, now);
                            shared.send_public(format!("kline.1.{name}"), message);
                        }
                        if shared.okx_listening() {
                            let inst = okx::inst_id(&ex, &name);
                            shared.send_public(
                                okx::ws::stream("candle1m", &inst),
                                okx::ws::candle(&inst, candle, closed),
                            );
                        }
                    }
                }
            }
        }
    });
}

/// The last kline sent for a symbol.
#[derive(Debug, Default)]
struct KlineSeen {
    open_time: i64,
    trades: u64,
    closed_sent: bool,
}

/// Klines due now (each with whether it is closed): the close of a
/// finished minute, or the current one if it changed.
fn kline_frames<'a>(
    s: &'a super::super::exchange::SymbolState,
    seen: &mut KlineSeen,
    now: i64,
) -> Vec<(&'a super::super::exchange::Candle, bool)> {
    let mut frames = Vec::new();
    let Some(current) = &s.candle else { return frames };
    if seen.open_time != 0
        && seen.open_time != current.open_time
        && !seen.closed_sent
        && let Some(done) = s.history.iter().rev().find(|c| c.open_time == seen.open_time)
    {
        frames.push((done, true));
    }
    let closed = now >= current.open_time + 60_000;
    let changed = (seen.open_time, seen.trades) != (current.open_time, current.trades);
    if closed && !(seen.closed_sent && seen.open_time == current.open_time) {
        frames.push((current, true));
        *seen = KlineSeen { open_time: current.open_time, trades: current.trades, closed_sent: true };
    } else if !closed && changed {
        frames.push((current, false));
        *seen = KlineSeen { open_time: current.open_time, trades: current.trades, closed_sent: false };
    }
    frames
}

pub(super) fn spawn_fault_dropper(shared: Arc<Shared>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut elapsed: u64 = 0;
        loop {
            tokio::select! {
                _ = shared.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let faults = shared.faults();
            elapsed += 1;
            let due = |every: u64| every > 0 && elapsed.is_multiple_of(every);
            if due(faults.drop_ws_every_secs) {
                tracing::info!("fault injection: dropping every WebSocket connection");
                shared.drop_connections();
            }
            if due(faults.shutdown_notice_every_secs) {
                tracing::info!("fault injection: serverShutdown on every WebSocket connection");
                shared.notices.send_modify(|n| *n += 1);
            }
        }
    });
}
