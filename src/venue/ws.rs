//! What every venue's WebSocket connections share: connecting within a
//! deadline, with the read buffer the daemon uses, within a venue's limit
//! of new connections a second to one host (OKX's), and the reconnect state
//! of one stream ([`Reconnect`]): a jittered backoff that starts over once a
//! connection has proved itself, and the stream's up/down time.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::VenueId;

use super::backoff::Backoff;
use super::uptime::Uptime;

/// A client WebSocket connection (TLS, or plain on loopback).
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long opening a connection (TCP, TLS, the upgrade) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// tungstenite zero-fills its read buffer's spare room before every read
/// attempt, including the one that finds the socket empty at the end of each
/// wakeup: with the default 128 KiB that zeroing was the largest cost of a
/// lightly loaded connection. 16 KiB still takes dozens of frames per read.
pub const READ_BUFFER: usize = 16 * 1024;

pub fn config(read_buffer: usize) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(read_buffer)
}

/// The connects of the last second: (host and port, id, when). A connect
/// counts from its start until it is done, then from when it was done: the
/// venue saw it somewhere in between, and only the end is never too early.
static CONNECTS: std::sync::Mutex<Vec<(String, u64, tokio::time::Instant)>> = std::sync::Mutex::new(Vec::new());
static CONNECT_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn connects() -> std::sync::MutexGuard<'static, Vec<(String, u64, tokio::time::Instant)>> {
    CONNECTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The host and port of `url` (`ws.okx.com:8443`).
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// A connect counted against its host (see [`done`]).
struct Paced(u64);

/// Waits until a connect to `url`'s host stays within `per_sec` in a second, and counts it.
async fn pace(url: &str, per_sec: usize) -> Paced {
    let host = authority(url);
    loop {
        let wait = {
            let mut connects = connects();
            let now = tokio::time::Instant::now();
            connects.retain(|(_, _, at)| now.saturating_duration_since(*at) < Duration::from_secs(1));
            let recent: Vec<_> = connects.iter().filter(|(h, ..)| h == host).map(|(.., at)| *at).collect();
            if recent.len() < per_sec {
                let id = CONNECT_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // In flight: counted as of a second from now until it is done.
                connects.push((host.to_owned(), id, now + Duration::from_secs(1)));
                return Paced(id);
            }
            let oldest = recent.into_iter().min().unwrap_or(now);
            (oldest + Duration::from_secs(1)).saturating_duration_since(now).max(Duration::from_millis(1))
        };
        tokio::time::sleep(wait).await;
    }
}

/// The connect is done (made or failed): it counts from now.
fn done(paced: Paced) {
    let now = tokio::time::Instant::now();
    if let Some(entry) = connects().iter_mut().find(|(_, id, _)| *id == paced.0) {
        entry.2 = now;
    }
}

/// Opens a connection to `url`, no more than `per_sec` new ones a second to
/// its host where the venue limits them (the count spans every connection
/// of the process to that host); `None` on shutdown.
pub async fn connect(
    url: &str,
    read_buffer: usize,
    per_sec: Option<usize>,
    shutdown: &CancellationToken,
) -> Option<Result<Ws, String>> {
    let paced = match per_sec {
        Some(per_sec) => tokio::select! {
            _ = shutdown.cancelled() => return None,
            paced = pace(url, per_sec) => Some(paced),
        },
        None => None,
    };
    let connecting = tokio_tungstenite::connect_async_with_config(url, Some(config(read_buffer)), false);
    let connected = tokio::select! {
        _ = shutdown.cancelled() => return None,
        r = tokio::time::timeout(CONNECT_TIMEOUT, connecting) => r,
    };
    if let Some(paced) = paced {
        done(paced);
    }
    Some(match connected {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("connect failed: {e}")),
        Err(_) => Err("connect timed out".to_owned()),
    })
}

/// One stream's reconnects: 250 ms doubling to 30 s with full jitter, from
/// the shortest delay again once a connection proved itself (a venue that
/// drops connections every few seconds must not push the delay up).
pub struct Reconnect {
    venue: VenueId,
    /// What the log calls the stream (`market stream`, `user data stream`).
    name: &'static str,
    backoff: Backoff,
    uptime: Uptime,
}

impl Reconnect {
    /// `stream` labels the metrics (`market`, `user`); `name` is the log's.
    pub fn new(venue: VenueId, stream: &'static str, name: &'static str) -> Self {
        let backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        Self { venue, name, backoff, uptime: Uptime::new(venue.as_str(), stream) }
    }

    /// The stream is up; how long it was down (ms), if it was up before.
    pub fn up(&mut self) -> Option<u64> {
        self.uptime.up().map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The connection delivered what it is for: the next failure retries from the shortest delay.
    pub fn proven(&mut self) {
        self.backoff.reset();
    }

    /// The stream is down.
    pub fn down(&mut self) {
        self.uptime.down();
    }

    /// Waits the next delay before connecting again, saying why; false on shutdown.
    pub async fn wait(&mut self, why: &str, shutdown: &CancellationToken) -> bool {
        let delay = self.backoff.next_delay();
        let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(venue = %self.venue, reason = why, retry_in_ms, "{} down", self.name);
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

/// A venue's app-level ping (its text) and its timer, for venues that want one.
pub type Pings = Option<(tokio::time::Interval, &'static str)>;

/// The timer of `ping` (text and interval), first due one interval from now.
pub fn pings(ping: Option<(Duration, &'static str)>) -> Pings {
    ping.map(|(every, text)| (tokio::time::interval_at(tokio::time::Instant::now() + every, every), text))
}

/// The next ping's text, when it is due (never, for venues without pings).
pub async fn next_ping(pings: &mut Pings) -> &'static str {
    match pings {
        Some((interval, text)) => {
            interval.tick().await;
            text
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod pacing_tests {
    use super::*;

    #[test]
    fn the_authority_is_host_and_port() {
        assert_eq!(authority("wss://ws.okx.com:8443/ws/v5/public"), "ws.okx.com:8443");
        assert_eq!(authority("ws://127.0.0.1:9000/stream?streams=a"), "127.0.0.1:9000");
        assert_eq!(authority("wss://stream.bybit.com"), "stream.bybit.com");
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_three_connects_a_second_to_one_host_counted_from_when_each_was_done() {
        let start = tokio::time::Instant::now();
        let mut in_flight = Vec::new();
        for _ in 0..3 {
            in_flight.push(pace("wss://pace-test-a.example:1/x", 3).await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "three at once");
        done(pace("wss://pace-test-b.example:1/x", 3).await);
        assert_eq!(start.elapsed(), Duration::ZERO, "another host has its own second");
        // The three took 300 ms to connect: the venue may have seen them as late as that.
        tokio::time::advance(Duration::from_millis(300)).await;
        in_flight.into_iter().for_each(done);
        done(pace("wss://pace-test-a.example:1/y", 3).await);
        assert_eq!(start.elapsed(), Duration::from_millis(1_300), "a second after the first was done");
    }
}
