//! Binance Spot: request signing ([`sign`]), stream parsing ([`parse`]),
//! the REST client ([`rest`]), its errors ([`error`]) and rate-limit table
//! ([`limits`]), the local order book ([`book`]), market-data connections
//! ([`market`]), the user-data stream over the WebSocket API
//! ([`user_stream`]) and the venue contract over them ([`order_entry`]);
//! [`start`] starts them all for one venue. Knows nothing about strategies.

pub mod error;
pub mod limits;
pub mod market;
pub mod order_entry;
pub mod parse;
pub mod probe;
pub mod rest;
pub mod sign;
pub mod start;
pub mod user_stream;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{Asset, Balance, InstrumentSpec, OrderUpdate, VenueId};

use crate::config::Environment;
use crate::execution::orders;
use crate::execution::rate_limit::RateLimiter;
use crate::sink::{Deliveries, Sink, VenueEvent};
use crate::venue::feed::FeedSpec;
use crate::venue::market::{FeedLauncher, FeedOptions};
use crate::venue::startup::startup_read;
use error::VenueError;
pub use limits::Limits;
use rest::{Credentials, RestClient};

/// The three base URLs of a Binance environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub rest: String,
    pub stream: String,
    pub ws_api: String,
}

impl Endpoints {
    /// The built-in URLs of an environment.
    pub fn of(environment: Environment) -> Self {
        let (rest, stream, ws_api) = match environment {
            Environment::Mainnet => {
                ("https://api.binance.com", "wss://stream.binance.com:9443", "wss://ws-api.binance.com:443/ws-api/v3")
            }
            Environment::Testnet => (
                "https://testnet.binance.vision",
                "wss://stream.testnet.binance.vision",
                "wss://ws-api.testnet.binance.vision/ws-api/v3",
            ),
            Environment::Demo => (
                "https://demo-api.binance.com",
                "wss://demo-stream.binance.com",
                "wss://demo-ws-api.binance.com/ws-api/v3",
            ),
        };
        Self { rest: rest.into(), stream: stream.into(), ws_api: ws_api.into() }
    }
}

/// Everything needed to connect one Binance venue.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub venue: VenueId,
    pub endpoints: Endpoints,
    pub credentials: Option<Credentials>,
    pub recv_window_ms: u64,
    /// Drop a WebSocket that sent nothing (not even a ping) for this long.
    pub silence_timeout: Duration,
    /// How often trading rules and rate limits are read again from `exchangeInfo`.
    pub instruments_refresh: Duration,
    /// Deadline of one REST request (Binance's own backend gives up after 10 s).
    pub request_timeout: Duration,
    /// Where intents are written as they are sent (none: not journaled).
    pub journal: Option<crate::journal::Journal>,
    /// Orders of this venue an earlier run left open.
    pub recovered: Vec<crate::journal::OpenEntry>,
    /// Client order ids an earlier run may have sent without journaling them.
    pub unjournaled: Vec<crate::journal::Unjournaled>,
    /// Which venue this is (`sim`, `binance/testnet`, ...): with the account's
    /// uid it ties the venue name to one account in the journal.
    pub account_label: String,
    /// Ask the venue what the key may do and refuse a key that can withdraw
    /// (mainnet), unless `allow_withdrawal_keys`.
    pub check_key_permissions: bool,
    pub allow_withdrawal_keys: bool,
    /// The instances that will trade here: their client order id leases are
    /// taken during the start, so no first order waits for a commit.
    pub traders: Vec<orders::Trader>,
}

/// Why a venue could not be connected.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Venue(#[from] VenueError),
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    #[error(
        "the API key of venue {0:?} can withdraw funds: create a key with trading rights only \
         (or set allow_withdrawal_keys = true on the venue)"
    )]
    WithdrawalKey(String),
}

/// A connected venue.
pub struct Connection {
    /// The engine's execution client (orders are refused when there are no credentials).
    pub client: orders::ExecHandle<RestClient>,
    pub instruments: Vec<InstrumentSpec>,
    pub rest: Arc<RestClient>,
    /// Ends once the engine dropped `client` and every request in flight is answered.
    pub exec_task: tokio::task::JoinHandle<()>,
    /// What startup reconciliation found, to apply before strategies run
    /// (after handing `adopted` to their instances).
    pub recovered: Vec<OrderUpdate>,
    /// Orders the venue has that an earlier run sent but did not journal, by instance.
    pub adopted: Vec<(String, tradewind_strategies::sdk::OpenOrder)>,
    /// Feeds and the user stream; they end on the shutdown token.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Starts feeds for subscriptions added later (reload).
    pub feeds: FeedLauncher<market::Binance>,
    /// Swaps the API key (reload).
    pub keys: crate::venue::private::Keys,
}

/// Connects a venue: clock, exchange info and rate limits, balances, the
/// user stream, the execution task (which first reconciles the orders of an
/// earlier run with the venue), then the market feeds.
pub async fn connect(
    options: ConnectOptions,
    feeds: Vec<FeedSpec>,
    host: Deliveries,
    shutdown: CancellationToken,
) -> Result<Connection, ConnectError> {
    crate::venue::install_tls_provider();
    let venue = options.venue;
    let limiter = Arc::new(RateLimiter::new(Limits::default().budgets()));
    let rest = Arc::new(
        RestClient::new(
            &options.endpoints.rest,
            options.credentials.clone(),
            options.recv_window_ms,
            options.request_timeout,
            limiter.clone(),
        )?
        .with_label(venue.as_str()),
    );
    let offset = startup_read(venue, "server time", &shutdown, || rest.sync_clock()).await?;
    let info = startup_read(venue, "exchange info", &shutdown, || rest.exchange_info()).await?;
    limiter.set_budgets(info.limits.budgets());
    tracing::info!(
        %venue,
        symbols = info.instruments.len(),
        clock_offset_ms = offset,
        weight_per_minute = info.limits.weight_per_minute,
        orders_per_10s = info.limits.orders_per_10s,
        "venue connected"
    );
    host.events.send(VenueEvent::Instruments(venue, info.instruments.clone())).await;

    let mut tasks = Vec::new();
    let set_rest = {
        let rest = rest.clone();
        move |c| rest.set_credentials(c)
    };
    let keys;
    let mut account_at_start = None;
    let (user_tx, user_rx) = mpsc::channel(4096);
    if let Some(credentials) = options.credentials.clone() {
        if options.check_key_permissions {
            check_key(&rest, venue, options.allow_withdrawal_keys).await?;
        }
        let asked_ms = rest.server_now_ms();
        let account = startup_read(venue, "account", &shutdown, || rest.account()).await?;
        if let Some(journal) = &options.journal {
            let id = match account.uid {
                Some(uid) => format!("{} uid={uid}", options.account_label),
                None => options.account_label.clone(),
            };
            journal.bind(venue.as_str(), &id).await?;
        }
        let balances: Vec<(Asset, Balance)> = account
            .balances
            .iter()
            .filter_map(|b| Some((Asset::new(&b.asset).ok()?, Balance { free: b.free, locked: b.locked })))
            .collect();
        host.events.send(VenueEvent::Balances(venue, balances)).await;
        account_at_start = Some((order_entry::account_state(&account), asked_ms));
        let (ws_api_url, rest, silence_timeout) =
            (options.endpoints.ws_api.clone(), rest.clone(), options.silence_timeout);
        let spawn = move |credentials, stop| {
            let options = user_stream::StreamOptions {
                venue,
                ws_api_url: ws_api_url.clone(),
                credentials,
                rest: rest.clone(),
                silence_timeout,
            };
            tokio::spawn(user_stream::run(options, user_tx.clone(), stop))
        };
        let (started, task) = crate::venue::private::Keys::start(set_rest, credentials, shutdown.clone(), spawn);
        tasks.push(task);
        keys = started;
    } else {
        tracing::info!(%venue, "no API credentials: market data only, orders will be refused");
        drop(user_tx);
        keys = crate::venue::private::Keys::none(set_rest);
    }
    let (instruments_tx, instruments_rx) = tokio::sync::watch::channel(info.instruments.clone());
    tasks.push(tokio::spawn(refresh_instruments(
        rest.clone(),
        venue,
        options.instruments_refresh,
        instruments_tx,
        host.events.clone(),
        shutdown.clone(),
    )));
    let started = orders::start(
        orders::ExecOptions {
            recv_window_ms: i64::try_from(options.recv_window_ms).unwrap_or(i64::MAX),
            ..orders::ExecOptions::new(venue)
        },
        instruments_rx,
        rest.clone(),
        (user_rx, account_at_start),
        host.events.clone(),
        orders::Journaled {
            journal: options.journal.clone(),
            open: options.recovered.clone(),
            unjournaled: options.unjournaled.clone(),
            traders: options.traders.clone(),
        },
    )
    .await;
    // Market data once the orders of an earlier run are settled.
    let feed_options = FeedOptions {
        venue,
        stream_url: options.endpoints.stream.clone(),
        silence_timeout: options.silence_timeout,
        read_buffer: crate::venue::ws::READ_BUFFER,
    };
    let dialect = Arc::new(market::Binance { venue, rest: rest.clone(), snapshot_depth: 1000 });
    let launcher = FeedLauncher { options: feed_options, dialect, engine: host.market, shutdown };
    tasks.extend(launcher.spawn(feeds));
    Ok(Connection {
        client: started.handle,
        instruments: info.instruments,
        rest,
        exec_task: started.task,
        recovered: started.recovered,
        adopted: started.adopted,
        tasks,
        feeds: launcher,
        keys,
    })
}

/// Refuses a key that may withdraw (unless allowed); warns about one that cannot trade.
async fn check_key(rest: &RestClient, venue: VenueId, allow_withdrawals: bool) -> Result<(), ConnectError> {
    match rest.api_restrictions().await {
        Ok(r) if r.enable_withdrawals && !allow_withdrawals => Err(ConnectError::WithdrawalKey(venue.to_string())),
        Ok(r) => {
            if r.enable_withdrawals {
                tracing::warn!(%venue, "the API key can withdraw funds (allowed by allow_withdrawal_keys)");
            }
            if !r.enable_spot_and_margin_trading {
                tracing::warn!(%venue, "the API key has no spot trading permission: orders will be rejected");
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(%venue, error = %e, "cannot read the API key's permissions; going on");
            Ok(())
        }
    }
}

/// Reads `exchangeInfo` again every `every`, and after every 429 (the venue
/// may have tightened its limits): new filters reach the engine and the
/// execution task, new limits the rate limiter. A failed read keeps the old rules.
async fn refresh_instruments(
    rest: Arc<RestClient>,
    venue: VenueId,
    every: Duration,
    instruments: tokio::sync::watch::Sender<Vec<InstrumentSpec>>,
    events: Sink,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            () = rest.limiter().limits_suspect() => {}
        }
        match rest.exchange_info().await {
            Ok(info) => {
                if info.limits.budgets() != rest.limiter().budgets() {
                    tracing::warn!(%venue, weight_per_minute = info.limits.weight_per_minute, orders_per_10s = info.limits.orders_per_10s, orders_per_day = info.limits.orders_per_day, "the venue's rate limits changed");
                }
                rest.limiter().set_budgets(info.limits.budgets());
                if !info.halted.is_empty() {
                    tracing::warn!(%venue, halted = ?info.halted, "symbols not trading");
                }
                if *instruments.borrow() != info.instruments {
                    tracing::info!(%venue, symbols = info.instruments.len(), "trading rules changed");
                    instruments.send_replace(info.instruments.clone());
                    events.send(VenueEvent::Instruments(venue, info.instruments)).await;
                }
            }
            Err(e) => tracing::warn!(%venue, error = %e, "exchangeInfo refresh failed; keeping the current rules"),
        }
    }
}
