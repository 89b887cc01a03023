//! Venues: one folder per exchange, plus `sim`, the built-in simulator.
//! A venue turns its wire protocol into normalised events and carries out
//! execution requests; it knows nothing about strategies. [`backoff`] and
//! [`uptime`] are shared by every connection: reconnect delays, and how long
//! each stream was down.

pub mod backoff;
pub mod binance;
pub mod credentials;
pub mod sim;
pub mod uptime;

/// Installs the process's one TLS crypto provider (rustls with ring) for
/// reqwest and tokio-tungstenite alike. Safe to call more than once.
pub fn install_tls_provider() {
    // Err means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
