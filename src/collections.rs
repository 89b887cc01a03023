//! Collections several layers share.

use std::collections::HashMap;

/// Maps keyed by venue, symbol and order ids from the daemon's own
/// configuration and venues: a fast hash (foldhash, randomly seeded) instead
/// of SipHash, which was a tenth of the cost of a market event in the engine.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
