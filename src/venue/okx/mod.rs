//! The OKX v5 spot connector, under way: request signing (REST and the
//! WebSocket login), errors classified, the rate-limit table, the public
//! market dialects, the REST client (on the shared signed-REST client),
//! the order-entry contract over it, the answer rows and the private
//! stream's messages in the order manager's terms. The private stream's
//! session, the start and `kind = "okx"` (and the simulator's OKX dialect)
//! come next.

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
