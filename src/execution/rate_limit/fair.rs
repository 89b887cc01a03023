//! Fair shares of the new-order budget between the strategies of one account.
//!
//! Each 10-second order window is shared by the strategies that asked for an
//! order in it or in the window before: each may always have its share (the
//! window's room divided by their number). A strategy past its share may take
//! more only from what the others' unused shares leave free, so one that
//! churns orders cannot starve one that asks rarely. A strategy that stops
//! asking gives its share back after a window.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
struct Owner {
    /// The last window it asked for an order in.
    asked: i64,
    /// The window `used` counts in.
    window: i64,
    used: u64,
}

impl Owner {
    fn used_in(&self, window: i64) -> u64 {
        if self.window == window { self.used } else { 0 }
    }
}

#[derive(Debug, Default)]
pub(super) struct Shares {
    owners: HashMap<String, Owner>,
}

impl Shares {
    /// Whether `owner` may take `orders` more in window `window`, where `cap`
    /// orders may go in all and `used` went already.
    pub(super) fn allows(&self, owner: &str, window: i64, used: u64, cap: u64, orders: u64) -> bool {
        let active = |(name, o): &(&String, &Owner)| o.asked >= window - 1 && name.as_str() != owner;
        let others: Vec<&Owner> = self.owners.iter().filter(active).map(|(_, o)| o).collect();
        let n = others.len() as u64 + 1;
        let share = (cap / n).max(1);
        let mine = self.owners.get(owner).map_or(0, |o| o.used_in(window));
        if mine + orders <= share {
            return true;
        }
        let reserved: u64 = others.iter().map(|o| share.saturating_sub(o.used_in(window))).sum();
        used + orders + reserved <= cap
    }

    /// `owner` asked for an order in `window` (whether it got one or not).
    pub(super) fn asked(&mut self, owner: &str, window: i64) {
        match self.owners.get_mut(owner) {
            Some(o) => o.asked = window,
            None => {
                self.owners.insert(owner.to_owned(), Owner { asked: window, window, used: 0 });
            }
        }
    }

    /// `owner` took `orders` in `window`.
    pub(super) fn charge(&mut self, owner: &str, window: i64, orders: u64) {
        if let Some(o) = self.owners.get_mut(owner) {
            if o.window != window {
                (o.window, o.used) = (window, 0);
            }
            o.used += orders;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_churning_strategy_leaves_the_others_their_share() {
        let mut s = Shares::default();
        let (cap, mut used) = (4, 0);
        // Both asked in the window before: the twap is active.
        s.asked("twap", 0);
        let take = |s: &mut Shares, who: &str, used: &mut u64| {
            s.asked(who, 1);
            let ok = *used < cap && s.allows(who, 1, *used, cap, 1);
            if ok {
                s.charge(who, 1, 1);
                *used += 1;
            }
            ok
        };
        assert!(take(&mut s, "mm", &mut used));
        assert!(take(&mut s, "mm", &mut used));
        assert!(!take(&mut s, "mm", &mut used), "the twap's two are reserved");
        assert!(take(&mut s, "twap", &mut used));
        assert!(!take(&mut s, "mm", &mut used), "one of the twap's is still reserved");
        assert!(take(&mut s, "twap", &mut used));
        assert_eq!(used, 4);
    }

    #[test]
    fn alone_a_strategy_may_use_the_whole_window_and_an_idle_one_gives_its_share_back() {
        let mut s = Shares::default();
        s.asked("twap", 0);
        // Window 2: the twap last asked two windows ago, so the market maker is alone.
        for used in 0..4 {
            s.asked("mm", 2);
            assert!(s.allows("mm", 2, used, 4, 1), "order {used}");
            s.charge("mm", 2, 1);
        }
    }
}
