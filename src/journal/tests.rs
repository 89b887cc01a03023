use tradewind_strategies::sdk::{Liquidity, OrderKind, Price, Qty, Side, Symbol, TimeInForce, Timestamp, VenueId};

use super::*;
use crate::ops::report;

fn d(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

fn order() -> NewOrder {
    NewOrder {
        venue: VenueId::new("sim").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        qty: Qty::new(d("0.5")),
        kind: OrderKind::Limit { price: Price::new(d("60000.01")), tif: TimeInForce::Gtc },
    }
}

fn id(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

/// Id `seq` of `instance`, in the form Tradewind makes.
fn own(instance: &str, seq: u64) -> ClientOrderId {
    owner::register(instance).unwrap();
    ClientOrderId::for_instance(instance, seq).unwrap()
}

fn fill(client: &str, trade_id: u64, qty: &str) -> Fill {
    Fill {
        venue: VenueId::new("sim").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        id: id(client),
        venue_order_id: 77.into(),
        trade_id: trade_id.into(),
        side: Side::Buy,
        price: Price::new(d("60000.01")),
        qty: Qty::new(d(qty)),
        fee: d("0.00000001"),
        fee_asset: None,
        liquidity: Liquidity::Maker,
        time: Timestamp(trade_id as i64),
    }
}

#[tokio::test]
async fn a_restart_gets_back_sequences_open_orders_and_fills_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/j.db");
    {
        let (journal, recovered) = Journal::open(&path).unwrap();
        assert_eq!(recovered, Recovered::default());
        for (n, client) in ["tw-sma-41", "tw-sma-42", "tw-grid_1-7"].iter().enumerate() {
            journal.write(Record::Intent { id: id(client), order: order(), time_ms: n as i64 }).await.unwrap();
        }
        let state = |client, state| Record::State {
            id: id(client),
            state,
            venue_order_id: Some(77.into()),
            reason: None,
            time_ms: 9,
        };
        journal.write_nowait(state("tw-sma-41", "accepted"));
        journal.write_nowait(Record::Fill(fill("tw-sma-41", 1, "0.2")));
        journal.write_nowait(Record::Fill(fill("tw-sma-41", 1, "0.2")));
        journal.write_nowait(Record::Fill(fill("tw-sma-41", 2, "0.1")));
        journal.write_nowait(state("tw-sma-42", "accepted"));
        journal.write_nowait(state("tw-sma-42", "canceled"));
        journal.flush().await;
    }
    let (_journal, recovered) = Journal::open(&path).unwrap();
    assert_eq!(recovered.next_seq, HashMap::from([("sma".to_owned(), 43), ("grid_1".to_owned(), 8)]));
    assert_eq!(recovered.fills.len(), 2, "a fill written twice is kept once");
    let open: Vec<(&str, &str)> = recovered.open.iter().map(|o| (o.order.id.as_str(), o.state.as_str())).collect();
    assert_eq!(open, [("tw-sma-41", "accepted"), ("tw-grid_1-7", "pending")]);
    let first = &recovered.open[0];
    assert_eq!(
        (first.order.filled, first.venue_order_id, first.trade_ids.clone()),
        (Qty::new(d("0.3")), Some(77.into()), vec![1.into(), 2.into()])
    );
    assert_eq!(first.order.order, order(), "decimals come back exactly");

    // The operator's report reads the same file without writing it.
    let before = std::fs::read(&path).unwrap();
    let open = report::read(&path, false, 100).unwrap();
    let ids: Vec<(&str, &str)> =
        open.orders.iter().map(|(o, state)| (o.client_order_id.as_str(), state.as_str())).collect();
    assert_eq!(ids, [("tw-sma-41", "accepted"), ("tw-grid_1-7", "pending")], "last updated first");
    assert_eq!(open.orders[0].0.filled, d("0.3"));
    assert_eq!(open.positions.len(), 1);
    assert_eq!((open.positions[0].strategy.as_str(), open.positions[0].qty), ("sma", d("0.3")));
    let all = report::read(&path, true, 100).unwrap();
    assert_eq!(all.orders.len(), 3);
    assert_eq!(all.orders.iter().find(|(o, _)| o.client_order_id == "tw-sma-42").unwrap().1, "canceled");
    assert_eq!(report::read(&path, true, 1).unwrap().orders.len(), 1);
    assert_eq!(std::fs::read(&path).unwrap(), before, "reading changed nothing");
}

#[tokio::test]
async fn a_venue_name_stays_bound_to_one_account() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let (journal, _) = Journal::open(&path).unwrap();
        journal.bind("bn", "binance/testnet uid=7").await.unwrap();
        journal.bind("bn", "binance/testnet uid=7").await.unwrap();
        journal.bind("other", "binance/testnet uid=8").await.unwrap();
    }
    let (journal, _) = Journal::open(&path).unwrap();
    journal.bind("bn", "binance/testnet uid=7").await.unwrap();
    let e = journal.bind("bn", "binance/mainnet uid=9").await.unwrap_err();
    assert!(matches!(e, JournalError::OtherAccount { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("binance/testnet uid=7") && text.contains("binance/mainnet uid=9"), "{text}");
}

#[test]
fn a_foreign_or_corrupt_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("other.db");
    let conn = Connection::open(&foreign).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'x');",
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&foreign).unwrap();
    let e = Journal::open(&foreign).unwrap_err();
    assert!(matches!(e, JournalError::Foreign { .. }), "{e}");
    assert!(e.to_string().contains("not a Tradewind journal"), "{e}");
    assert!(matches!(report::read(&foreign, true, 10), Err(JournalError::Foreign { .. })));
    assert_eq!(std::fs::read(&foreign).unwrap(), before);

    let corrupt = dir.path().join("corrupt.db");
    let garbage = b"this is not a database, it is a text file with some bytes in it".repeat(100);
    std::fs::write(&corrupt, &garbage).unwrap();
    let e = Journal::open(&corrupt).unwrap_err();
    assert!(e.to_string().contains("corrupt.db"), "the error names the file: {e}");
    assert_eq!(std::fs::read(&corrupt).unwrap(), garbage, "nothing overwritten");
    assert!(matches!(report::read(&dir.path().join("none.db"), false, 1), Err(JournalError::Io { .. })));
}

#[test]
fn a_journal_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    drop(Journal::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", []).unwrap();
    drop(conn);
    assert!(matches!(Journal::open(&path), Err(JournalError::TooNew { found: 99, .. })));
}

#[tokio::test]
async fn orders_and_fills_are_filed_under_their_owner_of_either_id_form() {
    let (_dir, path, journal) = fresh();
    owner::register("sma_btc").unwrap();
    let unregistered = ClientOrderId::for_instance("nobody_registered", 9).unwrap();
    for id in [own("sma_btc", 1_795_817_461_686), id("tw-sma_btc-1795817461687"), id("manual-1"), unregistered] {
        journal.write(Record::Intent { id, order: order(), time_ms: 1 }).await.unwrap();
    }
    journal.write(Record::Fill(fill(own("sma_btc", 1_795_817_461_686).as_str(), 1, "0.1"))).await.unwrap();
    let db = Connection::open(&path).unwrap();
    let rows: Vec<(String, i64)> = db
        .prepare("SELECT instance, seq FROM orders ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let code = tradewind_strategies::sdk::InstanceCode::of("nobody_registered").to_string();
    assert_eq!(
        rows,
        [("sma_btc".into(), 1_795_817_461_686), ("sma_btc".into(), 1_795_817_461_687), ("".into(), 0), (code, 9)]
    );
    let filed: String = db.query_row("SELECT instance FROM fills", [], |r| r.get(0)).unwrap();
    assert_eq!(filed, "sma_btc");
}

/// A journal in `dir` whose database may grow by two pages only: the disk is "full".
fn nearly_full(dir: &tempfile::TempDir) -> (std::path::PathBuf, Journal) {
    let path = dir.path().join("j.db");
    drop(Journal::open(&path).unwrap());
    let pages: i64 = Connection::open(&path).unwrap().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let (journal, _) = Journal::open_with(&path, |c| c.pragma_update(None, "max_page_count", pages + 2)).unwrap();
    (path, journal)
}

#[tokio::test]
async fn a_full_disk_refuses_new_intents_clearly_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, journal) = nearly_full(&dir);
    let mut committed = Vec::new();
    let mut failure = None;
    for n in 0..10_000 {
        let client = format!("tw-sma-{n}");
        match journal.write(Record::Intent { id: id(&client), order: order(), time_ms: n }).await {
            Ok(()) => committed.push(client),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let e = failure.expect("a database capped a few pages above its size fills up");
    assert!(e.to_string().contains("full"), "the error says why: {e}");
    assert!(!committed.is_empty());
    drop(journal);
    // Nothing committed is lost; the next start reads it all.
    let (_, recovered) = Journal::open(&path).unwrap();
    assert_eq!(recovered.open.len(), committed.len());
    assert_eq!(recovered.next_seq["sma"], committed.len() as u64);
}

#[tokio::test]
async fn snapshots_are_kept_up_to_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let (journal, _) = Journal::open(&path).unwrap();
    for n in 0..SNAPSHOTS_KEPT + 10 {
        journal.write_nowait(Record::Snapshot { time_ms: n, body: format!("{{\"n\":{n}}}") });
    }
    journal.flush().await;
    let conn = Connection::open(&path).unwrap();
    let (count, oldest): (i64, i64) =
        conn.query_row("SELECT count(*), MIN(time_ms) FROM snapshots", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((count, oldest), (SNAPSHOTS_KEPT, 10));
    assert_eq!(schema_version(&conn), Some(6));
}

#[tokio::test]
async fn an_order_whose_fills_are_all_journaled_is_not_open_whatever_its_row_says() {
    // A crash between committing the last fill and the order's "filled" state.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let (journal, _) = Journal::open(&path).unwrap();
        let mut o = order();
        o.qty = Qty::new(d("0.3"));
        journal.write(Record::Intent { id: id("tw-sma-1"), order: o, time_ms: 1 }).await.unwrap();
        journal.write_nowait(Record::State {
            id: id("tw-sma-1"),
            state: "accepted",
            venue_order_id: Some(77.into()),
            reason: None,
            time_ms: 2,
        });
        journal.write_nowait(Record::Fill(fill("tw-sma-1", 1, "0.1")));
        journal.write_nowait(Record::Fill(fill("tw-sma-1", 2, "0.2")));
        journal.flush().await;
    }
    assert!(report::read(&path, false, 10).unwrap().orders.is_empty(), "not listed as open");
    assert_eq!(report::read(&path, true, 10).unwrap().orders[0].1, "filled");
    let (_, recovered) = Journal::open(&path).unwrap();
    assert!(recovered.open.is_empty(), "{:?}", recovered.open);
    assert_eq!(recovered.completed, ["tw-sma-1"]);
    assert_eq!(recovered.fills.len(), 2, "its fills still make the position");
    // The row was repaired: the next start finds nothing to repair.
    let (_, again) = Journal::open(&path).unwrap();
    assert!(again.completed.is_empty());
}

#[tokio::test]
async fn leased_ids_without_an_intent_are_given_back_and_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let btc = Symbol::new("BTCUSDT").unwrap();
    let eth = Symbol::new("ETHUSDT").unwrap();
    let lease = |instance: &str, first, upto| Lease {
        venue: "sim".into(),
        instance: instance.into(),
        first,
        upto,
        symbols: vec![btc, eth],
    };
    {
        let (journal, _) = Journal::open(&path).unwrap();
        // "sma": ids 40..=56 leased; the intents of 40, 41, 42 and (adopted after an
        // earlier crash, out of order) 50 committed when the process died.
        journal.write(Record::Lease(lease("sma", 40, 56))).await.unwrap();
        for seq in [40, 41, 42, 50] {
            journal.queue(Record::Intent { id: own("sma", seq), order: order(), time_ms: 1 }).unwrap();
        }
        // "grid": a clean stop shrank its lease to the last id sent.
        journal.write(Record::Lease(lease("grid", 7, 30))).await.unwrap();
        journal.queue(Record::Intent { id: own("grid", 7), order: order(), time_ms: 1 }).unwrap();
        journal.write(Record::Lease(lease("grid", 7, 7))).await.unwrap();
        // "new": leased, nothing committed yet (its ids start at the wall clock).
        journal.write(Record::Lease(lease("new", 1_700_000_000_000, 1_700_000_000_016))).await.unwrap();
        // "old": leased by a build whose ids were `tw-<instance>-<seq>`; 4 was sent.
        journal.write(Record::Lease(lease("old", 3, 5))).await.unwrap();
        journal.queue(Record::Intent { id: id("tw-old-4"), order: order(), time_ms: 1 }).unwrap();
        journal.flush().await;
        Connection::open(&path).unwrap().execute("UPDATE leases SET coded = 0 WHERE instance = 'old'", []).unwrap();
    }
    let (_journal, recovered) = Journal::open(&path).unwrap();
    assert_eq!(
        recovered.next_seq,
        HashMap::from([
            ("sma".to_owned(), 57),
            ("grid".to_owned(), 8),
            ("new".to_owned(), 1_700_000_000_017),
            ("old".to_owned(), 6)
        ]),
        "new ids start above every id that may have been sent"
    );
    let windows: Vec<(&str, Vec<u64>)> =
        recovered.unjournaled.iter().map(|w| (w.lease.instance.as_str(), w.seqs.clone())).collect();
    let sma: Vec<u64> = (43..=56).filter(|&s| s != 50).collect();
    assert_eq!(
        windows,
        [("new", (1_700_000_000_000..=1_700_000_000_016).collect()), ("old", vec![3, 5]), ("sma", sma)]
    );
    let sma = &recovered.unjournaled[2];
    assert_eq!(sma.lease.symbols, [btc, eth]);
    let ids: Vec<ClientOrderId> = sma.ids().collect();
    assert_eq!((ids.len(), ids[0], ids[12]), (13, own("sma", 43), own("sma", 56)));
    let old: Vec<String> = recovered.unjournaled[1].ids().map(|i| i.as_str().to_owned()).collect();
    assert_eq!(old, ["tw-old-3", "tw-old-5"], "a lease of the earlier form asks about ids of that form");
}

#[tokio::test]
async fn after_an_intent_fails_to_commit_no_further_intent_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (_, journal) = nearly_full(&dir);
    let intent = |n: u64| Record::Intent { id: id(&format!("tw-sma-{n}")), order: order(), time_ms: 1 };
    let mut n = 0;
    // Queued intents until one batch cannot be committed (the disk is "full").
    let refused = loop {
        n += 1;
        assert!(n < 100_000, "a database capped a few pages above its size fills up");
        if let Err(e) = journal.queue(intent(n)) {
            break e;
        }
        if n % 64 == 0 {
            journal.flush().await;
        }
    };
    assert!(matches!(refused, JournalError::IntentLost { .. }), "{refused}");
    assert!(refused.to_string().contains("no new orders until a restart"), "{refused}");
    // Everything else still goes on being attempted (and logged when it fails).
    journal.queue(Record::Snapshot { time_ms: 1, body: "{}".into() }).unwrap();
}

/// A new journal in a temporary folder (kept while the first value lives).
fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let (journal, _) = Journal::open(&path).unwrap();
    (dir, path, journal)
}

/// The intent of order `n` of instance `sma`.
fn intent(n: i64) -> Record {
    Record::Intent { id: id(&format!("tw-sma-{n}")), order: order(), time_ms: n }
}

#[tokio::test]
async fn a_record_queued_quietly_keeps_its_place_and_its_limits() {
    let (_dir, path, journal) = fresh();
    let first = journal.queue_quietly(intent(1)).unwrap();
    journal.queue(intent(2)).unwrap();
    let third = journal.queue_quietly(intent(3)).unwrap();
    drop(third);
    journal.flush().await;
    assert_eq!(journal.queued(), 0, "committed while the first record's wake was still held");
    drop(first);
    let full = Journal { capacity: 0, ..journal.clone() };
    let refused = full.queue_quietly(intent(4)).err().expect("no room");
    assert!(matches!(refused, JournalError::Full { .. }), "{refused:?}");
    journal.flush().await;
    drop((journal, full));
    let db = Connection::open(&path).unwrap();
    let mut rows = db.prepare("SELECT seq FROM orders ORDER BY rowid").unwrap();
    let seqs: Vec<i64> = rows.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(seqs, [1, 2, 3], "in the order queued");
}

#[tokio::test]
async fn past_its_capacity_the_queue_refuses_records_clearly_and_loses_none_it_took() {
    let (_dir, path, journal) = fresh();
    let full = Journal { capacity: 0, ..journal.clone() };
    for refused in [full.queue(intent(1)).unwrap_err(), full.write(intent(1)).await.unwrap_err()] {
        assert!(matches!(refused, JournalError::Full { .. }), "{refused:?}");
        assert_eq!(refused.to_string(), format!("journal {}: the write queue is full", path.display()));
    }
    assert_eq!(journal.queued(), 0, "a refused record is not counted");
    let one = Journal { capacity: 1, ..journal.clone() };
    one.write(intent(2)).await.unwrap();
    one.queue(intent(3)).unwrap();
    journal.flush().await;
    assert_eq!(journal.queued(), 0);
    drop((journal, full, one));
    let db = Connection::open(&path).unwrap();
    let mut rows = db.prepare("SELECT seq FROM orders ORDER BY seq").unwrap();
    let seqs: Vec<i64> = rows.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(seqs, [2, 3], "the records taken are committed, the refused one is not");
}

#[tokio::test]
async fn the_state_a_strategy_saved_last_comes_back_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let (journal, recovered) = Journal::open(&path).unwrap();
    assert!(recovered.restored("tw").is_none(), "a new instance gets nothing back");
    for filled in ["0.1", "0.2"] {
        let body = format!("{{\"filled\":\"{filled}\"}}");
        journal.write_nowait(Record::StrategyState { instance: "tw".into(), body, time_ms: 1 });
    }
    journal.flush().await;
    drop(journal);
    let (_, recovered) = Journal::open(&path).unwrap();
    let restored = recovered.restored("tw").unwrap();
    assert_eq!(restored.state.as_deref(), Some("{\"filled\":\"0.2\"}"), "the last one saved");
    assert!(restored.fills.is_empty());
    assert!(recovered.restored("other").is_none());
}

/// `tests/data/journal-v4.db` was written by the release before venue ids
/// became text (schema 4: INTEGER ids, numbers in the JSON bodies), by the
/// demo stopped with 10 orders resting and 6 fills.
#[tokio::test]
async fn a_journal_from_schema_4_upgrades_in_place_and_keeps_every_order_and_fill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/journal-v4.db"), &path).unwrap();
    let before = Connection::open(&path).unwrap();
    assert_eq!(schema_version(&before), Some(4));
    drop(before);

    let (journal, recovered) = Journal::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema_version(&conn), Some(6));
    let types = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(types("SELECT DISTINCT typeof(venue_order_id) FROM orders WHERE venue_order_id IS NOT NULL"), ["text"]);
    assert_eq!(types("SELECT DISTINCT typeof(trade_id) || typeof(venue_order_id) FROM fills"), ["texttext"]);
    let states = types("SELECT state || ' ' || count(*) FROM orders GROUP BY state ORDER BY state");
    assert_eq!(states, ["accepted 10", "canceled 11", "filled 6"], "every order row kept");
    assert_eq!(
        types("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'orders_by_state'"),
        ["orders_by_state"]
    );
    assert_eq!(
        types("SELECT DISTINCT CAST(coded AS TEXT) FROM leases"),
        ["0"],
        "its leases are of the earlier id form"
    );
    // The journal's instances own ids of the new form from the start.
    let next = ClientOrderId::for_instance("grid_eth", 1_796_609_447_865).unwrap();
    assert_eq!(next.owner(), Some(("grid_eth", 1_796_609_447_865)));

    let open: Vec<(&str, Option<&str>)> =
        recovered.open.iter().map(|o| (o.order.id.as_str(), o.venue_order_id.as_ref().map(|v| v.as_str()))).collect();
    assert_eq!(open.len(), 10);
    assert!(open.contains(&("tw-grid_eth-1796609447856", Some("123"))), "{open:?}");
    assert!(open.contains(&("tw-mm_btc-1796609447871", Some("3443"))), "{open:?}");
    assert_eq!(recovered.next_seq.get("mm_btc"), Some(&1_796_609_447_872));
    assert_eq!(recovered.fills.len(), 6);
    let rebalancer = recovered.fills.iter().find(|(i, _)| i == "rebalancer").map(|(_, f)| f).unwrap();
    assert_eq!(rebalancer.venue_order_id.as_str(), "746", "{rebalancer:?}");
    assert_eq!(rebalancer.trade_id.as_str(), "5");

    // Ids other venues use are written and read back as they are; the old
    // numeric ones still deduplicate.
    let mut kraken = fill("tw-mm_btc-1796609447870", 0, "0.001");
    kraken.venue_order_id = VenueOrderId::new("OUF4EM-FRGI2-MQMWZD").unwrap();
    kraken.trade_id = TradeId::new("TCCCTY-WE3O6-XQ6P3B").unwrap();
    journal.write(Record::Fill(kraken)).await.unwrap();
    journal.write(Record::Fill(recovered.fills[0].1)).await.unwrap();
    journal.flush().await;
    drop(journal);
    let (_journal, again) = Journal::open(&path).unwrap();
    assert_eq!(again.fills.len(), 7, "the numeric fill written again is kept once");
    assert!(
        again.fills.iter().any(|(_, f)| f.trade_id == kraken.trade_id && f.venue_order_id == kraken.venue_order_id)
    );
    assert_eq!(schema_version(&Connection::open(&path).unwrap()), Some(6));
}
