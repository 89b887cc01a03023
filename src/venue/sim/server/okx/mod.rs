//! The simulator's third wire protocol: OKX v5 spot, over the same
//! exchange, ledger, faults and accounts as the other dialects, on the
//! same port. [`rest`] answers `/api/v5/*`, [`ws`] serves
//! `/ws/v5/public`, `/ws/v5/business` and `/ws/v5/private`. Instruments
//! are named OKX's way (`BTC-USDT` for the exchange's `BTCUSDT`); every
//! simulated key's passphrase is [`PASSPHRASE`].

mod rest;
pub mod ws;

use std::collections::{HashMap, VecDeque};

use rust_decimal::Decimal;

use crate::venue::sim::exchange::Exchange;
use crate::venue::sim::ledger::AccountId;

pub use rest::handler;

/// The passphrase of every simulated key in the OKX dialect.
pub const PASSPHRASE: &str = "tradewind-sim";

/// How far a request's (or a login's) timestamp may be from the server's clock (ms).
const TIME_WINDOW_MS: i64 = 30_000;

/// Requests per account and endpoint (its index in the table served) in the last two seconds.
#[derive(Debug, Default)]
pub struct OkxRate {
    windows: HashMap<(AccountId, usize), VecDeque<i64>>,
}

impl OkxRate {
    pub(super) fn allow(&mut self, key: (AccountId, usize), limit: usize, now: i64) -> bool {
        let window = self.windows.entry(key).or_default();
        while window.front().is_some_and(|t| *t <= now - 2_000) {
            window.pop_front();
        }
        if window.len() >= limit {
            return false;
        }
        window.push_back(now);
        true
    }
}

fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// OKX's name of the exchange's `symbol` (the caller holds the exchange).
pub(super) fn inst_id(ex: &Exchange, symbol: &str) -> String {
    ex.symbol(symbol).map(|s| format!("{}-{}", s.config.base, s.config.quote)).unwrap_or_else(|_| symbol.to_owned())
}

/// The exchange's symbol of an OKX instrument name.
fn symbol_named(ex: &Exchange, inst_id: &str) -> Option<String> {
    ex.symbols()
        .iter()
        .find(|s| format!("{}-{}", s.config.base, s.config.quote) == inst_id)
        .map(|s| s.config.symbol.clone())
}
