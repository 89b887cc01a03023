//! The private-stream session manager against a scripted venue on a local
//! WebSocket server that logs in first and subscribes after the login's
//! acknowledgement (as OKX does), wants an app-level ping, refuses a login
//! for its timestamp once, ends a subscription, and goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::TcpListener;

use super::*;

/// Line protocol: the client sends `login <attempt>`, then (after `login-ok`)
/// `subscribe`; the server answers `subscribed`, `refused-clock`, `ended`,
/// `bye`, `pong`, or `event <delta>` for a balance change of USDT.
struct Scripted {
    url: String,
    resyncs: Arc<AtomicU32>,
}

impl PrivateDialect for Scripted {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn hello(&self, attempt: u64) -> Vec<String> {
        vec![format!("login {attempt}")]
    }

    fn parse(&self, text: &str, _: u64) -> Result<PrivateFrame, String> {
        let words: Vec<&str> = text.split(' ').collect();
        Ok(match words.as_slice() {
            ["login-ok"] => PrivateFrame::Send(vec!["subscribe".into()]),
            ["subscribed"] => PrivateFrame::Subscribed,
            ["refused-clock"] => PrivateFrame::Refused { reason: "timestamp outside the window".into(), clock: true },
            ["ended"] => PrivateFrame::Terminated,
            ["bye"] => PrivateFrame::ServerShutdown,
            ["pong"] => PrivateFrame::Ignored,
            ["event", delta] => PrivateFrame::Events(vec![AccountEvent::BalanceDelta {
                asset: "USDT".into(),
                delta: delta.parse().map_err(|e| format!("{e}"))?,
            }]),
            _ => return Err(format!("unknown frame {text:?}")),
        })
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_millis(20), "ping"))
    }

    async fn resync_clock(&self) {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
    }
}

type Server = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// How long the test waits for anything the client should do.
const PATIENCE: Duration = Duration::from_secs(20);

async fn accept(listener: &TcpListener) -> Server {
    let (tcp, _) = tokio::time::timeout(PATIENCE, listener.accept()).await.expect("a connection").unwrap();
    tokio_tungstenite::accept_async(tcp).await.unwrap()
}

/// The next text the client sent that is not a ping (`pinged` notes whether one came).
async fn said(ws: &mut Server, pinged: &mut bool) -> String {
    let next = async {
        loop {
            match ws.next().await.expect("the client is connected").unwrap() {
                Message::Text(t) if t.as_str() == "ping" => *pinged = true,
                Message::Text(t) => return t.to_string(),
                _ => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, next).await.expect("the client to say something")
}

async fn send(ws: &mut Server, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

async fn next(rx: &mut mpsc::Receiver<AccountEvent>) -> AccountEvent {
    tokio::time::timeout(PATIENCE, rx.recv()).await.expect("an event").unwrap()
}

fn delta(n: &str) -> AccountEvent {
    AccountEvent::BalanceDelta { asset: "USDT".into(), delta: n.parse().unwrap() }
}

#[tokio::test]
async fn a_venue_that_logs_in_then_subscribes_stays_subscribed_through_refusals_ends_and_switches() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resyncs = Arc::new(AtomicU32::new(0));
    let dialect = Scripted { url: format!("ws://{}", listener.local_addr().unwrap()), resyncs: resyncs.clone() };
    let options = PrivateOptions { venue: VenueId::new("scripted").unwrap(), silence_timeout: Duration::from_secs(30) };
    let (tx, mut rx) = mpsc::channel(64);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(dialect, options, tx, shutdown.clone()));
    let mut pinged = false;

    // Login refused for its timestamp: the clock is resynced and the login sent again, same connection.
    let mut first = accept(&listener).await;
    assert_eq!(said(&mut first, &mut pinged).await, "login 1");
    send(&mut first, "refused-clock").await;
    assert_eq!(said(&mut first, &mut pinged).await, "login 2");
    assert_eq!(resyncs.load(Ordering::Relaxed), 1);
    // Login acknowledged: subscribe, then confirmed.
    send(&mut first, "login-ok").await;
    assert_eq!(said(&mut first, &mut pinged).await, "subscribe");
    send(&mut first, "subscribed").await;
    assert_eq!(next(&mut rx).await, AccountEvent::Subscribed);
    send(&mut first, "event 5").await;
    assert_eq!(next(&mut rx).await, delta("5"));

    // The venue ends the subscription: greeted again on the same connection.
    send(&mut first, "ended").await;
    assert_eq!(said(&mut first, &mut pinged).await, "login 3");
    send(&mut first, "login-ok").await;
    assert_eq!(said(&mut first, &mut pinged).await, "subscribe");
    send(&mut first, "subscribed").await;
    assert_eq!(next(&mut rx).await, AccountEvent::Subscribed);
    assert!(pinged, "app-level pings on the way");

    // Going away: a new connection is logged in and subscribed while the old one is still read;
    // an event sent on both is passed on once, and nothing says Down.
    send(&mut first, "bye").await;
    let mut second = accept(&listener).await;
    assert_eq!(said(&mut second, &mut pinged).await, "login 4");
    send(&mut first, "event 7").await;
    send(&mut second, "login-ok").await;
    assert_eq!(said(&mut second, &mut pinged).await, "subscribe");
    send(&mut second, "event 7").await;
    send(&mut second, "subscribed").await;
    send(&mut second, "event 8").await;
    assert_eq!(next(&mut rx).await, delta("7"));
    assert_eq!(next(&mut rx).await, delta("8"), "the 7 sent on both connections came once");

    // Lost: Down, then a new connection greets again.
    drop(second);
    drop(first);
    assert_eq!(next(&mut rx).await, AccountEvent::Down);
    let mut third = accept(&listener).await;
    assert_eq!(said(&mut third, &mut pinged).await, "login 5");

    shutdown.cancel();
    task.await.unwrap();
}
