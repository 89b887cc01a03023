//! Binance's rate limits as the venue enforces them: request weight per
//! fixed wall-clock minute (per server, as Binance counts per IP), new
//! orders per 10 s and per day (per account), 429 with `Retry-After` once a
//! limit is hit, and escalating 418 bans for clients that keep sending.

use std::collections::HashMap;

use crate::venue::sim::config::LimitConfig;
use crate::venue::sim::exchange::ApiError;
use crate::venue::sim::ledger::AccountId;

/// A refused request: HTTP status, `Retry-After` seconds and the error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub status: u16,
    pub retry_after_secs: u64,
    pub error: ApiError,
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
}

impl Window {
    /// Count in the fixed window of `len_ms` containing `now`.
    fn at(&mut self, now: i64, len_ms: i64) -> &mut u32 {
        let start = now - now.rem_euclid(len_ms);
        if start != self.start {
            *self = Window { start, count: 0 };
        }
        &mut self.count
    }
}

#[derive(Debug, Default)]
pub struct RateState {
    weight: Window,
    orders: HashMap<AccountId, (Window, Window)>,
    limited_until: i64,
    strikes: u32,
    banned_until: i64,
    bans: u32,
    peak: u32,
}

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

impl RateState {
    /// Weight used in the current minute (the `X-MBX-USED-WEIGHT-1M` header).
    pub fn used_weight(&mut self, now: i64) -> u32 {
        *self.weight.at(now, MINUTE)
    }

    /// Charges a request's weight, or refuses it.
    pub fn charge(&mut self, limits: &LimitConfig, weight: u32, now: i64) -> Result<(), Limited> {
        if now < self.banned_until {
            return Err(self.ban_error(now));
        }
        if now < self.limited_until {
            self.strikes += 1;
            if self.strikes >= limits.requests_before_ban {
                let secs = limits.ban_secs.saturating_mul(1 << self.bans.min(10));
                self.bans += 1;
                self.strikes = 0;
                self.banned_until = now + i64::try_from(secs * 1000).unwrap_or(i64::MAX / 2);
                return Err(self.ban_error(now));
            }
            return Err(self.too_much_weight(limits, now, self.limited_until));
        }
        let used = self.weight.at(now, MINUTE);
        if *used + weight > limits.request_weight_per_minute {
            let window_end = now - now.rem_euclid(MINUTE) + MINUTE;
            self.limited_until = window_end;
            self.strikes = 0;
            return Err(self.too_much_weight(limits, now, window_end));
        }
        *used += weight;
        self.peak = self.peak.max(*used);
        Ok(())
    }

    /// The most weight used within one minute so far.
    pub fn peak_weight(&self) -> u32 {
        self.peak
    }

    /// Gives back weight that a successful order does not cost (since 2026-04-02).
    pub fn refund(&mut self, weight: u32, now: i64) {
        let used = self.weight.at(now, MINUTE);
        *used = used.saturating_sub(weight);
    }

    /// Counts a new order of `account`; returns the 10 s and day counts.
    pub fn count_order(&mut self, limits: &LimitConfig, account: AccountId, now: i64) -> Result<(u32, u32), Limited> {
        let (ten, day) = self.orders.entry(account).or_default();
        let (n10, nday) = (*ten.at(now, 10_000), *day.at(now, DAY));
        let refuse = |limit: u32, interval: &str, until: i64| Limited {
            status: 429,
            retry_after_secs: secs_until(now, until),
            error: ApiError::new(
                -1015,
                format!("Too many new orders; current limit is {limit} orders per {interval}."),
            ),
        };
        if n10 >= limits.orders_per_10s {
            return Err(refuse(limits.orders_per_10s, "10 SECOND", now - now.rem_euclid(10_000) + 10_000));
        }
        if nday >= limits.orders_per_day {
            return Err(refuse(limits.orders_per_day, "DAY", now - now.rem_euclid(DAY) + DAY));
        }
        *ten.at(now, 10_000) += 1;
        *day.at(now, DAY) += 1;
        Ok((n10 + 1, nday + 1))
    }

    fn too_much_weight(&self, limits: &LimitConfig, now: i64, until: i64) -> Limited {
        Limited {
            status: 429,
            retry_after_secs: secs_until(now, until),
            error: ApiError::new(
                -1003,
                format!(
                    "Too much request weight used; current limit is {} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                    limits.request_weight_per_minute
                ),
            ),
        }
    }

    fn ban_error(&self, now: i64) -> Limited {
        Limited {
            status: 418,
            retry_after_secs: secs_until(now, self.banned_until),
            error: ApiError::new(
                -1003,
                format!(
                    "Way too much request weight used; IP banned until {}. Please use WebSocket Streams for live updates to avoid bans.",
                    self.banned_until
                ),
            ),
        }
    }
}

fn secs_until(now: i64, until: i64) -> u64 {
    u64::try_from((until - now + 999) / 1000).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(weight: u32) -> LimitConfig {
        LimitConfig {
            request_weight_per_minute: weight,
            requests_before_ban: 3,
            ban_secs: 120,
            ..LimitConfig::default()
        }
    }

    #[test]
    fn weight_is_counted_per_fixed_minute() {
        let l = limits(10);
        let mut s = RateState::default();
        let t = 5 * MINUTE + 50_000;
        s.charge(&l, 6, t).unwrap();
        s.charge(&l, 4, t + 1).unwrap();
        assert_eq!(s.used_weight(t + 2), 10);
        let e = s.charge(&l, 1, t + 2).unwrap_err();
        assert_eq!((e.status, e.error.code, e.retry_after_secs), (429, -1003, 10));
        // The next minute starts from zero.
        s.charge(&l, 10, 6 * MINUTE).unwrap();
        s.refund(4, 6 * MINUTE);
        assert_eq!(s.used_weight(6 * MINUTE), 6);
    }

    #[test]
    fn clients_that_ignore_429_get_banned_for_longer_each_time() {
        let l = limits(1);
        let mut s = RateState::default();
        s.charge(&l, 1, 0).unwrap();
        assert_eq!(s.charge(&l, 1, 1).unwrap_err().status, 429);
        assert_eq!(s.charge(&l, 1, 2).unwrap_err().status, 429);
        assert_eq!(s.charge(&l, 1, 3).unwrap_err().status, 429);
        let ban = s.charge(&l, 1, 4).unwrap_err();
        assert_eq!((ban.status, ban.retry_after_secs), (418, 120));
        assert_eq!(s.charge(&l, 1, 120_003).unwrap_err().status, 418, "still banned");
        // After the ban the window is new; repeat offences double the ban.
        let t = 120_004 + MINUTE;
        s.charge(&l, 1, t).unwrap();
        for i in 1..=3 {
            assert_eq!(s.charge(&l, 1, t + i).unwrap_err().status, 429);
        }
        assert_eq!(s.charge(&l, 1, t + 4).unwrap_err().retry_after_secs, 240);
    }

    #[test]
    fn orders_are_limited_per_account_per_ten_seconds() {
        let l = LimitConfig { orders_per_10s: 2, ..LimitConfig::default() };
        let mut s = RateState::default();
        assert_eq!(s.count_order(&l, 2, 0).unwrap(), (1, 1));
        assert_eq!(s.count_order(&l, 2, 1).unwrap(), (2, 2));
        let e = s.count_order(&l, 2, 2).unwrap_err();
        assert_eq!((e.status, e.error.code), (429, -1015));
        assert!(e.error.msg.contains("2 orders per 10 SECOND"));
        assert_eq!(s.count_order(&l, 3, 2).unwrap(), (1, 1), "another account has its own count");
        assert_eq!(s.count_order(&l, 2, 10_000).unwrap(), (1, 3));
    }
}
