//! Order entry and account reads shared by the REST API and the WebSocket
//! API: a new order's parameters, placing it, a cancel and its answer, the account.

use serde_json::{Value, json};

use super::Shared;
use super::params::Params;
use super::wire::{self, RespType};
use crate::venue::sim::exchange::{ApiError, LastFill, NewOrder, OrdType, Side};
use crate::venue::sim::ledger::AccountId;
use crate::venue::sim::matching::Tif;

/// Reads a new order's parameters (with an optional key prefix-free set) into the exchange's form.
pub(super) fn parse_new_order(params: &Params) -> Result<(NewOrder, Option<RespType>), ApiError> {
    let symbol = params.required("symbol")?.to_owned();
    let side = params.one_of("side", &[("BUY", Side::Buy), ("SELL", Side::Sell)])?.ok_or_else(|| missing("side"))?;
    let kind = params
        .one_of(
            "type",
            &[("LIMIT", OrdType::Limit), ("LIMIT_MAKER", OrdType::LimitMaker), ("MARKET", OrdType::Market)],
        )?
        .ok_or_else(|| missing("type"))?;
    let tif = params.one_of("timeInForce", &[("GTC", Tif::Gtc), ("IOC", Tif::Ioc), ("FOK", Tif::Fok)])?;
    let tif = match (kind, tif) {
        (OrdType::Limit, None) => return Err(missing("timeInForce")),
        (_, t) => t.unwrap_or(Tif::Gtc),
    };
    let resp = params.one_of(
        "newOrderRespType",
        &[("ACK", RespType::Ack), ("RESULT", RespType::Result), ("FULL", RespType::Full)],
    )?;
    let order = NewOrder {
        symbol,
        side,
        kind,
        tif,
        qty: params.decimal("quantity")?,
        quote_qty: params.decimal("quoteOrderQty")?,
        price: params.decimal("price")?,
        client_id: params.client_id("newClientOrderId")?,
    };
    Ok((order, resp))
}

pub(super) fn missing(name: &str) -> ApiError {
    ApiError::new(-1102, format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."))
}

/// Places an order and renders its response; events are published before returning.
pub(super) fn place(
    shared: &Shared,
    account: AccountId,
    order: &NewOrder,
    resp: Option<RespType>,
    now: i64,
) -> Result<(u64, Value), ApiError> {
    let mut ex = shared.exchange();
    let id = ex.place(account, order, now);
    // Collect this order's fills from the events before they are published.
    let fills: Vec<LastFill> = match id {
        Ok(id) => ex.pending_fills(id),
        Err(_) => Vec::new(),
    };
    shared.publish(&mut ex);
    let id = id?;
    let o = ex.order(account, Some(id), None)?;
    let default = if order.kind == OrdType::LimitMaker { RespType::Ack } else { RespType::Full };
    Ok((id, wire::new_order_response(o, resp.unwrap_or(default), &fills)))
}

/// A cancel's answer: the order, under the cancel's own client id
/// (`newClientOrderId`, or one the venue makes up, as the user stream's
/// report names it), with the order's as `origClientOrderId`.
pub(super) fn cancel_body(
    ex: &crate::venue::sim::exchange::Exchange,
    account: AccountId,
    id: u64,
    now: i64,
    cancel_id: Option<String>,
) -> Value {
    let Ok(o) = ex.order(account, Some(id), None) else { return Value::Null };
    let mut v = wire::order(o);
    let map = v.as_object_mut().expect("orders render as objects");
    map.insert("origClientOrderId".into(), Value::from(o.client_id.clone()));
    map.insert("clientOrderId".into(), Value::from(cancel_id.unwrap_or_else(|| wire::cancel_id(o.id))));
    map.insert("transactTime".into(), Value::from(now));
    v
}

/// `DELETE /api/v3/order` and WebSocket `order.cancel`: cancels by `orderId`
/// or `origClientOrderId`; the answer carries the cancel's own client id.
pub(super) fn cancel(shared: &Shared, account: AccountId, params: &Params, now: i64) -> Result<Value, ApiError> {
    let mut ex = shared.exchange();
    let symbol = params.required("symbol")?;
    let cancel_id = params.client_id("newClientOrderId")?;
    let id =
        ex.cancel(account, symbol, params.u64("orderId")?, params.get("origClientOrderId"), cancel_id.clone(), now)?;
    shared.publish(&mut ex);
    Ok(cancel_body(&ex, account, id, now, cancel_id))
}

/// `GET /api/v3/account` and WebSocket `account.status`.
pub(super) fn account(shared: &Shared, account: AccountId, params: &Params, now: i64) -> Value {
    let mut ex = shared.exchange();
    let update_time = ex.read_time(now);
    let fees = &ex.config().fees;
    let omit_zero = params.get("omitZeroBalances") == Some("true");
    let balances: Vec<Value> = ex
        .ledger()
        .account(account)
        .filter(|(_, b)| !omit_zero || !(b.free + b.locked).is_zero())
        .map(|(a, b)| wire::balance(a, &b))
        .collect();
    json!({
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": wire::dec(fees.maker), "taker": wire::dec(fees.taker), "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": true, "canWithdraw": false, "canDeposit": false, "brokered": false,
        "requireSelfTradePrevention": false, "preventSor": false, "updateTime": update_time,
        "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": account,
    })
}
