//! Starting a Bybit venue (`kind = "bybit"`): the URLs of its environment,
//! its key (refused if it can withdraw, unless allowed), the clock, the
//! instruments, the wallet, the private stream, the order manager (which
//! first reconciles an earlier run's orders with the venue), then the
//! market connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::market::Bybit;
use super::private::PrivateStream;
use super::rest::RestClient;
use crate::config::{Environment, ExchangeVenueConfig};
use crate::execution::orders;
use crate::execution::rate_limit::RateLimiter;
use crate::execution::venue::OrderEntry;
use crate::venue::market::{FeedLauncher, FeedOptions};
use crate::venue::private::Keys;
use crate::venue::sign::Credentials;
use crate::venue::startup::{
    Assembly, announce_instruments, assemble, bind_account, check_key, start_private, startup_read,
};
use crate::venue::{StartError, Started, VenueContext};

/// The venue's ping is every 20 s: 45 s of silence means the connection is dead.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(45);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The three base URLs of a Bybit environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub rest: String,
    /// Public market data (the dialect adds `/v5/public/spot`).
    pub public: String,
    pub private: String,
}

impl Endpoints {
    /// The built-in URLs. Demo trading has its own REST and private hosts;
    /// its market data is mainnet's.
    pub fn of(environment: Environment) -> Self {
        let (rest, public, private) = match environment {
            Environment::Mainnet => {
                ("https://api.bybit.com", "wss://stream.bybit.com", "wss://stream.bybit.com/v5/private")
            }
            Environment::Testnet => (
                "https://api-testnet.bybit.com",
                "wss://stream-testnet.bybit.com",
                "wss://stream-testnet.bybit.com/v5/private",
            ),
            Environment::Demo => {
                ("https://api-demo.bybit.com", "wss://stream.bybit.com", "wss://stream-demo.bybit.com/v5/private")
            }
        };
        Self { rest: rest.into(), public: public.into(), private: private.into() }
    }
}

/// Everything needed to connect one Bybit venue.
pub struct ConnectOptions {
    pub endpoints: Endpoints,
    pub credentials: Option<Credentials>,
    pub recv_window_ms: u64,
    /// Which venue this is (`bybit/testnet`, ...): with the account's uid it
    /// ties the venue name to one account in the journal.
    pub account_label: String,
    pub allow_withdrawal_keys: bool,
}

/// `kind = "bybit"`: Bybit Spot on mainnet, testnet or demo.
pub async fn bybit(config: &ExchangeVenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    let mut endpoints = Endpoints::of(config.environment);
    for (url, over) in [
        (&mut endpoints.rest, &config.rest_url),
        (&mut endpoints.public, &config.stream_url),
        (&mut endpoints.private, &config.private_url),
    ] {
        if let Some(o) = over {
            *url = o.clone();
        }
    }
    let loaded = Credentials::load(&config.credentials, &|k| std::env::var(k).ok())?;
    let fingerprint = loaded.as_ref().map(|(_, fp)| *fp);
    let options = ConnectOptions {
        endpoints,
        credentials: loaded.map(|(c, _)| c),
        recv_window_ms: config.recv_window_ms,
        account_label: format!("bybit/{}", config.environment.as_str()),
        allow_withdrawal_keys: config.allow_withdrawal_keys,
    };
    let mut started = connect(options, cx).await?;
    started.key_fingerprint = fingerprint;
    Ok(started)
}

/// `kind = "sim"`, `protocol = "bybit"`: the simulator started in-process
/// on loopback, traded through the Bybit connector.
pub async fn sim(config: &crate::config::SimVenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    let (handle, credentials) = crate::venue::sim::start_for_venue(config, &cx).await?;
    let base = handle.stream_url();
    let endpoints = Endpoints { rest: handle.rest_url(), private: format!("{base}/v5/private"), public: base };
    let options = ConnectOptions {
        endpoints,
        credentials: Some(credentials),
        recv_window_ms: 5000,
        account_label: "sim/bybit".to_owned(),
        allow_withdrawal_keys: false,
    };
    let mut started = connect(options, cx).await?;
    started.sim = Some(handle);
    Ok(started)
}

/// Connects a Bybit-protocol venue.
pub async fn connect(options: ConnectOptions, cx: VenueContext) -> Result<Started, StartError> {
    crate::venue::install_tls_provider();
    let VenueContext { id: venue, journal, open, unjournaled, traders, feeds, host, shutdown, .. } = cx;
    let limiter = Arc::new(RateLimiter::new(super::limits::budgets()));
    let rest = RestClient::new(
        &options.endpoints.rest,
        options.credentials.clone(),
        options.recv_window_ms,
        REQUEST_TIMEOUT,
        limiter,
    )
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
        move |c| rest.set_credentials(c)
    };
    let keys = match options.credentials.clone() {
        Some(credentials) => {
            let key = startup_read(venue, "API key", &shutdown, || rest.key_info()).await.map_err(failed)?;
            check_key(venue, key.can_withdraw(), key.can_trade_spot(), options.allow_withdrawal_keys)?;
            let asked_ms = rest.http().server_now_ms();
            let account = startup_read(venue, "wallet", &shutdown, || rest.read_account()).await.map_err(failed)?;
            let uid = key.user_id.map(|u| u.to_string());
            let label = (options.account_label.as_str(), uid.as_deref());
            bind_account(&journal, venue, label, &account, &host.events).await?;
            account_at_start = Some((account, asked_ms));
            let (url, rest) = (options.endpoints.private.clone(), rest.clone());
            let dialect = move |credentials| PrivateStream { venue, url: url.clone(), credentials, rest: rest.clone() };
            let (keys, task) =
                start_private(venue, SILENCE_TIMEOUT, (set_rest, credentials), dialect, user_tx, shutdown.clone());
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
    let launcher = FeedLauncher {
        options: feed_options,
        dialect: Arc::new(Bybit),
        engine: host.market,
        shutdown: shutdown.clone(),
    };
    let read = {
        let rest = rest.clone();
        move || {
            let rest = rest.clone();
            async move { rest.instruments().await }
        }
    };
    let assembly = Assembly {
        options: orders::ExecOptions {
            recv_window_ms: i64::try_from(options.recv_window_ms).unwrap_or(i64::MAX),
            ..orders::ExecOptions::new(venue)
        },
        instruments: instruments.specs,
        rest,
        account: (user_rx, account_at_start),
        events: host.events,
        journaled: orders::Journaled { journal: Some(journal), open, unjournaled, traders },
        launchers: vec![launcher],
        feeds,
        keys: Box::new(keys),
        tasks,
        shutdown,
    };
    Ok(assemble(assembly, read).await)
}
