//! Read-only questions to a venue before a start (`check-config --online`),
//! answered in every venue's terms: its instruments and which are halted,
//! the best bid of the symbols asked about, whether the key reads the
//! account, and what the key may do where the venue says. Nothing is
//! placed, cancelled or changed.

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{InstrumentSpec, Symbol};

use crate::config::VenueConfig;

/// What a venue said.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub instruments: Vec<InstrumentSpec>,
    /// Listed symbols that are not trading.
    pub halted: Vec<Symbol>,
    /// The best bid of each listed symbol asked about.
    pub bids: Vec<(Symbol, Decimal)>,
    /// `None` without a key; `Some(Err(why))` if the venue refused it.
    pub account: Option<Result<(), String>>,
    /// What the key may do, where the venue tells (Binance: on mainnet only).
    pub permissions: Option<Permissions>,
}

/// An API key's rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    pub trade: bool,
    pub withdraw: bool,
}

/// Asks the venue `config` describes about `symbols`; `None` for a simulated
/// venue (checked offline). `Err`: the venue could not be asked.
pub async fn probe(
    config: &VenueConfig,
    symbols: &[Symbol],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Probe>, String> {
    match config {
        VenueConfig::Sim(_) => Ok(None),
        VenueConfig::Binance(b) => super::binance::probe::probe(b, symbols, env).await.map(Some),
        VenueConfig::Bybit(b) => super::bybit::probe::probe(b, symbols, env).await.map(Some),
        VenueConfig::Okx(b) => super::okx::probe::probe(b, symbols, env).await.map(Some),
    }
}

/// Whether the venue has a key, read and checked (a key that does not parse is an error).
pub fn has_key(config: &VenueConfig, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<bool> {
    match config {
        VenueConfig::Sim(_) => Ok(true),
        VenueConfig::Binance(b) | VenueConfig::Bybit(b) => {
            Ok(super::sign::Credentials::load(&b.credentials, env)?.is_some())
        }
        VenueConfig::Okx(b) => Ok(super::okx::sign::OkxKey::load(&b.credentials, env)?.is_some()),
    }
}
