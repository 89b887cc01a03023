//! The venue's rate limits, modelled on our side so we never hit them.
//!
//! Two layers. A fixed-window counter per budget mirrors how Binance counts
//! (request weight per wall-clock minute, new orders per 10 s and per day);
//! the venue's `X-MBX-USED-WEIGHT-*` / `X-MBX-ORDER-COUNT-*` headers correct
//! it (the venue is the truth when it counts more than we did), and a 429 or
//! 418 stops every request until `Retry-After`. In front of it, a `governor`
//! GCRA pacer spreads non-urgent weight over the minute, sized so that burst
//! plus a minute of refill stays within the limit.
//!
//! Priorities: each class may only use part of the window (cancels all of
//! it, queries 90 %, new orders 80 %, startup bulk 60 %), so when the budget
//! is short, lower classes wait and cancels still go through. A caller may
//! give a deadline; a request that cannot be sent before it is refused
//! instead of being sent late.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter as Gcra};
use tokio::time::Instant;

/// Who is asking; earlier variants win when the budget is short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Cancel,
    Query,
    NewOrder,
    Bulk,
}

impl Priority {
    /// Share of a window (in percent) this class may fill.
    fn share(self) -> u64 {
        match self {
            Priority::Cancel => 100,
            Priority::Query => 90,
            Priority::NewOrder => 80,
            Priority::Bulk => 60,
        }
    }
}

/// The limits as `exchangeInfo.rateLimits` publishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub weight_per_minute: u32,
    pub orders_per_10s: u32,
    pub orders_per_day: u32,
}

impl Default for Limits {
    /// Binance Spot's published defaults, used until `exchangeInfo` is read.
    fn default() -> Self {
        Self { weight_per_minute: 6000, orders_per_10s: 50, orders_per_day: 160_000 }
    }
}

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the request needs {weight} weight but the limit is {limit}")]
    TooHeavy { weight: u32, limit: u32 },
    #[error("the rate budget does not allow sending before the request's deadline")]
    Deadline,
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    /// Window number (time since the epoch divided by the window length).
    index: i64,
    used: u32,
}

impl Window {
    fn used_at(&mut self, now_ms: i64, len_ms: i64) -> &mut u32 {
        let index = now_ms.div_euclid(len_ms);
        if index != self.index {
            *self = Window { index, used: 0 };
        }
        &mut self.used
    }

    fn end_ms(now_ms: i64, len_ms: i64) -> i64 {
        (now_ms.div_euclid(len_ms) + 1) * len_ms
    }
}

#[derive(Debug)]
struct State {
    limits: Limits,
    weight: Window,
    orders_10s: Window,
    orders_day: Window,
    blocked_until: Option<Instant>,
    /// Highest weight the venue reported for the current minute.
    peak_weight: u32,
}

/// Shared by every request of one venue connection (one per IP and account).
pub struct RateLimiter {
    state: Mutex<State>,
    pacer: Mutex<DefaultDirectRateLimiter>,
    /// Wall-clock milliseconds at `base`, so windows line up with the venue's minutes.
    base_ms: i64,
    base: Instant,
}

const MINUTE: i64 = 60_000;
const TEN_SECONDS: i64 = 10_000;
const DAY: i64 = 86_400_000;

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self::with_clock(limits, i64::try_from(wall.as_millis()).unwrap_or(0))
    }

    /// A limiter whose clock reads `wall_ms` now (tests pin it).
    pub fn with_clock(limits: Limits, wall_ms: i64) -> Self {
        let state = State {
            limits,
            weight: Window::default(),
            orders_10s: Window::default(),
            orders_day: Window::default(),
            blocked_until: None,
            peak_weight: 0,
        };
        Self { state: Mutex::new(state), pacer: Mutex::new(pacer(limits)), base_ms: wall_ms, base: Instant::now() }
    }

    /// Replaces the limits (from `exchangeInfo`).
    pub fn set_limits(&self, limits: Limits) {
        self.lock().limits = limits;
        *self.pacer.lock().unwrap_or_else(|p| p.into_inner()) = pacer(limits);
    }

    pub fn limits(&self) -> Limits {
        self.lock().limits
    }

    /// Waits until `weight` (and `orders` new orders) may be sent, and charges them.
    pub async fn acquire(
        &self,
        weight: u32,
        orders: u32,
        priority: Priority,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        loop {
            let wait_until = match self.try_acquire(weight, orders, priority) {
                Ok(()) => return Ok(()),
                Err(Wait::Refused(r)) => return Err(r),
                Err(Wait::Until(t)) => t,
            };
            if deadline.is_some_and(|d| d < wait_until) {
                return Err(Refused::Deadline);
            }
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Charges `weight` (and `orders`) if they may be sent now; false if they would have to wait.
    pub fn try_acquire_now(&self, weight: u32, orders: u32, priority: Priority) -> bool {
        self.try_acquire(weight, orders, priority).is_ok()
    }

    /// Whether `weight` (and `orders`) could be sent now, charging nothing:
    /// [`Self::try_acquire_now`]'s checks but the pacer's (which charges as
    /// it checks). Rehearsals run it to keep that code warm (see `engine::warm`).
    pub fn would_allow_now(&self, weight: u32, orders: u32, priority: Priority) -> bool {
        self.admit(weight, orders, priority, false).is_ok()
    }

    fn try_acquire(&self, weight: u32, orders: u32, priority: Priority) -> Result<(), Wait> {
        self.admit(weight, orders, priority, true)
    }

    /// Checks the budgets; charges them if `charge` and they have room.
    fn admit(&self, weight: u32, orders: u32, priority: Priority, charge: bool) -> Result<(), Wait> {
        let now = Instant::now();
        let now_ms = self.now_ms(now);
        let mut s = self.lock();
        if let Some(until) = s.blocked_until {
            if now < until {
                return Err(Wait::Until(until));
            }
            s.blocked_until = None;
        }
        let limits = s.limits;
        if weight > limits.weight_per_minute {
            return Err(Wait::Refused(Refused::TooHeavy { weight, limit: limits.weight_per_minute }));
        }
        let cap = |limit: u32| u64::from(limit) * priority.share() / 100;
        let next_window =
            |len| now + Duration::from_millis(u64::try_from(Window::end_ms(now_ms, len) - now_ms).unwrap_or(0));
        let used = u64::from(*s.weight.used_at(now_ms, MINUTE));
        if used + u64::from(weight) > cap(limits.weight_per_minute).max(u64::from(weight)) {
            return Err(Wait::Until(next_window(MINUTE)));
        }
        if orders > 0 {
            let ten = u64::from(*s.orders_10s.used_at(now_ms, TEN_SECONDS));
            if ten + u64::from(orders) > cap(limits.orders_per_10s).max(1) {
                return Err(Wait::Until(next_window(TEN_SECONDS)));
            }
            let day = u64::from(*s.orders_day.used_at(now_ms, DAY));
            if day + u64::from(orders) > cap(limits.orders_per_day).max(1) {
                return Err(Wait::Until(next_window(DAY)));
            }
        }
        if !charge {
            return Ok(());
        }
        // Cancels skip the pacer: they must never wait behind smoothing.
        if priority != Priority::Cancel
            && let Some(n) = NonZeroU32::new(weight)
        {
            let pacer = self.pacer.lock().unwrap_or_else(|p| p.into_inner());
            match pacer.check_n(n) {
                Ok(Ok(())) => {}
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(governor::clock::Clock::now(pacer.clock()));
                    return Err(Wait::Until(now + wait));
                }
                // Heavier than the burst: the window check above is the only limit then.
                Err(_) => {}
            }
        }
        *s.weight.used_at(now_ms, MINUTE) += weight;
        if orders > 0 {
            *s.orders_10s.used_at(now_ms, TEN_SECONDS) += orders;
            *s.orders_day.used_at(now_ms, DAY) += orders;
        }
        Ok(())
    }

    /// The venue's count of used weight this minute (`X-MBX-USED-WEIGHT-1M`).
    pub fn observe_weight(&self, used: u32) {
        let now_ms = self.now_ms(Instant::now());
        let mut s = self.lock();
        let ours = s.weight.used_at(now_ms, MINUTE);
        *ours = (*ours).max(used);
        s.peak_weight = s.peak_weight.max(used);
    }

    /// The venue's count of new orders in 10 s (`X-MBX-ORDER-COUNT-10S`).
    pub fn observe_orders_10s(&self, count: u32) {
        let now_ms = self.now_ms(Instant::now());
        let mut s = self.lock();
        let ours = s.orders_10s.used_at(now_ms, TEN_SECONDS);
        *ours = (*ours).max(count);
    }

    /// Stops every request until `retry_after` has passed (429/418).
    pub fn block_for(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut s = self.lock();
        s.blocked_until = Some(s.blocked_until.map_or(until, |t| t.max(until)));
    }

    /// Weight used in the current minute, as far as we know.
    pub fn used_weight(&self) -> u32 {
        let now_ms = self.now_ms(Instant::now());
        *self.lock().weight.used_at(now_ms, MINUTE)
    }

    /// The highest weight the venue ever reported for a minute.
    pub fn peak_reported_weight(&self) -> u32 {
        self.lock().peak_weight
    }

    fn now_ms(&self, now: Instant) -> i64 {
        self.base_ms + i64::try_from(now.duration_since(self.base).as_millis()).unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

enum Wait {
    Until(Instant),
    Refused(Refused),
}

/// GCRA pacing: a fifth of the limit as burst, the rest spread over the minute.
fn pacer(limits: Limits) -> DefaultDirectRateLimiter {
    let limit = limits.weight_per_minute.max(5);
    let burst = NonZeroU32::new(limit / 5).unwrap_or(NonZeroU32::MIN);
    let per_minute = NonZeroU32::new(limit - limit / 5).unwrap_or(NonZeroU32::MIN);
    Gcra::direct(Quota::per_minute(per_minute).allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(weight: u32, orders: u32) -> Limits {
        Limits { weight_per_minute: weight, orders_per_10s: orders, orders_per_day: 1_000_000 }
    }

    #[tokio::test(start_paused = true)]
    async fn lower_classes_leave_room_for_cancels() {
        // Start at the beginning of a minute.
        let rl = RateLimiter::with_clock(limits(100, 1000), 0);
        rl.acquire(60, 0, Priority::Bulk, None).await.unwrap();
        // Bulk may use 60 %: the next bulk request must wait for the next minute.
        assert!(matches!(rl.try_acquire(1, 0, Priority::Bulk), Err(Wait::Until(_))));
        // Cancels may use all of it, without pacing.
        for _ in 0..40 {
            rl.try_acquire(1, 0, Priority::Cancel).map_err(|_| "cancel refused").unwrap();
        }
        assert!(matches!(rl.try_acquire(1, 0, Priority::Cancel), Err(Wait::Until(_))));
        assert_eq!(rl.used_weight(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_refuses_instead_of_sending_late() {
        let rl = RateLimiter::with_clock(limits(10, 1000), 0);
        rl.acquire(8, 0, Priority::NewOrder, None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(rl.acquire(1, 0, Priority::NewOrder, Some(deadline)).await, Err(Refused::Deadline));
        // Without a deadline it waits for the next window, then goes.
        let start = Instant::now();
        rl.acquire(1, 0, Priority::NewOrder, None).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(59), "waited {:?}", start.elapsed());
        assert_eq!(rl.acquire(11, 0, Priority::Cancel, None).await, Err(Refused::TooHeavy { weight: 11, limit: 10 }));
    }

    #[tokio::test(start_paused = true)]
    async fn venue_headers_and_retry_after_override_our_count() {
        let rl = RateLimiter::with_clock(limits(100, 1000), 0);
        rl.acquire(1, 0, Priority::Query, None).await.unwrap();
        rl.observe_weight(85);
        assert_eq!(rl.used_weight(), 85, "the venue counted more: it wins");
        rl.observe_weight(10);
        assert_eq!(rl.used_weight(), 85, "a lower count never lowers ours");
        assert!(matches!(rl.try_acquire(10, 0, Priority::Query), Err(Wait::Until(_))));

        rl.block_for(Duration::from_secs(30));
        let start = Instant::now();
        rl.acquire(1, 0, Priority::Cancel, None).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(30), "even cancels wait out a 429");
    }

    #[tokio::test(start_paused = true)]
    async fn asking_whether_a_request_would_go_charges_nothing() {
        let rl = RateLimiter::with_clock(limits(100, 10), 0);
        for _ in 0..1_000 {
            assert!(rl.would_allow_now(1, 1, Priority::NewOrder));
        }
        assert_eq!(rl.used_weight(), 0);
        // Nor the pacer: its whole burst is still there for real orders.
        for _ in 0..8 {
            assert!(rl.try_acquire_now(1, 1, Priority::NewOrder), "new orders go while 80 % of 10 is left");
        }
        assert_eq!(rl.used_weight(), 8);
        assert!(!rl.would_allow_now(1, 1, Priority::NewOrder), "the tenth-second window's share is used up");
        assert!(!rl.try_acquire_now(1, 1, Priority::NewOrder));
        assert!(rl.would_allow_now(1, 0, Priority::Cancel), "a cancel still has room");
    }

    #[tokio::test(start_paused = true)]
    async fn orders_per_ten_seconds_are_paced() {
        let rl = RateLimiter::with_clock(limits(10_000, 10), 0);
        let start = Instant::now();
        for _ in 0..20 {
            rl.acquire(1, 1, Priority::NewOrder, None).await.unwrap();
        }
        // 80 % of 10 per window: 8 in the first window, 8 in the second, 4 in the third.
        assert!(start.elapsed() >= Duration::from_secs(20), "{:?}", start.elapsed());
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
    }
}
