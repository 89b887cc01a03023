//! Starting a Binance venue from its configuration (and the simulator, which
//! speaks Binance's protocol, for `kind = "sim"`): the URLs of its
//! environment, its key, the connection, and what the host keeps of it.

use std::time::Duration;

use super::rest::Credentials;
use super::{ConnectError, ConnectOptions, Connection, Endpoints};
use crate::config::{Environment, ExchangeVenueConfig, SimVenueConfig};
use crate::venue::{StartError, Started, VenueContext};

/// The venue pings every 20 s: 45 s of silence means the connection is dead.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(45);
const INSTRUMENTS_REFRESH: Duration = Duration::from_secs(3600);
/// Binance's own backend gives up after 10 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `kind = "sim"` (protocol `binance`): the simulator started in-process on
/// loopback, traded through the Binance connector.
pub async fn sim(config: &SimVenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    let (handle, credentials) = crate::venue::sim::start_for_venue(config, &cx).await?;
    let endpoints = Endpoints { rest: handle.rest_url(), stream: handle.stream_url(), ws_api: handle.ws_api_url() };
    let options = ConnectOptions {
        credentials: Some(credentials),
        recv_window_ms: 5000,
        account_label: "sim".to_owned(),
        check_key_permissions: false,
        allow_withdrawal_keys: false,
        ..options(&cx, endpoints)
    };
    let mut started = connect(options, cx, None).await?;
    started.sim = Some(handle);
    Ok(started)
}

/// `kind = "binance"`: Binance Spot on mainnet, testnet or demo.
pub async fn binance(config: &ExchangeVenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    let mut endpoints = Endpoints::of(config.environment);
    for (url, over) in [
        (&mut endpoints.rest, &config.rest_url),
        (&mut endpoints.stream, &config.stream_url),
        (&mut endpoints.ws_api, &config.private_url),
    ] {
        if let Some(o) = over {
            *url = o.clone();
        }
    }
    let loaded = Credentials::load(&config.credentials, &|k| std::env::var(k).ok())?;
    let fingerprint = loaded.as_ref().map(|(_, fp)| *fp);
    let options = ConnectOptions {
        credentials: loaded.map(|(c, _)| c),
        recv_window_ms: config.recv_window_ms,
        account_label: format!("binance/{}", config.environment.as_str()),
        // The permission endpoint exists on mainnet only.
        check_key_permissions: config.environment == Environment::Mainnet,
        allow_withdrawal_keys: config.allow_withdrawal_keys,
        ..options(&cx, endpoints)
    };
    connect(options, cx, fingerprint).await
}

/// The settings every Binance-protocol venue shares.
fn options(cx: &VenueContext, endpoints: Endpoints) -> ConnectOptions {
    ConnectOptions {
        venue: cx.id,
        endpoints,
        credentials: None,
        recv_window_ms: 5000,
        silence_timeout: SILENCE_TIMEOUT,
        instruments_refresh: INSTRUMENTS_REFRESH,
        request_timeout: REQUEST_TIMEOUT,
        journal: Some(cx.journal.clone()),
        recovered: cx.open.clone(),
        unjournaled: cx.unjournaled.clone(),
        account_label: String::new(),
        check_key_permissions: false,
        allow_withdrawal_keys: false,
        traders: cx.traders.clone(),
    }
}

async fn connect(
    options: ConnectOptions,
    cx: VenueContext,
    key_fingerprint: Option<[u8; 32]>,
) -> Result<Started, StartError> {
    let connection = match super::connect(options, cx.feeds, cx.host, cx.shutdown).await {
        Ok(connection) => connection,
        Err(e @ ConnectError::WithdrawalKey(_)) => {
            return Err(StartError::Refused { key: "credentials".into(), message: e.to_string() });
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    let Connection { client, instruments, rest: _, exec_task, recovered, adopted, tasks, feeds, keys } = connection;
    Ok(Started {
        client: Box::new(client),
        instruments,
        feeds: Box::new(feeds),
        keys: Box::new(keys),
        key_fingerprint,
        recovered,
        adopted,
        exec_task,
        tasks,
        sim: None,
    })
}
