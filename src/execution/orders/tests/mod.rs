//! The order manager against a scripted venue ([`fake`]) on tokio's paused
//! clock: each test plays one sequence of venue answers and stream reports
//! (in the order a real venue can produce them) and checks the updates the
//! engine hears — exactly one of each kind per order — and the calls the
//! venue receives.

mod fake;

use std::time::Duration;

use tokio::time::Instant;

use super::{ExecOptions, NEVER_SEEN};
use crate::execution::error::{ErrorKind, Outcome, VenueError};
use crate::execution::report::OrderStatus;
use crate::execution::venue::{AccountEvent, ReportEvent};
use crate::execution::{ExecRequest, ExecutionClient};
use fake::{Call, Harness, Next, ack, oid, order, state, trade, unknown_order};
use tradewind_strategies::sdk::testing;

/// Answers the next call, which must be `$pattern`, with `$answer`.
macro_rules! answer {
    ($h:expr, $pattern:pat $(if $guard:expr)? => $reply:ident, $answer:expr) => {{
        let call = $h.call().await;
        let name = call.name();
        match call {
            $pattern $(if $guard)? => drop($reply.send($answer)),
            _ => panic!("expected {}, the venue got {name}", stringify!($pattern)),
        }
    }};
}

#[tokio::test(start_paused = true)]
async fn an_order_whose_outcome_is_unknown_is_settled_by_query_and_never_sent_again() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, Err(VenueError::unknown("timed out")));
    assert_eq!(h.update().await, "unknown 1");
    let asked = Instant::now();
    answer!(h, Call::Query { id: q, reply } if q == id => reply, state(id, OrderStatus::New, "0"));
    assert!(asked.elapsed() >= Duration::from_millis(500), "the first query waits a moment");
    assert_eq!(h.update().await, "accepted 1 as v1");
    assert_eq!(h.quiet_for(Duration::from_secs(60)).await, Ok(()), "never placed again");
}

#[tokio::test(start_paused = true)]
async fn an_order_the_venue_never_saw_is_rejected_only_after_its_receive_window() {
    // One query would do, but for the window: a request sent just before may still arrive.
    let options = ExecOptions { unknown_queries: 1, ..ExecOptions::new(testing::venue("fake")) };
    let mut h = Harness::start_with(false, options).await;
    let sent = Instant::now();
    let id = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, Err(VenueError::unknown("timed out")));
    assert_eq!(h.update().await, "unknown 1");
    let mut queries = 0;
    let rejected = loop {
        match h.next().await {
            Next::Call(Call::Query { id: q, reply }) if q == id => {
                queries += 1;
                drop(reply.send(Err(unknown_order())));
            }
            Next::Call(other) => panic!("the venue got {}", other.name()),
            Next::Update(update) => break update,
        }
    };
    assert_eq!(rejected, format!("rejected 1 {NEVER_SEEN}"));
    assert!(queries > 1, "asked {queries} times: until the window passed");
    // recvWindow (5 s) and the clocks' margin (1 s): until then the venue may still take it.
    assert!(sent.elapsed() >= Duration::from_secs(6), "rejected after {:?}", sent.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_report_before_the_ack_accepts_the_order_once() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    let Call::Place { reply, .. } = h.call().await else { panic!("a placement first") };
    h.report(id, ReportEvent::New, OrderStatus::New, "0").await;
    assert_eq!(h.update().await, "accepted 1 as v1");
    drop(reply.send(ack(id)));
    h.report(id, ReportEvent::Trade(trade(id, 7, "1")), OrderStatus::Filled, "1").await;
    assert_eq!(h.update().await, "filled 1 1 @ 100 (7)", "the ack said nothing new");
    assert_eq!(h.quiet_for(Duration::from_secs(60)).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_fill_before_the_ack_ends_the_order_and_the_late_ack_changes_nothing() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    let Call::Place { reply, .. } = h.call().await else { panic!("a placement first") };
    h.report(id, ReportEvent::Trade(trade(id, 7, "1")), OrderStatus::Filled, "1").await;
    assert_eq!(h.update().await, "accepted 1 as v1");
    assert_eq!(h.update().await, "filled 1 1 @ 100 (7)");
    drop(reply.send(ack(id)));
    assert_eq!(h.quiet_for(Duration::from_secs(60)).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_fill_reported_twice_and_fetched_again_counts_once() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, ack(id));
    assert_eq!(h.update().await, "accepted 1 as v1");
    for _ in 0..2 {
        h.report(id, ReportEvent::Trade(trade(id, 7, "0.4")), OrderStatus::PartiallyFilled, "0.4").await;
    }
    assert_eq!(h.update().await, "fill 1 0.4 @ 100 (7)");
    // The stream drops before the last fill; its return reconciles.
    h.user.send(AccountEvent::Down).await.unwrap();
    h.user.send(AccountEvent::Subscribed).await.unwrap();
    answer!(h, Call::Query { reply, .. } => reply, state(id, OrderStatus::Filled, "1"));
    answer!(h, Call::Trades { reply, .. } => reply, Ok(vec![trade(id, 7, "0.4"), trade(id, 8, "0.6")]));
    assert_eq!(h.update().await, "filled 1 0.6 @ 100 (8)", "trade 7 is not applied again");
    assert_eq!(h.quiet_for(Duration::from_secs(60)).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_terminal_report_that_overtook_its_fills_waits_for_them() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, ack(id));
    assert_eq!(h.update().await, "accepted 1 as v1");
    h.report(id, ReportEvent::Ended, OrderStatus::Canceled, "0.4").await;
    answer!(h, Call::Trades { reply, .. } => reply, Ok(vec![trade(id, 7, "0.4")]));
    assert_eq!(h.update().await, "fill 1 0.4 @ 100 (7)");
    assert_eq!(h.update().await, "canceled 1", "the cancel after the fill it counts");
}

#[tokio::test(start_paused = true)]
async fn a_cancel_asked_before_the_ack_goes_out_once_the_venue_has_the_order() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    let Call::Place { reply, .. } = h.call().await else { panic!("a placement first") };
    h.cancel(id);
    assert_eq!(h.quiet_for(Duration::from_secs(1)).await, Ok(()), "no cancel of an order the venue may not have yet");
    drop(reply.send(ack(id)));
    assert_eq!(h.update().await, "accepted 1 as v1");
    answer!(h, Call::Cancel { id: c, reply } if c == id => reply, state(id, OrderStatus::Canceled, "0"));
    assert_eq!(h.update().await, "canceled 1");
}

#[tokio::test(start_paused = true)]
async fn a_cancel_that_lost_the_race_to_a_fill_settles_as_filled() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, ack(id));
    assert_eq!(h.update().await, "accepted 1 as v1");
    h.cancel(id);
    answer!(h, Call::Cancel { reply, .. } => reply, Err(unknown_order()));
    answer!(h, Call::Query { reply, .. } => reply, state(id, OrderStatus::Filled, "1"));
    answer!(h, Call::Trades { reply, .. } => reply, Ok(vec![trade(id, 9, "1")]));
    assert_eq!(h.update().await, "filled 1 1 @ 100 (9)");
    assert_eq!(h.quiet_for(Duration::from_secs(60)).await, Ok(()), "never reported cancelled");
}

#[tokio::test(start_paused = true)]
async fn a_failed_cancel_is_sent_again_later_until_the_venue_confirms() {
    let mut h = Harness::start(false).await;
    let id = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, ack(id));
    assert_eq!(h.update().await, "accepted 1 as v1");
    h.cancel(id);
    let (mut gaps, mut last) = (Vec::new(), Instant::now());
    let failures = [
        VenueError::unknown("bad gateway").answered(502, None),
        VenueError::new(Outcome::Rejected, ErrorKind::RateLimited, "busy").answered(429, None),
        VenueError::new(Outcome::Rejected, ErrorKind::ClockSkew, "timestamp outside the window"),
    ];
    for failure in failures {
        let Call::Cancel { reply, .. } = h.call().await else { panic!("the cancel (again)") };
        gaps.push(last.elapsed().as_millis());
        last = Instant::now();
        drop(reply.send(Err(failure)));
    }
    answer!(h, Call::Cancel { reply, .. } => reply, state(id, OrderStatus::Canceled, "0"));
    assert_eq!(h.update().await, "canceled 1");
    assert_eq!(gaps[0], 0, "the first cancel at once");
    assert!(gaps[1] > 0 && gaps.windows(2).skip(1).all(|w| w[1] > w[0]), "each retry waits longer: {gaps:?} ms");
}

#[tokio::test(start_paused = true)]
async fn a_refused_order_is_rejected_with_the_venues_code_and_a_budget_refusal_is_denied() {
    let mut h = Harness::start(false).await;
    let refused = h.place(1);
    let balance = VenueError::new(Outcome::Rejected, ErrorKind::Other, "balance").answered(400, Some("-2010".into()));
    answer!(h, Call::Place { id, reply } if id == refused => reply, Err(balance));
    assert_eq!(h.update().await, "rejected 1 -2010");
    h.place(2);
    answer!(h, Call::Place { reply, .. } => reply, Err(VenueError::budget("rate limit: no room in time")));
    assert_eq!(h.update().await, "denied 2 rate_limited");
}

#[tokio::test(start_paused = true)]
async fn an_order_that_breaks_the_symbols_filters_never_reaches_the_venue() {
    let mut h = Harness::start(false).await;
    let mut bad = order();
    bad.qty = tradewind_strategies::sdk::Qty::new(tradewind_strategies::sdk::testing::d("0.0005"));
    h.handle.submit(ExecRequest::Place { id: oid(1), order: bad, origin: None }).unwrap();
    assert_eq!(h.update().await, "denied 1 filter");
    assert_eq!(h.quiet_for(Duration::from_secs(5)).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn an_order_clear_to_go_leaves_from_the_callers_own_call() {
    let mut h = Harness::start(true).await;
    let id = h.place(1);
    assert_eq!(h.handle.sent_directly(), 1);
    answer!(h, Call::Place { id: p, reply } if p == id => reply, ack(id));
    assert_eq!(h.update().await, "accepted 1 as v1");
}

#[tokio::test(start_paused = true)]
async fn a_replace_refused_because_its_order_filled_is_passed_on_after_that_fill() {
    let mut h = Harness::start(false).await;
    let old = h.place(1);
    answer!(h, Call::Place { reply, .. } => reply, ack(old));
    assert_eq!(h.update().await, "accepted 1 as v1");
    let new = oid(2);
    h.handle.submit(ExecRequest::Replace { cancel: old, id: new, order: order(), origin: None }).unwrap();
    let gone = VenueError::new(Outcome::Rejected, ErrorKind::ReplacedOrderGone, "cancel failed");
    answer!(h, Call::Replace { reply, .. } => reply, Err(gone));
    answer!(h, Call::Query { id, reply } if id == old => reply, state(old, OrderStatus::Filled, "1"));
    answer!(h, Call::Trades { reply, .. } => reply, Ok(vec![trade(old, 3, "1")]));
    assert_eq!(h.update().await, "filled 1 1 @ 100 (3)");
    assert_eq!(h.update().await, format!("rejected 2 {}", super::record::REPLACED_ORDER_GONE));
}

/// An accepted resting order (`seq`), as the tests of amends start.
async fn accepted(h: &mut fake::Harness, seq: u64) -> tradewind_strategies::sdk::ClientOrderId {
    let id = h.place(seq);
    answer!(h, Call::Place { reply, .. } => reply, ack(id));
    assert_eq!(h.update().await, format!("accepted {seq} as v{seq}"));
    id
}

#[tokio::test(start_paused = true)]
async fn an_amend_the_venue_applies_is_reported_once_and_one_it_refuses_leaves_the_order_as_it_was() {
    let mut h = Harness::start(false).await;
    let id = accepted(&mut h, 1).await;
    h.amend(id, "2", "99");
    answer!(h, Call::Amend { id: a, order, reply } if a == id && order.qty.get() == testing::d("2") => reply, Ok(()));
    assert_eq!(h.update().await, "amended 1 to 2 @ 99");

    h.amend(id, "3", "99");
    let balance = VenueError::new(Outcome::Rejected, ErrorKind::Other, "balance").answered(200, Some("170131".into()));
    answer!(h, Call::Amend { reply, .. } => reply, Err(balance));
    assert_eq!(h.update().await, "amend refused 1 170131");
    // The order goes on as it was: its fills and its end arrive as for any order.
    h.report(id, ReportEvent::Trade(trade(id, 4, "2")), OrderStatus::Filled, "2").await;
    assert_eq!(h.update().await, "filled 1 2 @ 100 (4)");
}

#[tokio::test(start_paused = true)]
async fn an_amend_of_an_order_the_venue_no_longer_has_is_refused_and_the_order_asked_for() {
    let mut h = Harness::start(false).await;
    let id = accepted(&mut h, 1).await;
    h.amend(id, "0.5", "100");
    answer!(h, Call::Amend { reply, .. } => reply, Err(unknown_order()));
    assert!(h.update().await.starts_with("amend refused 1"), "refused first");
    // It filled meanwhile: the query finds that out.
    answer!(h, Call::Query { id: q, reply } if q == id => reply, state(id, OrderStatus::Filled, "1"));
    answer!(h, Call::Trades { reply, .. } => reply, Ok(vec![trade(id, 9, "1")]));
    assert_eq!(h.update().await, "filled 1 1 @ 100 (9)");
}

#[tokio::test(start_paused = true)]
async fn an_amend_with_an_unknown_outcome_is_settled_by_the_terms_the_venue_shows() {
    let mut h = Harness::start(false).await;
    let id = accepted(&mut h, 1).await;
    h.amend(id, "2", "99");
    answer!(h, Call::Amend { reply, .. } => reply, Err(VenueError::unknown("timed out")));
    let mut applied = state(id, OrderStatus::New, "0").unwrap();
    (applied.qty, applied.price) = (testing::d("2"), testing::d("99"));
    answer!(h, Call::Query { id: q, reply } if q == id => reply, Ok(applied));
    assert_eq!(h.update().await, "amended 1 to 2 @ 99");

    h.amend(id, "3", "98");
    drop(h.call().await); // no answer: unknown
    let mut old = state(id, OrderStatus::New, "0").unwrap();
    (old.qty, old.price) = (testing::d("2"), testing::d("99"));
    answer!(h, Call::Query { reply, .. } => reply, Ok(old));
    assert_eq!(h.update().await, "amend refused 1 amend_not_applied");
    assert_eq!(h.quiet_for(Duration::from_secs(30)).await, Ok(()), "never sent again");
}

#[tokio::test(start_paused = true)]
async fn amends_the_order_manager_can_refuse_never_reach_the_venue() {
    let mut h = Harness::start(false).await;
    // Not acknowledged yet.
    let id = h.place(1);
    let Call::Place { reply, .. } = h.call().await else { panic!("a placement first") };
    h.amend(id, "2", "99");
    assert_eq!(h.update().await, "amend refused 1 amend_not_open");
    drop(reply.send(ack(id)));
    assert_eq!(h.update().await, "accepted 1 as v1");
    // Off the symbol's filters (tick 0.01).
    h.amend(id, "2", "99.001");
    assert_eq!(h.update().await, "amend refused 1 filter");
    // One at a time.
    h.amend(id, "2", "99");
    let Call::Amend { reply, .. } = h.call().await else { panic!("the amend") };
    h.amend(id, "3", "99");
    assert_eq!(h.update().await, "amend refused 1 amend_in_flight");
    drop(reply.send(Ok(())));
    assert_eq!(h.update().await, "amended 1 to 2 @ 99");
    // Unknown to the manager.
    h.amend(fake::oid(7), "1", "100");
    assert_eq!(h.update().await, "amend refused 7 amend_not_open");
    assert_eq!(h.quiet_for(Duration::from_secs(5)).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_replaced_order_that_filled_just_before_its_cancel_keeps_that_fill() {
    use crate::execution::venue::{Ack, Closed};
    let mut h = Harness::start(false).await;
    let old = accepted(&mut h, 1).await;
    let new = fake::oid(2);
    h.handle.submit(ExecRequest::Replace { cancel: old, id: new, order: fake::order(), origin: None }).unwrap();
    // The venue cancelled it with 0.4 filled, a fill its reports have not brought yet.
    let closed = Closed { status: OrderStatus::Canceled, executed_qty: testing::d("0.4") };
    answer!(h, Call::Replace { reply, .. } => reply, Ok(Ack { replaced: Some(closed), ..ack(new).unwrap() }));
    answer!(h, Call::Trades { reply, .. } => reply, Ok(vec![trade(old, 5, "0.4")]));
    let updates = [h.update().await, h.update().await, h.update().await];
    assert!(updates.contains(&"fill 1 0.4 @ 100 (5)".to_owned()), "{updates:?}");
    let (fill, cancelled) = (
        updates.iter().position(|u| u.starts_with("fill 1")).unwrap(),
        updates.iter().position(|u| u == "canceled 1").expect("the old order ends"),
    );
    assert!(fill < cancelled, "the fill before the end: {updates:?}");
    assert!(updates.contains(&"accepted 2 as v2".to_owned()), "{updates:?}");

    // Without the venue saying, the replaced order is asked for.
    let newer = fake::oid(3);
    h.handle.submit(ExecRequest::Replace { cancel: new, id: newer, order: fake::order(), origin: None }).unwrap();
    answer!(h, Call::Replace { reply, .. } => reply, ack(newer));
    answer!(h, Call::Query { id, reply } if id == new => reply, state(new, OrderStatus::Canceled, "0"));
    let updates = [h.update().await, h.update().await];
    assert!(
        updates.contains(&"canceled 2".to_owned()) && updates.contains(&"accepted 3 as v3".to_owned()),
        "{updates:?}"
    );
}
