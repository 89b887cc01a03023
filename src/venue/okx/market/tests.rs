//! OKX's public messages in the documented shapes (the docs' `books`,
//! `bbo-tbt`, `trades` and candle examples), through the dialect and, for
//! the books, the local book.

use super::*;
use crate::venue::book::{Applied, LocalBook, SyncError};
use tradewind_strategies::sdk::Side;

fn venue() -> VenueId {
    VenueId::new("okx").unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTC-USDT").unwrap()
}

const ASKS: &str = r#"[["8476.98","415","0","13"],["8477","7","0","2"],["8477.34","85","0","1"],["8477.56","1","0","1"],
    ["8505.84","8","0","1"],["8506.37","85","0","1"],["8506.49","2","0","1"],["8506.96","100","0","2"]]"#;
const BIDS: &str = r#"[["8476.97","256","0","12"],["8475.55","101","0","1"],["8475.54","100","0","1"],["8475.3","1","0","1"],
    ["8447.32","6","0","1"],["8447.02","246","0","1"],["8446.83","24","0","1"],["8446","95","0","3"]]"#;

fn books(action: &str, prev: i64, seq: i64, checksum: i64) -> String {
    format!(
        r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":{ASKS},"bids":{BIDS},
        "ts":"1597026383085","checksum":{checksum},"prevSeqId":{prev},"seqId":{seq}}}]}}"#
    )
}

fn update(prev: i64, seq: i64, bids: &str) -> String {
    format!(
        r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[],"bids":{bids},
        "ts":"1597026383090","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
    )
}

fn delta(event: StreamEvent) -> BookDelta {
    match event {
        StreamEvent::Market(MarketEvent::BookDelta(d)) => d,
        other => panic!("not a delta: {other:?}"),
    }
}

#[test]
fn a_snapshot_then_updates_that_name_their_predecessor_keep_the_book() {
    let StreamEvent::Snapshot(symbol, depth) = parse(venue(), &books("snapshot", -1, 123_456, 0)).unwrap() else {
        panic!("not a snapshot")
    };
    assert_eq!((symbol, depth.update_id, depth.bids.len(), depth.asks.len()), (btc(), 123_456, 8, 8));
    assert_eq!(depth.bids[0], [Decimal::new(847_697, 2), Decimal::from(256)]);
    let mut book = LocalBook::new(venue(), btc());
    book.on_snapshot(depth.update_id, &depth.bids, &depth.asks).unwrap();

    // seqId steps by more than one; prevSeqId says what it follows.
    let d = delta(parse(venue(), &update(123_456, 123_470, r#"[["8476.97","0","0","0"]]"#)).unwrap());
    assert_eq!((d.first_update_id, d.last_update_id), (123_457, 123_470));
    assert!(matches!(book.on_delta(d), Ok(Applied::Live(_))));
    assert_eq!(book.top().0, Some((Decimal::new(847_555, 2), Decimal::from(101))), "the best bid went");

    // No change: dropped, not a gap.
    assert!(matches!(parse(venue(), &update(123_470, 123_470, "[]")).unwrap(), StreamEvent::Ignored));
    // A lost update: the next names a predecessor the book never saw.
    let lost = delta(parse(venue(), &update(123_480, 123_490, "[]")).unwrap());
    assert!(matches!(book.on_delta(lost), Err(SyncError::Gap { expected: 123_471, .. })));
}

#[test]
fn an_update_behind_its_predecessor_resyncs_the_book() {
    let mut book = LocalBook::new(venue(), btc());
    book.on_snapshot(500, &[[Decimal::from(10), Decimal::ONE]], &[[Decimal::from(11), Decimal::ONE]]).unwrap();
    // After maintenance seqId may start lower again.
    let behind = delta(parse(venue(), &update(500, 3, "[]")).unwrap());
    assert!(matches!(book.on_delta(behind), Err(SyncError::Gap { .. })));
}

#[test]
fn the_legacy_checksum_is_verified_when_sent_and_ignored_when_zero() {
    let StreamEvent::Snapshot(_, depth) = parse(venue(), &books("snapshot", -1, 1, 0)).unwrap() else { panic!() };
    // Computed independently (Python's zlib.crc32 over the interleaved levels, as signed int32).
    assert_eq!(checksum(&depth.bids, &depth.asks), -2_102_840_145);
    assert!(parse(venue(), &books("snapshot", -1, 1, -2_102_840_145)).is_ok());
    let wrong = parse(venue(), &books("snapshot", -1, 1, -855_196_043)).unwrap_err().to_string();
    assert!(wrong.contains("checksum"), "{wrong}");
    // The venue's spelling is kept: "8477" stays "8477", "8475.3" stays "8475.3".
    assert!(depth.asks[1][0].to_string() == "8477" && depth.bids[3][0].to_string() == "8475.3");
}

#[test]
fn an_update_with_a_checksum_is_checked_against_the_book_it_leaves() {
    let StreamEvent::Snapshot(_, depth) = parse(venue(), &books("snapshot", -1, 1, 0)).unwrap() else { panic!() };
    let mut book = LocalBook::new(venue(), btc());
    book.on_snapshot(depth.update_id, &depth.bids, &depth.asks).unwrap();
    let text = update(1, 2, r#"[["8476.97","0","0","0"]]"#).replace(r#""checksum":0"#, r#""checksum":-123"#);
    let StreamEvent::Checked(MarketEvent::BookDelta(d), expected) = parse(venue(), &text).unwrap() else {
        panic!("a checked update")
    };
    assert_eq!(expected, -123);
    book.on_delta(d).unwrap();
    // What the session compares it with: the dialect's checksum of the book's best 25 levels.
    let (bids, asks) = book.levels(Okx::CHECKSUM_DEPTH);
    let computed = Okx { endpoint: Endpoint::Public }.book_checksum(&bids, &asks).unwrap();
    assert_eq!(bids.len(), 7, "the best bid went");
    assert_eq!(computed, checksum(&bids, &asks));
    assert_ne!(computed, expected);
}

#[test]
fn best_bid_and_ask_trades_and_candles_read_into_events() {
    let bbo = r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["8476.98","415","0","13"]],
        "bids":[["8476.97","256","0","12"]],"ts":"1597026383085","seqId":123456}]}"#;
    let StreamEvent::Market(MarketEvent::Quote(q)) = parse(venue(), bbo).unwrap() else { panic!("not a quote") };
    assert_eq!(
        (q.bid_price.get(), q.ask_qty.get(), q.update_id),
        (Decimal::new(847_697, 2), Decimal::from(415), 123_456)
    );

    let trades = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474",
        "px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3"}]}"#;
    let StreamEvent::Many(events) = parse(venue(), trades).unwrap() else { panic!("not trades") };
    let MarketEvent::Trade(t) = &events[0] else { panic!() };
    assert_eq!((t.trade_id.as_str(), t.aggressor, t.time), ("130639474", Side::Buy, Timestamp(1_630_048_897_897)));
    assert_eq!(t.qty.get(), "0.12060306".parse::<Decimal>().unwrap());

    let candle = r#"{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026383085","8533.02","8553.74",
        "8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}"#;
    let StreamEvent::Many(events) = parse(venue(), candle).unwrap() else { panic!("not a candle") };
    let MarketEvent::Kline(k) = &events[0] else { panic!() };
    assert_eq!((k.interval, k.close_time.0 - k.open_time.0, k.closed), (KlineInterval::M1, 59_999, false));
    assert_eq!(k.volume.get(), Decimal::from(45_247));
    // OKX's plain `candle1D` starts at Hong Kong midnight: not one the dialect subscribes or reads.
    let hk = candle.replace("candle1m", "candle1D");
    assert!(parse(venue(), &hk).is_err());
}

#[test]
fn replies_pongs_notices_and_refusals() {
    assert!(matches!(parse(venue(), "pong").unwrap(), StreamEvent::ControlReply));
    let ok = r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#;
    assert!(matches!(parse(venue(), ok).unwrap(), StreamEvent::ControlReply));
    let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.","connId":"a4d3ae55"}"#;
    assert!(matches!(parse(venue(), notice).unwrap(), StreamEvent::ServerShutdown));
    let refused = r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:NOPE-USDT doesn't exist","connId":"a4d3ae55"}"#;
    assert!(parse(venue(), refused).unwrap_err().to_string().contains("60018"));
    assert!(parse(venue(), "{not json").is_err());
}

#[test]
fn subscriptions_go_by_message_to_the_endpoint_of_each_channel() {
    let spec = FeedSpec {
        symbol: btc(),
        trades: true,
        quotes: true,
        book: true,
        klines: vec![KlineInterval::M1, KlineInterval::H8],
    };
    let public = Okx { endpoint: Endpoint::Public };
    let business = Okx { endpoint: Endpoint::Business };
    assert_eq!(public.url("wss://ws.okx.com:8443/", &[]), "wss://ws.okx.com:8443/ws/v5/public");
    assert_eq!(business.url("wss://wspap.okx.com:8443", &[]), "wss://wspap.okx.com:8443/ws/v5/business");
    assert_eq!(public.streams(&spec), ["trades:BTC-USDT", "bbo-tbt:BTC-USDT", "books:BTC-USDT"]);
    assert_eq!(business.streams(&spec), ["candle1m:BTC-USDT"], "8h is not offered");
    let sub: serde_json::Value = serde_json::from_str(&public.subscribe(std::slice::from_ref(&spec))[0]).unwrap();
    assert_eq!(sub["op"], "subscribe");
    assert_eq!(sub["args"][2], serde_json::json!({"channel": "books", "instId": "BTC-USDT"}));
    let again = public.resubscribe_book(&spec);
    assert!(again[0].contains("unsubscribe") && again[1].contains(r#""op":"subscribe""#));
    assert_eq!(public.ping(), Some((Duration::from_secs(20), "ping")));
    // Many symbols: at most ARGS_PER_REQUEST channels a request.
    let specs: Vec<FeedSpec> = (0..30)
        .map(|i| FeedSpec {
            symbol: Symbol::new(&format!("C{i}-USDT")).unwrap(),
            trades: true,
            quotes: false,
            book: false,
            klines: vec![],
        })
        .collect();
    assert_eq!(public.subscribe(&specs).len(), 2);
}
