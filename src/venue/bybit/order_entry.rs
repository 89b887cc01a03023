//! Bybit's side of the venue contract ([`OrderEntry`]) over the v5 REST
//! client: spot orders by client order id (`orderLinkId`), the account's
//! open orders and fills page by page, the unified wallet.
//!
//! Bybit processes creates and cancels asynchronously: a cancel's answer
//! says the venue took the request, not where the order ended, so a cancel
//! is followed by a query of the order (its answer is the contract's "state
//! after the cancel"). A replace is a cancel, then the new order once the
//! old one is closed: Bybit's own amend keeps the order's client id, which
//! the contract's replace (a new id) does not; it serves the contract's
//! amend (`order/amend`: the new total quantity and price, same id).
//!
//! A market order is sent with its quantity in the base coin
//! (`marketUnit = baseCoin`); Bybit fills it as a limit IOC within its
//! slippage band, so it may fill partly and end with the rest cancelled.

use serde_json::{Value, json};
use tokio::time::Instant;
use tradewind_strategies::sdk::{ClientOrderId, NewOrder, OrderKind, Symbol, TimeInForce, VenueOrderId};

use super::error::{ErrorKind, Outcome, VenueError};
use super::limits::Endpoint;
use super::rest::types::{Execution, OrderAck, OrderRow, Page, Wallet, account_state, side_word};
use super::rest::{Call, RestClient, Signed};
use crate::execution::report::VenueTrade;
use crate::execution::venue::{AccountState, Ack, OrderEntry, OrderState, cancel_then_place};

const CREATE: &str = "/v5/order/create";
const CANCEL: &str = "/v5/order/cancel";
const AMEND: &str = "/v5/order/amend";
const REALTIME: &str = "/v5/order/realtime";
const HISTORY: &str = "/v5/order/history";
const EXECUTIONS: &str = "/v5/execution/list";
const WALLET: &str = "/v5/account/wallet-balance";

/// Pages read at most from one list (50 orders or 100 fills each); the
/// venue keeps at most 500 open spot orders.
const MAX_PAGES: usize = 20;

/// `order/create`'s body for `order` as `id`.
pub fn create_body(id: &ClientOrderId, order: &NewOrder) -> Value {
    let mut body = json!({
        "category": "spot",
        "symbol": order.symbol.as_str(),
        "side": side_word(order.side),
        "qty": order.qty.get().normalize().to_string(),
        "orderLinkId": id.as_str(),
    });
    let (order_type, price, tif) = match order.kind {
        OrderKind::Market => ("Market", None, None),
        OrderKind::Limit { price, tif } => {
            let tif = match tif {
                TimeInForce::Gtc => "GTC",
                TimeInForce::Ioc => "IOC",
                TimeInForce::Fok => "FOK",
            };
            ("Limit", Some(price), Some(tif))
        }
        OrderKind::PostOnly { price } => ("Limit", Some(price), Some("PostOnly")),
    };
    body["orderType"] = order_type.into();
    if let Some(price) = price {
        body["price"] = price.get().normalize().to_string().into();
    }
    match tif {
        Some(tif) => body["timeInForce"] = tif.into(),
        // The quantity in the base coin, as every order's (Bybit's default for a market buy is the quote).
        None => body["marketUnit"] = "baseCoin".into(),
    }
    body
}

/// `order/amend`'s body: `order`'s total quantity and limit price for order `id`.
pub fn amend_body(id: &ClientOrderId, order: &NewOrder) -> Value {
    let mut body = json!({
        "category": "spot",
        "symbol": order.symbol.as_str(),
        "orderLinkId": id.as_str(),
        "qty": order.qty.get().normalize().to_string(),
    });
    if let Some(price) = order.kind.price() {
        body["price"] = price.get().normalize().to_string().into();
    }
    body
}

/// A query string of `pairs` (values are ids, symbols and the venue's own cursors).
fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        // A cursor comes percent-encoded already: sent as given.
        if value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)) {
            out.push_str(value);
        } else {
            crate::venue::sign::percent_encode_into(&mut out, value);
        }
    }
    out
}

impl RestClient {
    fn create_call<'a>(&self, id: &'a ClientOrderId, order: &NewOrder, origin: Option<std::time::Instant>) -> Call<'a> {
        Call { order: Some(id), origin, ..Call::post(CREATE, Endpoint::Create, &create_body(id, order)) }
    }

    /// Reads every page of a list (at most [`MAX_PAGES`]).
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &'static str,
        endpoint: Endpoint,
        pairs: &[(&str, &str)],
    ) -> Result<Vec<T>, VenueError> {
        let mut rows = Vec::new();
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let mut all = pairs.to_vec();
            all.push(("cursor", &cursor));
            let page: Page<T> = self.call(Call::get(path, endpoint, query(&all), true)).await?;
            rows.extend(page.list);
            if page.next_page_cursor.is_empty() {
                return Ok(rows);
            }
            cursor = page.next_page_cursor;
        }
        tracing::warn!(path, pages = MAX_PAGES, "list longer than the pages read; the rest is not seen");
        Ok(rows)
    }

    /// An order by client id: the live orders first, then the history.
    pub async fn order(&self, symbol: Symbol, id: &ClientOrderId) -> Result<OrderState, VenueError> {
        let pairs = [("category", "spot"), ("symbol", symbol.as_str()), ("orderLinkId", id.as_str())];
        for (path, endpoint) in [(REALTIME, Endpoint::OpenOrders), (HISTORY, Endpoint::History)] {
            let page: Page<OrderRow> = self.call(Call::get(path, endpoint, query(&pairs), true)).await?;
            if let Some(row) = page.list.iter().find(|o| o.order_link_id == id.as_str()) {
                return Ok(row.state());
            }
        }
        Err(VenueError::new(Outcome::Rejected, ErrorKind::UnknownOrder, format!("no order {id} on the venue")))
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
        let call = Call { deadline, ..self.create_call(&id, &order, origin) };
        let ack: OrderAck = self.call(call).await?;
        Ok(Ack::placed(ack.order_id))
    }

    async fn cancel(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        let body = json!({"category": "spot", "symbol": symbol.as_str(), "orderLinkId": id.as_str()});
        let _: OrderAck = self.call(Call::post(CANCEL, Endpoint::Cancel, &body)).await?;
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
            let ack: OrderAck = self.call(self.create_call(&id, &order, origin)).await?;
            Ok(Ack::placed(ack.order_id))
        };
        cancel_then_place(self, order.symbol, cancel, place).await
    }

    async fn amend(&self, id: ClientOrderId, order: NewOrder) -> Result<(), VenueError> {
        let body = amend_body(&id, &order);
        let _: OrderAck = self.call(Call::post(AMEND, Endpoint::Amend, &body)).await?;
        Ok(())
    }

    async fn query(&self, symbol: Symbol, id: ClientOrderId) -> Result<OrderState, VenueError> {
        self.order(symbol, &id).await
    }

    async fn order_trades(&self, symbol: Symbol, order: VenueOrderId) -> Result<Vec<VenueTrade>, VenueError> {
        let pairs = [("category", "spot"), ("symbol", symbol.as_str()), ("orderId", order.as_str()), ("limit", "100")];
        let rows: Vec<Execution> = self.pages(EXECUTIONS, Endpoint::Executions, &pairs).await?;
        Ok(rows.iter().filter(|e| e.exec_type.is_empty() || e.exec_type == "Trade").map(Execution::trade).collect())
    }

    async fn open_orders(&self) -> Result<Vec<OrderState>, VenueError> {
        let pairs = [("category", "spot"), ("openOnly", "0"), ("limit", "50")];
        let rows: Vec<OrderRow> = self.pages(REALTIME, Endpoint::OpenOrders, &pairs).await?;
        Ok(rows.iter().map(OrderRow::state).collect())
    }

    async fn read_account(&self) -> Result<AccountState, VenueError> {
        let page: Page<Wallet> =
            self.call(Call::get(WALLET, Endpoint::Wallet, "accountType=UNIFIED".into(), true)).await?;
        Ok(account_state(&page.list))
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
        self.prepare_now(&self.create_call(&id, order, origin))
    }

    async fn complete(&self, prepared: Signed) -> Result<Ack, VenueError> {
        let (ack, _): (OrderAck, _) = self.send(prepared).await?;
        Ok(Ack::placed(ack.order_id))
    }
}
