//! Venues: one folder per exchange, plus `sim`, the built-in simulator.
//! A venue turns its wire protocol into normalised events and carries out
//! execution requests; it knows nothing about strategies. [`backoff`] and
//! [`uptime`] are shared by every connection: reconnect delays, and how long
//! each stream was down; [`ws`] opens WebSocket connections and keeps each
//! stream's reconnect state; [`feed`] names what market connections receive.
//!
//! Each venue's configuration variant starts its venue from a
//! [`VenueContext`] the host gives ([`start`]): `app` only dispatches, and
//! what it gets back ([`Started`]) names no venue's types.

pub mod backoff;
pub mod binance;
pub mod book;
pub mod bybit;
pub mod credentials;
pub mod feed;
pub mod market;
pub mod okx;
pub mod private;
pub mod probe;
pub mod rest;
pub mod sign;
pub mod signed_rest;
pub mod sim;
pub mod startup;
pub mod uptime;
pub mod wire;
pub mod ws;
pub mod ws_requests;

use std::path::PathBuf;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::{InstrumentSpec, OpenOrder, OrderUpdate, VenueId};

use crate::config::VenueConfig;
use crate::execution::ExecutionClient;
use crate::execution::orders::Trader;
use crate::journal::{Journal, OpenEntry, Unjournaled};
use crate::sink::Deliveries;
use feed::FeedSpec;

/// Installs the process's one TLS crypto provider (rustls with ring) for
/// reqwest and tokio-tungstenite alike. Safe to call more than once.
pub fn install_tls_provider() {
    // Err means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What the host gives a venue to start with.
pub struct VenueContext {
    pub id: VenueId,
    /// The folder of the configuration file: relative paths in a venue's settings are read from it.
    pub config_dir: PathBuf,
    pub journal: Journal,
    /// Orders of this venue an earlier run left open.
    pub open: Vec<OpenEntry>,
    /// Client order ids an earlier run may have sent on this venue without journaling them.
    pub unjournaled: Vec<Unjournaled>,
    /// The instances that will trade here (their client-id leases are taken during the start).
    pub traders: Vec<Trader>,
    /// What the market connections receive.
    pub feeds: Vec<FeedSpec>,
    /// Where the venue delivers what it learns.
    pub host: Deliveries,
    pub shutdown: CancellationToken,
}

/// A started venue, as the host keeps it.
pub struct Started {
    /// The engine's execution client (orders are refused when there are no credentials).
    pub client: Box<dyn ExecutionClient>,
    pub instruments: Vec<InstrumentSpec>,
    /// Starts market connections for what a reload subscribes.
    pub feeds: Box<dyn AddFeeds>,
    /// Swaps the API key (reload).
    pub keys: Box<dyn KeyRotation>,
    /// A digest of the key in use (a reload compares it to notice a rotated key).
    pub key_fingerprint: Option<[u8; 32]>,
    /// What startup reconciliation found, to apply before strategies run (after `adopted`).
    pub recovered: Vec<OrderUpdate>,
    /// Orders the venue has that an earlier run sent but did not journal, by instance.
    pub adopted: Vec<(String, OpenOrder)>,
    /// Ends once the engine dropped `client` and every request in flight is answered.
    pub exec_task: JoinHandle<()>,
    /// Connections; they end on the shutdown token.
    pub tasks: Vec<JoinHandle<()>>,
    /// The in-process simulator a `kind = "sim"` venue runs, stopped after the venue's tasks.
    pub sim: Option<sim::SimHandle>,
}

/// Starts more market connections on a started venue.
pub trait AddFeeds: Send + Sync {
    fn spawn(&self, specs: Vec<FeedSpec>) -> Vec<JoinHandle<()>>;
}

/// An API key read and checked, ready to swap in.
#[derive(Clone)]
pub struct LoadedKey {
    pub digest: [u8; 32],
    pub key: credentials::ApiKey,
    pub key_type: Option<crate::config::KeyType>,
}

/// Key rotation without a restart.
pub trait KeyRotation: Send + Sync {
    /// Whether the venue runs with a key (only then can it be rotated).
    fn has_key(&self) -> bool;

    /// Reads the key `source` names and checks it (nothing is swapped yet).
    fn load(&self, source: &crate::config::Credentials) -> anyhow::Result<Option<LoadedKey>>;

    /// Signs later requests with `key` and restarts the private stream with it (its new task).
    fn rotate(&mut self, key: LoadedKey) -> anyhow::Result<Option<JoinHandle<()>>>;
}

/// Why a venue did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The venue's configuration is wrong (a key that can withdraw): `key` is
    /// under the venue's table. A restart would not help.
    #[error("{message}")]
    Refused { key: String, message: String },
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Starts the venue `config` describes.
pub async fn start(config: &VenueConfig, cx: VenueContext) -> Result<Started, StartError> {
    match config {
        VenueConfig::Sim(s) => match s.protocol {
            crate::config::SimProtocol::Binance => binance::start::sim(s, cx).await,
            crate::config::SimProtocol::Bybit => bybit::start::sim(s, cx).await,
            crate::config::SimProtocol::Okx => okx::start::sim(s, cx).await,
        },
        VenueConfig::Binance(b) => binance::start::binance(b, cx).await,
        VenueConfig::Bybit(b) => bybit::start::bybit(b, cx).await,
        VenueConfig::Okx(b) => okx::start::okx(b, cx).await,
    }
}
