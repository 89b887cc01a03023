//! Tradewind, an automated crypto trading daemon.
//!
//! Layout: [`config`] turns TOML into a validated [`config::Config`];
//! [`engine`] owns the strategy instances and drives them with market events
//! and order updates; [`risk`] checks every intent before it leaves;
//! [`execution`] is the contract venues implement, with the shared rate
//! limiter and the order manager; [`venue`] holds the connectors (Binance),
//! the plumbing they share (market sessions, books, WebSocket connects) and
//! the built-in simulator; [`record`] writes and reads recorded market data;
//! [`app`] wires the tasks and owns the lifecycle;
//! [`logging`] sets up `tracing`. Strategies and the types they see come from
//! the `tradewind-strategies` crate.
#![forbid(unsafe_code)]

pub mod app;
pub mod bench;
pub mod clock;
pub mod collections;
pub mod config;
pub mod engine;
pub mod execution;
pub mod journal;
pub mod latency;
pub mod lifecycle;
pub mod logging;
pub mod ops;
pub mod portfolio;
pub mod record;
pub mod risk;
pub mod rng;
pub mod secret;
pub mod sink;
pub mod venue;
