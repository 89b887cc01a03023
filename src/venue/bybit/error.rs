//! Bybit's answers classified in the venue-neutral terms of
//! [`crate::execution::error`]. Bybit refuses most requests with HTTP 200
//! and a non-zero `retCode`; an HTTP 403 is its IP limit (600 requests in
//! 5 s, then at least ten minutes of refusals) and a 429 its system
//! protection.

use std::time::Duration;

pub use crate::execution::error::{ErrorKind, Outcome, VenueError};

/// How long Bybit refuses an IP that passed its limit.
pub const IP_BAN: Duration = Duration::from_secs(600);

/// Classifies an answer that is not a success: its HTTP status, and the
/// `retCode` and `retMsg` of its envelope when it had one.
pub fn from_answer(status: u16, ret_code: Option<i64>, message: &str) -> VenueError {
    let (outcome, kind, message) = match (status, ret_code) {
        (403, _) => (Outcome::Rejected, ErrorKind::RateLimited, format!("IP rate limit passed (HTTP 403): {message}")),
        (429, _) | (_, Some(10006 | 170222)) => (Outcome::Rejected, ErrorKind::RateLimited, message.to_owned()),
        (_, Some(10002)) => (Outcome::Rejected, ErrorKind::ClockSkew, message.to_owned()),
        // The venue's own timeouts, and a client id it has seen: the order may be live.
        (_, Some(10000 | 10016 | 170146 | 170147)) => (Outcome::Unknown, ErrorKind::Other, message.to_owned()),
        (_, Some(110072 | 170141)) => {
            (Outcome::Unknown, ErrorKind::Other, format!("the client order id was used already: {message}"))
        }
        // Not (or no longer) on the book: no such order, already filled, already cancelled.
        (_, Some(110001 | 170213 | 170139 | 170142)) => {
            (Outcome::Rejected, ErrorKind::UnknownOrder, message.to_owned())
        }
        (_, Some(10003)) => (
            Outcome::Rejected,
            ErrorKind::Other,
            format!(
                "the API key is not valid here; a key belongs to one environment (mainnet, testnet, demo): {message}"
            ),
        ),
        (500..=599, _) => (Outcome::Unknown, ErrorKind::Other, message.to_owned()),
        // Any other retCode is the venue saying it refused the request.
        _ => (Outcome::Rejected, ErrorKind::Other, message.to_owned()),
    };
    let mut error = VenueError::new(outcome, kind, message).answered(status, ret_code.map(|c| c.to_string()));
    if status == 403 {
        error.retry_after = Some(IP_BAN);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_connector_can_receive_says_rejected_unknown_or_retry() {
        use ErrorKind::*;
        use Outcome::*;
        let cases = [
            (200, 10001, Rejected, Other, false),
            (200, 10002, Rejected, ClockSkew, true),
            (200, 10003, Rejected, Other, false),
            (200, 10004, Rejected, Other, false),
            (200, 10005, Rejected, Other, false),
            (200, 10006, Rejected, RateLimited, true),
            (200, 10010, Rejected, Other, false),
            (200, 10029, Rejected, Other, false),
            (200, 10000, Unknown, Other, false),
            (200, 10016, Unknown, Other, false),
            (200, 110001, Rejected, UnknownOrder, false),
            (200, 110072, Unknown, Other, false),
            (200, 170121, Rejected, Other, false),
            (200, 170131, Rejected, Other, false),
            (200, 170132, Rejected, Other, false),
            (200, 170133, Rejected, Other, false),
            (200, 170134, Rejected, Other, false),
            (200, 170136, Rejected, Other, false),
            (200, 170137, Rejected, Other, false),
            (200, 170139, Rejected, UnknownOrder, false),
            (200, 170140, Rejected, Other, false),
            (200, 170141, Unknown, Other, false),
            (200, 170142, Rejected, UnknownOrder, false),
            (200, 170146, Unknown, Other, false),
            (200, 170147, Unknown, Other, false),
            (200, 170193, Rejected, Other, false),
            (200, 170194, Rejected, Other, false),
            (200, 170213, Rejected, UnknownOrder, false),
            (200, 170217, Rejected, Other, false),
            (200, 170218, Rejected, Other, false),
            (200, 170222, Rejected, RateLimited, true),
            (200, 999_999, Rejected, Other, false),
        ];
        for (status, code, outcome, kind, retry) in cases {
            let e = from_answer(status, Some(code), "m");
            assert_eq!((e.outcome, e.kind, e.retryable()), (outcome, kind, retry), "{code}");
            assert_eq!(e.reason_code(), code.to_string());
        }
    }

    #[test]
    fn http_statuses_without_an_envelope() {
        let ban = from_answer(403, None, "access too frequent");
        assert_eq!((ban.outcome, ban.kind, ban.retry_after), (Outcome::Rejected, ErrorKind::RateLimited, Some(IP_BAN)));
        assert_eq!(from_answer(429, None, "busy").kind, ErrorKind::RateLimited);
        assert_eq!(from_answer(502, None, "bad gateway").outcome, Outcome::Unknown);
        assert_eq!(from_answer(404, None, "not found").outcome, Outcome::Rejected);
        assert!(from_answer(200, Some(10003), "API key is invalid.").to_string().contains("environment"));
    }
}
