//! Binance's errors classified in the venue-neutral terms of
//! [`crate::execution::error`]: by HTTP status and Binance code, what the
//! answer means for the request and whether a retry helps.

use std::time::Duration;

pub use crate::execution::error::{ErrorKind, Outcome, VenueError};

/// Classifies an HTTP error response by status and Binance code.
pub fn from_response(status: u16, code: Option<i32>, message: String, retry_after: Option<Duration>) -> VenueError {
    let outcome = match (status, code) {
        // Backend timeout: the order may be live.
        (_, Some(-1007)) => Outcome::Unknown,
        (500..=599, _) => Outcome::Unknown,
        // Rate limits and bans refuse the request before it is processed.
        (429 | 418, _) => Outcome::Rejected,
        // cancelReplace partly done: the caller reads the details.
        (409, _) => Outcome::Unknown,
        (400..=499, _) => Outcome::Rejected,
        _ => Outcome::Unknown,
    };
    let kind = match (status, code) {
        (429 | 418, _) | (_, Some(-1003 | -1015)) => ErrorKind::RateLimited,
        (_, Some(-1021)) => ErrorKind::ClockSkew,
        // -2011 on cancel, -2013 on query: not (or no longer) on the book.
        (_, Some(-2011 | -2013)) => ErrorKind::UnknownOrder,
        // cancelReplace STOP_ON_FAILURE whose cancel failed: nothing was placed.
        (_, Some(-2022)) => ErrorKind::ReplacedOrderGone,
        _ => ErrorKind::Other,
    };
    let mut error = VenueError::new(outcome, kind, message).answered(status, code.map(|c| c.to_string()));
    error.retry_after = retry_after;
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_happened_and_whether_to_retry() {
        let cases = [
            (400, Some(-2010), Outcome::Rejected, ErrorKind::Other, false),
            (400, Some(-1013), Outcome::Rejected, ErrorKind::Other, false),
            (400, Some(-1021), Outcome::Rejected, ErrorKind::ClockSkew, true),
            (400, Some(-1022), Outcome::Rejected, ErrorKind::Other, false),
            (401, Some(-2015), Outcome::Rejected, ErrorKind::Other, false),
            (400, Some(-2011), Outcome::Rejected, ErrorKind::UnknownOrder, false),
            (400, Some(-2013), Outcome::Rejected, ErrorKind::UnknownOrder, false),
            (400, Some(-2022), Outcome::Rejected, ErrorKind::ReplacedOrderGone, false),
            (429, Some(-1003), Outcome::Rejected, ErrorKind::RateLimited, true),
            (429, Some(-1015), Outcome::Rejected, ErrorKind::RateLimited, true),
            (418, Some(-1003), Outcome::Rejected, ErrorKind::RateLimited, true),
            (503, Some(-1007), Outcome::Unknown, ErrorKind::Other, false),
            (502, None, Outcome::Unknown, ErrorKind::Other, false),
            (409, Some(-2021), Outcome::Unknown, ErrorKind::Other, false),
        ];
        for (status, code, outcome, kind, retry) in cases {
            let e = from_response(status, code, "m".into(), None);
            assert_eq!((e.outcome, e.kind, e.retryable()), (outcome, kind, retry), "{status} {code:?}");
        }
        let e = from_response(429, Some(-1003), "slow down".into(), Some(Duration::from_secs(7)));
        assert_eq!(e.to_string(), "HTTP 429: -1003 slow down (retry after 7s)");
        assert_eq!(e.reason_code(), "-1003");
    }
}
