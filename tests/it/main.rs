//! Integration tests, compiled into one binary; `support` holds what they share.

mod cli;
mod config;
mod support;
mod trading;
