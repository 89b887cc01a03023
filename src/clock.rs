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

/// `ms` since the epoch as ISO-8601 UTC with milliseconds: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_utc(ms: i64) -> String {
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1_000 % 60, in_day % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}
