//! A local order book kept in sync with a venue's depth stream by snapshot
//! and sequence: diffs carry the range of update ids they cover (`U..=u`;
//! a venue whose diffs name their predecessor, like OKX's `prevSeqId`,
//! gives `prevSeqId + 1..=seqId`). Buffer diffs until a snapshot arrives
//! (from REST, as on Binance, or in the stream, as on Bybit and OKX), drop
//! diffs with `u <= snapshot`, require the first applied diff to straddle
//! `snapshot + 1`, then require each diff's `U` to follow the previous `u`.
//! A gap or a crossed book means the book is discarded and rebuilt; a
//! snapshot for a live book replaces it. Pure: the connection decides when
//! to fetch snapshots.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{BookDelta, BookSnapshot, Level, Price, Qty, Symbol, VenueId};

/// Why the book has to be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("gap in the depth stream: expected update {expected}, got {first}..={last}")]
    Gap { expected: u64, first: u64, last: u64 },
    #[error("the book is crossed (bid {bid} ≥ ask {ask})")]
    Crossed { bid: Decimal, ask: Decimal },
    #[error("the snapshot ({snapshot}) is older than the first buffered update ({first}); fetch another")]
    SnapshotTooOld { snapshot: u64, first: u64 },
    #[error("more than {0} diffs buffered while waiting for a snapshot")]
    BufferFull(usize),
    #[error("the book's checksum is {computed}, the venue's {expected}")]
    Checksum { expected: i32, computed: i32 },
}

/// A price level as (price, quantity).
pub type PriceQty = (Decimal, Decimal);

/// A full book as a venue sends it: the update id it is current to, and its
/// levels as (price, quantity).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Depth {
    pub update_id: u64,
    pub bids: Vec<[Decimal; 2]>,
    pub asks: Vec<[Decimal; 2]>,
}

/// Where a book is in the procedure.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Buffering diffs until a snapshot arrives.
    Syncing(Vec<BookDelta>),
    Live,
}

/// Most diffs kept while a snapshot is on its way (at 10 per second, 100 s).
const MAX_BUFFER: usize = 1000;

#[derive(Debug, Clone)]
pub struct LocalBook {
    venue: VenueId,
    symbol: Symbol,
    bids: BTreeMap<PriceKey, Decimal>,
    asks: BTreeMap<PriceKey, Decimal>,
    update_id: u64,
    state: State,
}

/// What applying a diff produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Buffered (no snapshot yet).
    Buffered,
    /// Older than the book: ignored.
    Stale,
    /// Applied to the live book.
    Live(BookDelta),
}

impl LocalBook {
    pub fn new(venue: VenueId, symbol: Symbol) -> Self {
        Self {
            venue,
            symbol,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            update_id: 0,
            state: State::Syncing(Vec::new()),
        }
    }

    pub fn is_live(&self) -> bool {
        self.state == State::Live
    }

    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    /// Forgets everything and starts buffering again.
    pub fn reset(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.update_id = 0;
        self.state = State::Syncing(Vec::new());
    }

    /// The best `n` levels of each side, best first.
    pub fn levels(&self, n: usize) -> (Vec<[Decimal; 2]>, Vec<[Decimal; 2]>) {
        let bids = self.bids.iter().rev().take(n).map(|(p, q)| [p.0, *q]).collect();
        let asks = self.asks.iter().take(n).map(|(p, q)| [p.0, *q]).collect();
        (bids, asks)
    }

    /// Best bid and ask.
    pub fn top(&self) -> (Option<PriceQty>, Option<PriceQty>) {
        (self.bids.iter().next_back().map(|(p, q)| (p.0, *q)), self.asks.iter().next().map(|(p, q)| (p.0, *q)))
    }

    /// Handles a diff from the stream.
    pub fn on_delta(&mut self, delta: BookDelta) -> Result<Applied, SyncError> {
        match &mut self.state {
            State::Syncing(buffer) => {
                if buffer.len() >= MAX_BUFFER {
                    let n = buffer.len();
                    self.reset();
                    return Err(SyncError::BufferFull(n));
                }
                buffer.push(delta);
                Ok(Applied::Buffered)
            }
            State::Live => self.apply(delta),
        }
    }

    /// Installs a snapshot and applies the buffered diffs that follow it.
    /// Returns the snapshot event for strategies and the diffs applied after it.
    pub fn on_snapshot(
        &mut self,
        last_update_id: u64,
        bids: &[[Decimal; 2]],
        asks: &[[Decimal; 2]],
    ) -> Result<(BookSnapshot, Vec<BookDelta>), SyncError> {
        let State::Syncing(buffer) = std::mem::replace(&mut self.state, State::Syncing(Vec::new())) else {
            // A snapshot for a live book: start over from it.
            self.reset();
            return self.on_snapshot(last_update_id, bids, asks);
        };
        if let Some(first) = buffer.first().map(|d| d.first_update_id)
            && last_update_id < first
        {
            // Keep buffering; the caller fetches a newer snapshot.
            self.state = State::Syncing(buffer);
            return Err(SyncError::SnapshotTooOld { snapshot: last_update_id, first });
        }
        self.bids = bids.iter().filter(|[_, q]| !q.is_zero()).map(|[p, q]| (PriceKey(*p), *q)).collect();
        self.asks = asks.iter().filter(|[_, q]| !q.is_zero()).map(|[p, q]| (PriceKey(*p), *q)).collect();
        self.update_id = last_update_id;
        self.state = State::Live;
        self.check_crossed()?;
        let snapshot = self.snapshot();
        let mut applied = Vec::new();
        for delta in buffer {
            match self.apply(delta) {
                Ok(Applied::Live(d)) => applied.push(d),
                Ok(_) => {}
                Err(e) => {
                    self.reset();
                    return Err(e);
                }
            }
        }
        Ok((snapshot, applied))
    }

    /// The whole book as a strategy event.
    pub fn snapshot(&self) -> BookSnapshot {
        let level = |(p, q): (&PriceKey, &Decimal)| Level { price: Price::new(p.0), qty: Qty::new(*q) };
        BookSnapshot {
            venue: self.venue,
            symbol: self.symbol,
            last_update_id: self.update_id,
            bids: self.bids.iter().rev().map(level).collect(),
            asks: self.asks.iter().map(level).collect(),
        }
    }

    fn apply(&mut self, delta: BookDelta) -> Result<Applied, SyncError> {
        if delta.last_update_id <= self.update_id {
            return Ok(Applied::Stale);
        }
        let expected = self.update_id + 1;
        if delta.first_update_id > expected {
            let gap = SyncError::Gap { expected, first: delta.first_update_id, last: delta.last_update_id };
            self.reset();
            return Err(gap);
        }
        apply_side(&mut self.bids, &delta.bids);
        apply_side(&mut self.asks, &delta.asks);
        self.update_id = delta.last_update_id;
        if let Err(e) = self.check_crossed() {
            self.reset();
            return Err(e);
        }
        Ok(Applied::Live(delta))
    }

    fn check_crossed(&self) -> Result<(), SyncError> {
        match self.top() {
            (Some((bid, _)), Some((ask, _))) if bid >= ask => Err(SyncError::Crossed { bid, ask }),
            _ => Ok(()),
        }
    }
}

fn apply_side(side: &mut BTreeMap<PriceKey, Decimal>, levels: &[Level]) {
    for l in levels {
        if l.qty.get().is_zero() {
            side.remove(&PriceKey(l.price.get()));
        } else {
            side.insert(PriceKey(l.price.get()), l.qty.get());
        }
    }
}

/// A price as a book key, in `Decimal`'s numeric order. A venue sends one
/// symbol's prices at one scale, and then the mantissas decide: a tenth of
/// the cost of `Decimal`'s general comparison, which was most of the time
/// spent applying a diff. Other scales fall back to it.
#[derive(Debug, Clone, Copy)]
struct PriceKey(Decimal);

impl Ord for PriceKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.0.scale() == other.0.scale() {
            self.0.mantissa().cmp(&other.0.mantissa())
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for PriceKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PriceKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for PriceKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewind_strategies::sdk::Timestamp;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn book() -> LocalBook {
        LocalBook::new(VenueId::new("b").unwrap(), Symbol::new("BNBBTC").unwrap())
    }

    fn delta(first: u64, last: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> BookDelta {
        let levels = |ls: &[(&str, &str)]| {
            ls.iter().map(|(p, q)| Level { price: Price::new(d(p)), qty: Qty::new(d(q)) }).collect()
        };
        BookDelta {
            venue: VenueId::new("b").unwrap(),
            symbol: Symbol::new("BNBBTC").unwrap(),
            first_update_id: first,
            last_update_id: last,
            bids: levels(bids),
            asks: levels(asks),
            time: Timestamp(0),
        }
    }

    #[test]
    fn the_documented_procedure_drops_old_diffs_and_applies_the_rest() {
        let mut b = book();
        assert_eq!(b.on_delta(delta(150, 155, &[("0.0023", "1")], &[])).unwrap(), Applied::Buffered);
        assert_eq!(b.on_delta(delta(156, 160, &[("0.0024", "10")], &[("0.0026", "100")])).unwrap(), Applied::Buffered);
        assert_eq!(b.on_delta(delta(161, 161, &[("0.0023", "0")], &[])).unwrap(), Applied::Buffered);
        // Snapshot at 157: the first diff is dropped, the second straddles 158, the third follows.
        let (snap, applied) =
            b.on_snapshot(157, &[[d("0.0023"), d("5")], [d("0.0022"), d("1")]], &[[d("0.0027"), d("3")]]).unwrap();
        assert_eq!(snap.last_update_id, 157);
        assert_eq!(snap.bids.len(), 2);
        assert_eq!(applied.iter().map(|d| d.last_update_id).collect::<Vec<_>>(), [160, 161]);
        assert!(b.is_live());
        assert_eq!(b.update_id(), 161);
        assert_eq!(b.top(), (Some((d("0.0024"), d("10"))), Some((d("0.0026"), d("100")))));
        let levels: Vec<Decimal> = b.snapshot().bids.iter().map(|l| l.price.get()).collect();
        assert_eq!(levels, [d("0.0024"), d("0.0022")], "0.0023 was deleted by a zero quantity");
        assert_eq!(b.on_delta(delta(150, 161, &[], &[])).unwrap(), Applied::Stale);
    }

    #[test]
    fn a_gap_discards_the_book() {
        let mut b = book();
        b.on_snapshot(100, &[[d("1"), d("1")]], &[[d("2"), d("1")]]).unwrap();
        assert!(matches!(b.on_delta(delta(101, 105, &[], &[])).unwrap(), Applied::Live(_)));
        let e = b.on_delta(delta(107, 110, &[], &[])).unwrap_err();
        assert_eq!(e, SyncError::Gap { expected: 106, first: 107, last: 110 });
        assert!(!b.is_live());
        assert_eq!(b.top(), (None, None));
    }

    #[test]
    fn a_crossed_book_is_an_integrity_error() {
        let mut b = book();
        b.on_snapshot(100, &[[d("1"), d("1")]], &[[d("2"), d("1")]]).unwrap();
        let e = b.on_delta(delta(101, 101, &[("2.5", "1")], &[])).unwrap_err();
        assert!(matches!(e, SyncError::Crossed { .. }));
        assert!(!b.is_live());
    }

    #[test]
    fn a_snapshot_older_than_the_buffer_is_refused_and_buffering_goes_on() {
        let mut b = book();
        b.on_delta(delta(200, 205, &[], &[])).unwrap();
        let e = b.on_snapshot(150, &[], &[]).unwrap_err();
        assert_eq!(e, SyncError::SnapshotTooOld { snapshot: 150, first: 200 });
        let (_, applied) = b.on_snapshot(202, &[], &[]).unwrap();
        assert_eq!(applied.len(), 1);
        assert_eq!(b.update_id(), 205);
    }

    #[test]
    fn a_snapshot_that_leaves_a_gap_to_the_buffer_restarts() {
        let mut b = book();
        b.on_delta(delta(200, 205, &[], &[])).unwrap();
        b.on_delta(delta(210, 215, &[], &[])).unwrap();
        assert!(matches!(b.on_snapshot(205, &[], &[]), Err(SyncError::Gap { expected: 206, .. })));
        assert!(!b.is_live());
    }

    proptest::proptest! {
        #[test]
        fn price_keys_order_like_decimals(
            a in proptest::num::i64::ANY, sa in 0u32..=18, b in proptest::num::i64::ANY, sb in 0u32..=18, same in proptest::bool::ANY,
        ) {
            let x = Decimal::new(a, sa);
            let y = Decimal::new(b, if same { sa } else { sb });
            proptest::prop_assert_eq!(PriceKey(x).cmp(&PriceKey(y)), x.cmp(&y));
            proptest::prop_assert_eq!(PriceKey(x) == PriceKey(y), x == y);
            // The same price written with one more decimal is the same key.
            let mut longer = x;
            longer.rescale(sa + 1);
            proptest::prop_assert!(PriceKey(longer) == PriceKey(x));
        }
    }
}
