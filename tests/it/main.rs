//! Integration tests, compiled into one binary; `support` holds what they share.

mod config;
mod support;
