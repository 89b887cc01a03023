//! Venues: one folder per exchange, plus `sim`, the built-in simulator.
//! A venue turns its wire protocol into normalised events and carries out
//! execution requests; it knows nothing about strategies.

pub mod binance;
pub mod sim;
