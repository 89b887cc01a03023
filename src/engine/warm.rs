//! Keeping the order path warm.
//!
//! An order that follows a quiet spell finds its code and data out of the
//! CPU's caches: measured here, building and signing the request took 13–16 µs
//! one order per 1,000 trades against 1.5 µs back to back. So, at most once
//! per interval, on the market connection's own call, the engine runs the
//! path of an instance's latest order without sending anything: the SDK's
//! rounding helpers and next client order id, the risk check, the venue's
//! filters and the lease covering the order's id, the rate budget's checks,
//! the signed request and the task that would send it, built and dropped. It
//! charges no rate budget, writes no journal record and changes no state.

use std::time::{Duration, Instant};

use tradewind_strategies::sdk::{ClientOrderId, NewOrder};

use super::{Core, InstanceStatus};

/// When the order path last ran, and whose order runs next.
#[derive(Debug, Default)]
pub(super) struct Warmth {
    /// `None`: off.
    every: Option<Duration>,
    last: Option<Instant>,
    /// The instance whose order is rehearsed next (round robin).
    next: usize,
}

impl Warmth {
    pub(super) fn new(every: Option<Duration>) -> Self {
        Self { every, ..Self::default() }
    }

    /// Whether the path is due at `now` (a real order counts as a run).
    fn due(&self, now: Instant) -> bool {
        self.every.is_some_and(|every| self.last.is_none_or(|last| now.saturating_duration_since(last) >= every))
    }

    /// A real order just took the path.
    pub(super) fn ran(&mut self, now: Option<Instant>) {
        if let Some(now) = now {
            self.last = Some(now);
        }
    }
}

impl Core {
    /// Runs the order path once, without sending, if it is due at `now`: for
    /// the latest order of the next running instance that has sent one.
    pub(super) fn keep_warm(&mut self, now: Instant) {
        if !self.warmth.due(now) {
            return;
        }
        self.warmth.last = Some(now);
        let count = self.slots.len();
        let Some((idx, (id, order, replacing))) = (0..count).map(|k| (self.warmth.next + k) % count).find_map(|idx| {
            let slot = &self.slots[idx];
            (slot.status == InstanceStatus::Running).then_some(slot.latest_order).flatten().map(|latest| (idx, latest))
        }) else {
            return;
        };
        self.warmth.next = idx + 1;
        self.rehearse(idx, &id, &order, replacing);
    }

    fn rehearse(&mut self, idx: usize, id: &ClientOrderId, order: &NewOrder, replacing: bool) {
        self.rehearse_sdk(id, order);
        std::hint::black_box(self.check(idx, order, None).is_ok());
        if let Some(client) = self.venues.get_mut(&order.venue) {
            client.rehearse(id, order, replacing);
        }
    }

    /// The SDK helpers every strategy builds its orders with (the
    /// instrument's rounding, the next client order id), on this order's own
    /// figures; the results are dropped.
    fn rehearse_sdk(&self, id: &ClientOrderId, order: &NewOrder) {
        use std::hint::black_box;
        if let Some(spec) = self.market.instruments.get(&(order.venue, order.symbol)) {
            if let Some(price) = order.kind.price() {
                black_box(spec.round_price(order.side, price));
                black_box(spec.qty_for_notional(price.notional(order.qty), price));
            }
            black_box(spec.round_qty(order.qty));
        }
        if let Some((instance, seq)) = id.owner() {
            black_box(ClientOrderId::for_instance(instance, seq.wrapping_add(1)).is_ok());
        }
    }
}
