//! The main configuration file as written by operators. Every field's doc
//! comment is its manual entry; `config/tradewind.toml` shows each one.

use std::net::SocketAddr;
use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// `tradewind.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Folder of strategy files (`*.toml`, one instance each), relative to
    /// this file's folder. Default: `strategies`.
    #[serde(default = "default_strategies_dir")]
    pub strategies_dir: PathBuf,
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// The exchanges (or simulators) strategies trade on.
    #[serde(default)]
    pub venues: Vec<VenueConfig>,
    #[serde(default)]
    pub risk: RiskConfig,
    #[serde(default)]
    pub journal: JournalConfig,
    #[serde(default)]
    pub ops: OpsConfig,
    /// Record every market event the venues deliver (optional).
    #[serde(default)]
    pub record: Option<RecordConfig>,
}

/// `[record]`: the market events the daemon receives, written to hourly
/// recording files (`record` module) for backtests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    /// Folder of the recordings, relative to this file's folder unless absolute.
    pub dir: PathBuf,
}

pub(crate) fn default_strategies_dir() -> PathBuf {
    PathBuf::from("strategies")
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(try_from = "String")]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    Human,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "auto" => Ok(LogFormat::Auto),
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected one of \"auto\", \"human\", \"json\", got {s:?}")),
        }
    }
}

/// `[runtime]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Log filter when `RUST_LOG` is unset (`info`, `debug`, `tradewind=debug,info`, …).
    pub log_level: String,
    /// `auto` (default), `human` or `json`.
    pub log_format: LogFormat,
    /// How often strategies' `on_timer` runs, in milliseconds (10 ..= 60000).
    pub timer_interval_ms: u64,
    /// Capacity of the engine's input queue (order updates, balances, operators' commands;
    /// market connections hand their events to the engine directly).
    pub engine_queue: usize,
    /// No longer used: the order path is not rehearsed any more. Accepted so
    /// that configurations setting it still load; the start logs it as ignored.
    pub warm_interval_us: Option<u64>,
    /// Cancel every resting order of ours on shutdown.
    pub cancel_on_shutdown: bool,
    /// How long shutdown waits for cancels to be acknowledged and the journal
    /// to be flushed, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Must be true (or `--live` given) for any venue with `environment = "mainnet"`.
    pub live: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            log_level: "info".to_owned(),
            log_format: LogFormat::Auto,
            timer_interval_ms: 1000,
            engine_queue: 65_536,
            warm_interval_us: None,
            cancel_on_shutdown: true,
            shutdown_timeout_secs: 10,
            live: false,
        }
    }
}

/// Which network of a real exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Real money (OKX calls it live trading: `live` is read as `mainnet`).
    #[serde(alias = "live")]
    Mainnet,
    /// The venue's sandbox with test funds.
    #[default]
    Testnet,
    /// The venue's demo trading (Binance: demo.binance.com keys; Bybit: demo
    /// keys made on mainnet): real market data, simulated funds.
    Demo,
}

impl Environment {
    /// The name as written in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Mainnet => "mainnet",
            Environment::Testnet => "testnet",
            Environment::Demo => "demo",
        }
    }
}

/// An OKX region: its own hosts (and keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Global,
    Eea,
    Us,
}

/// Where API credentials come from. Secrets are never written in config files.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Name of the environment variable holding the API secret.
    pub api_secret_env: Option<String>,
    /// File holding the API key (absolute, or a systemd credential name).
    pub api_key_file: Option<PathBuf>,
    /// File holding the API secret (must not be readable by group or others).
    pub api_secret_file: Option<PathBuf>,
    /// Environment variable holding the key's passphrase (venues whose keys have one).
    pub api_passphrase_env: Option<String>,
    /// File holding the key's passphrase.
    pub api_passphrase_file: Option<PathBuf>,
    /// What the secret is: `hmac` (a shared secret) or `ed25519` (a PKCS#8 PEM
    /// private key). Default: read off the secret (a PEM private key is Ed25519).
    pub key_type: Option<KeyType>,
}

/// How requests are signed with an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// HMAC-SHA256 with the API secret.
    Hmac,
    /// Ed25519 with a private key (PKCS#8 PEM).
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-256, with a private key (PKCS#8 or PKCS#1 PEM).
    Rsa,
}

impl Credentials {
    /// Whether a passphrase source is named.
    pub fn has_passphrase(&self) -> bool {
        self.api_passphrase_env.is_some() || self.api_passphrase_file.is_some()
    }
}

/// `[[venues]]`, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
// Read once at startup and at reloads: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum VenueConfig {
    /// The built-in exchange simulator, started in-process on loopback and
    /// traded through the connector of its `protocol` (Binance or Bybit).
    Sim(SimVenueConfig),
    /// Binance Spot.
    Binance(ExchangeVenueConfig),
    /// Bybit v5 Spot (a unified trading account).
    Bybit(ExchangeVenueConfig),
    /// OKX v5 Spot (cash trading), live or demo trading.
    Okx(ExchangeVenueConfig),
}

impl VenueConfig {
    pub fn name(&self) -> &str {
        match self {
            VenueConfig::Sim(v) => &v.name,
            VenueConfig::Binance(v) | VenueConfig::Bybit(v) | VenueConfig::Okx(v) => &v.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            VenueConfig::Sim(_) => "sim",
            VenueConfig::Binance(_) => "binance",
            VenueConfig::Bybit(_) => "bybit",
            VenueConfig::Okx(_) => "okx",
        }
    }

    /// Whether this venue trades real money, so `live` must confirm it.
    pub fn is_mainnet(&self) -> bool {
        match self {
            VenueConfig::Sim(_) => false,
            VenueConfig::Binance(b) | VenueConfig::Bybit(b) | VenueConfig::Okx(b) => {
                b.environment == Environment::Mainnet
            }
        }
    }

    /// Whether the operator accepts a key that can withdraw funds on this venue.
    pub fn allows_withdrawal_keys(&self) -> bool {
        match self {
            VenueConfig::Sim(_) => false,
            VenueConfig::Binance(b) | VenueConfig::Bybit(b) | VenueConfig::Okx(b) => b.allow_withdrawal_keys,
        }
    }

    /// Where this venue's API keys come from; `None` for one that needs none
    /// (the in-process simulator makes its own).
    pub fn credentials(&self) -> Option<&Credentials> {
        match self {
            VenueConfig::Sim(_) => None,
            VenueConfig::Binance(b) | VenueConfig::Bybit(b) | VenueConfig::Okx(b) => Some(&b.credentials),
        }
    }

    /// This venue with its key sources cleared: what a reload compares,
    /// since keys rotate live and everything else needs a restart.
    pub fn without_credentials(&self) -> VenueConfig {
        let mut venue = self.clone();
        match &mut venue {
            VenueConfig::Sim(_) => {}
            VenueConfig::Binance(b) | VenueConfig::Bybit(b) | VenueConfig::Okx(b) => {
                b.credentials = Credentials::default()
            }
        }
        venue
    }
}

/// `kind = "sim"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimVenueConfig {
    /// Name strategies use to refer to this venue (`[A-Za-z0-9_-]`, ≤ 23).
    pub name: String,
    /// Seed of the synthetic market: same seed, same events.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The simulator's own settings file (symbols, balances, fees, faults),
    /// relative to this file's folder. Default: built-in settings.
    pub sim_config: Option<PathBuf>,
    /// Which venue's wire protocol the daemon speaks to it: `binance`
    /// (default), `bybit` or `okx`, through that venue's connector.
    #[serde(default)]
    pub protocol: SimProtocol,
}

/// The wire protocol a simulated venue is traded over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimProtocol {
    #[default]
    Binance,
    Bybit,
    Okx,
}

fn default_seed() -> u64 {
    7
}

/// `kind = "binance"`, `"bybit"` and `"okx"`: a real exchange.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeVenueConfig {
    /// Name strategies use to refer to this venue (`[A-Za-z0-9_-]`, ≤ 23).
    pub name: String,
    /// `mainnet`, `testnet` (default) or `demo`; picks the built-in URLs
    /// (OKX has no testnet: `mainnet` or `live`, or `demo`).
    #[serde(default)]
    pub environment: Environment,
    /// OKX only: the region the account lives in (`global` default, `eea`,
    /// `us`), which picks the hosts; keys are region-specific.
    pub region: Option<Region>,
    /// Override of the REST base URL (plain http only on loopback).
    pub rest_url: Option<String>,
    /// Override of the market-stream base URL (plain ws only on loopback).
    pub stream_url: Option<String>,
    /// Override of the private stream's URL: Binance's WebSocket API
    /// (`ws_api_url`), Bybit's `/v5/private` (plain ws only on loopback).
    #[serde(alias = "ws_api_url")]
    pub private_url: Option<String>,
    /// `recvWindow` for signed requests, in milliseconds (1 ..= 60000).
    #[serde(default = "default_recv_window")]
    pub recv_window_ms: u64,
    #[serde(default)]
    pub credentials: Credentials,
    /// Accept an API key that can withdraw funds (checked on mainnet; default false).
    #[serde(default)]
    pub allow_withdrawal_keys: bool,
    /// Rejected with a clear message: secrets never live in config files.
    #[serde(default)]
    pub api_key: Option<IgnoredAny>,
    /// Rejected with a clear message: secrets never live in config files.
    #[serde(default)]
    pub api_secret: Option<IgnoredAny>,
}

fn default_recv_window() -> u64 {
    5000
}

/// `[risk]`: limits applied to every strategy's intents before they leave
/// (a strategy file's own `[risk]` table overrides any of them for that
/// strategy), and the account-wide loss limits of `[risk.account]`.
/// Optional limits that are absent do not apply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Largest price × quantity of one order, in quote asset.
    pub max_order_notional: Decimal,
    /// Most open orders one strategy instance may have at once.
    pub max_open_orders: usize,
    /// Largest quantity of one order (base asset).
    pub max_order_qty: Option<Decimal>,
    /// Largest absolute position per symbol (base asset), counting the open
    /// orders that would grow it.
    pub max_position: Option<Decimal>,
    /// A limit price further than this many percent from the mid is refused (fat finger).
    pub price_band_pct: Option<Decimal>,
    /// New orders per second and per minute, per strategy.
    pub max_orders_per_sec: Option<u32>,
    pub max_orders_per_min: Option<u32>,
    /// Free quote balance a buy must leave on the venue.
    pub min_free_quote: Option<Decimal>,
    /// Start in Reducing: only orders that shrink a position.
    pub reduce_only: bool,
    /// A strategy whose PnL (realised + unrealised − fees) falls this far
    /// below where the UTC day began is halted.
    pub max_daily_loss: Option<Decimal>,
    /// A strategy whose PnL falls this far below its peak is halted.
    pub max_drawdown: Option<Decimal>,
    /// Limits on all strategies together: tripping one halts the daemon.
    pub account: AccountRisk,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            max_order_notional: Decimal::from(10_000),
            max_open_orders: 20,
            max_order_qty: None,
            max_position: None,
            price_band_pct: None,
            max_orders_per_sec: None,
            max_orders_per_min: None,
            min_free_quote: None,
            reduce_only: false,
            max_daily_loss: None,
            max_drawdown: None,
            account: AccountRisk::default(),
        }
    }
}

/// A strategy file's `[risk]`: any of `[risk]`'s per-strategy limits, for that strategy only.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyRisk {
    pub max_order_notional: Option<Decimal>,
    pub max_open_orders: Option<usize>,
    pub max_order_qty: Option<Decimal>,
    pub max_position: Option<Decimal>,
    pub price_band_pct: Option<Decimal>,
    pub max_orders_per_sec: Option<u32>,
    pub max_orders_per_min: Option<u32>,
    pub min_free_quote: Option<Decimal>,
    pub reduce_only: Option<bool>,
    pub max_daily_loss: Option<Decimal>,
    pub max_drawdown: Option<Decimal>,
}

impl RiskConfig {
    /// The limits of one strategy: its own where it sets them, these otherwise.
    pub fn for_strategy(&self, own: &StrategyRisk) -> RiskConfig {
        RiskConfig {
            max_order_notional: own.max_order_notional.unwrap_or(self.max_order_notional),
            max_open_orders: own.max_open_orders.unwrap_or(self.max_open_orders),
            max_order_qty: own.max_order_qty.or(self.max_order_qty),
            max_position: own.max_position.or(self.max_position),
            price_band_pct: own.price_band_pct.or(self.price_band_pct),
            max_orders_per_sec: own.max_orders_per_sec.or(self.max_orders_per_sec),
            max_orders_per_min: own.max_orders_per_min.or(self.max_orders_per_min),
            min_free_quote: own.min_free_quote.or(self.min_free_quote),
            reduce_only: own.reduce_only.unwrap_or(self.reduce_only),
            max_daily_loss: own.max_daily_loss.or(self.max_daily_loss),
            max_drawdown: own.max_drawdown.or(self.max_drawdown),
            account: self.account.clone(),
        }
    }
}

/// `[risk.account]`: loss limits on the whole account (all strategies together).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountRisk {
    pub max_daily_loss: Option<Decimal>,
    pub max_drawdown: Option<Decimal>,
}

/// `[journal]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// SQLite file, relative to this file's folder unless absolute
    /// (`$STATE_DIRECTORY` is used when systemd sets it).
    pub path: PathBuf,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self { path: PathBuf::from("../state/tradewind.db") }
    }
}

/// `[ops]`: metrics, health and the control API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Address of the ops HTTP server (metrics, health, control API).
    pub listen: SocketAddr,
    /// File holding the control API's bearer token.
    pub token_file: Option<PathBuf>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 9184)), token_file: None }
    }
}
