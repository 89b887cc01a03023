//! The venue's rate limits, modelled on our side so we never hit them.
//!
//! A venue describes its limits as a table of budgets ([`Budget`]), each
//! counted the way the venue counts it ([`Model`]: fixed wall-clock windows,
//! rolling windows, a decaying counter), and each request says how much of
//! which budgets it uses ([`Cost`]). The venue's own counts (response headers)
//! correct ours where it counted more ([`RateLimiter::observe`]); a 429 stops
//! every request, or those of one budget, until its `Retry-After`. In front of
//! the paced budget, a `governor` GCRA pacer spreads non-urgent use over the
//! window, sized so that burst plus a window of refill stays within the limit.
//!
//! Priorities: each class may only use part of every budget (cancels all of
//! it, queries 90 %, new orders 80 %, startup bulk 60 %), so when the budget
//! is short, lower classes wait and cancels still go through. Within the new
//! orders' part of a fair budget, each strategy has a fair share ([`fair`]).
//! A caller may give a deadline; a request that cannot be sent before it is
//! refused instead of being sent late.
//!
//! After a 429 or 418 nothing it stopped goes until `Retry-After` has
//! passed. Then one request goes alone, the probe; only once it is answered
//! without a 429 do the others follow, at the pacer's sustained rate rather
//! than in a burst. A 429 also says that the limits may have changed:
//! [`RateLimiter::limits_suspect`] wakes whoever reads them again.

mod budget;
mod fair;

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use budget::Counter;
pub use budget::{Budget, BudgetId, Model};
use governor::{Quota, RateLimiter as Gcra};
use tokio::time::Instant;

/// The most budgets one request may be charged to.
const MAX_CHARGES: usize = 4;

/// What a request costs, and who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost<'a> {
    charges: [(BudgetId, u32); MAX_CHARGES],
    len: usize,
    pub priority: Priority,
    /// The strategy instance a new order is for (its fair share), if any.
    pub owner: Option<&'a str>,
}

impl<'a> Cost<'a> {
    /// A request charged to no budget yet.
    pub fn new(priority: Priority, owner: Option<&'a str>) -> Self {
        Self { charges: [(0, 0); MAX_CHARGES], len: 0, priority, owner }
    }

    /// Also uses `amount` of `budget`.
    ///
    /// # Panics
    /// On a fifth budget: a venue's cost table names at most four per request.
    #[must_use]
    pub fn charge(mut self, budget: BudgetId, amount: u32) -> Self {
        assert!(self.len < MAX_CHARGES, "a request is charged to at most {MAX_CHARGES} budgets");
        self.charges[self.len] = (budget, amount);
        self.len += 1;
        self
    }

    fn charges(&self) -> &[(BudgetId, u32)] {
        &self.charges[..self.len]
    }
}

/// Permission to send one request. Say how it was answered with
/// [`RateLimiter::answered`]: after a block, the first request is a probe
/// that the others wait for; and a rolling window counts the request from
/// its answer on (the venue counted it when it arrived, somewhere between
/// the grant and the answer: only the answer's time is never too early).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use = "a probe that is never answered holds the other requests back until it times out"]
pub struct Grant {
    probe: Option<Blocked>,
    /// What was charged, and when (ms on the limiter's clock).
    charges: [(BudgetId, u32); MAX_CHARGES],
    len: usize,
    at_ms: i64,
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
    /// The requests charged to one budget (Binance's order count, -1015; one Bybit endpoint).
    Budget(BudgetId),
}

/// How long waiting requests sleep between looks while a probe is out.
const PROBE_POLL: Duration = Duration::from_millis(50);
/// A probe not answered within this long (its caller gave up) no longer holds the others.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// One block (of all requests or of one budget) and its probe.
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

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the request needs {amount} of the {budget} budget but its limit is {limit}")]
    TooHeavy { budget: &'static str, amount: u32, limit: u32 },
    #[error("the rate budget does not allow sending before the request's deadline")]
    Deadline,
}

/// One budget as the limiter keeps it.
#[derive(Debug)]
struct Slot {
    budget: Budget,
    counter: Counter,
    /// The requests of this budget stopped by a 429.
    block: Block,
    /// Each strategy's share of it, when it is fair.
    shares: fair::Shares,
}

impl Slot {
    fn new(budget: Budget) -> Self {
        Self { budget, counter: Counter::new(budget.model), block: Block::default(), shares: fair::Shares::default() }
    }
}

#[derive(Debug)]
struct State {
    slots: Vec<Slot>,
    /// Every request stopped (429 on weight, 418).
    all: Block,
}

/// Shared by every request of one venue connection (one per IP and account).
pub struct RateLimiter {
    state: Mutex<State>,
    /// The paced budget's pacer, if the table has one.
    pacer: Mutex<Option<(BudgetId, Pacer)>>,
    /// Wall-clock milliseconds at `base`, so fixed windows line up with the venue's.
    base_ms: i64,
    base: Instant,
    /// Notified on every 429/418: the venue's limits may have changed.
    suspect: tokio::sync::Notify,
}

impl RateLimiter {
    pub fn new(budgets: Vec<Budget>) -> Self {
        Self::with_clock(budgets, crate::clock::now_ms())
    }

    /// A limiter whose clock reads `wall_ms` now (tests pin it).
    pub fn with_clock(budgets: Vec<Budget>, wall_ms: i64) -> Self {
        let pacer = pacer(&budgets);
        let state = State { slots: budgets.into_iter().map(Slot::new).collect(), all: Block::default() };
        Self {
            state: Mutex::new(state),
            pacer: Mutex::new(pacer),
            base_ms: wall_ms,
            base: Instant::now(),
            suspect: tokio::sync::Notify::new(),
        }
    }

    /// Replaces the table (the venue published new limits). A budget that
    /// keeps its place and model keeps its count.
    pub fn set_budgets(&self, budgets: Vec<Budget>) {
        *self.lock_pacer() = pacer(&budgets);
        let mut s = self.lock();
        let old = std::mem::take(&mut s.slots);
        let mut old = old.into_iter();
        s.slots = budgets
            .into_iter()
            .map(|budget| match old.next() {
                Some(slot) if slot.budget.name == budget.name && slot.budget.model == budget.model => {
                    Slot { budget, ..slot }
                }
                _ => Slot::new(budget),
            })
            .collect();
    }

    /// The table in force.
    pub fn budgets(&self) -> Vec<Budget> {
        self.lock().slots.iter().map(|slot| slot.budget).collect()
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
        let (priority, owner) = (cost.priority, cost.owner);
        let now = Instant::now();
        let now_ms = self.now_ms(now);
        let at = |ms: i64| now + Duration::from_millis(u64::try_from(ms - now_ms).unwrap_or(0));
        let mut s = self.lock();
        let mut grant = Grant { charges: cost.charges, len: cost.len, at_ms: now_ms, ..Grant::default() };
        if s.all.check(now).map_err(Wait::Until)? {
            grant.probe = Some(Blocked::All);
        }
        for &(id, amount) in cost.charges() {
            let Some(slot) = s.slots.get_mut(id) else { continue };
            if slot.block.check(now).map_err(Wait::Until)? && grant.probe.is_none() {
                grant.probe = Some(Blocked::Budget(id));
            }
            let Budget { name, model, limit, fair, .. } = slot.budget;
            if amount > limit {
                return Err(Wait::Refused(Refused::TooHeavy { budget: name, amount, limit }));
            }
            let cap = (u64::from(limit) * priority.share() / 100).max(u64::from(amount));
            let period = model.period_ms();
            let window = now_ms.div_euclid(period);
            if let Err(ms) = slot.counter.room(model, now_ms, amount, cap) {
                if let Some(owner) = owner.filter(|_| fair) {
                    slot.shares.asked(owner, window);
                }
                return Err(Wait::Until(at(ms)));
            }
            if let Some(owner) = owner.filter(|_| fair) {
                slot.shares.asked(owner, window);
                let used = u64::from(slot.counter.used(model, now_ms));
                if !slot.shares.allows(owner, window, used, cap, u64::from(amount)) {
                    return Err(Wait::Until(at((window + 1) * period)));
                }
            }
        }
        // Cancels skip the pacer: they must never wait behind smoothing.
        if priority != Priority::Cancel {
            let pacer = self.lock_pacer();
            if let Some((paced, pacer)) = pacer.as_ref()
                && let Some(n) =
                    cost.charges().iter().find(|(id, _)| id == paced).and_then(|&(_, n)| NonZeroU32::new(n))
            {
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
        }
        for &(id, amount) in cost.charges() {
            let Some(slot) = s.slots.get_mut(id) else { continue };
            let model = slot.budget.model;
            slot.counter.charge(model, now_ms, amount);
            if let Some(owner) = owner.filter(|_| slot.budget.fair) {
                slot.shares.charge(owner, now_ms.div_euclid(model.period_ms()), u64::from(amount));
            }
        }
        match grant.probe {
            Some(Blocked::All) => s.all.probe_out = Some(now),
            Some(Blocked::Budget(id)) => s.slots[id].block.probe_out = Some(now),
            None => {}
        }
        Ok(grant)
    }

    /// How the request `grant` let through was answered: `limited` if with a
    /// 429 or 418. A probe answered without one ends its block; the requests
    /// waiting then follow at the pacer's sustained rate, not in a burst.
    pub fn answered(&self, grant: Grant, limited: bool) {
        if grant.len > 0 {
            let now_ms = self.now_ms(Instant::now());
            let mut s = self.lock();
            for &(id, amount) in &grant.charges[..grant.len] {
                if let Some(slot) = s.slots.get_mut(id) {
                    let model = slot.budget.model;
                    slot.counter.restamp(model, grant.at_ms, now_ms, amount);
                }
            }
        }
        let Some(blocked) = grant.probe else { return };
        let (ended, budgets) = {
            let mut s = self.lock();
            let ended = match blocked {
                Blocked::All => s.all.answered(limited),
                Blocked::Budget(id) => s.slots.get_mut(id).is_some_and(|slot| slot.block.answered(limited)),
            };
            (ended, s.slots.iter().map(|slot| slot.budget).collect::<Vec<_>>())
        };
        if ended {
            // A pacer with its burst spent: what waited drains at the sustained rate.
            let mut fresh = pacer(&budgets);
            if let Some((id, pacer)) = fresh.as_mut() {
                let burst = burst(budgets[*id].limit);
                let _ = pacer.check_n(burst);
            }
            *self.lock_pacer() = fresh;
            tracing::info!(blocked = ?blocked, "the venue answered the probe: requests go again, at the paced rate");
        }
    }

    /// The venue's own count of `budget` (a response header): where it counted
    /// more than we did, it wins.
    pub fn observe(&self, budget: BudgetId, reported: u32) {
        let now_ms = self.now_ms(Instant::now());
        if let Some(slot) = self.lock().slots.get_mut(budget) {
            slot.counter.observe(slot.budget.model, now_ms, reported);
        }
    }

    /// Stops every request (`Blocked::All`) or those of one budget until
    /// `retry_after` has passed (429/418); then one probe goes first.
    pub fn block_for(&self, blocked: Blocked, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        {
            let mut s = self.lock();
            match blocked {
                Blocked::All => s.all.set(until),
                Blocked::Budget(id) => {
                    if let Some(slot) = s.slots.get_mut(id) {
                        slot.block.set(until);
                    }
                }
            }
        }
        self.suspect.notify_one();
    }

    /// Resolves after the next 429/418: the venue's limits may have changed,
    /// and should be read again.
    pub fn limits_suspect(&self) -> tokio::sync::futures::Notified<'_> {
        self.suspect.notified()
    }

    /// How much of `budget` is used now, as far as we know.
    pub fn used(&self, budget: BudgetId) -> u32 {
        let now_ms = self.now_ms(Instant::now());
        self.lock().slots.get_mut(budget).map_or(0, |slot| slot.counter.used(slot.budget.model, now_ms))
    }

    /// Every budget's name, use and limit (for the metrics).
    pub fn usage(&self) -> Vec<(&'static str, u32, u32)> {
        let now_ms = self.now_ms(Instant::now());
        let mut s = self.lock();
        s.slots
            .iter_mut()
            .map(|slot| (slot.budget.name, slot.counter.used(slot.budget.model, now_ms), slot.budget.limit))
            .collect()
    }

    fn now_ms(&self, now: Instant) -> i64 {
        self.base_ms + i64::try_from(now.duration_since(self.base).as_millis()).unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_pacer(&self) -> std::sync::MutexGuard<'_, Option<(BudgetId, Pacer)>> {
        self.pacer.lock().unwrap_or_else(|p| p.into_inner())
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

/// A fifth of the limit.
fn burst(limit: u32) -> NonZeroU32 {
    NonZeroU32::new(limit.max(5) / 5).unwrap_or(NonZeroU32::MIN)
}

/// GCRA pacing of the first paced budget: a fifth of the limit as burst, the
/// rest spread over the window.
fn pacer(budgets: &[Budget]) -> Option<(BudgetId, Pacer)> {
    let id = budgets.iter().position(|b| b.paced)?;
    let Budget { model, limit, .. } = budgets[id];
    let window = match model {
        Model::Fixed(len) | Model::Rolling(len) => len,
        Model::Decaying { .. } => return None,
    };
    let limit = limit.max(5);
    let sustained = limit - burst(limit).get();
    let period = window.checked_div(sustained).filter(|p| !p.is_zero())?;
    let quota = Quota::with_period(period)?.allow_burst(burst(limit));
    Some((id, Gcra::direct_with_clock(quota, TokioClock)))
}

#[cfg(test)]
mod tests;
