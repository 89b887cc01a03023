//! Where a venue delivers what it learns, without naming who listens: market
//! events to a [`MarketConsumer`] (in the daemon, the engine itself, on the
//! connection's own task, so an order an event causes leaves before the
//! next frame is read), everything else — order updates, balances, trading
//! rules, adopted orders — as [`VenueEvent`]s into a [`Sink`] (the engine's
//! input queue). The host builds both and hands them to the venue as
//! [`Deliveries`]; connectors and the order manager know only this module.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tradewind_strategies::sdk::{Asset, Balance, InstrumentSpec, MarketEvent, OpenOrder, OrderUpdate, VenueId};

/// What a venue tells its host, besides market data.
#[derive(Debug, Clone, PartialEq)]
pub enum VenueEvent {
    /// Boxed: an update with a fill is 224 bytes.
    Order(Box<OrderUpdate>),
    /// Balances of a venue's assets that changed.
    Balances(VenueId, Vec<(Asset, Balance)>),
    /// Trading rules of a venue's symbols (on connect and on refresh).
    Instruments(VenueId, Vec<InstrumentSpec>),
    /// An order of an instance that reached the venue before a crash without
    /// its journal entry, found after the restart (its updates follow).
    Adopt(Box<(String, OpenOrder)>),
}

type Deliver = dyn Fn(VenueEvent) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// Where [`VenueEvent`]s go: in the daemon, the engine's input queue (waiting
/// for room, so nothing is dropped); in tests, a channel.
#[derive(Clone)]
pub struct Sink(Arc<Deliver>);

impl Sink {
    /// Events sent into `tx`, converted into its item type.
    pub fn channel<T: From<VenueEvent> + Send + 'static>(tx: tokio::sync::mpsc::Sender<T>) -> Self {
        Self(Arc::new(move |event| {
            let tx = tx.clone();
            Box::pin(async move {
                // A closed queue means the host is shutting down: nothing is left to tell.
                let _ = tx.send(T::from(event)).await;
            })
        }))
    }

    pub async fn send(&self, event: VenueEvent) {
        (self.0)(event).await;
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

/// Who takes a venue's market events.
pub trait MarketConsumer: Send + Sync + 'static {
    /// Takes `event` now, or gives it back when it cannot take it yet (the
    /// engine not started with too many events waiting, a full queue).
    /// `received`: when the frame that carried it was read.
    fn offer(&self, event: MarketEvent, received: Option<std::time::Instant>) -> Offer;

    /// Resolves once an offer may succeed again. Created before the offer it
    /// follows, it is not missed by a change in between.
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// What became of an offered market event.
#[derive(Debug)]
pub enum Offer {
    /// Taken; whether it caused a request to a venue (the caller should let it leave soon).
    Taken { requested: bool },
    /// Not now: the event back, to offer again once the consumer is [`ready`](MarketConsumer::ready).
    Back(MarketEvent),
}

/// Hands `event` to `consumer`, waiting while it cannot take it; whether it caused a request.
pub async fn deliver(consumer: &dyn MarketConsumer, event: MarketEvent, received: Option<std::time::Instant>) -> bool {
    let mut event = match consumer.offer(event, received) {
        Offer::Taken { requested } => return requested,
        Offer::Back(event) => event,
    };
    loop {
        let ready = consumer.ready();
        event = match consumer.offer(event, received) {
            Offer::Taken { requested } => return requested,
            Offer::Back(event) => event,
        };
        ready.await;
    }
}

/// What the host gives a venue to deliver into.
#[derive(Clone)]
pub struct Deliveries {
    pub market: Arc<dyn MarketConsumer>,
    pub events: Sink,
}

impl std::fmt::Debug for Deliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deliveries")
    }
}

/// A queue as a market consumer: events go in while it has room.
pub struct Queue<T>(pub tokio::sync::mpsc::Sender<T>);

impl<T> MarketConsumer for Queue<T>
where
    T: From<(MarketEvent, Option<std::time::Instant>)> + Send + 'static,
{
    fn offer(&self, event: MarketEvent, received: Option<std::time::Instant>) -> Offer {
        use tokio::sync::mpsc::error::TrySendError;
        match self.0.try_reserve() {
            Ok(permit) => {
                permit.send(T::from((event, received)));
                Offer::Taken { requested: false }
            }
            // The host is gone only at shutdown: the connection ends on its token then.
            Err(TrySendError::Closed(())) => Offer::Taken { requested: false },
            Err(TrySendError::Full(())) => Offer::Back(event),
        }
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        // A slot frees up (the permit is given back at once: the offer takes its own).
        Box::pin(async move { drop(self.0.reserve().await) })
    }
}

impl Deliveries {
    /// Everything into one queue (tests and tools that watch the events).
    pub fn queue<T>(tx: tokio::sync::mpsc::Sender<T>) -> Self
    where
        T: From<VenueEvent> + From<(MarketEvent, Option<std::time::Instant>)> + Send + 'static,
    {
        Self { market: Arc::new(Queue(tx.clone())), events: Sink::channel(tx) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewind_strategies::sdk::testing::{d, symbol};
    use tradewind_strategies::sdk::{Price, Qty, Quote};

    fn quote(bid: &str) -> MarketEvent {
        let (p, q) = (Price::new(d(bid)), Qty::new(d("1")));
        MarketEvent::Quote(Quote {
            venue: tradewind_strategies::sdk::testing::venue("v"),
            symbol: symbol("BTCUSDT"),
            bid_price: p,
            bid_qty: q,
            ask_price: p,
            ask_qty: q,
            update_id: 1,
        })
    }

    struct Held(MarketEvent);

    impl From<(MarketEvent, Option<std::time::Instant>)> for Held {
        fn from((e, _): (MarketEvent, Option<std::time::Instant>)) -> Self {
            Held(e)
        }
    }

    #[tokio::test]
    async fn a_full_queue_holds_the_connection_until_there_is_room_and_loses_nothing() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Held>(1);
        let queue = Arc::new(Queue(tx));
        assert!(!deliver(queue.as_ref(), quote("1"), None).await);
        let second = tokio::spawn({
            let queue = queue.clone();
            async move { deliver(queue.as_ref(), quote("2"), None).await }
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished(), "waits for room");
        let Held(first) = rx.recv().await.unwrap();
        assert_eq!(first, quote("1"));
        second.await.unwrap();
        let Held(next) = rx.recv().await.unwrap();
        assert_eq!(next, quote("2"), "then the second, in order");
    }
}
