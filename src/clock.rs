//! The wall clock: milliseconds since the Unix epoch, read from the system.
//!
//! Everything that stamps or compares wall-clock time (journal rows, venue
//! timestamps and recvWindows, rate-limit windows aligned to the venue's
//! minutes, the simulator's event times) reads it here. Durations are
//! measured with the monotonic `Instant` (tokio's, pausable in tests).

use tradewind_strategies::sdk::Timestamp;

/// Now, in wall-clock milliseconds since the Unix epoch (0 if the system
/// clock reads before 1970, `i64::MAX` past the year 292 million).
pub fn now() -> Timestamp {
    Timestamp(now_ms())
}

/// [`now`] as a plain number.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
