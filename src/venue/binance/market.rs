//! Binance's public WebSocket dialect: combined streams named in the URL
//! (at most 1024 a connection), books synced from REST snapshots, the top of
//! book over REST, `serverShutdown` for a planned switch. The connections
//! themselves run on [`crate::venue::market`].

use std::sync::Arc;

use tradewind_strategies::sdk::{Quote, Symbol, VenueId};

use super::parse::parse_combined;
use super::rest::RestClient;
use crate::venue::book::Depth;
use crate::venue::feed::FeedSpec;
use crate::venue::market::{BookSync, Dialect, StreamEvent};

/// Binance's limit of streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// The stream names of `spec`, lower-case as Binance requires.
pub fn streams(spec: &FeedSpec) -> Vec<String> {
    let s = spec.symbol.as_str().to_ascii_lowercase();
    let mut out = Vec::new();
    if spec.trades {
        out.push(format!("{s}@trade"));
    }
    if spec.quotes {
        out.push(format!("{s}@bookTicker"));
    }
    if spec.book {
        out.push(format!("{s}@depth@100ms"));
    }
    out.extend(spec.klines.iter().map(|k| format!("{s}@kline_{}", k.as_str())));
    out
}

/// The combined-stream URL of `specs` under `base`. Stream names are
/// percent-encoded: Binance lists symbols such as `币安人生USDT`, and raw UTF-8
/// in a URL is refused by strict servers (ASCII names go as they are).
pub fn stream_url(base: &str, specs: &[FeedSpec]) -> String {
    let mut url = format!("{}/stream?streams=", base.trim_end_matches('/'));
    for (i, stream) in specs.iter().flat_map(streams).enumerate() {
        if i > 0 {
            url.push('/');
        }
        for b in stream.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'@' | b'_' | b'-' | b'.') {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
    }
    url
}

/// Binance Spot's market streams, with the REST client for snapshots and tops.
pub struct Binance {
    pub venue: VenueId,
    pub rest: Arc<RestClient>,
    /// Levels of the REST snapshot (≤ 5000).
    pub snapshot_depth: u32,
}

impl Dialect for Binance {
    const MAX_STREAMS: usize = MAX_STREAMS_PER_CONNECTION;
    const BOOK_SYNC: BookSync = BookSync::Rest;

    fn streams(&self, spec: &FeedSpec) -> Vec<String> {
        streams(spec)
    }

    fn url(&self, base: &str, specs: &[FeedSpec]) -> String {
        stream_url(base, specs)
    }

    /// The URL names the streams: nothing to send.
    fn subscribe(&self, _: &[FeedSpec]) -> Vec<String> {
        Vec::new()
    }

    fn parse(&self, venue: VenueId, text: &str) -> Result<StreamEvent, String> {
        parse_combined(venue, text).map_err(|e| e.to_string())
    }

    async fn depth(&self, symbol: Symbol) -> Result<Depth, String> {
        let s = self.rest.depth(symbol, self.snapshot_depth).await.map_err(|e| e.to_string())?;
        Ok(Depth { update_id: s.last_update_id, bids: s.bids, asks: s.asks })
    }

    async fn tops(&self, symbols: Vec<Symbol>) -> Result<Vec<Quote>, String> {
        let tops = self.rest.book_tickers(&symbols).await.map_err(|e| e.to_string())?;
        let venue = self.venue;
        Ok(tops
            .into_iter()
            .map(|t| Quote {
                venue,
                symbol: t.symbol,
                bid_price: t.bid_price,
                bid_qty: t.bid_qty,
                ask_price: t.ask_price,
                ask_qty: t.ask_qty,
                update_id: 0,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::market::group_streams;
    use tradewind_strategies::sdk::KlineInterval;

    #[test]
    fn more_than_1024_streams_are_split_over_connections() {
        let spec = |i: usize| FeedSpec {
            symbol: Symbol::new(&format!("S{i}USDT")).unwrap(),
            trades: true,
            quotes: true,
            book: true,
            klines: vec![KlineInterval::M1],
        };
        let dialect = |specs| group_streams(specs, MAX_STREAMS_PER_CONNECTION, |s| streams(s).len());
        let groups = dialect((0..300).map(spec).collect());
        let sizes: Vec<usize> = groups.iter().map(|g| g.iter().map(|s| streams(s).len()).sum()).collect();
        assert_eq!(sizes, [1024, 176]);
        assert!(
            dialect(vec![FeedSpec { klines: vec![], trades: false, quotes: false, book: false, ..spec(1) }]).is_empty()
        );
    }

    #[test]
    fn non_ascii_stream_names_are_percent_encoded_in_the_url() {
        // regression: non_ascii_symbols (raw UTF-8 in the handshake URL; a strict server refused it forever)
        let spec = |s: &str| FeedSpec {
            symbol: Symbol::new(s).unwrap(),
            trades: true,
            quotes: false,
            book: false,
            klines: vec![],
        };
        let url = stream_url("wss://stream.binance.com:9443/", &[spec("币安人生USDT"), spec("BTCUSDT")]);
        assert_eq!(
            url,
            "wss://stream.binance.com:9443/stream?streams=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@trade/btcusdt@trade"
        );
        assert!(url.is_ascii());
        assert!(reqwest::Url::parse(&url).is_ok());
    }

    #[test]
    fn stream_names_are_lower_case_binance_names() {
        let spec = FeedSpec {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            trades: true,
            quotes: true,
            book: true,
            klines: vec![KlineInterval::M1],
        };
        assert_eq!(streams(&spec), ["btcusdt@trade", "btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@kline_1m"]);
    }
}
