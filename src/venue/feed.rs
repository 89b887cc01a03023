//! What a venue's market connections receive, in every venue's terms: per
//! symbol, which channels (trades, quotes, the book, klines of some
//! intervals). Each connector turns a [`FeedSpec`] into its own streams or
//! topics (Binance's `btcusdt@trade`, Bybit's `publicTrade.BTCUSDT`).

use tradewind_strategies::sdk::{KlineInterval, Subscription, Symbol, VenueId};

/// What to receive for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSpec {
    pub symbol: Symbol,
    pub trades: bool,
    pub quotes: bool,
    pub book: bool,
    pub klines: Vec<KlineInterval>,
}

impl FeedSpec {
    /// Nothing subscribed yet.
    pub fn none(symbol: Symbol) -> Self {
        Self { symbol, trades: false, quotes: false, book: false, klines: Vec::new() }
    }

    /// The channels, named the same on every venue (`BTCUSDT:trades`, `BTCUSDT:kline_1m`), for logs.
    pub fn channels(&self) -> Vec<String> {
        let s = self.symbol.as_str();
        let mut out = Vec::new();
        for (on, name) in [(self.trades, "trades"), (self.quotes, "quotes"), (self.book, "book")] {
            if on {
                out.push(format!("{s}:{name}"));
            }
        }
        out.extend(self.klines.iter().map(|k| format!("{s}:kline_{}", k.as_str())));
        out
    }

    pub fn is_empty(&self) -> bool {
        !self.trades && !self.quotes && !self.book && self.klines.is_empty()
    }
}

/// Every subscription on `venue` merged into one spec per symbol.
pub fn of_subscriptions<'a>(subscriptions: impl Iterator<Item = &'a Subscription>, venue: VenueId) -> Vec<FeedSpec> {
    let mut specs: Vec<FeedSpec> = Vec::new();
    for sub in subscriptions.filter(|s| s.venue == venue) {
        for symbol in &sub.symbols {
            let i = match specs.iter().position(|s| s.symbol == *symbol) {
                Some(i) => i,
                None => {
                    specs.push(FeedSpec::none(*symbol));
                    specs.len() - 1
                }
            };
            let spec = &mut specs[i];
            spec.trades |= sub.trades;
            spec.quotes |= sub.quotes;
            spec.book |= sub.book;
            if let Some(k) = sub.klines
                && !spec.klines.contains(&k)
            {
                spec.klines.push(k);
            }
        }
    }
    specs
}

/// What `wanted` adds to `subscribed`: per symbol, only the channels not subscribed yet.
pub fn missing(subscribed: &[FeedSpec], wanted: &[FeedSpec]) -> Vec<FeedSpec> {
    wanted
        .iter()
        .filter_map(|w| {
            let old = subscribed.iter().filter(|s| s.symbol == w.symbol);
            let (mut trades, mut quotes, mut book, mut klines) = (w.trades, w.quotes, w.book, w.klines.clone());
            for o in old {
                trades &= !o.trades;
                quotes &= !o.quotes;
                book &= !o.book;
                klines.retain(|k| !o.klines.contains(k));
            }
            let spec = FeedSpec { symbol: w.symbol, trades, quotes, book, klines };
            (!spec.is_empty()).then_some(spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewind_strategies::sdk::testing::symbol;

    #[test]
    fn a_reload_subscribes_only_what_is_not_subscribed_yet() {
        let btc = FeedSpec { trades: true, klines: vec![KlineInterval::M1], ..FeedSpec::none(symbol("BTCUSDT")) };
        let wanted = vec![
            FeedSpec { quotes: true, ..btc.clone() },
            FeedSpec { book: true, ..FeedSpec::none(symbol("ETHUSDT")) },
        ];
        let added = missing(std::slice::from_ref(&btc), &wanted);
        assert_eq!(added.iter().flat_map(FeedSpec::channels).collect::<Vec<_>>(), ["BTCUSDT:quotes", "ETHUSDT:book"]);
        assert!(missing(&wanted, &wanted).is_empty());
    }
}
