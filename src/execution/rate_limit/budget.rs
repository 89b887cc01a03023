//! One budget of a venue's rate limits, and the three ways venues count one.
//!
//! - [`Model::Fixed`]: a counter that resets at every multiple of its length
//!   of wall-clock time (Binance's request weight per minute, orders per 10 s
//!   and per day).
//! - [`Model::Rolling`]: what went in the last `len` (Bybit's per-endpoint
//!   second, OKX's per-endpoint 2 s).
//! - [`Model::Decaying`]: a counter every request raises and time lowers at a
//!   steady rate (Kraken's, whose costs the venue's connector works out per
//!   request).
//!
//! A venue describes its limits as a table of [`Budget`]s; each request says
//! how much of which budgets it uses ([`super::Cost`]).

use std::collections::VecDeque;
use std::time::Duration;

/// Which budget of the venue's table (its index there).
pub type BudgetId = usize;

/// How the venue counts a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Resets at every multiple of this length of wall-clock time since the epoch.
    Fixed(Duration),
    /// Counts what went in the last this long.
    Rolling(Duration),
    /// Lowered by this many thousandths of a unit a second, never below zero.
    Decaying { per_second_milli: u32 },
}

impl Model {
    /// The period a fair share of this budget is counted over (ms).
    pub(super) fn period_ms(self) -> i64 {
        match self {
            Model::Fixed(len) | Model::Rolling(len) => i64::try_from(len.as_millis()).unwrap_or(i64::MAX).max(1),
            Model::Decaying { .. } => 1_000,
        }
    }
}

/// One limit the venue enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The metric label (`tradewind_rate_limit_used{budget=...}`).
    pub name: &'static str,
    pub model: Model,
    pub limit: u32,
    /// Spread non-urgent use over the window (a GCRA pacer), rather than
    /// spending it in a burst at the window's start. At most one budget of a
    /// table is paced (the first so marked).
    pub paced: bool,
    /// Shared fairly between the strategies asking for new orders (see `fair`).
    pub fair: bool,
}

impl Budget {
    /// A budget neither paced nor shared between strategies.
    pub const fn new(name: &'static str, model: Model, limit: u32) -> Self {
        Self { name, model, limit, paced: false, fair: false }
    }

    pub const fn paced(self) -> Self {
        Self { paced: true, ..self }
    }

    pub const fn fair(self) -> Self {
        Self { fair: true, ..self }
    }
}

/// A decaying counter's level is kept in millionths of a unit, so that
/// thousandths a second lower it by a whole number every millisecond.
const MICRO: u64 = 1_000_000;

/// Our count of one budget.
#[derive(Debug, Clone)]
pub(super) enum Counter {
    Fixed { index: i64, used: u32 },
    Rolling { sent: VecDeque<(i64, u32)>, used: u32 },
    Decaying { level: u64, at_ms: i64 },
}

impl Counter {
    pub(super) fn new(model: Model) -> Self {
        match model {
            Model::Fixed(_) => Counter::Fixed { index: i64::MIN, used: 0 },
            Model::Rolling(_) => Counter::Rolling { sent: VecDeque::new(), used: 0 },
            Model::Decaying { .. } => Counter::Decaying { level: 0, at_ms: i64::MIN },
        }
    }

    /// Brings the count up to `now_ms`.
    fn advance(&mut self, model: Model, now_ms: i64) {
        match (self, model) {
            (Counter::Fixed { index, used }, Model::Fixed(len)) => {
                let i = now_ms.div_euclid(len_ms(len));
                if *index != i {
                    (*index, *used) = (i, 0);
                }
            }
            (Counter::Rolling { sent, used }, Model::Rolling(len)) => {
                while let Some(&(at, n)) = sent.front()
                    && at + len_ms(len) <= now_ms
                {
                    sent.pop_front();
                    *used -= n;
                }
            }
            (Counter::Decaying { level, at_ms }, Model::Decaying { per_second_milli }) => {
                if *at_ms != i64::MIN && now_ms > *at_ms {
                    let elapsed = u64::try_from(now_ms - *at_ms).unwrap_or(0);
                    *level = level.saturating_sub(elapsed.saturating_mul(u64::from(per_second_milli)));
                }
                *at_ms = (*at_ms).max(now_ms);
            }
            // A table replaced under a counter of another model starts afresh.
            (counter, model) => *counter = Counter::new(model),
        }
    }

    /// The count now (a decaying level rounded up).
    pub(super) fn used(&mut self, model: Model, now_ms: i64) -> u32 {
        self.advance(model, now_ms);
        match self {
            Counter::Fixed { used, .. } | Counter::Rolling { used, .. } => *used,
            Counter::Decaying { level, .. } => u32::try_from(level.div_ceil(MICRO)).unwrap_or(u32::MAX),
        }
    }

    /// `Ok` if `amount` more stays within `cap`; otherwise the time (ms) at
    /// which it will, as far as our own count knows.
    pub(super) fn room(&mut self, model: Model, now_ms: i64, amount: u32, cap: u64) -> Result<(), i64> {
        self.advance(model, now_ms);
        let amount = u64::from(amount);
        match (&*self, model) {
            (Counter::Fixed { used, .. }, Model::Fixed(len)) => {
                if u64::from(*used) + amount <= cap {
                    Ok(())
                } else {
                    Err((now_ms.div_euclid(len_ms(len)) + 1) * len_ms(len))
                }
            }
            (Counter::Rolling { sent, used }, Model::Rolling(len)) => {
                let mut left = u64::from(*used);
                if left + amount <= cap {
                    return Ok(());
                }
                for &(at, n) in sent {
                    left -= u64::from(n);
                    if left + amount <= cap {
                        return Err(at + len_ms(len));
                    }
                }
                Err(now_ms + len_ms(len))
            }
            (Counter::Decaying { level, .. }, Model::Decaying { per_second_milli }) => {
                let (needed, cap) = (amount * MICRO, cap * MICRO);
                if level + needed <= cap {
                    return Ok(());
                }
                let excess = level + needed - cap;
                let ms = excess.div_ceil(u64::from(per_second_milli.max(1)));
                Err(now_ms.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)))
            }
            _ => unreachable!("advance matched the counter to its model"),
        }
    }

    pub(super) fn charge(&mut self, model: Model, now_ms: i64, amount: u32) {
        self.advance(model, now_ms);
        match self {
            Counter::Fixed { used, .. } => *used = used.saturating_add(amount),
            Counter::Rolling { sent, used } => {
                sent.push_back((now_ms, amount));
                *used = used.saturating_add(amount);
            }
            Counter::Decaying { level, .. } => *level = level.saturating_add(u64::from(amount) * MICRO),
        }
    }

    /// A rolling window's `amount` charged at `from_ms` counts from `to_ms`
    /// on instead (a request answered then: the venue may have counted it as
    /// late as that). Charged again if it already left the window. The other
    /// models count by windows or rates the venue stamps itself: unchanged.
    pub(super) fn restamp(&mut self, model: Model, from_ms: i64, to_ms: i64, amount: u32) {
        self.advance(model, to_ms);
        let Counter::Rolling { sent, used } = self else { return };
        if let Some(i) = sent.iter().position(|&(at, n)| at == from_ms && n >= amount) {
            sent[i].1 -= amount;
            if sent[i].1 == 0 {
                sent.remove(i);
            }
            *used -= amount;
        }
        // Kept in time order: the window expires from the front.
        let at = sent.partition_point(|&(at, _)| at <= to_ms);
        sent.insert(at, (to_ms, amount));
        *used = used.saturating_add(amount);
    }

    /// The venue says `used` is spent: where it counted more than we did, it
    /// is the truth (a lower figure never lowers ours).
    pub(super) fn observe(&mut self, model: Model, now_ms: i64, reported: u32) {
        let ours = self.used(model, now_ms);
        if reported > ours {
            match self {
                Counter::Fixed { used, .. } => *used = reported,
                // What we did not see counts as sent now: it expires no sooner than the venue's.
                Counter::Rolling { .. } => self.charge(model, now_ms, reported - ours),
                Counter::Decaying { level, .. } => *level = u64::from(reported) * MICRO,
            }
        }
    }
}

fn len_ms(len: Duration) -> i64 {
    i64::try_from(len.as_millis()).unwrap_or(i64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_fixed_window_resets_at_its_wall_clock_boundary() {
        let model = Model::Fixed(Duration::from_secs(10));
        let mut c = Counter::new(model);
        c.charge(model, 9_000, 5);
        assert_eq!(c.room(model, 9_500, 1, 5), Err(10_000), "full until the window ends");
        assert_eq!(c.room(model, 10_000, 5, 5), Ok(()), "a new window");
        assert_eq!(c.used(model, 10_000), 0);
    }

    #[test]
    fn a_rolling_window_frees_each_request_its_length_after_it_went() {
        let model = Model::Rolling(SECOND);
        let mut c = Counter::new(model);
        c.charge(model, 0, 2);
        c.charge(model, 400, 2);
        c.charge(model, 700, 1);
        assert_eq!(c.used(model, 900), 5);
        // Room for 2 of 5: the first request (2) must expire, at 1 000 ms.
        assert_eq!(c.room(model, 900, 2, 5), Err(1_000));
        // Room for 4: the first two must, at 1 400 ms.
        assert_eq!(c.room(model, 900, 4, 5), Err(1_400));
        assert_eq!(c.room(model, 1_000, 2, 5), Ok(()), "no fixed boundary: the first left at 1 000");
        assert_eq!(c.used(model, 1_000), 3);
        assert_eq!(c.used(model, 1_700), 0);
    }

    #[test]
    fn a_decaying_counter_drains_at_its_rate() {
        // Kraken's starter tier: a counter of 15 that loses 0.33 a second.
        let model = Model::Decaying { per_second_milli: 330 };
        let mut c = Counter::new(model);
        c.charge(model, 0, 15);
        assert_eq!(c.room(model, 0, 1, 15), Err(3_031), "one unit drains in 1/0.33 s");
        assert_eq!(c.used(model, 3_000), 15, "14.01, rounded up");
        assert_eq!(c.room(model, 3_031, 1, 15), Ok(()));
        assert_eq!(c.used(model, 100_000), 0, "never below zero");
        c.charge(model, 100_000, 3);
        assert_eq!(c.used(model, 100_000), 3);
    }

    #[test]
    fn the_venues_count_raises_ours_in_every_model() {
        for model in [Model::Fixed(SECOND), Model::Rolling(SECOND), Model::Decaying { per_second_milli: 1_000 }] {
            let mut c = Counter::new(model);
            c.charge(model, 0, 1);
            c.observe(model, 0, 7);
            assert_eq!(c.used(model, 0), 7, "{model:?}");
            c.observe(model, 0, 2);
            assert_eq!(c.used(model, 0), 7, "a lower count never lowers ours: {model:?}");
        }
    }

    #[test]
    fn a_counter_of_another_model_starts_afresh() {
        let mut c = Counter::new(Model::Fixed(SECOND));
        c.charge(Model::Fixed(SECOND), 0, 3);
        assert_eq!(c.used(Model::Rolling(SECOND), 0), 0);
        c.charge(Model::Rolling(SECOND), 0, 2);
        assert_eq!(c.used(Model::Rolling(SECOND), 500), 2);
    }
}
