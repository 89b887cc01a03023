//! `check-config --online`: read-only calls to each venue that confirm what
//! only the venue knows. Each symbol a strategy trades is listed and trading,
//! each order size clears the symbol's minimums at the current price (or the
//! price the parameters fix), and the API key is valid, reads the account
//! and cannot withdraw. Nothing is placed, cancelled or changed.
//!
//! Simulated venues are checked offline already ([`super::preflight`]).

use std::sync::Arc;
use std::time::Duration;

use tradewind_strategies::sdk::Symbol;

use crate::config::{Config, ConfigIssue, Environment, VenueConfig};
use crate::execution::rate_limit::RateLimiter;
use crate::venue::binance::Endpoints;
use crate::venue::binance::rest::RestClient;

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

/// Asks every Binance venue of `config`; `env` reads the credentials' variables.
pub async fn check(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Result<Report, Unreachable> {
    let mut report = Report::default();
    for (i, venue) in config.venues.iter().enumerate() {
        let b = match venue {
            VenueConfig::Binance(b) => b,
            VenueConfig::Sim(_) => {
                report.checked.push(format!("{}: simulated, checked offline", venue.name()));
                continue;
            }
        };
        let unreachable = |e: &dyn std::fmt::Display| Unreachable { venue: b.name.clone(), error: e.to_string() };
        let mut endpoints = Endpoints::of(b.environment);
        if let Some(url) = &b.rest_url {
            endpoints.rest = url.clone();
        }
        let credentials = crate::venue::binance::start::load_credentials(&b.credentials, env)
            .map_err(|e| unreachable(&format!("{e:#}")))?;
        let limiter = Arc::new(RateLimiter::new(crate::venue::binance::Limits::default().budgets()));
        let rest = RestClient::new(
            &endpoints.rest,
            credentials.map(|(c, _)| c),
            b.recv_window_ms,
            Duration::from_secs(10),
            limiter,
        )
        .map_err(|e| unreachable(&e))?
        .with_label(&b.name);
        rest.sync_clock().await.map_err(|e| unreachable(&e))?;
        let info = rest.exchange_info().await.map_err(|e| unreachable(&e))?;
        let strategies: Vec<_> = config.strategies.iter().filter(|s| s.venue_name == b.name).collect();
        let symbols: Vec<Symbol> = {
            let mut all: Vec<Symbol> = strategies.iter().flat_map(|s| s.instance.symbols.iter().copied()).collect();
            all.sort();
            all.dedup();
            all.retain(|s| info.instruments.iter().any(|i| i.symbol == *s));
            all
        };
        let tickers = if symbols.is_empty() {
            Vec::new()
        } else {
            rest.book_tickers(&symbols).await.map_err(|e| unreachable(&e))?
        };
        for s in &strategies {
            for (j, symbol) in s.instance.symbols.iter().enumerate() {
                let Some(rules) = info.instruments.iter().find(|r| r.symbol == *symbol) else {
                    report.errors.push(ConfigIssue::new(
                        &s.file,
                        Some(&format!("symbols[{j}]")),
                        format!("{symbol} is not listed on venue {:?}", b.name),
                    ));
                    continue;
                };
                if info.halted.contains(symbol) {
                    report.errors.push(ConfigIssue::new(
                        &s.file,
                        Some(&format!("symbols[{j}]")),
                        format!("{symbol} is listed on venue {:?} but not trading", b.name),
                    ));
                    continue;
                }
                let market = tickers.iter().find(|t| t.symbol == *symbol).map(|t| t.bid_price.get());
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
                report.checked.push(format!("{}: {symbol} listed and trading ({})", b.name, s.instance.name));
            }
        }
        if rest.credentials().is_some() {
            let account = rest.account().await;
            match account {
                Ok(_) => report.checked.push(format!("{}: the API key reads the account", b.name)),
                Err(e) => report.errors.push(ConfigIssue::new(
                    &config.file,
                    Some(&format!("venues[{i}].credentials")),
                    format!("the venue refused the API key: {e}"),
                )),
            }
            // The permission endpoint exists on mainnet only.
            if b.environment == Environment::Mainnet {
                match rest.api_restrictions().await {
                    Ok(r) if r.enable_withdrawals && !b.allow_withdrawal_keys => report.errors.push(ConfigIssue::new(
                        &config.file,
                        Some(&format!("venues[{i}].credentials")),
                        "the API key can withdraw funds: create a key with trading rights only",
                    )),
                    Ok(r) => {
                        if !r.enable_spot_and_margin_trading {
                            report.errors.push(ConfigIssue::new(
                                &config.file,
                                Some(&format!("venues[{i}].credentials")),
                                "the API key has no spot trading permission",
                            ));
                        } else {
                            report.checked.push(format!("{}: the API key trades and cannot withdraw", b.name));
                        }
                    }
                    Err(e) => return Err(unreachable(&format!("reading the key's permissions: {e}"))),
                }
            }
        }
    }
    Ok(report)
}
