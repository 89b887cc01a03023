//! Reads a venue's start needs (its clock, instruments, account), asked
//! again while a retry may cure the failure.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{InstrumentSpec, Symbol, VenueId};

use crate::execution::error::{Outcome, VenueError};

/// A venue's spot instruments as the start reads them: the trading rules of
/// each (symbols this build cannot hold left out), and those not trading.
#[derive(Debug, Default)]
pub struct Instruments {
    pub specs: Vec<InstrumentSpec>,
    pub halted: Vec<Symbol>,
}

impl Instruments {
    /// From each instrument's rules (`None`: a name this build cannot hold)
    /// and whether it trades.
    pub fn from_rows(rows: impl IntoIterator<Item = (Option<InstrumentSpec>, bool)>) -> Self {
        let mut out = Self::default();
        for (spec, trading) in rows {
            let Some(spec) = spec else { continue };
            if !trading {
                out.halted.push(spec.symbol);
            }
            out.specs.push(spec);
        }
        out
    }
}

/// Tries of one read at the start before the start fails.
const STARTUP_TRIES: u32 = 6;

/// A read the start needs, asked again (after 0.25, 0.5, 1, 2, 4 s, or the
/// venue's `Retry-After`) when a retry may cure its failure: no answer, a 5xx,
/// a rate limit, a clock the venue found off. A refusal (a bad key, a banned
/// IP, a bad request) ends the start at once, as does a shutdown.
pub async fn startup_read<T, F, Fut>(
    venue: VenueId,
    what: &str,
    shutdown: &CancellationToken,
    mut read: F,
) -> Result<T, VenueError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, VenueError>>,
{
    let (mut pause, mut attempt) = (Duration::from_millis(250), 0);
    loop {
        attempt += 1;
        let e = match read().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let curable = e.outcome != Outcome::Rejected || e.retryable();
        if !curable || attempt >= STARTUP_TRIES {
            return Err(e);
        }
        let wait = e.retry_after.unwrap_or(pause);
        tracing::warn!(%venue, what, attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "a read the start needs failed; asking again");
        tokio::select! {
            () = shutdown.cancelled() => return Err(e),
            () = tokio::time::sleep(wait) => {}
        }
        pause *= 2;
    }
}

/// Refuses a key that may withdraw (unless allowed); warns about one that cannot trade spot.
pub fn check_key(
    venue: VenueId,
    can_withdraw: bool,
    can_trade: bool,
    allow_withdrawals: bool,
) -> Result<(), crate::venue::StartError> {
    if can_withdraw && !allow_withdrawals {
        return Err(crate::venue::StartError::Refused {
            key: "credentials".into(),
            message: format!(
                "the API key of venue {:?} can withdraw funds: create a key with trading rights only \
                 (or set allow_withdrawal_keys = true on the venue)",
                venue.as_str()
            ),
        });
    }
    if can_withdraw {
        tracing::warn!(%venue, "the API key can withdraw funds (allowed by allow_withdrawal_keys)");
    }
    if !can_trade {
        tracing::warn!(%venue, "the API key has no spot trading permission: orders will be rejected");
    }
    Ok(())
}

/// How often the instruments are read again.
const INSTRUMENTS_REFRESH: Duration = Duration::from_secs(3600);

/// Reads the instruments again every hour (venues adjust their maximum order
/// quantities now and then): new rules reach the engine and the order
/// manager. A failed read keeps the old rules.
pub async fn refresh_instruments<F, Fut, E>(
    read: F,
    venue: VenueId,
    instruments: tokio::sync::watch::Sender<Vec<InstrumentSpec>>,
    events: crate::sink::Sink,
    shutdown: CancellationToken,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Instruments, E>>,
    E: std::fmt::Display,
{
    let every = INSTRUMENTS_REFRESH;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match read().await {
            Ok(read) => {
                if *instruments.borrow() != read.specs {
                    tracing::info!(%venue, symbols = read.specs.len(), "trading rules changed");
                    instruments.send_replace(read.specs.clone());
                    events.send(crate::sink::VenueEvent::Instruments(venue, read.specs)).await;
                }
            }
            Err(e) => tracing::warn!(%venue, error = %e, "instruments refresh failed; keeping the current rules"),
        }
    }
}

/// What the last steps of a start take: the order manager's parts, and the
/// market connections to open once it has settled an earlier run's orders.
pub struct Assembly<V: crate::execution::venue::OrderEntry, D> {
    pub options: crate::execution::orders::ExecOptions,
    pub instruments: Vec<InstrumentSpec>,
    pub rest: std::sync::Arc<V>,
    pub account: (
        tokio::sync::mpsc::Receiver<crate::execution::venue::AccountEvent>,
        Option<(crate::execution::venue::AccountState, i64)>,
    ),
    pub events: crate::sink::Sink,
    pub journaled: crate::execution::orders::Journaled,
    /// One launcher per endpoint the venue's market data comes from.
    pub launchers: Vec<crate::venue::market::FeedLauncher<D>>,
    pub feeds: Vec<crate::venue::feed::FeedSpec>,
    pub keys: Box<dyn crate::venue::KeyRotation>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    pub shutdown: CancellationToken,
}

/// The last steps of a start: the hourly instruments refresh (`read`), the
/// order manager (which first reconciles an earlier run's orders with the
/// venue), then the market connections; the venue as the host keeps it.
pub async fn assemble<V, D, F, Fut, E>(a: Assembly<V, D>, read: F) -> crate::venue::Started
where
    V: crate::execution::venue::OrderEntry,
    D: crate::venue::market::Dialect,
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Instruments, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let Assembly {
        options,
        instruments,
        rest,
        account,
        events,
        journaled,
        launchers,
        feeds,
        keys,
        mut tasks,
        shutdown,
    } = a;
    let venue = options.venue;
    let (instruments_tx, instruments_rx) = tokio::sync::watch::channel(instruments.clone());
    tasks.push(tokio::spawn(refresh_instruments(read, venue, instruments_tx, events.clone(), shutdown)));
    let started = crate::execution::orders::start(options, instruments_rx, rest, account, events, journaled).await;
    // Market data once the orders of an earlier run are settled.
    tasks.extend(launchers.iter().flat_map(|launcher| launcher.spawn(feeds.clone())));
    crate::venue::Started {
        client: Box::new(started.handle),
        instruments,
        feeds: Box::new(launchers),
        keys,
        key_fingerprint: None,
        recovered: started.recovered,
        adopted: started.adopted,
        exec_task: started.task,
        tasks,
        sim: None,
    }
}

/// Says the venue is connected (its clock offset, its instruments, those not
/// trading) and hands the instruments to the host.
pub async fn announce_instruments(
    venue: VenueId,
    offset_ms: i64,
    instruments: &Instruments,
    events: &crate::sink::Sink,
) {
    tracing::info!(%venue, symbols = instruments.specs.len(), clock_offset_ms = offset_ms, "venue connected");
    if !instruments.halted.is_empty() {
        tracing::warn!(%venue, halted = ?instruments.halted, "symbols not trading");
    }
    events.send(crate::sink::VenueEvent::Instruments(venue, instruments.specs.clone())).await;
}

/// Ties the venue's name to its account in the journal (`label`, with the
/// venue's account id where it has one), and hands the balances read at the
/// start to the host.
pub async fn bind_account(
    journal: &crate::journal::Journal,
    venue: VenueId,
    (label, uid): (&str, Option<&str>),
    account: &crate::execution::venue::AccountState,
    events: &crate::sink::Sink,
) -> Result<(), crate::venue::StartError> {
    let id = match uid.filter(|u| !u.is_empty()) {
        Some(uid) => format!("{label} uid={uid}"),
        None => label.to_owned(),
    };
    journal.bind(venue.as_str(), &id).await.map_err(anyhow::Error::from)?;
    let balances = account
        .balances
        .iter()
        .filter_map(|(asset, b)| Some((tradewind_strategies::sdk::Asset::new(asset).ok()?, *b)))
        .collect();
    events.send(crate::sink::VenueEvent::Balances(venue, balances)).await;
    Ok(())
}

/// Starts the private stream with `key` (`dialect` makes the stream of a
/// key, again at every rotation), its events into `events`.
pub fn start_private<K, D>(
    venue: VenueId,
    silence_timeout: Duration,
    (set_rest, key): (impl Fn(K) + Send + Sync + 'static, K),
    dialect: impl Fn(K) -> D + Send + Sync + 'static,
    events: tokio::sync::mpsc::Sender<crate::execution::venue::AccountEvent>,
    shutdown: CancellationToken,
) -> (crate::venue::private::Keys<K>, tokio::task::JoinHandle<()>)
where
    K: crate::venue::private::VenueKey,
    D: crate::venue::private::PrivateDialect,
{
    let spawn = move |key, stop| {
        let options = crate::venue::private::PrivateOptions { venue, silence_timeout };
        tokio::spawn(crate::venue::private::run(dialect(key), options, events.clone(), stop))
    };
    crate::venue::private::Keys::start(set_rest, key, shutdown, spawn)
}
