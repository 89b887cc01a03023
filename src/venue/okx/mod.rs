//! The OKX v5 spot connector (`kind = "okx"`, and `kind = "sim", protocol =
//! "okx"`): request signing (REST and the WebSocket login), errors
//! classified, the rate-limit table, the public market dialects (public and
//! business endpoints), the REST client (on the shared signed-REST client),
//! the order-entry contract over it, the answer rows, the private stream's
//! messages in the order manager's terms, order entry over the private
//! WebSocket with REST as its fallback ([`ws_orders`]), the start and the probe.

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
pub mod types;
pub mod ws_orders;
