//! Reads a venue's start needs (its clock, instruments, account), asked
//! again while a retry may cure the failure.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::VenueId;

use crate::execution::error::{Outcome, VenueError};

/// Tries of one read at the start before the start fails.
const STARTUP_TRIES: u32 = 6;

/// A read the start needs, asked again (after 0.25, 0.5, 1, 2, 4 s, or the
/// venue's `Retry-After`) when a retry may cure its failure: no answer, a 5xx,
/// a rate limit, a clock the venue found off. A refusal (a bad key, a banned
/// IP, a bad request) ends the start at once, as does a shutdown.
pub async fn startup_read<T, F, Fut>(
    venue: VenueId,
    what: &str,
    shutdown: &CancellationToken,
    mut read: F,
) -> Result<T, VenueError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, VenueError>>,
{
    let (mut pause, mut attempt) = (Duration::from_millis(250), 0);
    loop {
        attempt += 1;
        let e = match read().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let curable = e.outcome != Outcome::Rejected || e.retryable();
        if !curable || attempt >= STARTUP_TRIES {
            return Err(e);
        }
        let wait = e.retry_after.unwrap_or(pause);
        tracing::warn!(%venue, what, attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "a read the start needs failed; asking again");
        tokio::select! {
            () = shutdown.cancelled() => return Err(e),
            () = tokio::time::sleep(wait) => {}
        }
        pause *= 2;
    }
}
