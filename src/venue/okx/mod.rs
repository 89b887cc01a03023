//! The OKX v5 spot connector (`kind = "okx"`, and `kind = "sim", protocol =
//! "okx"`): request signing (REST and the WebSocket login), errors
//! classified, the rate-limit table, the public market dialects (public and
//! business endpoints), the REST client (on the shared signed-REST client),
//! the order-entry contract over it, the answer rows, the private stream's
//! messages in the order manager's terms, the start and the probe. Orders
//! go over REST; OKX's WebSocket order entry is not used yet.

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
