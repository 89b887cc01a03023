//! Starting an OKX venue (`kind = "okx"`): the hosts of its environment and
//! region, its key (with the passphrase; refused if it can withdraw, unless
//! allowed), the clock, the instruments, the balances, the private stream,
//! the order manager (which first reconciles an earlier run's orders with
//! the venue) with orders over the private WebSocket (REST when it is
//! down), then the market connections: books, quotes and trades on the
//! public endpoint, candles on the business one.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::market::{Endpoint, Okx};
use super::private::PrivateStream;
use super::rest::RestClient;
use super::sign::OkxKey;
use super::ws_orders::{OkxOrders, OkxRequests};
use crate::config::{Environment, ExchangeVenueConfig, Region};
use crate::execution::orders;
use crate::execution::rate_limit::RateLimiter;
use crate::execution::venue::OrderEntry;
use crate::venue::market::{FeedLauncher, FeedOptions};
use crate::venue::private::Keys;
use crate::venue::startup::{
    Assembly, announce_instruments, assemble, bind_account, check_key, start_private, startup_read,
};
use crate::venue::ws_requests::WsRequests;
use crate::venue::{StartError, Started, VenueContext};

/// The venue's ping is every 20 s: 45 s of silence means the connection is dead.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(45);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where an OKX environment lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub rest: String,
    /// The market streams' base (the dialects add `/ws/v5/public` and `/ws/v5/business`).
    pub public: String,
    pub private: String,
    /// Demo trading: every REST request says so.
    pub demo: bool,
}

impl Endpoints {
    /// The built-in hosts. Demo trading keeps the REST host (with
    /// `x-simulated-trading: 1`) and has WebSocket hosts of its own.
    pub fn of(environment: Environment, region: Region) -> Self {
        let demo = environment == Environment::Demo;
        let (rest, ws) = match region {
            Region::Global => ("https://www.okx.com", if demo { "wspap" } else { "ws" }),
            Region::Eea => ("https://eea.okx.com", if demo { "wseeapap" } else { "wseea" }),
            Region::Us => ("https://us.okx.com", if demo { "wsuspap" } else { "wsus" }),
        };
        let ws = format!("wss://{ws}.okx.com:8443");
        Self { rest: rest.into(), private: format!("{ws}/ws/v5/private"), public: ws, demo }
    }
}

/// Everything needed to connect one OKX venue.
pub struct ConnectOptions {
    pub endpoints: Endpoints,
    pub key: Option<OkxKey>,
    /// Which venue this is (`okx/demo`, ...): with the account's uid it ties
    /// the venue name to one account in the journal.
    pub account_label: String,
    pub allow_withdrawal_keys: bool,
}

/// `kind = "okx"`: OKX Spot, live or demo trading.
pub async fn okx(config: &ExchangeVenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    let region = config.region.unwrap_or_default();
    let mut endpoints = Endpoints::of(config.environment, region);
    for (url, over) in [
        (&mut endpoints.rest, &config.rest_url),
        (&mut endpoints.public, &config.stream_url),
        (&mut endpoints.private, &config.private_url),
    ] {
        if let Some(o) = over {
            *url = o.clone();
        }
    }
    let loaded = OkxKey::load(&config.credentials, &|k| std::env::var(k).ok())?;
    let fingerprint = loaded.as_ref().map(|(_, fp)| *fp);
    let region = format!("{region:?}").to_ascii_lowercase();
    let options = ConnectOptions {
        endpoints,
        key: loaded.map(|(k, _)| k),
        account_label: format!("okx/{region}/{}", config.environment.as_str()),
        allow_withdrawal_keys: config.allow_withdrawal_keys,
    };
    let mut started = connect(options, cx).await?;
    started.key_fingerprint = fingerprint;
    Ok(started)
}

/// `kind = "sim"`, `protocol = "okx"`: the simulator started in-process on
/// loopback, traded through the OKX connector.
pub async fn sim(config: &crate::config::SimVenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    let (handle, credentials) = crate::venue::sim::start_for_venue(config, &cx).await?;
    let base = handle.stream_url();
    let key = OkxKey {
        api_key: credentials.api_key,
        signer: credentials.signer,
        passphrase: crate::secret::Secret::new(crate::venue::sim::OKX_PASSPHRASE),
    };
    let endpoints =
        Endpoints { rest: handle.rest_url(), private: format!("{base}/ws/v5/private"), public: base, demo: false };
    let options =
        ConnectOptions { endpoints, key: Some(key), account_label: "sim/okx".to_owned(), allow_withdrawal_keys: false };
    let mut started = connect(options, cx).await?;
    started.sim = Some(handle);
    Ok(started)
}

/// Connects an OKX-protocol venue.
pub async fn connect(options: ConnectOptions, cx: VenueContext) -> Result<Started, StartError> {
    crate::venue::install_tls_provider();
    let VenueContext { id: venue, journal, open, unjournaled, traders, feeds, host, shutdown, .. } = cx;
    let limiter = Arc::new(RateLimiter::new(super::limits::budgets()));
    let rest =
        RestClient::new(&options.endpoints.rest, options.key.clone(), options.endpoints.demo, REQUEST_TIMEOUT, limiter)
            .map_err(anyhow::Error::from)?;
    let rest = Arc::new(rest.with_label(venue.as_str()));
    let failed = |e: super::error::VenueError| StartError::Failed(e.into());
    let offset = startup_read(venue, "server time", &shutdown, || rest.sync_clock()).await.map_err(failed)?;
    let instruments = startup_read(venue, "instruments", &shutdown, || rest.instruments()).await.map_err(failed)?;
    announce_instruments(venue, offset, &instruments, &host.events).await;

    let mut tasks = Vec::new();
    let mut account_at_start = None;
    let (user_tx, user_rx) = mpsc::channel(4096);
    let set_rest = {
        let rest = rest.clone();
        move |k| rest.set_key(k)
    };
    let keys = match options.key.clone() {
        Some(key) => {
            let info = startup_read(venue, "API key", &shutdown, || rest.key_info()).await.map_err(failed)?;
            check_key(venue, info.can_withdraw(), info.can_trade(), options.allow_withdrawal_keys)?;
            let asked_ms = rest.http().server_now_ms();
            let account = startup_read(venue, "balances", &shutdown, || rest.read_account()).await.map_err(failed)?;
            let label = (options.account_label.as_str(), Some(info.uid.as_str()));
            bind_account(&journal, venue, label, &account, &host.events).await?;
            account_at_start = Some((account, asked_ms));
            let (url, rest) = (options.endpoints.private.clone(), rest.clone());
            let dialect = move |key| PrivateStream { venue, url: url.clone(), key, rest: rest.clone() };
            let (keys, task) =
                start_private(venue, SILENCE_TIMEOUT, (set_rest, key), dialect, user_tx, shutdown.clone());
            tasks.push(task);
            keys
        }
        None => {
            tracing::info!(%venue, "no API credentials: market data only, orders will be refused");
            drop(user_tx);
            Keys::none(set_rest)
        }
    };
    let feed_options = FeedOptions {
        venue,
        stream_url: options.endpoints.public.clone(),
        silence_timeout: SILENCE_TIMEOUT,
        read_buffer: crate::venue::ws::READ_BUFFER,
    };
    let launchers = [Endpoint::Public, Endpoint::Business]
        .into_iter()
        .map(|endpoint| FeedLauncher {
            options: feed_options.clone(),
            dialect: Arc::new(Okx { endpoint }),
            engine: host.market.clone(),
            shutdown: shutdown.clone(),
        })
        .collect();
    // Orders over the private WebSocket while it is logged in, REST otherwise.
    let ws = options.key.is_some().then(|| {
        let dialect = OkxRequests { url: options.endpoints.private.clone(), rest: rest.clone() };
        let (ws, task) = WsRequests::start(venue, dialect, SILENCE_TIMEOUT, shutdown.clone());
        tasks.push(task);
        ws
    });
    let orders_entry = Arc::new(OkxOrders { rest: rest.clone(), ws });
    let read = {
        let rest = rest.clone();
        move || {
            let rest = rest.clone();
            async move { rest.instruments().await }
        }
    };
    let assembly = Assembly {
        options: orders::ExecOptions::new(venue),
        instruments: instruments.specs,
        rest: orders_entry,
        account: (user_rx, account_at_start),
        events: host.events,
        journaled: orders::Journaled { journal: Some(journal), open, unjournaled, traders },
        launchers,
        feeds,
        keys: Box::new(keys),
        tasks,
        shutdown,
    };
    Ok(assemble(assembly, read).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_region_and_environment_has_its_hosts() {
        let live = Endpoints::of(Environment::Mainnet, Region::Global);
        assert_eq!(
            (live.rest.as_str(), live.public.as_str(), live.private.as_str(), live.demo),
            ("https://www.okx.com", "wss://ws.okx.com:8443", "wss://ws.okx.com:8443/ws/v5/private", false)
        );
        let demo = Endpoints::of(Environment::Demo, Region::Global);
        assert_eq!(
            (demo.rest.as_str(), demo.public.as_str(), demo.demo),
            ("https://www.okx.com", "wss://wspap.okx.com:8443", true)
        );
        let eea = Endpoints::of(Environment::Demo, Region::Eea);
        assert_eq!(
            (eea.rest.as_str(), eea.private.as_str()),
            ("https://eea.okx.com", "wss://wseeapap.okx.com:8443/ws/v5/private")
        );
        let us = Endpoints::of(Environment::Mainnet, Region::Us);
        assert_eq!((us.rest.as_str(), us.public.as_str()), ("https://us.okx.com", "wss://wsus.okx.com:8443"));
    }
}
