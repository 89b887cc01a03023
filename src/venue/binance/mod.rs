//! Binance Spot: signing now; market data, REST execution and the user
//! stream build on it. Knows nothing about strategies.

pub mod sign;
