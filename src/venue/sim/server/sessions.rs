//! The connection loops the Bybit and OKX dialects share: a public
//! connection that subscribes to topics by message (frames of the public
//! channel whose stream name it holds are forwarded, a book's deltas only
//! past the snapshot it was sent), and a private one that logs in, then
//! receives its account's events (dropped or doubled by the configured
//! faults). Each dialect gives the requests' answers and its rendering.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::ws::{CloseWith, Flow, Keepalive, PING_EVERY};
use super::{Shared, UserFrame};
use crate::venue::sim::ledger::AccountId;

/// What a public connection is subscribed to.
#[derive(Debug, Default)]
pub struct Topics {
    pub names: HashSet<String>,
    /// Per book stream: the number (`seq`) of what this connection holds (its snapshot, then each delta sent).
    pub books: HashMap<String, u64>,
}

impl Topics {
    /// Forgets a stream (unsubscribed).
    pub fn remove(&mut self, name: &str) {
        self.names.remove(name);
        self.books.remove(name);
    }
}

/// Counts the open connections of one dialect while it lives (the
/// simulator renders a dialect's messages only while someone listens).
struct Listening {
    shared: Arc<Shared>,
    counter: fn(&Shared) -> &AtomicUsize,
}

impl Listening {
    fn new(shared: Arc<Shared>, counter: fn(&Shared) -> &AtomicUsize) -> Self {
        counter(&shared).fetch_add(1, Ordering::Relaxed);
        Self { shared, counter }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        (self.counter)(&self.shared).fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sends the close frame, if any.
async fn close(mut socket: WebSocket, close: CloseWith) {
    if let Some((code, reason)) = close {
        let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
}

/// Serves a public connection: `request` answers each text frame (and may
/// change the topics); the replies go out in order.
pub async fn public(
    shared: Arc<Shared>,
    mut socket: WebSocket,
    counter: fn(&Shared) -> &AtomicUsize,
    mut request: impl FnMut(&Shared, &str, &mut Topics) -> Vec<String> + Send,
) {
    let _listening = Listening::new(shared.clone(), counter);
    let mut frames = shared.public.subscribe();
    let mut drops = shared.drops.subscribe();
    let mut keepalive = Keepalive::new(shared.exchange().config().limits.ws_messages_per_sec);
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut topics = Topics::default();
    let why: CloseWith = loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => break Some((1001, "server shutdown")),
            _ = drops.changed() => break Some((1001, "going away")),
            frame = frames.recv() => match frame {
                Ok(f) if topics.names.contains(&f.stream) => {
                    if f.seq > 0 {
                        let held = topics.books.entry(f.stream.clone()).or_default();
                        if f.seq <= *held { continue; }
                        *held = f.seq;
                    }
                    if socket.send(Message::Text(f.payload.clone().into())).await.is_err() { break None; }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => break Some((1008, "too slow")),
                Err(RecvError::Closed) => break None,
            },
            _ = ping.tick() => if let Err(close) = keepalive.ping(&mut socket).await { break close },
            incoming = socket.recv() => match keepalive.incoming(incoming) {
                Flow::Close(close) => break close,
                Flow::Continue | Flow::Binary => {}
                Flow::Text(text) => {
                    for reply in request(&shared, &text, &mut topics) {
                        if socket.send(Message::Text(reply.into())).await.is_err() { return; }
                    }
                }
            },
        }
    };
    close(socket, why).await;
}

/// One dialect's private connection: its requests, and how an account event reads on it.
pub trait PrivateSession: Send {
    /// Messages a second a client may send, if not the configured rate (at least 10).
    const MESSAGES_PER_SEC: Option<u32> = None;

    /// The account logged in, if any.
    fn account(&self) -> Option<AccountId>;

    /// The replies to one text frame.
    fn request(&mut self, shared: &Shared, text: &str) -> Vec<String>;

    /// What one of the account's events is on what this connection subscribed.
    fn render(&self, shared: &Shared, frame: &UserFrame) -> Vec<String>;
}

/// Serves a private connection.
pub async fn private<S: PrivateSession>(shared: Arc<Shared>, mut socket: WebSocket, mut session: S) {
    let mut user = shared.user.subscribe();
    let mut drops = shared.drops.subscribe();
    let configured = shared.exchange().config().limits.ws_messages_per_sec.max(10);
    let mut keepalive = Keepalive::new(S::MESSAGES_PER_SEC.unwrap_or(configured));
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let why: CloseWith = loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => break Some((1001, "server shutdown")),
            _ = drops.changed() => break Some((1001, "going away")),
            event = user.recv() => match event {
                Ok(frame) if Some(frame.account) == session.account() => {
                    let faults = shared.faults();
                    if shared.roll(faults.drop_user_events) {
                        continue;
                    }
                    let times = if shared.roll(faults.duplicate_user_events) { 2 } else { 1 };
                    for message in session.render(&shared, &frame) {
                        for _ in 0..times {
                            if socket.send(Message::Text(message.clone().into())).await.is_err() { return; }
                        }
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => break Some((1008, "too slow")),
                Err(RecvError::Closed) => break None,
            },
            _ = ping.tick() => if let Err(close) = keepalive.ping(&mut socket).await { break close },
            incoming = socket.recv() => match keepalive.incoming(incoming) {
                Flow::Close(close) => break close,
                Flow::Continue | Flow::Binary => {}
                Flow::Text(text) => {
                    for reply in session.request(&shared, &text) {
                        if socket.send(Message::Text(reply.into())).await.is_err() { return; }
                    }
                }
            },
        }
    };
    close(socket, why).await;
}
