//! The built-in exchange simulator: a matching engine behind a server on
//! loopback that speaks Binance Spot's and Bybit v5 spot's REST and
//! WebSocket protocols, both on one port.
//!
//! Layout: [`matching`] is the per-symbol order book (integer ticks and lots,
//! no balances); [`ledger`] holds balances; [`exchange`] puts symbols,
//! orders, fees and events together; [`synth`] is the seeded synthetic
//! market; [`server`] speaks the wire protocols; [`config`] is the
//! simulator's own settings file. Knows nothing about strategies.

pub mod config;
pub mod exchange;
pub mod ledger;
pub mod matching;
pub mod server;
pub mod synth;

pub use config::SimConfig;
pub use server::{DEMO_API_KEY, DEMO_API_SECRET, OKX_PASSPHRASE, SimHandle, SimOptions, start};

/// Starts the simulator of a `kind = "sim"` venue in-process on loopback
/// (its settings file relative to the configuration's folder), and the
/// demo account's credentials to trade on it.
pub async fn start_for_venue(
    config: &crate::config::SimVenueConfig,
    cx: &crate::venue::VenueContext,
) -> anyhow::Result<(SimHandle, crate::venue::sign::Credentials)> {
    use crate::secret::Secret;
    let sim_config = match &config.sim_config {
        Some(path) => SimConfig::load(&cx.config_dir.join(path))?,
        None => SimConfig::default(),
    };
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let options = SimOptions { listen, seed: config.seed, config: sim_config, accounts: Vec::new() };
    let handle = start(options, cx.shutdown.child_token()).await?;
    let credentials = crate::venue::sign::Credentials {
        api_key: Secret::new(DEMO_API_KEY),
        signer: crate::venue::sign::Signer::hmac(&Secret::new(DEMO_API_SECRET))?,
    };
    Ok((handle, credentials))
}
