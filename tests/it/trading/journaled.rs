//! The connector with a journal: intents, leases, and what a restart finds.

use super::*;

/// The first column of every row `sql` selects from the journal at `path`.
fn column<T: rusqlite::types::FromSql>(path: &std::path::Path, sql: &str) -> Vec<T> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut statement = db.prepare(sql).unwrap();
    statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_sent_but_not_journaled_before_a_crash_are_found_and_adopted_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let sim = start_sim(quiet_market()).await;
    let open = |path| Journal::open(path).unwrap();

    // The first run: two resting orders and one filled.
    let (journal, recovered) = open(&path);
    let (connection, rx, shutdown) =
        connect(&sim, Vec::new(), Duration::from_secs(45), Some((journal, recovered))).await;
    let mut h = Harness { sim, connection, rx, shutdown };
    h.submit(ExecRequest::Place { id: own("g", 101), order: limit(Side::Buy, "0.001", "30000"), origin: None });
    assert!(matches!(h.update(own("g", 101)).await, OrderUpdate::Accepted { .. }));
    h.submit(ExecRequest::Place {
        id: own("g", 102),
        order: order(Side::Buy, "0.002", OrderKind::Market),
        origin: None,
    });
    assert!(matches!(h.update(own("g", 102)).await, OrderUpdate::Accepted { .. }));
    let OrderUpdate::Filled { fill, .. } = h.update(own("g", 102)).await else { panic!("the market order fills") };
    h.submit(ExecRequest::Place { id: own("g", 103), order: limit(Side::Buy, "0.003", "31000"), origin: None });
    assert!(matches!(h.update(own("g", 103)).await, OrderUpdate::Accepted { .. }));
    let Harness { sim, connection, shutdown, .. } = h;
    disconnect(connection, shutdown).await;

    // As if it had died before committing the last two intents and before its clean stop
    // shrank the lease: the journal knows only g#101, and the lease taken for it (ids
    // 101..=117) is the last one committed.
    let db = rusqlite::Connection::open(&path).unwrap();
    for table in ["orders", "order_events", "fills"] {
        let sql = format!("DELETE FROM {table} WHERE client_id IN (?1, ?2)");
        db.execute(&sql, [own("g", 102).as_str(), own("g", 103).as_str()]).unwrap();
    }
    let lease: (i64, i64) = db
        .query_row("SELECT first, upto FROM leases WHERE instance = 'g'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(lease, (104, 103), "a clean stop leaves no id in the lease that is not journaled");
    db.execute("UPDATE leases SET first = 101, upto = 117 WHERE instance = 'g'", []).unwrap();
    drop(db);

    let (journal, recovered) = open(&path);
    assert_eq!(recovered.next_seq["g"], 118, "new ids start above the lease");
    let windows: Vec<_> = recovered.unjournaled.iter().map(|w| (w.lease.instance.as_str(), w.seqs.clone())).collect();
    assert_eq!(windows, [("g", (102..=117).collect::<Vec<u64>>())]);
    let (connection, rx, shutdown) =
        connect(&sim, Vec::new(), Duration::from_secs(45), Some((journal.clone(), recovered))).await;

    let mut adopted: Vec<(String, &str, Qty)> =
        connection.adopted.iter().map(|(i, o)| (i.clone(), o.id.as_str(), o.order.qty)).collect();
    adopted.sort_by(|a, b| a.1.cmp(b.1));
    let q = |s: &str| Qty::new(s.parse().unwrap());
    let (g102, g103) = (own("g", 102), own("g", 103));
    assert_eq!(adopted, [("g".into(), g102.as_str(), q("0.002")), ("g".into(), g103.as_str(), q("0.003"))]);
    let state = |u: &OrderUpdate| match u {
        OrderUpdate::Accepted { .. } => "accepted",
        OrderUpdate::Filled { .. } => "filled",
        other => panic!("unexpected update {other:?}"),
    };
    let found: Vec<(&str, &str)> = connection.recovered.iter().map(|u| (u.id().as_str(), state(u))).collect();
    for expected in [(g102.as_str(), "accepted"), (g102.as_str(), "filled"), (g103.as_str(), "accepted")] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    assert_eq!(found.len(), 3, "nothing about the ids never sent: {found:?}");
    let refetched = connection.recovered.iter().find_map(|u| u.fill()).unwrap();
    assert_eq!(*refetched, fill, "the fill comes back exactly as the first run saw it");

    // A request of the dead run the venue takes only now (still inside its recvWindow).
    let late = limit(Side::Buy, "0.004", "32000");
    connection.rest.new_order(&own("g", 105), &late, None, None).await.unwrap();
    let mut h = Harness { sim, connection, rx, shutdown };
    let (instance, order) = h
        .next(|i| match i {
            EngineInput::Adopt(a) if a.1.id == own("g", 105) => Some(*a),
            _ => None,
        })
        .await;
    assert_eq!((instance.as_str(), order.order), ("g", late));
    assert!(matches!(h.update(own("g", 105)).await, OrderUpdate::Accepted { .. }));

    journal.flush().await;
    let known: Vec<String> = column(&path, "SELECT client_id FROM orders ORDER BY client_id");
    let expected: Vec<String> = [101, 102, 103, 105].map(|seq| own("g", seq).to_string()).into();
    assert_eq!(known, expected, "the adopted orders are journaled again");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_clear_to_go_leave_from_the_callers_call_and_their_intents_stay_in_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let mut config = quiet_market();
    config.limits.orders_per_10s = 1000;
    let sim = start_sim(config).await;
    let (journal, recovered) = Journal::open(&path).unwrap();
    let (connection, rx, shutdown) =
        connect(&sim, Vec::new(), Duration::from_secs(45), Some((journal, recovered))).await;
    let mut h = Harness { sim, connection, rx, shutdown };
    let place = |h: &mut Harness, seq: u64| {
        let order = limit(Side::Buy, "0.001", "30000");
        h.submit(ExecRequest::Place { id: own("b", seq), order, origin: None });
    };

    // The first order waits for its lease's commit in the execution task.
    place(&mut h, 1);
    assert!(matches!(h.update(own("b", 1)).await, OrderUpdate::Accepted { .. }));
    assert_eq!(h.connection.client.sent_directly(), 0);
    // Its lease covers ids up to 17: those leave at once; what follows goes
    // either way, depending on whether the renewal has committed yet.
    for seq in 2..=30 {
        place(&mut h, seq);
    }
    let direct = h.connection.client.sent_directly();
    assert!((16..=29).contains(&direct), "ids 2..=17 are sent from the call itself, {direct} were");
    let mut accepted = std::collections::BTreeSet::new();
    while accepted.len() < 29 {
        let update = h.next(|i| if let EngineInput::Order(u) = i { Some(*u) } else { None }).await;
        match update {
            OrderUpdate::Accepted { id, .. } => assert!(accepted.insert(id), "{id} accepted twice"),
            other => panic!("unexpected update {other:?}"),
        }
    }
    for seq in 1..=30 {
        assert_eq!(h.venue_orders(own("b", seq).as_str()), 1, "b#{seq} is on the venue once");
    }
    let Harness { sim, connection, shutdown, .. } = h;
    disconnect(connection, shutdown).await;

    // Every intent, committed in sequence order; after the clean stop nothing is left to ask about.
    let seqs: Vec<i64> = column(&path, "SELECT seq FROM orders WHERE instance = 'b' ORDER BY rowid");
    assert_eq!(seqs, (1..=30).collect::<Vec<i64>>());
    let (_, recovered) = Journal::open(&path).unwrap();
    assert!(recovered.unjournaled.is_empty(), "{:?}", recovered.unjournaled);
    assert_eq!(recovered.open.len(), 30);
    sim.stop().await;
}

#[tokio::test]
async fn leases_taken_at_the_start_let_the_first_order_leave_at_once_and_a_clean_stop_gives_them_back() {
    use tradewind::execution::orders::Trader;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let sim = start_sim(quiet_market()).await;
    let (journal, recovered) = Journal::open(&path).unwrap();
    let trader = |instance: &str, first_seq| Trader { instance: instance.into(), first_seq, symbols: vec![btc()] };
    let traders = vec![trader("b", 1), trader("idle", 40)];
    let (connection, rx, shutdown) =
        connect_trading(&sim, Vec::new(), Duration::from_secs(45), Some((journal, recovered)), traders).await;
    let mut h = Harness { sim, connection, rx, shutdown };

    // Both leases are committed before the start returns.
    let upto: Vec<i64> = column(&path, "SELECT upto FROM leases ORDER BY instance");
    assert_eq!(upto, [17, 56]);
    h.submit(ExecRequest::Place { id: own("b", 1), order: limit(Side::Buy, "0.001", "30000"), origin: None });
    assert_eq!(h.connection.client.sent_directly(), 1, "the first order left from the caller's call");
    assert!(matches!(h.update(own("b", 1)).await, OrderUpdate::Accepted { .. }));
    let Harness { sim, connection, shutdown, .. } = h;
    disconnect(connection, shutdown).await;

    // After the clean stop nothing is left to ask about, for the instance that
    // traded and for the one that did not, which starts again where it would have.
    let (_, recovered) = Journal::open(&path).unwrap();
    assert!(recovered.unjournaled.is_empty(), "{:?}", recovered.unjournaled);
    assert_eq!((recovered.next_seq["b"], recovered.next_seq["idle"]), (2, 40));
    sim.stop().await;
}
