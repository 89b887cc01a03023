//! The OKX connector's REST client and order entry against the simulator's
//! OKX dialect over loopback: the same code that trades on OKX, over the
//! same matching engine and ledger the other dialects trade on; and the
//! dialect's checks from the outside (key, passphrase, signature, time).

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use tradewind::execution::error::{ErrorKind, Outcome};
use tradewind::execution::rate_limit::RateLimiter;
use tradewind::execution::report::OrderStatus;
use tradewind::execution::venue::OrderEntry;
use tradewind::secret::Secret;
use tradewind::venue::okx::limits;
use tradewind::venue::okx::rest::RestClient;
use tradewind::venue::okx::sign::OkxKey;
use tradewind::venue::sign::Signer;
use tradewind::venue::sim::SimConfig;
use tradewind::venue::sim::SimHandle;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, OrderKind, Price, Qty, Side, Symbol, TimeInForce, VenueId};

use crate::sim_server::{KEY, start};

const PASSPHRASE: &str = "tradewind-sim";

fn client(sim: &SimHandle, secret: &str, passphrase: &str) -> RestClient {
    let key = OkxKey {
        api_key: Secret::new(KEY),
        signer: Signer::hmac(&Secret::new(secret)).unwrap(),
        passphrase: Secret::new(passphrase),
    };
    let limiter = Arc::new(RateLimiter::new(limits::budgets()));
    RestClient::new(&sim.rest_url(), Some(key), false, Duration::from_secs(5), limiter).unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTC-USDT").unwrap()
}

fn order(side: Side, qty: &str, kind: OrderKind) -> NewOrder {
    NewOrder { venue: VenueId::new("okx").unwrap(), symbol: btc(), side, qty: Qty::new(d(qty)), kind }
}

fn limit(qty: &str, price: &str) -> NewOrder {
    order(Side::Buy, qty, OrderKind::Limit { price: Price::new(d(price)), tif: TimeInForce::Gtc })
}

fn id(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_okx_connector_trades_against_the_okx_dialect() {
    let mut config = SimConfig::default();
    config.market.events_per_sec = 20;
    let sim = start(config).await;
    let rest = client(&sim, "wire-secret", PASSPHRASE);
    rest.sync_clock().await.unwrap();
    let instruments = rest.instruments().await.unwrap();
    let spec = instruments.specs.iter().find(|s| s.symbol == btc()).expect("BTC-USDT listed");
    assert_eq!((spec.base.as_str(), spec.quote.as_str(), spec.tick_size), ("BTC", "USDT", d("0.01")));
    let key = rest.key_info().await.unwrap();
    assert!(key.can_trade() && !key.can_withdraw());

    // A resting limit order: acknowledged, asked for, amended in place, listed, cancelled.
    let ack = rest.place(id("okxlim1"), limit("0.01", "30000"), None, None).await.unwrap();
    let state = rest.query(btc(), id("okxlim1")).await.unwrap();
    assert_eq!((state.venue_order_id, state.status, state.qty), (ack.venue_order_id, OrderStatus::New, d("0.01")));
    let before = rest.read_account().await.unwrap();
    let usdt = |a: &tradewind::execution::venue::AccountState| a.balances.iter().find(|(c, _)| c == "USDT").unwrap().1;
    assert_eq!(usdt(&before).locked, d("300"));
    rest.amend(id("okxlim1"), limit("0.02", "29000")).await.unwrap();
    let amended = rest.query(btc(), id("okxlim1")).await.unwrap();
    assert_eq!((amended.venue_order_id, amended.qty, amended.price), (ack.venue_order_id, d("0.02"), d("29000")));
    assert_eq!(usdt(&rest.read_account().await.unwrap()).locked, d("580"));
    let open = rest.open_orders().await.unwrap();
    assert_eq!(open.iter().map(|o| o.client_order_id.as_str()).collect::<Vec<_>>(), ["okxlim1"]);
    let cancelled = OrderEntry::cancel(&rest, btc(), id("okxlim1")).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    assert!(usdt(&rest.read_account().await.unwrap()).locked.is_zero());

    // A market buy in base currency: filled, its fills read back with the fee in BTC (charged: positive).
    let market = rest.place(id("okxmkt1"), order(Side::Buy, "0.01", OrderKind::Market), None, None).await.unwrap();
    let filled = rest.query(btc(), id("okxmkt1")).await.unwrap();
    assert_eq!((filled.status, filled.executed_qty), (OrderStatus::Filled, d("0.01")));
    let trades = rest.order_trades(btc(), market.venue_order_id).await.unwrap();
    assert_eq!(trades.iter().map(|t| t.qty).sum::<Decimal>(), d("0.01"));
    assert!(trades.iter().all(|t| t.fee > Decimal::ZERO && t.fee_asset.map(|a| a.to_string()) == Some("BTC".into())));

    // Refusals, with OKX's codes.
    let broke = rest.place(id("okxbig1"), limit("50", "30000"), None, None).await.unwrap_err();
    assert_eq!((broke.outcome, broke.reason_code()), (Outcome::Rejected, "51008".to_owned()));
    let gone = rest.query(btc(), id("nosuch1")).await.unwrap_err();
    assert_eq!(gone.kind, ErrorKind::UnknownOrder);
    let amend_gone = rest.amend(id("okxlim1"), limit("0.03", "29000")).await.unwrap_err();
    assert_eq!((amend_gone.kind, amend_gone.reason_code()), (ErrorKind::UnknownOrder, "51503".to_owned()));
    // Replace: cancel, then the new order once the old one is closed; the ack says how the old one ended.
    rest.place(id("okxrep1"), limit("0.01", "31000"), None, None).await.unwrap();
    let replaced = rest.replace(id("okxrep1"), id("okxrep2"), limit("0.01", "31500"), None).await.unwrap();
    assert_eq!(replaced.replaced.map(|c| c.status), Some(OrderStatus::Canceled));
    assert_eq!(rest.query(btc(), id("okxrep2")).await.unwrap().price, d("31500"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_okx_dialect_checks_the_key_passphrase_and_signature() {
    let mut config = SimConfig::default();
    config.market.events_per_sec = 0;
    let sim = start(config).await;
    let code = |e: tradewind::execution::error::VenueError| e.code.unwrap_or_default();
    let wrong_passphrase = client(&sim, "wire-secret", "guess");
    assert_eq!(code(wrong_passphrase.read_account().await.unwrap_err()), "50105");
    let wrong_secret = client(&sim, "not-the-secret", PASSPHRASE);
    assert_eq!(code(wrong_secret.read_account().await.unwrap_err()), "50113");
    // The clock 40 s off: expired (and the client resyncs).
    let late = client(&sim, "wire-secret", PASSPHRASE);
    let now = tradewind::clock::now_ms();
    late.http().set_clock(now, now - 40_000, now);
    let e = late.read_account().await.unwrap_err();
    assert_eq!((e.kind, code(e)), (ErrorKind::ClockSkew, "50102".to_owned()));
    assert!(late.read_account().await.is_ok(), "after the resync");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_orders_go_over_the_private_websocket_and_over_rest_while_it_is_down() {
    use tokio_util::sync::CancellationToken;
    use tradewind::venue::okx::ws_orders::{OkxOrders, OkxRequests};
    use tradewind::venue::ws_requests::WsRequests;

    let mut config = SimConfig::default();
    config.market.events_per_sec = 20;
    let sim = start(config).await;
    let rest = Arc::new(client(&sim, "wire-secret", PASSPHRASE));
    rest.sync_clock().await.unwrap();
    let stop = CancellationToken::new();
    let dialect = OkxRequests { url: format!("{}/ws/v5/private", sim.stream_url()), rest: rest.clone() };
    let (ws, task) = WsRequests::start(VenueId::new("okx").unwrap(), dialect, Duration::from_secs(45), stop.clone());
    ws.wait_up().await;
    let orders = OkxOrders { rest: rest.clone(), ws: Some(ws.clone()) };
    let rest_places = || sim.requests("POST /api/v5/trade/order");

    // Placed, amended and cancelled over the WebSocket: no REST order request.
    let ack = orders.place(id("okxws1"), limit("0.01", "30000"), None, None).await.unwrap();
    let resting =
        sim.with_exchange(|ex| ex.order(2, None, Some("okxws1")).map(|o| (o.id.to_string(), o.orig_qty)).unwrap());
    assert_eq!(resting, (ack.venue_order_id.to_string(), d("0.01")));
    orders.amend(id("okxws1"), limit("0.02", "30000")).await.unwrap();
    assert_eq!(sim.with_exchange(|ex| ex.order(2, None, Some("okxws1")).unwrap().orig_qty), d("0.02"));
    let gone = orders.cancel(btc(), id("okxws1")).await.unwrap();
    assert_eq!(gone.status, OrderStatus::Canceled);
    assert_eq!(rest_places(), 0);
    assert_eq!(sim.requests("POST /api/v5/trade/cancel-order") + sim.requests("POST /api/v5/trade/amend-order"), 0);

    // Refused over the WebSocket with the order's own code, proof that it was not placed.
    let refused = orders.place(id("okxws2"), limit("50", "30000"), None, None).await.unwrap_err();
    assert_eq!((refused.outcome, refused.code.as_deref()), (Outcome::Rejected, Some("51008")), "{refused}");
    assert_eq!(rest_places(), 0);

    // The connection down: the next order goes over REST.
    stop.cancel();
    task.await.unwrap();
    assert!(!ws.is_up());
    orders.place(id("okxws3"), limit("0.01", "30000"), None, None).await.unwrap();
    assert_eq!(rest_places(), 1);
    assert!(sim.with_exchange(|ex| ex.order(2, None, Some("okxws3")).is_ok()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_okx_connection_within_a_second_is_refused() {
    let sim = start(SimConfig::default()).await;
    let url = format!("{}/ws/v5/public", sim.stream_url());
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(tokio_tungstenite::connect_async(url.as_str()).await.expect("within the limit").0);
    }
    let refused = tokio_tungstenite::connect_async(url.as_str()).await.expect_err("the fourth in a second");
    assert!(refused.to_string().contains("429"), "{refused}");
    assert_eq!(sim.limited_responses(), 1);
}
