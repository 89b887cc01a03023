//! Integration tests, compiled into one binary; `support` holds what they share.

mod chaos;
pub mod cli;
mod config;
mod crash;
mod preflight;
mod record;
mod reload;
mod restart;
mod safety;
mod secrets;
mod sim_bybit;
mod sim_okx;
mod sim_peer;
mod sim_server;
mod support;
mod test_venue;
mod trading;
