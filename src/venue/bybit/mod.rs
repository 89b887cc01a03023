//! Bybit v5 Spot (a unified trading account) on the shared plumbing:
//! request signing ([`sign`]), the REST client and its answers ([`rest`]),
//! its error codes ([`error`]) and rate-limit table ([`limits`]), the public
//! WebSocket dialect ([`market`]), the private stream's ([`private`]), the
//! venue contract over the REST client ([`order_entry`]), the other reads
//! ([`reads`]); [`start`] starts them all for one venue.

pub mod error;
pub mod limits;
pub mod market;
pub mod order_entry;
pub mod private;
pub mod probe;
pub mod reads;
pub mod rest;
pub mod sign;
pub mod start;
