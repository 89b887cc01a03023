//! Integration tests, compiled into one binary; `support` holds what they share.

mod cli;
mod config;
mod sim_server;
mod support;
mod trading;
