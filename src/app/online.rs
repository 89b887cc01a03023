//! `check-config --online`: read-only calls to each venue that confirm what
//! only the venue knows. Each symbol a strategy trades is listed and trading,
//! each order size clears the symbol's minimums at the current price (or the
//! price the parameters fix), and the API key is valid, reads the account
//! and cannot withdraw. Nothing is placed, cancelled or changed.
//!
//! Simulated venues are checked offline already ([`super::preflight`]).

use tradewind_strategies::sdk::Symbol;

use crate::config::{Config, ConfigIssue};
use crate::venue::probe::{Permissions, probe};

/// What the venues said.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per check passed, for the operator.
    pub checked: Vec<String>,
    /// Problems that do not stop a start (a size below the minimum at today's price).
    pub warnings: Vec<ConfigIssue>,
    /// What `run` would refuse, or what would make every order fail.
    pub errors: Vec<ConfigIssue>,
}

/// A venue could not be asked.
#[derive(Debug, thiserror::Error)]
#[error("venue {venue:?}: {error}")]
pub struct Unreachable {
    pub venue: String,
    pub error: String,
}

/// Asks every venue of `config` that is not simulated; `env` reads the credentials' variables.
pub async fn check(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Result<Report, Unreachable> {
    let mut report = Report::default();
    for (i, venue) in config.venues.iter().enumerate() {
        let name = venue.name();
        let strategies: Vec<_> = config.strategies.iter().filter(|s| s.venue_name == name).collect();
        let mut symbols: Vec<Symbol> = strategies.iter().flat_map(|s| s.instance.symbols.iter().copied()).collect();
        symbols.sort();
        symbols.dedup();
        let answer =
            probe(venue, &symbols, env).await.map_err(|error| Unreachable { venue: name.to_owned(), error })?;
        let Some(info) = answer else {
            report.checked.push(format!("{name}: simulated, checked offline"));
            continue;
        };
        for s in &strategies {
            for (j, symbol) in s.instance.symbols.iter().enumerate() {
                let Some(rules) = info.instruments.iter().find(|r| r.symbol == *symbol) else {
                    report.errors.push(ConfigIssue::new(
                        &s.file,
                        Some(&format!("symbols[{j}]")),
                        format!("{symbol} is not listed on venue {name:?}"),
                    ));
                    continue;
                };
                if info.halted.contains(symbol) {
                    report.errors.push(ConfigIssue::new(
                        &s.file,
                        Some(&format!("symbols[{j}]")),
                        format!("{symbol} is listed on venue {name:?} but not trading"),
                    ));
                    continue;
                }
                let market = info.bids.iter().find(|(s, _)| s == symbol).map(|(_, bid)| *bid);
                for size in s.params.order_sizes() {
                    let Some(price) = size.price.or(market) else { continue };
                    let problem = super::preflight::size_problem(size.qty, price, rules.step_size, rules.min_notional);
                    if let Some(problem) = problem {
                        let message = format!("{problem} on {symbol}: every such order would be refused");
                        let issue = ConfigIssue::new(&s.file, Some(size.key), message);
                        if size.price.is_some() || size.qty < rules.step_size {
                            report.errors.push(issue);
                        } else {
                            report.warnings.push(issue);
                        }
                    }
                }
                report.checked.push(format!("{name}: {symbol} listed and trading ({})", s.instance.name));
            }
        }
        let key = || Some(format!("venues[{i}].credentials"));
        match &info.account {
            None => {}
            Some(Ok(())) => report.checked.push(format!("{name}: the API key reads the account")),
            Some(Err(e)) => report.errors.push(ConfigIssue::new(
                &config.file,
                key().as_deref(),
                format!("the venue refused the API key: {e}"),
            )),
        }
        match info.permissions {
            None => {}
            Some(Permissions { withdraw: true, .. }) if !venue.allows_withdrawal_keys() => {
                report.errors.push(ConfigIssue::new(
                    &config.file,
                    key().as_deref(),
                    "the API key can withdraw funds: create a key with trading rights only",
                ));
            }
            Some(Permissions { trade: false, .. }) => report.errors.push(ConfigIssue::new(
                &config.file,
                key().as_deref(),
                "the API key has no spot trading permission",
            )),
            Some(_) => report.checked.push(format!("{name}: the API key trades and cannot withdraw")),
        }
    }
    Ok(report)
}
