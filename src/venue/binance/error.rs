//! What can go wrong talking to Binance, classified by what it means for the
//! request: the venue refused it (proof it did nothing), the outcome is
//! unknown (it may have executed), or it never left. Messages never carry
//! keys or signatures.

use std::time::Duration;

/// How a failed request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The venue refused it; nothing happened.
    Rejected,
    /// It may or may not have been executed (timeout, 5xx, -1007, dropped connection).
    Unknown,
    /// It never reached the venue (connection refused, rate budget, bad local input).
    NotSent,
}

/// A typed Binance error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct VenueError {
    pub outcome: Outcome,
    /// HTTP status, when there was a response.
    pub status: Option<u16>,
    /// Binance's error code (`-2010`, …), when the body had one.
    pub code: Option<i32>,
    pub message: String,
    /// Set on 429/418: how long every request must wait.
    pub retry_after: Option<Duration>,
}

impl VenueError {
    pub fn not_sent(message: impl Into<String>) -> Self {
        Self { outcome: Outcome::NotSent, status: None, code: None, message: message.into(), retry_after: None }
    }

    pub fn unknown(message: impl Into<String>) -> Self {
        Self { outcome: Outcome::Unknown, status: None, code: None, message: message.into(), retry_after: None }
    }

    /// Classifies an HTTP error response by status and Binance code.
    pub fn from_response(status: u16, code: Option<i32>, message: String, retry_after: Option<Duration>) -> Self {
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
        Self { outcome, status: Some(status), code, message, retry_after }
    }

    /// Whether sending the same request again can help (never for new orders with an unknown outcome).
    pub fn retryable(&self) -> bool {
        match self.outcome {
            Outcome::NotSent => true,
            Outcome::Unknown => false,
            Outcome::Rejected => matches!(self.status, Some(429 | 418)) || matches!(self.code, Some(-1021 | -1003)),
        }
    }

    /// The server clock and ours disagree (-1021): resync before retrying.
    pub fn is_clock_skew(&self) -> bool {
        self.code == Some(-1021)
    }

    /// The order is not (or no longer) on the book: -2011 on cancel, -2013 on query.
    pub fn is_unknown_order(&self) -> bool {
        matches!(self.code, Some(-2011 | -2013))
    }

    /// The short code strategies see in `Rejected`.
    pub fn reason_code(&self) -> String {
        match (self.code, self.status) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) => format!("http_{s}"),
            (None, None) => "not_sent".to_owned(),
        }
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(status) = self.status {
            s.push_str(&format!("HTTP {status}: "));
        }
        if let Some(code) = self.code {
            s.push_str(&format!("{code} "));
        }
        s.push_str(&self.message);
        if let Some(r) = self.retry_after {
            s.push_str(&format!(" (retry after {}s)", r.as_secs()));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_happened_and_whether_to_retry() {
        let cases = [
            (400, Some(-2010), Outcome::Rejected, false),
            (400, Some(-1013), Outcome::Rejected, false),
            (400, Some(-1021), Outcome::Rejected, true),
            (400, Some(-1022), Outcome::Rejected, false),
            (401, Some(-2015), Outcome::Rejected, false),
            (429, Some(-1003), Outcome::Rejected, true),
            (418, Some(-1003), Outcome::Rejected, true),
            (503, Some(-1007), Outcome::Unknown, false),
            (502, None, Outcome::Unknown, false),
            (409, Some(-2021), Outcome::Unknown, false),
        ];
        for (status, code, outcome, retry) in cases {
            let e = VenueError::from_response(status, code, "m".into(), None);
            assert_eq!((e.outcome, e.retryable()), (outcome, retry), "{status} {code:?}");
        }
        assert!(VenueError::not_sent("connection refused").retryable());
        assert!(!VenueError::unknown("timeout").retryable());
        let e = VenueError::from_response(429, Some(-1003), "slow down".into(), Some(Duration::from_secs(7)));
        assert_eq!(e.to_string(), "HTTP 429: -1003 slow down (retry after 7s)");
        assert_eq!(e.reason_code(), "-1003");
    }
}
