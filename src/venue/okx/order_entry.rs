//! OKX's side of the venue contract ([`OrderEntry`]) over the v5 REST
//! client: spot orders in the cash account (`tdMode: cash`) by client order
//! id (`clOrdId`: OKX takes 1–32 letters and digits, which every id this
//! daemon makes is), the account's open orders and one order's fills page
//! by page, the trading account's balances.
//!
//! A cancel's answer says the venue took the request; the order is then
//! asked for (its state is the contract's "state after the cancel"). A
//! replace is a cancel, then the new order once the old one is closed; an
//! amend is OKX's `amend-order` (new total size and price, same ids). A
//! market order is sent with its size in the base currency
//! (`tgtCcy: base_ccy`; OKX's default for a market buy is the quote).

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, Symbol, VenueOrderId};

use super::error::{ErrorKind, Outcome, VenueError};
use super::limits::Endpoint;
use super::rest::{Call, RestClient, Signed};
use super::types::{Account, Fill, OrderRow, account_state, ord_type, side_word};
use crate::execution::report::VenueTrade;
use crate::execution::venue::{AccountState, Ack, OrderEntry, OrderState, cancel_then_place};

const ORDER: &str = "/api/v5/trade/order";
const CANCEL: &str = "/api/v5/trade/cancel-order";
const AMEND: &str = "/api/v5/trade/amend-order";
const PENDING: &str = "/api/v5/trade/orders-pending";
const FILLS: &str = "/api/v5/trade/fills";
const BALANCE: &str = "/api/v5/account/balance";

/// Pages read at most from one list (100 rows each).
const MAX_PAGES: usize = 20;

/// An order operation's answer (`data[0]`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderAck {
    pub ord_id: VenueOrderId,
}

/// `trade/order`'s body for `order` as `id`.
pub fn order_body(id: &ClientOrderId, order: &NewOrder) -> Value {
    let mut body = json!({
        "instId": order.symbol.as_str(),
        "tdMode": "cash",
        "clOrdId": id.as_str(),
        "side": side_word(order.side),
        "ordType": ord_type(&order.kind),
        "sz": order.qty.get().normalize().to_string(),
    });
    match order.kind.price() {
        Some(price) => body["px"] = price.get().normalize().to_string().into(),
        // The size in the base currency, as every order's.
        None => body["tgtCcy"] = "base_ccy".into(),
    }
    body
}

/// `trade/amend-order`'s body: `order`'s total size and limit price for order `id`.
pub fn amend_body(id: &ClientOrderId, order: &NewOrder) -> Value {
    let mut body = json!({
        "instId": order.symbol.as_str(),
        "clOrdId": id.as_str(),
        "newSz": order.qty.get().normalize().to_string(),
    });
    if let Some(price) = order.kind.price() {
        body["newPx"] = price.get().normalize().to_string().into();
    }
    body
}

/// A query string of `pairs` (values are OKX's instrument names, ids and cursors: no escaping needed).
fn query(pairs: &[(&str, &str)]) -> String {
    pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The one row of an order operation's answer.
pub(super) fn single<T>(rows: Vec<T>, what: &str) -> Result<T, VenueError> {
    rows.into_iter().next().ok_or_else(|| VenueError::unknown(format!("{what}: an answer without its order")))
}

impl RestClient {
    fn order_call<'a>(&self, id: &'a ClientOrderId, order: &NewOrder, origin: Option<std::time::Instant>) -> Call<'a> {
        Call { order: Some(id), origin, ..Call::post(ORDER, Endpoint::Place, &order_body(id, order)) }
    }

    /// Reads a list page by page, each page after the last row's `cursor`.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &'static str,
        endpoint: Endpoint,
        pairs: &[(&str, &str)],
        cursor: impl Fn(&T) -> String,
    ) -> Result<Vec<T>, VenueError> {
        let mut rows: Vec<T> = Vec::new();
        let mut after = String::new();
        for _ in 0..MAX_PAGES {
            let mut all = pairs.to_vec();
            all.push(("after", &after));
            let page: Vec<T> = self.call(Call::get(path, endpoint, query(&all), true)).await?;
            let full = page.len() >= 100;
            let next = page.last().map(&cursor);
            rows.extend(page);
            match next {
                Some(next) if full => after = next,
                _ => return Ok(rows),
            }
        }
        tracing::warn!(path, pages = MAX_PAGES, "list longer than the pages read; the rest is not seen");
        Ok(rows)
    }

    /// An order by client id (51603 when the venue has none).
    pub async fn order(&self, symbol: Symbol, id: &ClientOrderId) -> Result<OrderState, VenueError> {
        let pairs = [("instId", symbol.as_str()), ("clOrdId", id.as_str())];
        let rows: Vec<OrderRow> = self.call(Call::get(ORDER, Endpoint::Order, query(&pairs), true)).await?;
        match rows.iter().find(|o| o.cl_ord_id == id.as_str()) {
            Some(row) => Ok(row.state()),
            None => {
                Err(VenueError::new(Outcome::Rejected, ErrorKind::UnknownOrder, format!("no order {id} on the venue")))
            }
        }
    }
}

impl OrderEntry for RestClient {
    type Prepared = Signed;
    const AMENDS: bool = true;

    async fn place(
        &self,
        id: ClientOrderId,
        order: NewOrder,
        deadline: Option<Instant>,
        origin: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        let call = Call { deadline, ..self.order_call(&id, &order, origin) };
        let ack = single::<OrderAck>(self.call(call).await?, "order")?;
        Ok(Ack::placed(ack.ord_id))
    }

    async fn cancel(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        let body = json!({"instId": symbol.as_str(), "clOrdId": id.as_str()});
        let _: Vec<OrderAck> = self.call(Call::post(CANCEL, Endpoint::Cancel, &body)).await?;
        self.order(symbol, &id).await
    }

    async fn replace(
        &self,
        cancel: ClientOrderId,
        id: ClientOrderId,
        order: NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Result<Ack, VenueError> {
        let place = async {
            let ack = single::<OrderAck>(self.call(self.order_call(&id, &order, origin)).await?, "order")?;
            Ok(Ack::placed(ack.ord_id))
        };
        cancel_then_place(self, order.symbol, cancel, place).await
    }

    async fn amend(&self, id: ClientOrderId, order: NewOrder) -> Result<(), VenueError> {
        let _: Vec<OrderAck> = self.call(Call::post(AMEND, Endpoint::Amend, &amend_body(&id, &order))).await?;
        Ok(())
    }

    async fn query(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.order(symbol, &id).await
    }

    async fn order_trades(&self, symbol: Symbol, order: VenueOrderId) -> Result<Vec<VenueTrade>, VenueError> {
        let pairs = [("instType", "SPOT"), ("instId", symbol.as_str()), ("ordId", order.as_str()), ("limit", "100")];
        let rows: Vec<Fill> = self.pages(FILLS, Endpoint::Fills, &pairs, |f: &Fill| f.bill_id.clone()).await?;
        Ok(rows.iter().filter(|f| f.ord_id == order).map(Fill::trade).collect())
    }

    async fn open_orders(&self) -> Result<Vec<OrderState>, VenueError> {
        let pairs = [("instType", "SPOT"), ("limit", "100")];
        let rows: Vec<OrderRow> =
            self.pages(PENDING, Endpoint::OpenOrders, &pairs, |o: &OrderRow| o.ord_id.to_string()).await?;
        Ok(rows.iter().map(OrderRow::state).collect())
    }

    async fn read_account(&self) -> Result<AccountState, VenueError> {
        let accounts: Vec<Account> = self.call(Call::get(BALANCE, Endpoint::Balance, String::new(), true)).await?;
        Ok(account_state(&accounts))
    }

    fn venue_now_ms(&self) -> i64 {
        self.http().server_now_ms()
    }

    fn is_queued(&self, id: &ClientOrderId) -> bool {
        self.http().is_queued(id)
    }

    fn prepare_place_now(
        &self,
        id: ClientOrderId,
        order: &NewOrder,
        origin: Option<std::time::Instant>,
    ) -> Option<Result<Signed, VenueError>> {
        self.prepare_now(&self.order_call(&id, order, origin))
    }

    async fn complete(&self, prepared: Signed) -> Result<Ack, VenueError> {
        let (rows, _): (Vec<OrderAck>, _) = self.send(prepared).await?;
        Ok(Ack::placed(single(rows, "order")?.ord_id))
    }
}

#[cfg(test)]
mod tests {
    use tradewind_strategies::sdk::testing::{d, symbol, venue};
    use tradewind_strategies::sdk::{OrderKind, Price, Qty, Side, TimeInForce};

    use super::*;

    fn id() -> ClientOrderId {
        ClientOrderId::new("twabcde1").unwrap()
    }

    fn new_order(kind: OrderKind) -> NewOrder {
        NewOrder { venue: venue("okx"), symbol: symbol("BTC-USDT"), side: Side::Buy, qty: Qty::new(d("0.0100")), kind }
    }

    #[test]
    fn order_bodies_say_cash_the_order_type_and_the_size_in_base() {
        let limit =
            order_body(&id(), &new_order(OrderKind::Limit { price: Price::new(d("42000.50")), tif: TimeInForce::Ioc }));
        assert_eq!(
            limit,
            json!({"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "twabcde1", "side": "buy", "ordType": "ioc", "sz": "0.01", "px": "42000.5"})
        );
        let market = order_body(&id(), &new_order(OrderKind::Market));
        assert_eq!(
            (market["ordType"].as_str(), market["tgtCcy"].as_str(), market.get("px")),
            (Some("market"), Some("base_ccy"), None)
        );
        let post = order_body(&id(), &new_order(OrderKind::PostOnly { price: Price::new(d("1")) }));
        assert_eq!(post["ordType"], "post_only");
        let amend =
            amend_body(&id(), &new_order(OrderKind::Limit { price: Price::new(d("41000")), tif: TimeInForce::Gtc }));
        assert_eq!(amend, json!({"instId": "BTC-USDT", "clOrdId": "twabcde1", "newSz": "0.01", "newPx": "41000"}));
    }

    /// A stub of the order endpoints (signatures are the REST client's tests): order `live1`
    /// rests, `gone1` does not exist; a cancel closes `live1`; an amend of `gone1` is refused.
    async fn stub() -> RestClient {
        use axum::Router;
        use axum::extract::RawQuery;
        use axum::routing::{get, post};
        let envelope = |code: &str, data: Value| json!({"code": code, "msg": "", "data": data}).to_string();
        let cancelled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = cancelled.clone();
        let app = Router::new()
            .route(
                ORDER,
                get(move |q: RawQuery| {
                    let state = if seen.load(std::sync::atomic::Ordering::Relaxed) { "canceled" } else { "live" };
                    let q = q.0.unwrap_or_default();
                    async move {
                        if q != "instId=BTC-USDT&clOrdId=live1" {
                            return envelope("51603", json!([]));
                        }
                        envelope("0", json!([{"instId": "BTC-USDT", "ordId": "7", "clOrdId": "live1", "px": "30000", "sz": "0.01",
                            "side": "buy", "ordType": "limit", "state": state, "accFillSz": "0", "cTime": "1"}]))
                    }
                }),
            )
            .route(
                CANCEL,
                post(move || {
                    cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                    async move { envelope("0", json!([{"ordId": "7", "clOrdId": "live1", "sCode": "0", "sMsg": ""}])) }
                }),
            )
            .route(
                AMEND,
                post(move |body: String| async move {
                    if body.contains("gone1") {
                        return envelope("1", json!([{"ordId": "", "clOrdId": "gone1", "sCode": "51503", "sMsg": "Order modification failed as the order does not exist."}]));
                    }
                    envelope("0", json!([{"ordId": "7", "clOrdId": "live1", "sCode": "0", "sMsg": ""}]))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let key = super::super::sign::OkxKey {
            api_key: crate::secret::Secret::new("k"),
            signer: crate::venue::sign::Signer::hmac(&crate::secret::Secret::new("s")).unwrap(),
            passphrase: crate::secret::Secret::new("p"),
        };
        let limiter =
            std::sync::Arc::new(crate::execution::rate_limit::RateLimiter::new(super::super::limits::budgets()));
        RestClient::new(&url, Some(key), false, std::time::Duration::from_secs(5), limiter).unwrap()
    }

    #[tokio::test]
    async fn an_order_is_asked_for_by_client_id_amended_and_cancelled_then_asked_for_again() {
        let rest = stub().await;
        let btc = symbol("BTC-USDT");
        let live = ClientOrderId::new("live1").unwrap();
        let state = rest.query(btc, live).await.unwrap();
        assert_eq!((state.venue_order_id.as_str(), state.qty), ("7", d("0.01")));
        let gone = ClientOrderId::new("gone1").unwrap();
        assert_eq!(rest.query(btc, gone).await.unwrap_err().kind, ErrorKind::UnknownOrder);

        let to = new_order(OrderKind::Limit { price: Price::new(d("29000")), tif: TimeInForce::Gtc });
        rest.amend(live, to).await.unwrap();
        let refused = rest.amend(gone, to).await.unwrap_err();
        assert_eq!((refused.kind, refused.reason_code()), (ErrorKind::UnknownOrder, "51503".to_owned()));

        let after = OrderEntry::cancel(&rest, btc, live).await.unwrap();
        assert_eq!(after.status, crate::execution::report::OrderStatus::Canceled, "the state after the cancel");
    }

    #[test]
    fn queries_leave_out_empty_values() {
        assert_eq!(query(&[("instType", "SPOT"), ("after", ""), ("limit", "100")]), "instType=SPOT&limit=100");
    }
}
