//! The OKX v5 spot connector, under way: request signing (REST and the
//! WebSocket login), errors classified, the rate-limit table and the public
//! market dialect. Order entry, the private stream and the start come next.

pub mod error;
pub mod limits;
pub mod market;
pub mod sign;
pub mod types;
