//! The private (account) stream's session manager, for every venue: a
//! venue describes its protocol as a [`PrivateDialect`] (the URL, what to
//! send on a fresh connection to log in and subscribe, how a frame reads,
//! an app-level ping if it wants one), and [`run`] keeps the stream
//! subscribed until shutdown:
//!
//! - a connection whose subscription was confirmed has proved itself, and
//!   the order manager is told ([`AccountEvent::Subscribed`]) so it fills the
//!   gap through REST; a lost connection says [`AccountEvent::Down`], then
//!   reconnects with backoff (`venue::ws::Reconnect`);
//! - a login or subscription refused for its timestamp resyncs the clock and
//!   is sent again on the same connection (a few times);
//! - the venue ending the subscription resubscribes on the same connection;
//! - a connection silent longer than the silence timeout is replaced;
//! - the venue announcing it is going away is make-before-break: a new
//!   connection is subscribed while the old one is still read, the old one
//!   is let go a moment after, and an event sent on both is passed on once.

#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::VenueId;

use crate::execution::venue::AccountEvent;
use crate::venue::sign::Credentials;
use crate::venue::ws::{self, Reconnect, Ws};

/// What one private-stream frame carried.
#[derive(Debug, Clone, PartialEq)]
pub enum PrivateFrame {
    /// Events, in the order the frame carried them.
    Events(Vec<AccountEvent>),
    /// The subscription sent last is confirmed.
    Subscribed,
    /// Send these next on this connection (a login acknowledged: now subscribe).
    Send(Vec<String>),
    /// The login or subscription was refused; `clock`: for its timestamp
    /// (the clock is resynced and the greeting sent again).
    Refused { reason: String, clock: bool },
    /// The venue ended the subscription: subscribe again.
    Terminated,
    /// The server is going away: switch to a new connection now.
    ServerShutdown,
    /// A reply or an event this daemon does not use.
    Ignored,
}

/// A venue's private WebSocket protocol, as the session manager needs it.
pub trait PrivateDialect: Send + Sync + 'static {
    fn url(&self) -> String;

    /// What to send on a fresh connection (or to subscribe again): signed
    /// now. `attempt` numbers the greetings, so that [`Self::parse`] can tell
    /// the latest one's confirmation from an older one's.
    fn hello(&self, attempt: u64) -> Vec<String>;

    /// Reads one text frame; `attempt` is the latest greeting's number.
    fn parse(&self, text: &str, attempt: u64) -> Result<PrivateFrame, String>;

    /// An app-level ping (its text) and how often, for venues that want one.
    fn ping(&self) -> Option<(Duration, &'static str)> {
        None
    }

    /// New connections a second the venue takes from one address, if it limits them.
    fn connects_per_sec(&self) -> Option<usize> {
        None
    }

    /// The part of an event frame that two connections send alike (without
    /// a per-connection subscription id), for passing an event on once during a switch.
    fn event_key<'a>(&self, text: &'a str) -> &'a str {
        text
    }

    /// Measures the venue's clock again (a greeting was refused for its timestamp).
    fn resync_clock(&self) -> impl Future<Output = ()> + Send;
}

/// Where the stream's events go, and how it is watched.
pub struct PrivateOptions {
    pub venue: VenueId,
    /// Drop a connection that sent nothing (not even a ping) for this long.
    pub silence_timeout: Duration,
}

/// How many times a greeting refused for its timestamp is retried on the
/// same connection (each after resyncing the clock) before the connection is dropped.
const CLOCK_RETRIES: u32 = 3;

/// How long a planned switch waits for the new connection's subscription.
const SWITCH_WITHIN: Duration = Duration::from_secs(10);

/// How long, after the new connection's subscription is confirmed, the old
/// one is still read: events the venue sent on it just before are not lost.
const SWITCH_GRACE: Duration = Duration::from_millis(500);

/// Keeps the private stream subscribed until shutdown; events go to `events`.
pub async fn run<D: PrivateDialect>(
    dialect: D,
    options: PrivateOptions,
    events: mpsc::Sender<AccountEvent>,
    shutdown: CancellationToken,
) {
    let mut stream = Stream { dialect, options, events, attempt: 0, recent: Recent::default() };
    let mut reconnect = Reconnect::new(stream.options.venue, "user", "user data stream");
    loop {
        let why = match stream.connect(&shutdown).await {
            None => return,
            Some(Err(why)) => why,
            Some(Ok(mut ws)) => loop {
                match stream.session(&mut ws, &mut reconnect, &shutdown).await {
                    SessionEnd::Shutdown => {
                        let _ = ws.close(None).await;
                        return;
                    }
                    SessionEnd::Switch => match stream.switch(&mut ws, &shutdown).await {
                        Some(Ok(new)) => {
                            tracing::info!(venue = %stream.options.venue, "user data stream switched to a new connection");
                            ws = new;
                        }
                        Some(Err(why)) => break why,
                        None => return,
                    },
                    SessionEnd::Lost(why) => break why,
                }
            },
        };
        reconnect.down();
        let _ = stream.events.send(AccountEvent::Down).await;
        if !reconnect.wait(&why, &shutdown).await {
            return;
        }
    }
}

enum SessionEnd {
    Shutdown,
    /// The venue announced it is going away.
    Switch,
    Lost(String),
}

struct Stream<D> {
    dialect: D,
    options: PrivateOptions,
    events: mpsc::Sender<AccountEvent>,
    /// Greetings sent so far.
    attempt: u64,
    recent: Recent,
}

impl<D: PrivateDialect> Stream<D> {
    /// Passes events on in order; false once the receiver is gone.
    async fn pass_on(&self, events: Vec<AccountEvent>) -> bool {
        for event in events {
            if self.events.send(event).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Connects and greets; `None` on shutdown.
    async fn connect(&mut self, shutdown: &CancellationToken) -> Option<Result<Ws, String>> {
        let mut ws =
            match ws::connect(&self.dialect.url(), ws::READ_BUFFER, self.dialect.connects_per_sec(), shutdown).await? {
                Ok(ws) => ws,
                Err(why) => return Some(Err(why)),
            };
        Some(self.greet(&mut ws).await.map(|()| ws))
    }

    async fn greet(&mut self, ws: &mut Ws) -> Result<(), String> {
        self.attempt += 1;
        let messages = self.dialect.hello(self.attempt);
        send_all(ws, messages).await
    }

    /// Reads one connection until it ends.
    async fn session(&mut self, ws: &mut Ws, reconnect: &mut Reconnect, shutdown: &CancellationToken) -> SessionEnd {
        let silence_timeout = self.options.silence_timeout;
        let mut clock_retries = 0;
        let mut pings = ws::pings(self.dialect.ping());
        loop {
            let frame = tokio::select! {
                _ = shutdown.cancelled() => return SessionEnd::Shutdown,
                ping = ws::next_ping(&mut pings) => {
                    if let Err(e) = ws.send(Message::text(ping)).await {
                        return SessionEnd::Lost(format!("ping failed: {e}"));
                    }
                    continue;
                }
                f = tokio::time::timeout(silence_timeout, ws.next()) => f,
            };
            let text = match frame {
                Err(_) => return SessionEnd::Lost(format!("no frame for {silence_timeout:?}")),
                Ok(frame) => match read(frame) {
                    Ok(Some(text)) => text,
                    Ok(None) => continue,
                    Err(why) => return SessionEnd::Lost(why),
                },
            };
            match self.dialect.parse(&text, self.attempt) {
                Ok(PrivateFrame::Events(events)) => {
                    if self.recent.fresh(self.dialect.event_key(&text)) && !self.pass_on(events).await {
                        return SessionEnd::Shutdown;
                    }
                }
                Ok(PrivateFrame::Terminated) => {
                    tracing::warn!(venue = %self.options.venue, "user data stream terminated by the venue; resubscribing");
                    if let Err(why) = self.greet(ws).await {
                        return SessionEnd::Lost(why);
                    }
                }
                Ok(PrivateFrame::ServerShutdown) => {
                    tracing::info!(venue = %self.options.venue, "venue announced a shutdown; switching the user data connection");
                    return SessionEnd::Switch;
                }
                Ok(PrivateFrame::Send(messages)) => {
                    if let Err(why) = send_all(ws, messages).await {
                        return SessionEnd::Lost(why);
                    }
                }
                Ok(PrivateFrame::Subscribed) => {
                    let down_ms = reconnect.up();
                    tracing::info!(venue = %self.options.venue, down_ms, "user data stream subscribed");
                    // A confirmed subscription has proved the connection.
                    reconnect.proven();
                    if self.events.send(AccountEvent::Subscribed).await.is_err() {
                        return SessionEnd::Shutdown;
                    }
                }
                Ok(PrivateFrame::Refused { reason, clock }) => {
                    // The reason is the venue's; it never contains our key or signature.
                    if clock && clock_retries < CLOCK_RETRIES {
                        clock_retries += 1;
                        tracing::warn!(venue = %self.options.venue, reason = %reason, "user data subscription refused for its timestamp: resyncing the clock, subscribing again");
                        self.dialect.resync_clock().await;
                        if let Err(why) = self.greet(ws).await {
                            return SessionEnd::Lost(why);
                        }
                        continue;
                    }
                    return SessionEnd::Lost(format!("subscribe refused: {reason}"));
                }
                Ok(PrivateFrame::Ignored) => {}
                Err(e) => {
                    tracing::warn!(venue = %self.options.venue, error = %e, "unreadable user-stream frame skipped")
                }
            }
        }
    }

    /// Make-before-break: subscribes a new connection while the old one is
    /// still read, lets the old one go once the new one is confirmed (and a
    /// short grace has passed), and passes each event on once.
    async fn switch(&mut self, old: &mut Ws, shutdown: &CancellationToken) -> Option<Result<Ws, String>> {
        self.recent.start();
        let old_attempt = self.attempt;
        let mut new = match self.connect(shutdown).await? {
            Ok(ws) => ws,
            Err(why) => return Some(Err(why)),
        };
        let until = Instant::now() + SWITCH_WITHIN;
        let mut confirmed: Option<Instant> = None;
        let mut old_open = true;
        loop {
            let grace_over = confirmed.is_some_and(|at| at.elapsed() >= SWITCH_GRACE);
            if grace_over || (confirmed.is_some() && !old_open) {
                let _ = old.close(None).await;
                return Some(Ok(new));
            }
            let wake = confirmed.map_or(until, |at| at + SWITCH_GRACE);
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                () = tokio::time::sleep_until(wake) => {
                    if confirmed.is_none() {
                        return Some(Err("the new user data connection was not subscribed in time".into()));
                    }
                }
                frame = old.next(), if old_open => match read(frame) {
                    Ok(Some(text)) => {
                        if let Ok(PrivateFrame::Events(events)) = self.dialect.parse(&text, old_attempt)
                            && self.recent.fresh(self.dialect.event_key(&text))
                            && !self.pass_on(events).await
                        {
                            return None;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => old_open = false,
                },
                frame = new.next() => {
                    let text = match read(frame) {
                        Ok(Some(text)) => text,
                        Ok(None) => continue,
                        Err(why) => return Some(Err(why)),
                    };
                    match self.dialect.parse(&text, self.attempt) {
                        Ok(PrivateFrame::Events(events)) => {
                            let passed_on = !self.recent.fresh(self.dialect.event_key(&text)) || self.pass_on(events).await;
                            if !passed_on {
                                return None;
                            }
                        }
                        Ok(PrivateFrame::Send(messages)) => {
                            if let Err(why) = send_all(&mut new, messages).await {
                                return Some(Err(why));
                            }
                        }
                        Ok(PrivateFrame::Subscribed) => {
                            tracing::debug!(venue = %self.options.venue, "new user data connection subscribed");
                            confirmed = Some(Instant::now());
                        }
                        Ok(PrivateFrame::Refused { reason, clock }) => {
                            if clock {
                                self.dialect.resync_clock().await;
                            }
                            return Some(Err(format!("subscribe refused: {reason}")));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

async fn send_all(ws: &mut Ws, messages: Vec<String>) -> Result<(), String> {
    for message in messages {
        ws.send(Message::text(message)).await.map_err(|e| format!("send failed: {e}"))?;
    }
    Ok(())
}

/// A frame's text; `Ok(None)` for frames that carry none (pings are
/// answered by tungstenite itself); `Err` once the connection is gone.
fn read(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Result<Option<String>, String> {
    match frame {
        None => Err("connection closed".into()),
        Some(Err(e)) => Err(format!("read failed: {e}")),
        Some(Ok(Message::Text(t))) => Ok(Some(t.to_string())),
        Some(Ok(Message::Close(_))) => Err("closed by the venue".into()),
        Some(Ok(_)) => Ok(None),
    }
}

/// The event frames seen during and shortly after a connection switch, when
/// the venue may send the same event on both connections: each is passed on once.
#[derive(Default)]
struct Recent {
    /// Until when frames are remembered (none: not switching, nothing is checked).
    until: Option<Instant>,
    seen: std::collections::HashSet<u64>,
}

impl Recent {
    /// How long after a switch starts frames are compared.
    const WINDOW: Duration = Duration::from_secs(15);

    fn start(&mut self) {
        self.until = Some(Instant::now() + Self::WINDOW);
        self.seen.clear();
    }

    /// Whether the event `key` was not seen before (always true outside a switch).
    fn fresh(&mut self, key: &str) -> bool {
        let Some(until) = self.until else { return true };
        if Instant::now() > until {
            self.until = None;
            self.seen.clear();
            return true;
        }
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = FRAME_HASH.build_hasher();
        hasher.write(key.as_bytes());
        self.seen.insert(hasher.finish())
    }
}

/// A fixed-seed hasher: frames are compared within one process only.
const FRAME_HASH: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x7d1e);

/// A private stream restartable with another key, and the REST client's key
/// beside it: key rotation for any venue ([`crate::venue::KeyRotation`]).
/// Later requests are signed with the new key and the stream resubscribes
/// with it (the order manager reconciles when it is back).
pub struct Keys<K: VenueKey = Credentials> {
    /// Swaps the REST client's key.
    set_rest: Box<dyn Fn(K) + Send + Sync>,
    /// Starts the stream with a key until its token is cancelled; `None` without a key.
    stream: Option<Restartable<K>>,
}

/// A venue's key as its connector holds it, made from a key loaded for a rotation.
pub trait VenueKey: Clone + Send + Sync + 'static {
    fn rotated(loaded: crate::venue::LoadedKey) -> anyhow::Result<Self>;
}

impl VenueKey for Credentials {
    fn rotated(loaded: crate::venue::LoadedKey) -> anyhow::Result<Self> {
        Credentials::rotated(loaded)
    }
}

type Spawn<K> = Box<dyn Fn(K, CancellationToken) -> tokio::task::JoinHandle<()> + Send + Sync>;

struct Restartable<K> {
    spawn: Spawn<K>,
    shutdown: CancellationToken,
    /// Stops the stream running now.
    current: CancellationToken,
}

impl<K: VenueKey> Keys<K> {
    /// A venue without a key: nothing to rotate.
    pub fn none(set_rest: impl Fn(K) + Send + Sync + 'static) -> Self {
        Self { set_rest: Box::new(set_rest), stream: None }
    }

    /// Starts the private stream with `key` (`spawn` runs it until the
    /// token it is given is cancelled) and returns its task.
    pub fn start(
        set_rest: impl Fn(K) + Send + Sync + 'static,
        key: K,
        shutdown: CancellationToken,
        spawn: impl Fn(K, CancellationToken) -> tokio::task::JoinHandle<()> + Send + Sync + 'static,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let current = shutdown.child_token();
        let task = spawn(key, current.clone());
        let stream = Restartable { spawn: Box::new(spawn), shutdown, current };
        (Self { set_rest: Box::new(set_rest), stream: Some(stream) }, task)
    }

    /// Switches to `key`; returns the new stream's task.
    pub fn rotate_to(&mut self, key: K) -> Option<tokio::task::JoinHandle<()>> {
        let stream = self.stream.as_mut()?;
        (self.set_rest)(key.clone());
        stream.current.cancel();
        stream.current = stream.shutdown.child_token();
        Some((stream.spawn)(key, stream.current.clone()))
    }
}

impl<K: VenueKey> crate::venue::KeyRotation for Keys<K> {
    fn has_key(&self) -> bool {
        self.stream.is_some()
    }

    fn load(&self, source: &crate::config::Credentials) -> anyhow::Result<Option<crate::venue::LoadedKey>> {
        let loaded = Credentials::load_rotation(source)?;
        // Checked now, so a bad key fails the reload before anything changes.
        if let Some(loaded) = &loaded {
            K::rotated(loaded.clone())?;
        }
        Ok(loaded)
    }

    fn rotate(&mut self, loaded: crate::venue::LoadedKey) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
        Ok(self.rotate_to(K::rotated(loaded)?))
    }
}
