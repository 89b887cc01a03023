//! OKX's answers to [`crate::venue::probe`]: the instruments, the best
//! bids, the balances and the key's rights.

use std::sync::Arc;
use std::time::Duration;

use tradewind_strategies::sdk::Symbol;

use super::rest::RestClient;
use super::sign::OkxKey;
use super::start::Endpoints;
use crate::config::ExchangeVenueConfig;
use crate::execution::rate_limit::RateLimiter;
use crate::execution::venue::OrderEntry;
use crate::venue::probe::{Permissions, Probe};

pub async fn probe(
    b: &ExchangeVenueConfig,
    symbols: &[Symbol],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Probe, String> {
    let endpoints = Endpoints::of(b.environment, b.region.unwrap_or_default());
    let rest_url = b.rest_url.clone().unwrap_or(endpoints.rest);
    let key = OkxKey::load(&b.credentials, env).map_err(|e| format!("{e:#}"))?;
    let limiter = Arc::new(RateLimiter::new(super::limits::budgets()));
    let rest = RestClient::new(&rest_url, key.map(|(k, _)| k), endpoints.demo, Duration::from_secs(10), limiter)
        .map_err(|e| e.to_string())?
        .with_label(&b.name);
    rest.sync_clock().await.map_err(|e| e.to_string())?;
    let instruments = rest.instruments().await.map_err(|e| e.to_string())?;
    let listed: Vec<Symbol> =
        symbols.iter().copied().filter(|s| instruments.specs.iter().any(|i| i.symbol == *s)).collect();
    let bids = if listed.is_empty() { Vec::new() } else { rest.bids(&listed).await.map_err(|e| e.to_string())? };
    let mut probe = Probe { instruments: instruments.specs, halted: instruments.halted, bids, ..Probe::default() };
    if rest.has_key() {
        probe.account = Some(rest.read_account().await.map(|_| ()).map_err(|e| e.to_string()));
        let key = rest.key_info().await.map_err(|e| format!("reading the key's permissions: {e}"))?;
        probe.permissions = Some(Permissions { trade: key.can_trade(), withdraw: key.can_withdraw() });
    }
    Ok(probe)
}
