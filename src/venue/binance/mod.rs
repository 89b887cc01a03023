//! Binance Spot. Now: request signing ([`sign`]) and market-stream parsing
//! ([`parse`]); the stream connection, REST execution client and user stream
//! build on them. Knows nothing about strategies.

pub mod parse;
pub mod sign;
