//! Requests over a venue's WebSocket (order entry where the venue offers
//! it): one connection, logged in, that carries requests and their replies,
//! matched by an id the request carries. A request is written only while
//! the connection is logged in; one that cannot be written fails as
//! [`Failure::NotSent`] (nothing reached the venue: the caller may send it
//! another way), and one written but not answered (the connection dropped,
//! or no reply in time) as [`Failure::Unanswered`] (its outcome is unknown).
//! The connection reconnects on its own, with the streams' backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tradewind_strategies::sdk::VenueId;

use super::ws::{self, Reconnect, Ws};

/// How long a login may take.
const LOGIN_WITHIN: Duration = Duration::from_secs(10);
/// Requests waiting to be written.
const QUEUE: usize = 256;

/// What a frame of the connection is.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// The login was accepted.
    LoggedIn,
    /// The login (or the connection) was refused, and why.
    Refused(String),
    /// The reply to the request with this id.
    Reply(String),
    Other,
}

/// A venue's request connection.
pub trait RequestDialect: Send + Sync + 'static {
    fn url(&self) -> String;
    /// What logs the connection in (signed now).
    fn login(&self) -> Vec<String>;
    fn read(&self, text: &str) -> Frame;
    fn ping(&self) -> Option<(Duration, &'static str)>;

    /// New connections a second the venue takes from one address, if it limits them.
    fn connects_per_sec(&self) -> Option<usize> {
        None
    }
}

/// Why a request has no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Not written: the venue never saw it.
    #[error("not sent over the WebSocket: {0}")]
    NotSent(String),
    /// Written, not answered: the venue may have carried it out.
    #[error("no reply over the WebSocket: {0}")]
    Unanswered(String),
}

struct Job {
    id: String,
    payload: String,
    reply: oneshot::Sender<Result<String, Failure>>,
}

/// The request side of the connection.
pub struct WsRequests {
    jobs: mpsc::Sender<Job>,
    up: watch::Receiver<bool>,
    next: AtomicU64,
}

impl WsRequests {
    /// Starts the connection; it runs until `shutdown`.
    pub fn start<D: RequestDialect>(
        venue: VenueId,
        dialect: D,
        silence_timeout: Duration,
        shutdown: CancellationToken,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let (up_tx, up) = watch::channel(false);
        let task = tokio::spawn(run(venue, dialect, silence_timeout, rx, up_tx, shutdown));
        (Arc::new(Self { jobs, up, next: AtomicU64::new(1) }), task)
    }

    /// Whether the connection is logged in now.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Waits until the connection is logged in (tests, and a start that wants it first).
    pub async fn wait_up(&self) {
        let mut up = self.up.clone();
        let _ = up.wait_for(|up| *up).await;
    }

    /// A fresh request id (digits: valid on every venue).
    pub fn next_id(&self) -> String {
        self.next.fetch_add(1, Ordering::Relaxed).to_string()
    }

    /// Sends `payload` (which carries `id`) and waits up to `timeout` for its reply.
    pub async fn request(&self, id: String, payload: String, timeout: Duration) -> Result<String, Failure> {
        if !self.is_up() {
            return Err(Failure::NotSent("the connection is not logged in".into()));
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { id, payload, reply })
            .map_err(|e| Failure::NotSent(format!("the request queue: {e}")))?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result,
            // The connection task ended before taking it up.
            Ok(Err(_)) => Err(Failure::NotSent("the connection closed".into())),
            Err(_) => Err(Failure::Unanswered(format!("no reply within {timeout:?}"))),
        }
    }
}

/// Refuses every queued request as not sent (the connection is not logged in).
fn refuse_queued(jobs: &mut mpsc::Receiver<Job>, why: &str) {
    while let Ok(job) = jobs.try_recv() {
        let _ = job.reply.send(Err(Failure::NotSent(why.to_owned())));
    }
}

async fn run<D: RequestDialect>(
    venue: VenueId,
    dialect: D,
    silence_timeout: Duration,
    mut jobs: mpsc::Receiver<Job>,
    up: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    let mut reconnect = Reconnect::new(venue, "orders", "order-entry WebSocket");
    loop {
        refuse_queued(&mut jobs, "the connection is not logged in");
        let why = match ws::connect(&dialect.url(), ws::READ_BUFFER, dialect.connects_per_sec(), &shutdown).await {
            None => return,
            Some(Err(why)) => why,
            Some(Ok(mut socket)) => match log_in(&dialect, &mut socket).await {
                Err(why) => why,
                Ok(()) => {
                    let down_ms = reconnect.up();
                    tracing::info!(%venue, down_ms, "order-entry WebSocket logged in");
                    reconnect.proven();
                    up.send_replace(true);
                    let why = serve(&dialect, &mut socket, &mut jobs, silence_timeout, &shutdown).await;
                    up.send_replace(false);
                    reconnect.down();
                    match why {
                        None => return,
                        Some(why) => why,
                    }
                }
            },
        };
        if !reconnect.wait(&why, &shutdown).await {
            return;
        }
    }
}

async fn log_in<D: RequestDialect>(dialect: &D, socket: &mut Ws) -> Result<(), String> {
    for message in dialect.login() {
        socket.send(Message::text(message)).await.map_err(|e| format!("login not sent: {e}"))?;
    }
    let wait = async {
        while let Some(frame) = socket.next().await {
            let text = match frame {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            match dialect.read(&text) {
                Frame::LoggedIn => return Ok(()),
                Frame::Refused(why) => return Err(format!("login refused: {why}")),
                Frame::Reply(_) | Frame::Other => {}
            }
        }
        Err("closed during the login".to_owned())
    };
    tokio::time::timeout(LOGIN_WITHIN, wait).await.unwrap_or_else(|_| Err("no answer to the login".into()))
}

/// Carries requests and replies until the connection ends: why it ended,
/// `None` on shutdown. Every request in flight then fails as unanswered.
async fn serve<D: RequestDialect>(
    dialect: &D,
    socket: &mut Ws,
    jobs: &mut mpsc::Receiver<Job>,
    silence_timeout: Duration,
    shutdown: &CancellationToken,
) -> Option<String> {
    let mut pending: HashMap<String, oneshot::Sender<Result<String, Failure>>> = HashMap::new();
    let mut pings = ws::pings(dialect.ping());
    let ended = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break None,
            ping = ws::next_ping(&mut pings) => {
                if let Err(e) = socket.send(Message::text(ping)).await {
                    break Some(format!("ping failed: {e}"));
                }
            }
            job = jobs.recv() => {
                let Some(job) = job else { break None };
                // Written or not, a failed write may have reached the venue.
                pending.insert(job.id, job.reply);
                if let Err(e) = socket.send(Message::text(job.payload)).await {
                    break Some(format!("a request not written: {e}"));
                }
            }
            frame = tokio::time::timeout(silence_timeout, socket.next()) => {
                let text = match frame {
                    Err(_) => break Some(format!("no frame for {silence_timeout:?}")),
                    Ok(None) | Ok(Some(Ok(Message::Close(_)))) => break Some("closed by the venue".into()),
                    Ok(Some(Err(e))) => break Some(e.to_string()),
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(Some(Ok(_))) => continue,
                };
                match dialect.read(&text) {
                    Frame::Reply(id) => {
                        if let Some(reply) = pending.remove(&id) {
                            let _ = reply.send(Ok(text.to_string()));
                        }
                    }
                    // Not the answer to a request of ours (they carry their id): said, not fatal.
                    Frame::Refused(why) => tracing::warn!(error = %why, "the venue refused a frame on the order-entry WebSocket"),
                    Frame::LoggedIn | Frame::Other => {}
                }
            }
        }
    };
    let why = ended.clone().unwrap_or_else(|| "shutdown".into());
    for (_, reply) in pending {
        let _ = reply.send(Err(Failure::Unanswered(why.clone())));
    }
    ended
}
