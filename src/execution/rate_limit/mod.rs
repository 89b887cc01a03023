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
//! is short, lower classes wait and cancels still go through. Within the new
//! orders' part, each strategy has a fair share ([`fair`]). A caller may
//! give a deadline; a request that cannot be sent before it is refused
//! instead of being sent late.
//!
//! After a 429 or 418 nothing goes until `Retry-After` has passed (a 429 for
//! the order count, -1015, stops only new orders). Then one request goes
//! alone, the probe; only once it is answered without a 429 do the others
//! follow, at the pacer's sustained rate rather than in a burst. A 429 also
//! says that the limits may have changed: [`RateLimiter::limits_suspect`]
//! wakes whoever reads them again.

mod fair;

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{Quota, RateLimiter as Gcra};
use tokio::time::Instant;

/// What a request costs, and who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost<'a> {
    pub weight: u32,
    /// New orders it places (counted against the order windows).
    pub orders: u32,
    pub priority: Priority,
    /// The strategy instance a new order is for (its fair share), if any.
    pub owner: Option<&'a str>,
}

impl Cost<'_> {
    /// A request of `weight` that places no order and has no owner.
    pub fn weight(weight: u32, priority: Priority) -> Cost<'static> {
        Cost { weight, orders: 0, priority, owner: None }
    }
}

/// Permission to send one request. Say how it was answered with
/// [`RateLimiter::answered`]: after a block, the first request is a probe
/// that the others wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use = "a probe that is never answered holds the other requests back until it times out"]
pub struct Grant {
    probe: Option<Blocked>,
}

impl Grant {
    /// Whether this request probes the venue after a block.
    pub fn is_probe(&self) -> bool {
        self.probe.is_some()
    }
}

/// What a 429 or 418 stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Every request (request weight, or an IP ban).
    All,
    /// New orders only (the order count, -1015).
    Orders,
}

/// How long waiting requests sleep between looks while a probe is out.
const PROBE_POLL: Duration = Duration::from_millis(50);
/// A probe not answered within this long (its caller gave up) no longer holds the others.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// One block (of all requests or of new orders) and its probe.
#[derive(Debug, Default)]
struct Block {
    until: Option<Instant>,
    /// The block has ended, but no probe has been answered without a 429 yet.
    probing: bool,
    /// When the probe went out, while it is out.
    probe_out: Option<Instant>,
}

impl Block {
    /// `Ok(true)`: the request may go as the probe; `Ok(false)`: it may go;
    /// `Err(t)`: it must wait until `t`.
    fn check(&mut self, now: Instant) -> Result<bool, Instant> {
        if let Some(until) = self.until {
            if now < until {
                return Err(until);
            }
            self.until = None;
            self.probing = true;
        }
        if !self.probing {
            return Ok(false);
        }
        match self.probe_out {
            Some(at) if now.duration_since(at) < PROBE_TIMEOUT => Err(now + PROBE_POLL),
            _ => Ok(true),
        }
    }

    fn set(&mut self, until: Instant) {
        self.until = Some(self.until.map_or(until, |t| t.max(until)));
        self.probing = false;
        self.probe_out = None;
    }

    /// The probe was answered; true if that ends the block.
    fn answered(&mut self, limited: bool) -> bool {
        self.probe_out = None;
        let ended = self.probing && !limited && self.until.is_none();
        if ended {
            self.probing = false;
        }
        ended
    }
}

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
    /// Every request stopped (429 on weight, 418).
    all: Block,
    /// New orders stopped (429 on the order count).
    orders: Block,
    /// Each strategy's share of the new-order windows.
    shares: fair::Shares,
    /// Highest weight the venue reported for the current minute.
    peak_weight: u32,
}

/// Shared by every request of one venue connection (one per IP and account).
pub struct RateLimiter {
    state: Mutex<State>,
    pacer: Mutex<Pacer>,
    /// Wall-clock milliseconds at `base`, so windows line up with the venue's minutes.
    base_ms: i64,
    base: Instant,
    /// Notified on every 429/418: the venue's limits may have changed.
    suspect: tokio::sync::Notify,
}

const MINUTE: i64 = 60_000;
const TEN_SECONDS: i64 = 10_000;
const DAY: i64 = 86_400_000;

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        Self::with_clock(limits, crate::clock::now_ms())
    }

    /// A limiter whose clock reads `wall_ms` now (tests pin it).
    pub fn with_clock(limits: Limits, wall_ms: i64) -> Self {
        let state = State {
            limits,
            weight: Window::default(),
            orders_10s: Window::default(),
            orders_day: Window::default(),
            all: Block::default(),
            orders: Block::default(),
            shares: fair::Shares::default(),
            peak_weight: 0,
        };
        Self {
            state: Mutex::new(state),
            pacer: Mutex::new(pacer(limits)),
            base_ms: wall_ms,
            base: Instant::now(),
            suspect: tokio::sync::Notify::new(),
        }
    }

    /// Replaces the limits (from `exchangeInfo`).
    pub fn set_limits(&self, limits: Limits) {
        self.lock().limits = limits;
        *self.pacer.lock().unwrap_or_else(|p| p.into_inner()) = pacer(limits);
    }

    pub fn limits(&self) -> Limits {
        self.lock().limits
    }

    /// Waits until `cost` may be sent, and charges it.
    pub async fn acquire(&self, cost: Cost<'_>, deadline: Option<Instant>) -> Result<Grant, Refused> {
        loop {
            let wait_until = match self.try_acquire(cost) {
                Ok(grant) => return Ok(grant),
                Err(Wait::Refused(r)) => return Err(r),
                Err(Wait::Until(t)) => t,
            };
            if deadline.is_some_and(|d| d < wait_until) {
                return Err(Refused::Deadline);
            }
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Charges `cost` if it may be sent now; `None` if it would have to wait.
    pub fn try_acquire_now(&self, cost: Cost<'_>) -> Option<Grant> {
        self.try_acquire(cost).ok()
    }

    /// Checks the budgets and charges them if they have room.
    fn try_acquire(&self, cost: Cost<'_>) -> Result<Grant, Wait> {
        let Cost { weight, orders, priority, owner } = cost;
        let now = Instant::now();
        let now_ms = self.now_ms(now);
        let mut s = self.lock();
        let mut grant = Grant::default();
        if s.all.check(now).map_err(Wait::Until)? {
            grant.probe = Some(Blocked::All);
        }
        if orders > 0 && s.orders.check(now).map_err(Wait::Until)? && grant.probe.is_none() {
            grant.probe = Some(Blocked::Orders);
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
        let window = now_ms.div_euclid(TEN_SECONDS);
        if orders > 0 {
            let ten = u64::from(*s.orders_10s.used_at(now_ms, TEN_SECONDS));
            let ten_cap = cap(limits.orders_per_10s).max(1);
            if ten + u64::from(orders) > ten_cap {
                if let Some(owner) = owner {
                    s.shares.asked(owner, window);
                }
                return Err(Wait::Until(next_window(TEN_SECONDS)));
            }
            if let Some(owner) = owner {
                s.shares.asked(owner, window);
                if !s.shares.allows(owner, window, ten, ten_cap, u64::from(orders)) {
                    return Err(Wait::Until(next_window(TEN_SECONDS)));
                }
            }
            let day = u64::from(*s.orders_day.used_at(now_ms, DAY));
            if day + u64::from(orders) > cap(limits.orders_per_day).max(1) {
                return Err(Wait::Until(next_window(DAY)));
            }
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
            if let Some(owner) = owner {
                s.shares.charge(owner, window, u64::from(orders));
            }
        }
        match grant.probe {
            Some(Blocked::All) => s.all.probe_out = Some(now),
            Some(Blocked::Orders) => s.orders.probe_out = Some(now),
            None => {}
        }
        Ok(grant)
    }

    /// How the request `grant` let through was answered: `limited` if with a
    /// 429 or 418. A probe answered without one ends its block; the requests
    /// waiting then follow at the pacer's sustained rate, not in a burst.
    pub fn answered(&self, grant: Grant, limited: bool) {
        let Some(blocked) = grant.probe else { return };
        let ended = {
            let mut s = self.lock();
            match blocked {
                Blocked::All => s.all.answered(limited),
                Blocked::Orders => s.orders.answered(limited),
            }
        };
        if ended {
            // A pacer with its burst spent: what waited drains at the sustained rate.
            let limits = self.limits();
            let fresh = pacer(limits);
            let _ = fresh.check_n(NonZeroU32::new(limits.weight_per_minute.max(5) / 5).unwrap_or(NonZeroU32::MIN));
            *self.pacer.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
            tracing::info!(blocked = ?blocked, "the venue answered the probe: requests go again, at the paced rate");
        }
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

    /// Stops every request (`Blocked::All`) or every new order until
    /// `retry_after` has passed (429/418); then one probe goes first.
    pub fn block_for(&self, blocked: Blocked, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        {
            let mut s = self.lock();
            match blocked {
                Blocked::All => s.all.set(until),
                Blocked::Orders => s.orders.set(until),
            }
        }
        self.suspect.notify_one();
    }

    /// Resolves after the next 429/418: the venue's limits may have changed,
    /// and should be read again.
    pub fn limits_suspect(&self) -> tokio::sync::futures::Notified<'_> {
        self.suspect.notified()
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

/// The pacer's clock: tokio's, so that it agrees with the sleeps that wait
/// for it (and tests that pause time pause it too).
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl governor::clock::Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

type Pacer = Gcra<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    TokioClock,
    governor::middleware::NoOpMiddleware<std::time::Instant>,
>;

/// GCRA pacing: a fifth of the limit as burst, the rest spread over the minute.
fn pacer(limits: Limits) -> Pacer {
    let limit = limits.weight_per_minute.max(5);
    let burst = NonZeroU32::new(limit / 5).unwrap_or(NonZeroU32::MIN);
    let per_minute = NonZeroU32::new(limit - limit / 5).unwrap_or(NonZeroU32::MIN);
    Gcra::direct_with_clock(Quota::per_minute(per_minute).allow_burst(burst), TokioClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(weight: u32, orders: u32) -> Limits {
        Limits { weight_per_minute: weight, orders_per_10s: orders, orders_per_day: 1_000_000 }
    }

    fn w(weight: u32, priority: Priority) -> Cost<'static> {
        Cost::weight(weight, priority)
    }

    /// A new order of weight 1 for `owner`.
    fn order(owner: Option<&str>) -> Cost<'_> {
        Cost { weight: 1, orders: 1, priority: Priority::NewOrder, owner }
    }

    #[tokio::test(start_paused = true)]
    async fn lower_classes_leave_room_for_cancels() {
        // Start at the beginning of a minute.
        let rl = RateLimiter::with_clock(limits(100, 1000), 0);
        let _ = rl.acquire(w(60, Priority::Bulk), None).await.unwrap();
        // Bulk may use 60 %: the next bulk request must wait for the next minute.
        assert!(matches!(rl.try_acquire(w(1, Priority::Bulk)), Err(Wait::Until(_))));
        // Cancels may use all of it, without pacing.
        for _ in 0..40 {
            let _ = rl.try_acquire(w(1, Priority::Cancel)).map_err(|_| "cancel refused").unwrap();
        }
        assert!(matches!(rl.try_acquire(w(1, Priority::Cancel)), Err(Wait::Until(_))));
        assert_eq!(rl.used_weight(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_refuses_instead_of_sending_late() {
        let rl = RateLimiter::with_clock(limits(10, 1000), 0);
        let _ = rl.acquire(w(8, Priority::NewOrder), None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(rl.acquire(w(1, Priority::NewOrder), Some(deadline)).await, Err(Refused::Deadline));
        // Without a deadline it waits for the next window, then goes.
        let start = Instant::now();
        let _ = rl.acquire(w(1, Priority::NewOrder), None).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(59), "waited {:?}", start.elapsed());
        assert_eq!(rl.acquire(w(11, Priority::Cancel), None).await, Err(Refused::TooHeavy { weight: 11, limit: 10 }));
    }

    #[tokio::test(start_paused = true)]
    async fn venue_headers_and_retry_after_override_our_count() {
        let rl = RateLimiter::with_clock(limits(100, 1000), 0);
        let _ = rl.acquire(w(1, Priority::Query), None).await.unwrap();
        rl.observe_weight(85);
        assert_eq!(rl.used_weight(), 85, "the venue counted more: it wins");
        rl.observe_weight(10);
        assert_eq!(rl.used_weight(), 85, "a lower count never lowers ours");
        assert!(matches!(rl.try_acquire(w(10, Priority::Query)), Err(Wait::Until(_))));

        rl.block_for(Blocked::All, Duration::from_secs(30));
        let start = Instant::now();
        let probe = rl.acquire(w(1, Priority::Cancel), None).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(30), "even cancels wait out a 429");
        assert!(probe.is_probe());
        rl.answered(probe, false);
    }

    #[tokio::test(start_paused = true)]
    async fn after_retry_after_one_probe_goes_first_then_the_rest_at_the_paced_rate() {
        // regression: release_after_retry_after (every queued request went at once, 429 again, then 418)
        let rl = std::sync::Arc::new(RateLimiter::with_clock(limits(600, 1000), 0));
        rl.block_for(Blocked::All, Duration::from_secs(5));
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let rl = rl.clone();
                tokio::spawn(async move {
                    let grant = rl.acquire(w(1, Priority::Query), None).await.unwrap();
                    (Instant::now(), grant)
                })
            })
            .collect();
        // Past the block, only the probe may go, however long the others wait.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let finished: Vec<_> = waiting.iter().filter(|h| h.is_finished()).collect();
        assert_eq!(finished.len(), 1, "one probe, the others hold back");
        // The probe meets another 429: blocked again, still one at a time afterwards.
        let mut tasks = waiting;
        let probe_at = tasks.iter().position(|h| h.is_finished()).unwrap();
        let (_, probe) = tasks.remove(probe_at).await.unwrap();
        assert!(probe.is_probe());
        rl.answered(probe, true);
        rl.block_for(Blocked::All, Duration::from_secs(5));
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(tasks.iter().filter(|h| h.is_finished()).count(), 1, "a new probe after the second block");
        let probe_at = tasks.iter().position(|h| h.is_finished()).unwrap();
        let (answered_at, probe) = tasks.remove(probe_at).await.unwrap();
        rl.answered(probe, false);
        // Now the rest, paced: 480 weight a minute is one every 125 ms, not all at once.
        let mut times = Vec::new();
        for t in tasks {
            let (at, grant) = t.await.unwrap();
            assert!(!grant.is_probe());
            times.push(at);
        }
        times.sort();
        let span = *times.last().unwrap() - answered_at;
        assert!(span >= Duration::from_millis(125 * 17), "17 gaps of 125 ms at least, got {span:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_order_count_429_stops_new_orders_but_not_cancels() {
        let rl = RateLimiter::with_clock(limits(1000, 100), 0);
        rl.block_for(Blocked::Orders, Duration::from_secs(10));
        assert!(rl.try_acquire_now(order(None)).is_none(), "orders wait");
        assert!(rl.try_acquire_now(w(1, Priority::Cancel)).is_some(), "cancels go");
        assert!(rl.try_acquire_now(w(4, Priority::Query)).is_some(), "queries go");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let probe = rl.try_acquire_now(order(None)).unwrap();
        assert!(probe.is_probe());
        assert!(rl.try_acquire_now(order(None)).is_none(), "one order probes first");
        rl.answered(probe, false);
        assert!(rl.try_acquire_now(order(None)).is_none(), "paced: not at once");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(rl.try_acquire_now(order(None)).is_some(), "but soon");
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_is_never_answered_stops_holding_the_others() {
        let rl = RateLimiter::with_clock(limits(1000, 100), 0);
        rl.block_for(Blocked::All, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _lost = rl.try_acquire_now(w(1, Priority::Query)).unwrap();
        assert!(rl.try_acquire_now(w(1, Priority::Query)).is_none());
        tokio::time::sleep(PROBE_TIMEOUT).await;
        assert!(rl.try_acquire_now(w(1, Priority::Query)).unwrap().is_probe(), "another probe");
    }

    #[tokio::test(start_paused = true)]
    async fn orders_per_ten_seconds_are_paced() {
        let rl = RateLimiter::with_clock(limits(10_000, 10), 0);
        let start = Instant::now();
        for _ in 0..20 {
            let _ = rl.acquire(order(None), None).await.unwrap();
        }
        // 80 % of 10 per window: 8 in the first window, 8 in the second, 4 in the third.
        assert!(start.elapsed() >= Duration::from_secs(20), "{:?}", start.elapsed());
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_tight_order_budget_is_shared_between_strategies() {
        // regression: starvation_under_a_tight_budget (a churning market maker took all of 5 per 10 s)
        let rl = RateLimiter::with_clock(limits(10_000, 5), 0);
        let (mut mm, mut twap) = (0, 0);
        for _window in 0..6 {
            // The market maker asks a hundred times a window, the twap twice.
            for i in 0..100 {
                if rl.try_acquire_now(order(Some("mm"))).is_some() {
                    mm += 1;
                }
                if i % 50 == 0 && rl.try_acquire_now(order(Some("twap"))).is_some() {
                    twap += 1;
                }
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        // 80 % of 5 is 4 a window: 2 each once both are active.
        assert_eq!(twap, 12, "the twap got every order it asked for");
        assert_eq!(mm, 12, "the market maker the rest: the windows are still used in full");
    }
}
