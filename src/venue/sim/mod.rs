//! The built-in exchange simulator: a matching engine behind a
//! Binance-Spot-compatible REST and WebSocket server on loopback.
//!
//! Layout: [`matching`] is the per-symbol order book (integer ticks and lots,
//! no balances); [`ledger`] holds balances; [`exchange`] puts symbols,
//! orders, fees and events together; [`synth`] is the seeded synthetic
//! market; [`server`] speaks the Binance wire protocol; [`config`] is the
//! simulator's own settings file. Knows nothing about strategies.

pub mod config;
pub mod exchange;
pub mod ledger;
pub mod matching;
pub mod server;
pub mod synth;

pub use config::SimConfig;
pub use server::{DEMO_API_KEY, DEMO_API_SECRET, SimHandle, SimOptions, start};
