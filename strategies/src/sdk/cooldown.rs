//! Waiting longer after each refusal, so a strategy does not send again and
//! again what will be refused (the order budget, a risk limit, a halt).

use super::types::Timestamp;

/// After a refusal, wait `first` before trying again, twice as long after the
/// next, up to `longest`; a success starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooldown {
    first_ms: i64,
    longest_ms: i64,
    /// The next wait, and until when the current one lasts.
    next_ms: i64,
    until: Option<Timestamp>,
}

impl Default for Cooldown {
    /// 1 s, doubling to 30 s.
    fn default() -> Self {
        Self::new(1_000, 30_000)
    }
}

impl Cooldown {
    pub fn new(first_ms: i64, longest_ms: i64) -> Self {
        Self { first_ms, longest_ms, next_ms: first_ms, until: None }
    }

    /// Something was refused at `now`: wait before the next try.
    pub fn refused(&mut self, now: Timestamp) {
        self.until = Some(Timestamp(now.0 + self.next_ms));
        self.next_ms = (self.next_ms * 2).min(self.longest_ms);
    }

    /// Something went through: no waiting from now on.
    pub fn succeeded(&mut self) {
        self.next_ms = self.first_ms;
        self.until = None;
    }

    /// Whether a try is allowed at `now`.
    pub fn ready(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now >= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_each_refusal_and_a_success_resets_them() {
        let mut c = Cooldown::default();
        assert!(c.ready(Timestamp(0)));
        c.refused(Timestamp(0));
        assert!(!c.ready(Timestamp(999)) && c.ready(Timestamp(1_000)));
        c.refused(Timestamp(1_000));
        assert!(!c.ready(Timestamp(2_999)) && c.ready(Timestamp(3_000)));
        for _ in 0..10 {
            c.refused(Timestamp(3_000));
        }
        assert!(!c.ready(Timestamp(32_999)) && c.ready(Timestamp(33_000)), "at most 30 s");
        c.succeeded();
        assert!(c.ready(Timestamp(3_000)));
        c.refused(Timestamp(3_000));
        assert!(c.ready(Timestamp(4_000)), "back to 1 s");
    }
}
