//! JSON shapes of Binance Spot responses and stream payloads, built from the
//! exchange's state. Decimals are strings with 8 decimals, as Binance sends them.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::venue::sim::exchange::{
    AccountTrade, Candle, DepthDiff, Event, ExecType, LastFill, LevelDec, Order, SymbolState, tif_str,
};
use crate::venue::sim::ledger::Balance;

/// A decimal as Binance prints it: at least 8 decimals.
pub fn dec(d: Decimal) -> String {
    if d.scale() > 8 { d.normalize().to_string() } else { format!("{d:.8}") }
}

pub fn levels(levels: &[LevelDec]) -> Value {
    Value::Array(levels.iter().map(|(p, q)| json!([dec(*p), dec(*q)])).collect())
}

/// The `RESULT` fields of an order (query order, open orders, new order).
pub fn order(o: &Order) -> Value {
    json!({
        "symbol": o.symbol,
        "orderId": o.id,
        "orderListId": -1,
        "clientOrderId": o.client_id,
        "price": dec(o.price),
        "origQty": dec(o.orig_qty),
        "executedQty": dec(o.executed_qty),
        "cummulativeQuoteQty": dec(o.cum_quote),
        "status": o.status.as_str(),
        "timeInForce": tif_str(o.tif),
        "type": o.kind.as_str(),
        "side": o.side.as_str(),
        "stopPrice": dec(Decimal::ZERO),
        "icebergQty": dec(Decimal::ZERO),
        "time": o.time,
        "updateTime": o.update_time,
        "isWorking": true,
        "workingTime": o.time,
        "origQuoteOrderQty": dec(o.orig_quote_qty),
        "selfTradePreventionMode": "NONE",
    })
}

/// The response to a new order, by `newOrderRespType`.
pub fn new_order_response(o: &Order, resp_type: RespType, fills: &[LastFill]) -> Value {
    let mut v = json!({
        "symbol": o.symbol,
        "orderId": o.id,
        "orderListId": -1,
        "clientOrderId": o.client_id,
        "transactTime": o.time,
    });
    if resp_type == RespType::Ack {
        return v;
    }
    let full = order(o);
    let map = v.as_object_mut().expect("built as an object above");
    for key in [
        "price",
        "origQty",
        "executedQty",
        "origQuoteOrderQty",
        "cummulativeQuoteQty",
        "status",
        "timeInForce",
        "type",
        "side",
        "workingTime",
        "selfTradePreventionMode",
    ] {
        map.insert(key.to_owned(), full[key].clone());
    }
    if resp_type == RespType::Full {
        let fills: Vec<Value> = fills
            .iter()
            .map(|f| {
                json!({"price": dec(f.price), "qty": dec(f.qty), "commission": dec(f.commission), "commissionAsset": f.commission_asset, "tradeId": f.trade_id})
            })
            .collect();
        map.insert("fills".to_owned(), Value::Array(fills));
    }
    v
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespType {
    Ack,
    Result,
    Full,
}

pub fn my_trade(t: &AccountTrade) -> Value {
    json!({
        "symbol": t.symbol,
        "id": t.id,
        "orderId": t.order_id,
        "orderListId": -1,
        "price": dec(t.price),
        "qty": dec(t.qty),
        "quoteQty": dec(t.quote_qty),
        "commission": dec(t.commission),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "isBuyer": t.is_buyer,
        "isMaker": t.is_maker,
        "isBestMatch": true,
    })
}

pub fn balance(asset: &str, b: &Balance) -> Value {
    json!({"asset": asset, "free": dec(b.free), "locked": dec(b.locked)})
}

/// `exchangeInfo` symbol entry with its filters.
pub fn symbol_info(s: &SymbolState) -> Value {
    let c = &s.config;
    json!({
        "symbol": c.symbol,
        "status": "TRADING",
        "baseAsset": c.base,
        "baseAssetPrecision": 8,
        "quoteAsset": c.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": false,
        "ocoAllowed": false,
        "otoAllowed": false,
        "quoteOrderQtyMarketAllowed": true,
        "allowTrailingStop": false,
        "cancelReplaceAllowed": true,
        "amendAllowed": false,
        "isSpotTradingAllowed": true,
        "isMarginTradingAllowed": false,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": dec(c.tick_size), "maxPrice": dec(Decimal::from(1_000_000_000)), "tickSize": dec(c.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": dec(s.min_qty), "maxQty": dec(c.max_qty), "stepSize": dec(c.step_size)},
            {"filterType": "NOTIONAL", "minNotional": dec(c.min_notional), "applyMinToMarket": false, "maxNotional": dec(if c.max_notional.is_zero() { Decimal::from(9_000_000_000u64) } else { c.max_notional }), "applyMaxToMarket": false, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": c.max_num_orders},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    })
}

pub fn trade_payload(symbol: &str, id: u64, price: Decimal, qty: Decimal, buyer_is_maker: bool, time: i64) -> String {
    json!({"e": "trade", "E": time, "s": symbol, "t": id, "p": dec(price), "q": dec(qty), "T": time, "m": buyer_is_maker, "M": true})
        .to_string()
}

pub fn agg_trade_payload(
    symbol: &str,
    id: u64,
    price: Decimal,
    qty: Decimal,
    buyer_is_maker: bool,
    time: i64,
) -> String {
    json!({"e": "aggTrade", "E": time, "s": symbol, "a": id, "p": dec(price), "q": dec(qty), "f": id, "l": id, "T": time, "m": buyer_is_maker, "M": true})
        .to_string()
}

pub fn book_ticker_payload(s: &SymbolState) -> String {
    let (bid, bid_qty) = s.best_bid().unwrap_or_default();
    let (ask, ask_qty) = s.best_ask().unwrap_or_default();
    json!({"u": s.update_id(), "s": s.config.symbol, "b": dec(bid), "B": dec(bid_qty), "a": dec(ask), "A": dec(ask_qty)})
        .to_string()
}

pub fn depth_payload(symbol: &str, diff: &DepthDiff, time: i64) -> String {
    json!({"e": "depthUpdate", "E": time, "s": symbol, "U": diff.first_update_id, "u": diff.last_update_id, "b": levels(&diff.bids), "a": levels(&diff.asks)})
        .to_string()
}

pub fn kline_payload(symbol: &str, c: &Candle, closed: bool, time: i64) -> String {
    json!({"e": "kline", "E": time, "s": symbol, "k": {
        "t": c.open_time, "T": c.open_time + 59_999, "s": symbol, "i": "1m", "f": c.first_trade, "L": c.last_trade,
        "o": dec(c.open), "c": dec(c.close), "h": dec(c.high), "l": dec(c.low), "v": dec(c.volume), "n": c.trades,
        "x": closed, "q": dec(c.quote_volume), "V": "0.00000000", "Q": "0.00000000", "B": "0"
    }})
    .to_string()
}

/// A kline row as `/api/v3/klines` returns it.
pub fn kline_row(c: &Candle) -> Value {
    json!([
        c.open_time,
        dec(c.open),
        dec(c.high),
        dec(c.low),
        dec(c.close),
        dec(c.volume),
        c.open_time + 59_999,
        dec(c.quote_volume),
        c.trades,
        "0.00000000",
        "0.00000000",
        "0"
    ])
}

/// A user-stream event (`executionReport`, `outboundAccountPosition`), unwrapped.
/// The client id the venue gives a cancel that named none.
pub fn cancel_id(order_id: u64) -> String {
    format!("cancel-{order_id}")
}

pub fn user_event(event: &Event) -> Option<Value> {
    match event {
        Event::Execution { order: o, exec, fill, cancel_client_id, time, .. } => {
            let (client, orig) = match (exec, cancel_client_id) {
                (ExecType::Canceled, Some(c)) => (c.clone(), o.client_id.clone()),
                (ExecType::Canceled, None) => (cancel_id(o.id), o.client_id.clone()),
                _ => (o.client_id.clone(), String::new()),
            };
            let zero = Decimal::ZERO;
            let (trade_id, last_qty, last_price, commission, commission_asset, maker) = match fill {
                Some(f) => (
                    f.trade_id as i64,
                    f.qty,
                    f.price,
                    f.commission,
                    Value::from(f.commission_asset.clone()),
                    f.is_maker,
                ),
                None => (-1, zero, zero, zero, Value::Null, false),
            };
            let quote = fill.as_ref().map_or(zero, |f| f.price * f.qty);
            Some(json!({
                "e": "executionReport", "E": time, "s": o.symbol, "c": client, "S": o.side.as_str(), "o": o.kind.as_str(),
                "f": tif_str(o.tif), "q": dec(o.orig_qty), "p": dec(o.price), "P": "0.00000000", "F": "0.00000000",
                "g": -1, "C": orig, "x": exec.as_str(), "X": o.status.as_str(), "r": "NONE", "i": o.id,
                "l": dec(last_qty), "z": dec(o.executed_qty), "L": dec(last_price), "n": dec(commission), "N": commission_asset,
                "T": time, "t": trade_id, "I": time, "w": o.status.is_open(), "m": maker, "M": false, "O": o.time,
                "Z": dec(o.cum_quote), "Y": dec(quote), "Q": dec(o.orig_quote_qty), "W": o.time, "V": "NONE"
            }))
        }
        Event::Balances { balances, time, .. } => Some(json!({
            "e": "outboundAccountPosition", "E": time, "u": time,
            "B": balances.iter().map(|(a, b)| json!({"a": a, "f": dec(b.free), "l": dec(b.locked)})).collect::<Vec<_>>()
        })),
        Event::Trade { .. } | Event::BookTicker { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_like_binance() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(dec(d("0.001")), "0.00100000");
        assert_eq!(dec(d("60000")), "60000.00000000");
        assert_eq!(dec(d("0.123456789")), "0.123456789");
    }
}
