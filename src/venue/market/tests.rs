//! The session manager against a scripted venue on a local WebSocket
//! server, in the ways Binance does not use it: subscribe by message, an
//! app-level ping, books from snapshots in the stream and a gap answered by
//! resubscribing; and the ways every venue does: a make-before-break switch
//! and a reconnect that subscribes again.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tradewind_strategies::sdk::{BookDelta, Level, Price, Qty, Side, Timestamp, Trade};

use super::*;

/// A venue speaking a line protocol: `snapshot <id> <bid> <ask>`,
/// `delta <U> <u> <bid> <qty>`, `pong`, `bye` (going away); `subscribe_limit`
/// subscribe requests a connection.
struct Scripted {
    subscribe_limit: Option<usize>,
}

fn symbol() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

impl Dialect for Scripted {
    const MAX_STREAMS: usize = 10;
    const BOOK_SYNC: BookSync = BookSync::InStream;

    fn streams(&self, spec: &FeedSpec) -> Vec<String> {
        if spec.book { vec![format!("book.{}", spec.symbol)] } else { Vec::new() }
    }

    fn url(&self, base: &str, _: &[FeedSpec]) -> String {
        base.to_owned()
    }

    fn subscribe(&self, specs: &[FeedSpec]) -> Vec<String> {
        specs.iter().map(|s| format!("sub {}", s.symbol)).collect()
    }

    fn resubscribe_book(&self, spec: &FeedSpec) -> Vec<String> {
        vec![format!("resub {}", spec.symbol)]
    }

    fn subscribe_limit(&self) -> Option<usize> {
        self.subscribe_limit
    }

    fn ping(&self) -> Option<(Duration, &'static str)> {
        Some((Duration::from_millis(20), "ping"))
    }

    fn parse(&self, venue: VenueId, text: &str) -> Result<StreamEvent, String> {
        let words: Vec<&str> = text.split(' ').collect();
        Ok(match words.as_slice() {
            ["snapshot", id, bid, ask] => StreamEvent::Snapshot(
                symbol(),
                Depth { update_id: id.parse().unwrap(), bids: vec![[d(bid), d("1")]], asks: vec![[d(ask), d("1")]] },
            ),
            ["delta", first, last, bid, qty] => StreamEvent::Market(bid_delta(venue, first, last, bid, qty)),
            // A diff with the venue's checksum: here, how many bid levels the book has after it.
            ["cdelta", first, last, bid, qty, checksum] => {
                StreamEvent::Checked(bid_delta(venue, first, last, bid, qty), checksum.parse().unwrap())
            }
            ["trades", first, last] => StreamEvent::Many(
                (first.parse::<u64>().unwrap()..=last.parse().unwrap())
                    .map(|id| {
                        MarketEvent::Trade(Trade {
                            venue,
                            symbol: symbol(),
                            trade_id: id.into(),
                            price: Price::new(d("100")),
                            qty: Qty::new(d("1")),
                            aggressor: Side::Buy,
                            time: Timestamp(1),
                        })
                    })
                    .collect(),
            ),
            ["pong"] => StreamEvent::ControlReply,
            ["bye"] => StreamEvent::ServerShutdown,
            _ => return Err(format!("unknown frame {text:?}")),
        })
    }

    fn book_checksum(&self, bids: &[[Decimal; 2]], _: &[[Decimal; 2]]) -> Option<i32> {
        Some(i32::try_from(bids.len()).unwrap())
    }

    async fn depth(&self, _: Symbol) -> Result<Depth, String> {
        Err("this venue sends its books in the stream".into())
    }

    async fn tops(&self, _: Vec<Symbol>) -> Result<Vec<Quote>, String> {
        Ok(Vec::new())
    }
}

/// A diff `first..=last` that sets one bid level.
fn bid_delta(venue: VenueId, first: &str, last: &str, bid: &str, qty: &str) -> MarketEvent {
    MarketEvent::BookDelta(BookDelta {
        venue,
        symbol: symbol(),
        first_update_id: first.parse().unwrap(),
        last_update_id: last.parse().unwrap(),
        bids: vec![Level { price: Price::new(d(bid)), qty: Qty::new(d(qty)) }],
        asks: Vec::new(),
        time: Timestamp(1),
    })
}

/// What the engine got.
struct Got(MarketEvent);

impl From<(MarketEvent, Option<std::time::Instant>)> for Got {
    fn from((event, _): (MarketEvent, Option<std::time::Instant>)) -> Self {
        Got(event)
    }
}

type Server = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// How long the test waits for anything the client should do.
const PATIENCE: Duration = Duration::from_secs(20);

async fn accept(listener: &TcpListener) -> Server {
    let (tcp, _) = tokio::time::timeout(PATIENCE, listener.accept()).await.expect("a connection").unwrap();
    tokio_tungstenite::accept_async(tcp).await.unwrap()
}

/// The next text the client sent that is not a ping.
async fn said(ws: &mut Server) -> String {
    tokio::time::timeout(PATIENCE, said_now(ws)).await.expect("the client to say something")
}

async fn said_now(ws: &mut Server) -> String {
    loop {
        match ws.next().await.expect("the client is connected").unwrap() {
            Message::Text(t) if t.as_str() != "ping" => return t.to_string(),
            _ => {}
        }
    }
}

async fn until_ping(ws: &mut Server) {
    tokio::time::timeout(PATIENCE, until_ping_now(ws)).await.expect("a ping");
}

async fn until_ping_now(ws: &mut Server) {
    loop {
        if let Message::Text(t) = ws.next().await.expect("the client is connected").unwrap()
            && t.as_str() == "ping"
        {
            return;
        }
    }
}

async fn send(ws: &mut Server, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next event the engine got, described.
async fn next(rx: &mut mpsc::Receiver<Got>) -> String {
    let Got(event) = tokio::time::timeout(PATIENCE, rx.recv()).await.expect("an event").unwrap();
    match event {
        MarketEvent::Connectivity(c) => format!("connectivity up={}", c.up),
        MarketEvent::BookSnapshot(s) => format!("snapshot {} bid {}", s.last_update_id, s.bids[0].price.get()),
        MarketEvent::BookDelta(d) => format!("delta {}..{}", d.first_update_id, d.last_update_id),
        MarketEvent::Trade(t) => format!("trade {}", t.trade_id),
        other => format!("{other:?}"),
    }
}

/// The scripted venue's book feed of BTCUSDT, started against a local server.
struct Feed {
    listener: TcpListener,
    rx: mpsc::Receiver<Got>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn feed() -> Feed {
    feed_limited(None).await
}

async fn feed_limited(subscribe_limit: Option<usize>) -> Feed {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = FeedOptions {
        venue: VenueId::new("scripted").unwrap(),
        stream_url: format!("ws://{}", listener.local_addr().unwrap()),
        silence_timeout: Duration::from_secs(30),
        read_buffer: crate::venue::ws::READ_BUFFER,
    };
    let (tx, rx) = mpsc::channel(64);
    let shutdown = CancellationToken::new();
    let spec = FeedSpec { book: true, ..FeedSpec::none(symbol()) };
    let tasks = spawn_feeds(
        options,
        vec![spec],
        Arc::new(Scripted { subscribe_limit }),
        Arc::new(crate::sink::Queue(tx)),
        shutdown.clone(),
    );
    Feed { listener, rx, shutdown, tasks }
}

#[tokio::test]
async fn a_venue_that_subscribes_by_message_pings_and_sends_its_books_in_the_stream() {
    let Feed { listener, mut rx, shutdown, tasks } = feed().await;

    let mut first = accept(&listener).await;
    assert_eq!(said(&mut first).await, "sub BTCUSDT", "subscribed by message");
    assert_eq!(next(&mut rx).await, "connectivity up=true");
    send(&mut first, "snapshot 10 100 101").await;
    assert_eq!(next(&mut rx).await, "snapshot 10 bid 100");
    send(&mut first, "delta 11 11 100.5 2").await;
    assert_eq!(next(&mut rx).await, "delta 11..11");
    until_ping(&mut first).await;
    send(&mut first, "pong").await;
    // Several trades in one frame: each, in order.
    send(&mut first, "trades 7 9").await;
    for id in 7..=9 {
        assert_eq!(next(&mut rx).await, format!("trade {id}"));
    }

    // A gap (12 never came): the book is resubscribed on the same connection, and the new snapshot replaces it.
    send(&mut first, "delta 13 13 99 1").await;
    assert_eq!(said(&mut first).await, "resub BTCUSDT");
    send(&mut first, "delta 21 21 99 1").await;
    send(&mut first, "snapshot 20 99.5 101").await;
    assert_eq!(next(&mut rx).await, "snapshot 20 bid 99.5", "the diff before the snapshot is not applied");
    send(&mut first, "delta 21 21 99.6 1").await;
    assert_eq!(next(&mut rx).await, "delta 21..21");

    // Going away: a new connection first (subscribed), then the old one closes; no down in between.
    send(&mut first, "bye").await;
    let mut second = accept(&listener).await;
    assert_eq!(said(&mut second).await, "sub BTCUSDT");
    loop {
        match first.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == "ping" => {}
            end => {
                assert!(matches!(end, Some(Ok(Message::Close(_))) | None), "the old connection is closed: {end:?}");
                break;
            }
        }
    }
    send(&mut second, "delta 22 22 99.7 1").await;
    assert_eq!(next(&mut rx).await, "delta 22..22", "the book continues on the new connection");

    // Lost: down, then a new connection that subscribes again.
    drop(second);
    assert_eq!(next(&mut rx).await, "connectivity up=false");
    let mut third = accept(&listener).await;
    assert_eq!(said(&mut third).await, "sub BTCUSDT", "subscribed again after the reconnect");
    assert_eq!(next(&mut rx).await, "connectivity up=true");

    shutdown.cancel();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn a_diff_whose_checksum_the_book_does_not_match_resyncs_it() {
    let Feed { listener, mut rx, shutdown, tasks } = feed().await;
    let mut ws = accept(&listener).await;
    assert_eq!(said(&mut ws).await, "sub BTCUSDT");
    assert_eq!(next(&mut rx).await, "connectivity up=true");
    send(&mut ws, "snapshot 10 100 101").await;
    assert_eq!(next(&mut rx).await, "snapshot 10 bid 100");
    // Two bid levels after it, as its checksum says: passed on.
    send(&mut ws, "cdelta 11 11 100.5 2 2").await;
    assert_eq!(next(&mut rx).await, "delta 11..11");
    // Three levels after it, the venue says four: not passed on, and the book resubscribed.
    send(&mut ws, "cdelta 12 12 100.7 1 4").await;
    assert_eq!(said(&mut ws).await, "resub BTCUSDT");
    send(&mut ws, "snapshot 20 99.5 101").await;
    assert_eq!(next(&mut rx).await, "snapshot 20 bid 99.5", "no delta 12 in between");
    shutdown.cancel();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn past_the_venues_subscribe_limit_a_book_is_resynced_on_a_new_connection() {
    // Three subscribe requests a connection: the subscription and two resubscriptions.
    let Feed { listener, mut rx, shutdown, tasks } = feed_limited(Some(3)).await;
    let mut first = accept(&listener).await;
    assert_eq!(said(&mut first).await, "sub BTCUSDT");
    assert_eq!(next(&mut rx).await, "connectivity up=true");
    send(&mut first, "snapshot 10 100 101").await;
    assert_eq!(next(&mut rx).await, "snapshot 10 bid 100");
    for (gap, snapshot) in [(12, 20), (22, 30)] {
        send(&mut first, &format!("delta {gap} {gap} 99 1")).await;
        assert_eq!(said(&mut first).await, "resub BTCUSDT");
        send(&mut first, &format!("snapshot {snapshot} 99.5 101")).await;
        assert_eq!(next(&mut rx).await, format!("snapshot {snapshot} bid 99.5"));
    }
    // A third gap would be the fourth request: a new connection, subscribed afresh.
    send(&mut first, "delta 32 32 99 1").await;
    let mut second = accept(&listener).await;
    assert_eq!(said(&mut second).await, "sub BTCUSDT");
    send(&mut second, "snapshot 40 98 101").await;
    assert_eq!(next(&mut rx).await, "snapshot 40 bid 98");
    shutdown.cancel();
    for task in tasks {
        task.await.unwrap();
    }
}
