//! The account's balances as the engine sees them, kept equal to the venue's.
//!
//! Two sources: the user stream's account updates (the assets one change
//! touched) and REST reads of the whole account, after every (re)subscription
//! (events missed while the stream was down are in it) and at every
//! reconciliation. Each asset remembers the venue time of the state it shows,
//! so an older state never overwrites a newer one, whichever arrives last. A
//! REST read is the whole account: an asset it no longer lists is zero.

use std::collections::HashMap;

use tradewind_strategies::sdk::{Asset, Balance};

use super::{Done, Exec};
use crate::engine::EngineInput;
use crate::venue::binance::error::VenueError;
use crate::venue::binance::rest::Account;

/// Per asset: the venue time (ms) of the state last passed on.
#[derive(Debug, Default)]
pub(super) struct Balances {
    as_of: HashMap<String, i64>,
    /// A read of the account is in flight (one at a time).
    reading: bool,
}

impl Balances {
    /// The assets of `update` newer than what was passed on (and now remembered as passed on).
    fn newer<'a>(&mut self, update: impl IntoIterator<Item = (&'a str, Balance)>, time: i64) -> Vec<(Asset, Balance)> {
        let mut out = Vec::new();
        for (name, balance) in update {
            let last = self.as_of.entry(name.to_owned()).or_insert(i64::MIN);
            if time < *last {
                continue;
            }
            *last = time;
            if let Ok(asset) = Asset::new(name) {
                out.push((asset, balance));
            }
        }
        out
    }
}

impl Exec {
    /// Reads the whole account over REST (unless a read is already in flight).
    pub(super) fn read_account(&mut self) {
        if std::mem::replace(&mut self.balances.reading, true) {
            return;
        }
        self.spawn(|rest| async move {
            let asked_ms = rest.server_now_ms();
            Done::Account { asked_ms, result: rest.account().await }
        });
    }

    /// The account's state at the start (read by the connection), before any stream event.
    pub(super) fn seed_balances(&mut self, account: &Account, asked_ms: i64) {
        let time = account.update_time.unwrap_or(asked_ms);
        let rows = account.balances.iter().map(|b| (b.asset.as_str(), Balance { free: b.free, locked: b.locked }));
        drop(self.balances.newer(rows, time));
    }

    pub(super) async fn on_account(&mut self, asked_ms: i64, result: Result<Account, VenueError>) {
        self.balances.reading = false;
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
        let listed: Vec<(String, Balance)> =
            account.balances.iter().map(|b| (b.asset.clone(), Balance { free: b.free, locked: b.locked })).collect();
        let gone: Vec<(String, Balance)> = self
            .balances
            .as_of
            .keys()
            .filter(|a| !listed.iter().any(|(l, _)| l == *a))
            .map(|a| (a.clone(), Balance::default()))
            .collect();
        let rows = listed.iter().chain(&gone).map(|(a, b)| (a.as_str(), *b));
        let changed = self.balances.newer(rows, time);
        if !changed.is_empty() {
            let _ = self.engine.send(EngineInput::Balances(self.options.venue, changed)).await;
        }
    }

    /// An account update from the user stream.
    pub(super) async fn on_stream_balances(
        &mut self,
        list: &[crate::venue::binance::user_stream::AssetBalance],
        time: i64,
    ) {
        let rows = list.iter().map(|b| (b.asset.as_str(), Balance { free: b.free, locked: b.locked }));
        let changed = self.balances.newer(rows, time);
        if !changed.is_empty() {
            let _ = self.engine.send(EngineInput::Balances(self.options.venue, changed)).await;
        }
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
        assert_eq!(b.newer([("BTC", bal("1", "0"))], 100).len(), 1);
        assert!(b.newer([("BTC", bal("2", "0"))], 99).is_empty(), "older: dropped");
        let same_time = b.newer([("BTC", bal("3", "0")), ("USDT", bal("5", "1"))], 100);
        assert_eq!(same_time.len(), 2, "the same moment: the later arrival wins");
        assert_eq!(same_time[0].1, bal("3", "0"));
    }
}
