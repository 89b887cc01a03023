//! OKX's answers classified in the venue-neutral terms of
//! [`crate::execution::error`]. OKX answers `{"code":"0","msg":"","data":[…]}`
//! on success; a refusal carries a non-zero `code` (HTTP 200 for most
//! parameter and business errors, 401 for the key, 429 for the rate limit),
//! and an order operation refused per order says `code: "1"` with the
//! reason in the order's `sCode` / `sMsg` (classified the same way).

pub use crate::execution::error::{ErrorKind, Outcome, VenueError};

/// Classifies an answer that is not a success: its HTTP status, and the
/// code and message it carried (the order's `sCode` / `sMsg` when there is one).
pub fn from_answer(status: u16, code: Option<i64>, message: &str) -> VenueError {
    let (outcome, kind, message) = match (status, code) {
        (429, _) | (_, Some(50011 | 50040 | 50061)) => (Outcome::Rejected, ErrorKind::RateLimited, message.to_owned()),
        (_, Some(50102 | 50112)) => (Outcome::Rejected, ErrorKind::ClockSkew, message.to_owned()),
        // The venue's own timeouts and failures: the request may have been carried out.
        (_, Some(50001 | 50004 | 50013 | 50026)) => (Outcome::Unknown, ErrorKind::Other, message.to_owned()),
        (_, Some(51016)) => {
            (Outcome::Unknown, ErrorKind::Other, format!("the client order id was used already: {message}"))
        }
        // Not (or no longer) on the book: no such order, filled, cancelled, or completed.
        (_, Some(51400 | 51401 | 51402 | 51503 | 51509 | 51510 | 51603)) => {
            (Outcome::Rejected, ErrorKind::UnknownOrder, message.to_owned())
        }
        (_, Some(50101)) => (
            Outcome::Rejected,
            ErrorKind::Other,
            format!(
                "the API key is not valid here; an OKX key belongs to one environment (live or demo trading) \
                 and one region (global, EEA, US): {message}"
            ),
        ),
        (500..=599, _) => (Outcome::Unknown, ErrorKind::Other, message.to_owned()),
        // Any other code is the venue saying it refused the request.
        _ => (Outcome::Rejected, ErrorKind::Other, message.to_owned()),
    };
    VenueError::new(outcome, kind, message).answered(status, code.map(|c| c.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_connector_can_receive_says_rejected_unknown_or_retry() {
        use ErrorKind::*;
        use Outcome::*;
        let cases = [
            (429, 50011, Rejected, RateLimited, true),
            (200, 50061, Rejected, RateLimited, true),
            (401, 50102, Rejected, ClockSkew, true),
            (401, 50112, Rejected, ClockSkew, true),
            (200, 50004, Unknown, Other, false),
            (503, 50001, Unknown, Other, false),
            (200, 50013, Unknown, Other, false),
            (500, 50026, Unknown, Other, false),
            (200, 51016, Unknown, Other, false),
            (200, 51400, Rejected, UnknownOrder, false),
            (200, 51401, Rejected, UnknownOrder, false),
            (200, 51402, Rejected, UnknownOrder, false),
            (200, 51503, Rejected, UnknownOrder, false),
            (200, 51509, Rejected, UnknownOrder, false),
            (200, 51510, Rejected, UnknownOrder, false),
            (200, 51603, Rejected, UnknownOrder, false),
            (401, 50101, Rejected, Other, false),
            (401, 50111, Rejected, Other, false),
            (401, 50113, Rejected, Other, false),
            (401, 50105, Rejected, Other, false),
            (200, 51008, Rejected, Other, false),
            (200, 51020, Rejected, Other, false),
            (200, 51121, Rejected, Other, false),
            (200, 51006, Rejected, Other, false),
            (200, 51000, Rejected, Other, false),
        ];
        for (status, code, outcome, kind, retry) in cases {
            let e = from_answer(status, Some(code), "m");
            assert_eq!((e.outcome, e.kind), (outcome, kind), "{code}");
            assert_eq!(e.code.as_deref(), Some(code.to_string().as_str()));
            assert_eq!(e.retryable(), retry, "{code}: retry");
        }
        assert_eq!(from_answer(502, None, "bad gateway").outcome, Unknown);
        assert!(
            from_answer(401, Some(50101), "APIKey does not match current environment.").to_string().contains("demo")
        );
    }
}
