//! Tradewind's strategy contract and built-in strategies.
//!
//! Layout: [`sdk`] is the contract (types, events, intents, the [`sdk::Strategy`]
//! trait); each built-in strategy lives in a file of its own; [`StrategyParams`]
//! is the registry, a closed serde enum tagged by `kind` that turns a
//! strategy's TOML parameters into a running instance.
//!
//! This crate does no I/O: the daemon depends on it, never the reverse, so a
//! strategy runs the same live, on the simulator and in unit tests.
#![forbid(unsafe_code)]

pub mod arbitrage;
pub mod grid;
pub mod market_maker;
pub mod probe;
pub mod rebalancer;
pub mod sdk;
pub mod sma_cross;
pub mod twap;

use serde::{Deserialize, Deserializer};

use sdk::{Strategy, Symbol, VenueId};

/// A problem with one parameter of a strategy, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub key: String,
    pub message: String,
}

impl ParamError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The registry: every strategy kind and its parameters.
///
/// Adding a strategy = one file, one variant here, its name in [`KINDS`](Self::KINDS)
/// and one arm in each match below; the compiler finds a missed arm.
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyParams {
    SmaCross(sma_cross::Params),
    Grid(grid::Params),
    MarketMaker(market_maker::Params),
    Rebalancer(rebalancer::Params),
    Twap(twap::Params),
    Arbitrage(arbitrage::Params),
    Probe(probe::Params),
}

/// The size of one order a strategy's parameters fix: what `check-config`
/// holds against the venue's minimums.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderSize {
    /// The parameter that sets it.
    pub key: &'static str,
    /// Base-asset quantity of one order.
    pub qty: rust_decimal::Decimal,
    /// The lowest price the parameters place it at, when they fix one (else the market's).
    pub price: Option<rust_decimal::Decimal>,
}

/// What every strategy instance has besides its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Unique name; its code is part of its client order ids (see `sdk::owner`).
    pub name: String,
    pub venue: VenueId,
    pub symbols: Vec<Symbol>,
}

impl StrategyParams {
    /// Every `kind` a strategy file may name.
    pub const KINDS: &'static [&'static str] =
        &["sma_cross", "grid", "market_maker", "rebalancer", "twap", "arbitrage", "probe"];

    /// Deserializes the parameters of a strategy of `kind` (the file's other
    /// keys). Parameters are deserialized by their own struct, not through an
    /// internally tagged enum, so errors keep the path of the offending key.
    pub fn deserialize_kind<'de, D: Deserializer<'de>>(kind: &str, params: D) -> Result<Self, D::Error> {
        match kind {
            "sma_cross" => sma_cross::Params::deserialize(params).map(Self::SmaCross),
            "grid" => grid::Params::deserialize(params).map(Self::Grid),
            "market_maker" => market_maker::Params::deserialize(params).map(Self::MarketMaker),
            "rebalancer" => rebalancer::Params::deserialize(params).map(Self::Rebalancer),
            "twap" => twap::Params::deserialize(params).map(Self::Twap),
            "arbitrage" => arbitrage::Params::deserialize(params).map(Self::Arbitrage),
            "probe" => probe::Params::deserialize(params).map(Self::Probe),
            other => Err(serde::de::Error::unknown_variant(other, Self::KINDS)),
        }
    }

    /// The `kind` as written in TOML.
    pub fn kind(&self) -> &'static str {
        match self {
            StrategyParams::SmaCross(_) => "sma_cross",
            StrategyParams::Grid(_) => "grid",
            StrategyParams::MarketMaker(_) => "market_maker",
            StrategyParams::Rebalancer(_) => "rebalancer",
            StrategyParams::Twap(_) => "twap",
            StrategyParams::Arbitrage(_) => "arbitrage",
            StrategyParams::Probe(_) => "probe",
        }
    }

    /// Checks the parameters; returns every problem found.
    pub fn validate(&self, instance: &Instance) -> Vec<ParamError> {
        let mut errors = Vec::new();
        match self {
            StrategyParams::SmaCross(p) => p.validate(instance, &mut errors),
            StrategyParams::Grid(p) => p.validate(instance, &mut errors),
            StrategyParams::MarketMaker(p) => p.validate(instance, &mut errors),
            StrategyParams::Rebalancer(p) => p.validate(instance, &mut errors),
            StrategyParams::Twap(p) => p.validate(instance, &mut errors),
            StrategyParams::Arbitrage(p) => p.validate(instance, &mut errors),
            StrategyParams::Probe(p) => p.validate(instance, &mut errors),
        }
        errors
    }

    /// A one-line description for `check-config` and logs.
    pub fn summary(&self) -> String {
        match self {
            StrategyParams::SmaCross(p) => p.summary(),
            StrategyParams::Grid(p) => p.summary(),
            StrategyParams::MarketMaker(p) => p.summary(),
            StrategyParams::Rebalancer(p) => p.summary(),
            StrategyParams::Twap(p) => p.summary(),
            StrategyParams::Arbitrage(p) => p.summary(),
            StrategyParams::Probe(p) => p.summary(),
        }
    }

    /// The order sizes its parameters fix (none for strategies that size by
    /// notional or by the account, such as `rebalancer` and `probe`).
    pub fn order_sizes(&self) -> Vec<OrderSize> {
        let size = |key, qty, price| vec![OrderSize { key, qty, price }];
        match self {
            StrategyParams::SmaCross(p) => p.order_qty.map(|q| size("order_qty", q, None)).unwrap_or_default(),
            StrategyParams::Grid(p) => size("order_qty", p.order_qty, Some(p.lower)),
            StrategyParams::MarketMaker(p) => size("order_qty", p.order_qty, None),
            StrategyParams::Twap(p) if p.slices > 0 => {
                size("total_qty", p.total_qty / rust_decimal::Decimal::from(p.slices), p.limit_price)
            }
            StrategyParams::Arbitrage(p) => size("order_qty", p.order_qty, None),
            StrategyParams::Twap(_) | StrategyParams::Rebalancer(_) | StrategyParams::Probe(_) => Vec::new(),
        }
    }

    /// Venues this strategy trades besides its own `venue` (checked against `[[venues]]`).
    pub fn other_venues(&self) -> Vec<&str> {
        match self {
            StrategyParams::Arbitrage(p) => p.other_venues(),
            _ => Vec::new(),
        }
    }

    /// Creates a running instance. Call only after [`validate`](Self::validate) found nothing.
    pub fn build(&self, instance: &Instance) -> Box<dyn Strategy> {
        match self {
            StrategyParams::SmaCross(p) => Box::new(sma_cross::SmaCross::new(instance, p.clone())),
            StrategyParams::Grid(p) => Box::new(grid::Grid::new(instance, p.clone())),
            StrategyParams::MarketMaker(p) => Box::new(market_maker::MarketMaker::new(instance, p.clone())),
            StrategyParams::Rebalancer(p) => Box::new(rebalancer::Rebalancer::new(instance, p.clone())),
            StrategyParams::Twap(p) => Box::new(twap::Twap::new(instance, p.clone())),
            StrategyParams::Arbitrage(p) => Box::new(arbitrage::Arbitrage::new(instance, p.clone())),
            StrategyParams::Probe(p) => Box::new(probe::Probe::new(instance, p.clone())),
        }
    }
}
