//! What can go wrong sending a request to a venue, in every venue's terms:
//! whether the venue refused it (proof it did nothing), the outcome is
//! unknown (it may have executed), or it never left; what kind of failure it
//! was, where the order tracking acts on the kind; and whether a retry helps.
//! Each connector classifies its venue's statuses and codes into these
//! (`venue::binance::error::from_response`). Messages never carry keys or
//! signatures.

use std::time::Duration;

/// How a failed request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The venue refused it; nothing happened.
    Rejected,
    /// It may or may not have been executed (timeout, 5xx, a backend timeout, a dropped connection).
    Unknown,
    /// It never reached the venue (connection refused, rate budget, bad local input).
    NotSent,
}

/// What kind of failure, where the order tracking treats one apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Other,
    /// The venue does not have (or no longer has) the order: a cancel or a query by client id.
    UnknownOrder,
    /// The venue refused the request's timestamp: resync the clock, then retry.
    ClockSkew,
    /// A rate limit: the venue's (a 429) or our own budget (never sent).
    RateLimited,
    /// A replace whose cancel half failed: the order to replace had filled or gone, nothing was placed.
    ReplacedOrderGone,
}

/// A classified venue error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct VenueError {
    pub outcome: Outcome,
    pub kind: ErrorKind,
    /// HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The venue's own error code (`-2010`, `170131`, `51008`), when the answer had one.
    pub code: Option<String>,
    pub message: String,
    /// Set on a rate limit: how long every request must wait.
    pub retry_after: Option<Duration>,
}

impl VenueError {
    pub fn new(outcome: Outcome, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { outcome, kind, status: None, code: None, message: message.into(), retry_after: None }
    }

    pub fn not_sent(message: impl Into<String>) -> Self {
        Self::new(Outcome::NotSent, ErrorKind::Other, message)
    }

    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(Outcome::Unknown, ErrorKind::Other, message)
    }

    /// Our own rate budget had no room in time: never sent.
    pub fn budget(message: impl Into<String>) -> Self {
        Self::new(Outcome::NotSent, ErrorKind::RateLimited, message)
    }

    /// With the HTTP status and the venue's code of the answer.
    pub fn answered(mut self, status: u16, code: Option<String>) -> Self {
        self.status = Some(status);
        self.code = code;
        self
    }

    /// Whether sending the same request again can help (never for new orders with an unknown outcome).
    pub fn retryable(&self) -> bool {
        match self.outcome {
            Outcome::NotSent => true,
            Outcome::Unknown => false,
            Outcome::Rejected => matches!(self.kind, ErrorKind::RateLimited | ErrorKind::ClockSkew),
        }
    }

    pub fn is_clock_skew(&self) -> bool {
        self.kind == ErrorKind::ClockSkew
    }

    pub fn is_unknown_order(&self) -> bool {
        self.kind == ErrorKind::UnknownOrder
    }

    /// The short code strategies see in `Rejected`.
    pub fn reason_code(&self) -> String {
        match (&self.code, self.status) {
            (Some(c), _) => c.clone(),
            (None, Some(s)) => format!("http_{s}"),
            (None, None) => "not_sent".to_owned(),
        }
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(status) = self.status {
            s.push_str(&format!("HTTP {status}: "));
        }
        if let Some(code) = &self.code {
            s.push_str(code);
            s.push(' ');
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
    fn only_refusals_that_say_wait_are_worth_a_retry() {
        assert!(VenueError::not_sent("connection refused").retryable());
        assert!(VenueError::budget("no room").retryable());
        assert!(!VenueError::unknown("timeout").retryable());
        let refused = |kind| VenueError::new(Outcome::Rejected, kind, "m");
        assert!(refused(ErrorKind::RateLimited).retryable());
        assert!(refused(ErrorKind::ClockSkew).retryable());
        assert!(!refused(ErrorKind::Other).retryable());
        assert!(!refused(ErrorKind::UnknownOrder).retryable());
        assert!(!refused(ErrorKind::ReplacedOrderGone).retryable());
    }

    #[test]
    fn a_message_names_status_code_and_wait_and_the_reason_code_falls_back_to_the_status() {
        let mut e =
            VenueError::new(Outcome::Rejected, ErrorKind::RateLimited, "slow down").answered(429, Some("-1003".into()));
        e.retry_after = Some(Duration::from_secs(7));
        assert_eq!(e.to_string(), "HTTP 429: -1003 slow down (retry after 7s)");
        assert_eq!(e.reason_code(), "-1003");
        assert_eq!(VenueError::unknown("bad gateway").answered(502, None).reason_code(), "http_502");
        assert_eq!(VenueError::not_sent("closed").reason_code(), "not_sent");
    }
}
