//! JSON shapes of Bybit v5 spot answers and stream messages, built from the
//! exchange's state. Numbers are strings (normalised, as Bybit prints
//! them), ids are strings, times are milliseconds (strings in rows).

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::venue::sim::exchange::{
    AccountTrade, Candle, LastFill, LevelDec, OrdType, Order, Side, Status, SymbolState,
};
use crate::venue::sim::ledger::Balance;
use crate::venue::sim::matching::Tif;

pub fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

pub fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

fn levels(levels: &[LevelDec]) -> Value {
    Value::Array(levels.iter().map(|(p, q)| json!([num(*p), num(*q)])).collect())
}

/// Bybit's status words: an order ended early says whether anything filled.
pub fn status(o: &Order) -> &'static str {
    match o.status {
        Status::New => "New",
        Status::PartiallyFilled => "PartiallyFilled",
        Status::Filled => "Filled",
        Status::Canceled | Status::Expired if o.executed_qty.is_zero() => "Cancelled",
        Status::Canceled | Status::Expired => "PartiallyFilledCanceled",
    }
}

/// The `{"retCode":…}` envelope.
pub fn envelope(code: i64, message: &str, result: Value, time: i64) -> Value {
    json!({"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": time})
}

/// An order as `order/realtime`, `order/history` and the `order` topic show it.
pub fn order(o: &Order) -> Value {
    let (order_type, tif) = match (o.kind, o.tif) {
        (OrdType::Market, _) => ("Market", "IOC"),
        (OrdType::LimitMaker, _) => ("Limit", "PostOnly"),
        (OrdType::Limit, Tif::Gtc) => ("Limit", "GTC"),
        (OrdType::Limit, Tif::Ioc) => ("Limit", "IOC"),
        (OrdType::Limit, Tif::Fok) => ("Limit", "FOK"),
    };
    let leaves = if o.status.is_open() { o.orig_qty - o.executed_qty } else { Decimal::ZERO };
    let avg = if o.executed_qty.is_zero() { String::new() } else { num(o.cum_quote / o.executed_qty) };
    json!({
        "category": "spot", "orderId": o.id.to_string(), "orderLinkId": o.client_id, "blockTradeId": "",
        "symbol": o.symbol, "price": num(o.price), "qty": num(o.orig_qty), "side": side(o.side), "isLeverage": "0",
        "positionIdx": 0, "orderStatus": status(o), "cancelType": "UNKNOWN", "rejectReason": "EC_NoError",
        "avgPrice": avg, "leavesQty": num(leaves), "leavesValue": num(leaves * o.price),
        "cumExecQty": num(o.executed_qty), "cumExecValue": num(o.cum_quote), "cumExecFee": "",
        "timeInForce": tif, "orderType": order_type, "stopOrderType": "", "orderIv": "", "triggerPrice": "",
        "takeProfit": "", "stopLoss": "", "marketUnit": if o.kind == OrdType::Market { "baseCoin" } else { "" },
        "createdTime": o.time.to_string(), "updatedTime": o.update_time.to_string(), "cumFeeDetail": {},
        "smpType": "None", "smpGroup": 0, "smpOrderId": "",
    })
}

/// One fill as `execution/list` and the `execution` topic show it.
#[allow(clippy::too_many_arguments)]
fn execution(
    o: &Order,
    trade_id: u64,
    price: Decimal,
    qty: Decimal,
    fee: Decimal,
    fee_coin: &str,
    maker: bool,
    time: i64,
    leaves: Decimal,
    fee_rate: Decimal,
) -> Value {
    json!({
        "category": "spot", "symbol": o.symbol, "orderId": o.id.to_string(), "orderLinkId": o.client_id,
        "side": side(o.side), "orderPrice": num(o.price), "orderQty": num(o.orig_qty), "leavesQty": num(leaves),
        "orderType": if o.kind == OrdType::Market { "Market" } else { "Limit" }, "stopOrderType": "",
        "execFee": num(fee), "feeCurrency": fee_coin, "execId": trade_id.to_string(), "execPrice": num(price),
        "execQty": num(qty), "execType": "Trade", "execValue": num(price * qty), "execTime": time.to_string(),
        "isMaker": maker, "feeRate": num(fee_rate), "markPrice": "", "indexPrice": "", "blockTradeId": "",
        "seq": trade_id, "marketUnit": "", "createType": "CreateByUser", "extraFees": "",
    })
}

/// A row of `execution/list`.
pub fn trade_row(o: &Order, t: &AccountTrade, fee_rate: Decimal) -> Value {
    let leaves = if o.status.is_open() { o.orig_qty - o.executed_qty } else { Decimal::ZERO };
    execution(o, t.id, t.price, t.qty, t.commission, &t.commission_asset, t.is_maker, t.time, leaves, fee_rate)
}

/// A fill as the `execution` topic pushes it: the quantity left after it.
pub fn fill(o: &Order, f: &LastFill, time: i64, fee_rate: Decimal) -> Value {
    // The order as it stands after this fill is what the event carries.
    let leaves = if o.status.is_open() { o.orig_qty - o.executed_qty } else { Decimal::ZERO };
    execution(o, f.trade_id, f.price, f.qty, f.commission, &f.commission_asset, f.is_maker, time, leaves, fee_rate)
}

/// A coin of the unified wallet.
pub fn coin(asset: &str, b: &Balance) -> Value {
    let total = b.free + b.locked;
    json!({
        "coin": asset, "equity": num(total), "usdValue": "", "walletBalance": num(total), "free": "",
        "locked": num(b.locked), "spotBorrow": "0", "borrowAmount": "0", "availableToWithdraw": "",
        "accruedInterest": "0", "totalOrderIM": "0", "totalPositionIM": "0", "totalPositionMM": "0",
        "unrealisedPnl": "0", "cumRealisedPnl": "0", "bonus": "0", "marginCollateral": true, "collateralSwitch": true,
    })
}

pub fn wallet(coins: Vec<Value>) -> Value {
    json!({
        "accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "totalEquity": "",
        "totalWalletBalance": "", "totalMarginBalance": "", "totalAvailableBalance": "", "totalPerpUPL": "0",
        "totalInitialMargin": "0", "totalMaintenanceMargin": "0", "accountLTV": "0", "coin": coins,
    })
}

/// An instrument of `market/instruments-info`.
pub fn instrument(s: &SymbolState) -> Value {
    let c = &s.config;
    let max_amt = if c.max_notional.is_zero() { Decimal::from(9_000_000_000u64) } else { c.max_notional };
    json!({
        "symbol": c.symbol, "baseCoin": c.base, "quoteCoin": c.quote, "innovation": "0", "status": "Trading",
        "marginTrading": "none", "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": num(c.step_size), "quotePrecision": num(c.tick_size), "minOrderQty": num(s.min_qty),
            "maxOrderQty": num(c.max_qty), "minOrderAmt": num(c.min_notional), "maxOrderAmt": num(max_amt),
            "maxLimitOrderQty": num(c.max_qty), "maxMarketOrderQty": num(c.max_qty),
            "postOnlyMaxLimitOrderSize": num(c.max_qty),
        },
        "priceFilter": {"tickSize": num(c.tick_size)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        "symbolType": "",
    })
}

/// A row of `market/tickers`.
pub fn ticker(s: &SymbolState) -> Value {
    let (bid, bid_qty) = s.best_bid().unwrap_or_default();
    let (ask, ask_qty) = s.best_ask().unwrap_or_default();
    let last = s.last_price().unwrap_or_default();
    json!({
        "symbol": s.config.symbol, "bid1Price": num(bid), "bid1Size": num(bid_qty), "ask1Price": num(ask),
        "ask1Size": num(ask_qty), "lastPrice": num(last), "prevPrice24h": num(last), "price24hPcnt": "0",
        "highPrice24h": num(last), "lowPrice24h": num(last), "turnover24h": "0", "volume24h": "0", "usdIndexPrice": "",
    })
}

/// A public trade message.
pub fn trade_message(symbol: &str, id: u64, price: Decimal, qty: Decimal, buyer_is_maker: bool, time: i64) -> String {
    // The taker's side: a buyer who was the maker met a selling taker.
    let taker = if buyer_is_maker { "Sell" } else { "Buy" };
    json!({"topic": format!("publicTrade.{symbol}"), "type": "snapshot", "ts": time, "data": [
        {"T": time, "s": symbol, "S": taker, "v": num(qty), "p": num(price), "L": "ZeroPlusTick", "i": id.to_string(), "BT": false, "RPI": false, "seq": id}
    ]})
    .to_string()
}

/// An `orderbook.<depth>` message: a snapshot or a delta numbered `u`.
pub fn book_message(
    depth: u32,
    symbol: &str,
    kind: &str,
    bids: &[LevelDec],
    asks: &[LevelDec],
    u: u64,
    time: i64,
) -> String {
    json!({"topic": format!("orderbook.{depth}.{symbol}"), "type": kind, "ts": time,
        "data": {"s": symbol, "b": levels(bids), "a": levels(asks), "u": u, "seq": u}, "cts": time})
    .to_string()
}

/// A `kline.1` message.
pub fn kline_message(symbol: &str, c: &Candle, closed: bool, time: i64) -> String {
    json!({"topic": format!("kline.1.{symbol}"), "type": "snapshot", "ts": time, "data": [{
        "start": c.open_time, "end": c.open_time + 59_999, "interval": "1", "open": num(c.open), "close": num(c.close),
        "high": num(c.high), "low": num(c.low), "volume": num(c.volume), "turnover": num(c.quote_volume),
        "confirm": closed, "timestamp": time
    }]})
    .to_string()
}

/// A private-stream message of `topic` carrying `data`.
pub fn private_message(topic: &str, data: Vec<Value>, time: i64) -> String {
    json!({"id": format!("{topic}-{time}"), "topic": topic, "creationTime": time, "data": data}).to_string()
}
