//! The built-in exchange simulator: a matching engine behind a
//! Binance-Spot-compatible REST and WebSocket server on loopback.
//!
//! Layout: [`matching`] is the per-symbol order book (integer ticks and lots,
//! no balances). The ledger, the synthetic market and the Binance wire
//! protocol server build on it. Knows nothing about strategies.

pub mod matching;
