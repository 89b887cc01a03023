//! Binance's answers to [`crate::venue::probe`]: `exchangeInfo`, the book
//! tickers, the account, and on mainnet the key's API restrictions.

use std::sync::Arc;
use std::time::Duration;

use tradewind_strategies::sdk::Symbol;

use super::Endpoints;
use super::limits::Limits;
use super::rest::RestClient;
use crate::config::{Environment, ExchangeVenueConfig};
use crate::execution::rate_limit::RateLimiter;
use crate::venue::probe::{Permissions, Probe};

pub async fn probe(
    b: &ExchangeVenueConfig,
    symbols: &[Symbol],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Probe, String> {
    let mut endpoints = Endpoints::of(b.environment);
    if let Some(url) = &b.rest_url {
        endpoints.rest = url.clone();
    }
    let credentials = super::rest::Credentials::load(&b.credentials, env).map_err(|e| format!("{e:#}"))?;
    let limiter = Arc::new(RateLimiter::new(Limits::default().budgets()));
    let rest = RestClient::new(
        &endpoints.rest,
        credentials.map(|(c, _)| c),
        b.recv_window_ms,
        Duration::from_secs(10),
        limiter,
    )
    .map_err(|e| e.to_string())?
    .with_label(&b.name);
    rest.sync_clock().await.map_err(|e| e.to_string())?;
    let info = rest.exchange_info().await.map_err(|e| e.to_string())?;
    let listed: Vec<Symbol> =
        symbols.iter().copied().filter(|s| info.instruments.iter().any(|i| i.symbol == *s)).collect();
    let bids = if listed.is_empty() {
        Vec::new()
    } else {
        let tickers = rest.book_tickers(&listed).await.map_err(|e| e.to_string())?;
        tickers.iter().map(|t| (t.symbol, t.bid_price.get())).collect()
    };
    let mut probe = Probe { instruments: info.instruments, halted: info.halted, bids, ..Probe::default() };
    if rest.credentials().is_some() {
        probe.account = Some(rest.account().await.map(|_| ()).map_err(|e| e.to_string()));
        // The permission endpoint exists on mainnet only.
        if b.environment == Environment::Mainnet {
            let r = rest.api_restrictions().await.map_err(|e| format!("reading the key's permissions: {e}"))?;
            probe.permissions =
                Some(Permissions { trade: r.enable_spot_and_margin_trading, withdraw: r.enable_withdrawals });
        }
    }
    Ok(probe)
}
