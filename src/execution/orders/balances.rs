//! The account's balances as the engine sees them, kept equal to the venue's.
//!
//! Two sources: the private stream's account updates (the assets one change
//! touched) and reads of the whole account, after every (re)subscription
//! (events missed while the stream was down are in it) and at every
//! reconciliation. Each asset remembers the venue time of the state it shows,
//! so an older state never overwrites a newer one, whichever arrives last. A
//! read is the whole account: an asset it no longer lists is zero. Two
//! different states of one venue millisecond cannot be ordered: the account is
//! then read again a moment later.

use std::collections::HashMap;

use tradewind_strategies::sdk::{Asset, Balance};

use super::{Done, Exec};
use crate::execution::error::VenueError;
use crate::execution::venue::{AccountState, OrderEntry};
use crate::sink::VenueEvent;

/// Per asset: the venue time (ms) and the state last passed on, and whether
/// a read of the account (not a stream update) said so.
#[derive(Debug, Default)]
pub(super) struct Balances {
    as_of: HashMap<String, (i64, Balance, bool)>,
    /// A read of the account is in flight (one at a time).
    reading: bool,
    /// Another read is due once the one in flight is answered.
    again: bool,
}

/// What an update changes.
#[derive(Debug, Default, PartialEq)]
struct Newer {
    /// The assets whose state is passed on.
    changed: Vec<(Asset, Balance)>,
    /// A read and a stream update of the very same venue time disagree about an
    /// asset: which is the later cannot be told, so the account is read again.
    /// (Two stream updates arrive in the order the venue sent them.)
    tied: bool,
}

impl Balances {
    /// The assets of `update` not older than what was passed on (and now remembered as passed on).
    fn newer<'a>(&mut self, update: impl IntoIterator<Item = (&'a str, Balance)>, time: i64, read: bool) -> Newer {
        let mut out = Newer::default();
        for (name, balance) in update {
            let last = self.as_of.entry(name.to_owned()).or_insert((i64::MIN, balance, read));
            if time < last.0 {
                continue;
            }
            out.tied |= time == last.0 && balance != last.1 && (read || last.2);
            *last = (time, balance, read);
            if let Ok(asset) = Asset::new(name) {
                out.changed.push((asset, balance));
            }
        }
        out
    }
}

/// How long after a tied read the account is read again (the venue's clock has moved on by then).
const TIED_READ_AGAIN: std::time::Duration = std::time::Duration::from_secs(1);

impl<V: OrderEntry> Exec<V> {
    /// Reads the whole account (unless a read is already in flight).
    pub(super) fn read_account(&mut self) {
        self.read_account_after(std::time::Duration::ZERO);
    }

    /// Reads the whole account after `delay`; with a read in flight, once it is answered.
    fn read_account_after(&mut self, delay: std::time::Duration) {
        if std::mem::replace(&mut self.balances.reading, true) {
            self.balances.again |= !delay.is_zero();
            return;
        }
        self.spawn(move |venue| async move {
            tokio::time::sleep(delay).await;
            let asked_ms = venue.venue_now_ms();
            Done::Account { asked_ms, result: venue.read_account().await }
        });
    }

    /// Passes `update` on to the engine; reads the account again if it tied.
    async fn apply_balances(&mut self, update: Newer) {
        if update.tied {
            tracing::debug!(venue = %self.options.venue, "an account state tied with another of the same time; reading the account again");
            self.read_account_after(TIED_READ_AGAIN);
        }
        if !update.changed.is_empty() {
            self.sink.send(VenueEvent::Balances(self.options.venue, update.changed)).await;
        }
    }

    /// The account's state at the start (read by the connection), before any stream event.
    pub(super) fn seed_balances(&mut self, account: &AccountState, asked_ms: i64) {
        let time = account.update_time.unwrap_or(asked_ms);
        let rows = account.balances.iter().map(|(asset, b)| (asset.as_str(), *b));
        drop(self.balances.newer(rows, time, true).changed);
    }

    pub(super) async fn on_account(&mut self, asked_ms: i64, result: Result<AccountState, VenueError>) {
        self.balances.reading = false;
        if std::mem::take(&mut self.balances.again) {
            self.read_account_after(TIED_READ_AGAIN);
        }
        let account = match result {
            Ok(account) => account,
            Err(e) => {
                tracing::warn!(venue = %self.options.venue, error = %e, "reading the account failed; balances are read again at the next reconciliation");
                return;
            }
        };
        // Before the request was sent is the safe side when the venue gives no time:
        // an event of the same moment still wins.
        let time = account.update_time.unwrap_or(asked_ms);
        let listed = account.balances;
        let gone: Vec<(String, Balance)> = self
            .balances
            .as_of
            .keys()
            .filter(|a| !listed.iter().any(|(l, _)| l == *a))
            .map(|a| (a.clone(), Balance::default()))
            .collect();
        let rows = listed.iter().chain(&gone).map(|(a, b)| (a.as_str(), *b));
        let update = self.balances.newer(rows, time, true);
        self.apply_balances(update).await;
    }

    /// An account update from the private stream.
    pub(super) async fn on_stream_balances(&mut self, list: &[(String, Balance)], time: i64) {
        let rows = list.iter().map(|(asset, b)| (asset.as_str(), *b));
        let update = self.balances.newer(rows, time, false);
        self.apply_balances(update).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewind_strategies::sdk::testing::d;

    fn bal(free: &str, locked: &str) -> Balance {
        Balance { free: d(free), locked: d(locked) }
    }

    #[test]
    fn an_older_state_never_overwrites_a_newer_one() {
        let mut b = Balances::default();
        assert_eq!(b.newer([("BTC", bal("1", "0"))], 100, false).changed.len(), 1);
        assert!(b.newer([("BTC", bal("2", "0"))], 99, false).changed.is_empty(), "older: dropped");
        let same_time = b.newer([("BTC", bal("3", "0")), ("USDT", bal("5", "1"))], 100, false);
        assert_eq!(same_time.changed.len(), 2, "the same moment: the later arrival wins");
        assert_eq!(same_time.changed[0].1, bal("3", "0"));
    }

    #[test]
    fn a_read_and_an_update_of_the_same_time_that_disagree_ask_for_another_read() {
        let mut b = Balances::default();
        assert!(!b.newer([("BTC", bal("1", "0"))], 100, true).tied, "the first state of an asset");
        assert!(!b.newer([("BTC", bal("1", "0"))], 100, false).tied, "an update the read showed");
        assert!(!b.newer([("BTC", bal("0.999", "0.001"))], 101, false).tied, "a later update");
        assert!(!b.newer([("BTC", bal("1", "0"))], 101, false).tied, "two updates of one millisecond, in order");
        let tie = b.newer([("BTC", bal("0.999", "0.001")), ("USDT", bal("5", "0"))], 101, true);
        assert!(tie.tied, "a read of that millisecond that disagrees: which came later cannot be told");
        assert_eq!(tie.changed.len(), 2, "the read is passed on meanwhile");
        assert!(b.newer([("BTC", bal("1", "0"))], 101, false).tied, "and the other way round");
        assert!(!b.newer([("BTC", bal("1", "0"))], 102, true).tied);
    }
}
