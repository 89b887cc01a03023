//! Bybit v5 Spot, being built on the shared plumbing: request signing
//! ([`sign`]), the REST client ([`rest`]), the public WebSocket dialect
//! ([`market`]), its error codes ([`error`]) and rate-limit table
//! ([`limits`]). Not yet a venue the configuration can name: the private
//! stream, its side of the order-entry contract and the simulator's Bybit
//! dialect come next.

pub mod error;
pub mod limits;
pub mod market;
pub mod rest;
pub mod sign;
