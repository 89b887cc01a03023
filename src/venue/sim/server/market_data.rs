//! The market-data endpoints third-party clients call by default (CCXT,
//! python-binance, the official SDK): `ticker/24hr`, `ticker` (rolling
//! window), `ticker/price`, `avgPrice` and `aggTrades`, computed from the
//! simulator's 1-minute candles, recent trades and book.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::params::Params;
use super::wire::dec;
use crate::venue::sim::exchange::{ApiError, Candle, Exchange, SymbolState};

/// The symbols a ticker request names (`symbol`, `symbols` as a JSON list, or all).
pub fn wanted<'a>(ex: &'a Exchange, params: &Params) -> Result<(Vec<&'a SymbolState>, bool), ApiError> {
    match (params.get("symbol"), params.get("symbols")) {
        (Some(symbol), None) => Ok((vec![ex.symbol(symbol)?], true)),
        (None, Some(list)) => {
            let names: Vec<String> = serde_json::from_str(list)
                .map_err(|_| ApiError::new(-1100, "Illegal characters found in parameter 'symbols'."))?;
            let rows: Result<Vec<&SymbolState>, ApiError> = names.iter().map(|n| ex.symbol(n)).collect();
            Ok((rows?, false))
        }
        (None, None) => Ok((ex.symbols().iter().collect(), false)),
        (Some(_), Some(_)) => Err(ApiError::new(-1106, "Parameter 'symbols' sent when not required.")),
    }
}

/// One row per symbol; a single object when one `symbol` was asked for.
fn rows(list: Vec<Value>, single: bool) -> Value {
    match (single, list.len()) {
        (true, 1) => list.into_iter().next().unwrap_or(Value::Null),
        _ => Value::Array(list),
    }
}

/// The last trade's price and quantity (the start price before any trade).
fn last_trade(s: &SymbolState) -> (Decimal, Decimal) {
    s.recent.back().map(|(_, p, q, _, _)| (*p, *q)).unwrap_or((s.config.start_price, Decimal::ZERO))
}

/// Statistics over the candles that opened at or after `since` (ms).
struct Window {
    open: Decimal,
    high: Decimal,
    low: Decimal,
    volume: Decimal,
    quote_volume: Decimal,
    trades: u64,
    first_id: i64,
    last_id: i64,
    open_time: i64,
}

fn window(s: &SymbolState, since: i64, now: i64) -> Window {
    let candles: Vec<&Candle> = s.history.iter().chain(s.candle.iter()).filter(|c| c.open_time >= since).collect();
    let (last, _) = last_trade(s);
    let Some(first) = candles.first() else {
        return Window {
            open: last,
            high: last,
            low: last,
            volume: Decimal::ZERO,
            quote_volume: Decimal::ZERO,
            trades: 0,
            first_id: -1,
            last_id: -1,
            open_time: now,
        };
    };
    let traded: Vec<&&Candle> = candles.iter().filter(|c| c.trades > 0).collect();
    Window {
        open: first.open,
        high: candles.iter().map(|c| c.high).max().unwrap_or(last),
        low: candles.iter().map(|c| c.low).min().unwrap_or(last),
        volume: candles.iter().map(|c| c.volume).sum(),
        quote_volume: candles.iter().map(|c| c.quote_volume).sum(),
        trades: candles.iter().map(|c| c.trades).sum(),
        first_id: traded.first().map_or(-1, |c| c.first_trade as i64),
        last_id: traded.last().map_or(-1, |c| c.last_trade as i64),
        open_time: first.open_time,
    }
}

/// The statistics both ticker endpoints share.
fn stats(s: &SymbolState, w: &Window, now: i64) -> serde_json::Map<String, Value> {
    let (last, _) = last_trade(s);
    let change = last - w.open;
    let percent = if w.open.is_zero() { Decimal::ZERO } else { (change / w.open * Decimal::ONE_HUNDRED).round_dp(3) };
    let weighted = if w.volume.is_zero() { last } else { (w.quote_volume / w.volume).round_dp(8) };
    let mut m = serde_json::Map::new();
    m.insert("symbol".into(), json!(s.config.symbol));
    m.insert("priceChange".into(), json!(dec(change)));
    m.insert("priceChangePercent".into(), json!(percent.normalize().to_string()));
    m.insert("weightedAvgPrice".into(), json!(dec(weighted)));
    m.insert("openPrice".into(), json!(dec(w.open)));
    m.insert("highPrice".into(), json!(dec(w.high)));
    m.insert("lowPrice".into(), json!(dec(w.low)));
    m.insert("lastPrice".into(), json!(dec(last)));
    m.insert("volume".into(), json!(dec(w.volume)));
    m.insert("quoteVolume".into(), json!(dec(w.quote_volume)));
    m.insert("openTime".into(), json!(w.open_time));
    m.insert("closeTime".into(), json!(now));
    m.insert("firstId".into(), json!(w.first_id));
    m.insert("lastId".into(), json!(w.last_id));
    m.insert("count".into(), json!(w.trades));
    m
}

/// `GET /api/v3/ticker/24hr` (FULL or MINI).
pub fn ticker_24hr(ex: &Exchange, params: &Params, now: i64) -> Result<Value, ApiError> {
    let (symbols, single) = wanted(ex, params)?;
    let mini = match params.get("type").unwrap_or("FULL") {
        "FULL" => false,
        "MINI" => true,
        _ => return Err(ApiError::new(-1104, "Invalid value for parameter 'type'.")),
    };
    let list = symbols
        .into_iter()
        .map(|s| {
            let w = window(s, now - 86_400_000, now);
            let mut m = stats(s, &w, now);
            if mini {
                for key in ["priceChange", "priceChangePercent", "weightedAvgPrice"] {
                    m.remove(key);
                }
            } else {
                let (last, last_qty) = last_trade(s);
                let (bid, bid_qty) = s.best_bid().unwrap_or_default();
                let (ask, ask_qty) = s.best_ask().unwrap_or_default();
                let prev_close = s.history.iter().rev().find(|c| c.open_time < w.open_time).map_or(w.open, |c| c.close);
                m.insert("prevClosePrice".into(), json!(dec(prev_close)));
                m.insert("lastPrice".into(), json!(dec(last)));
                m.insert("lastQty".into(), json!(dec(last_qty)));
                m.insert("bidPrice".into(), json!(dec(bid)));
                m.insert("bidQty".into(), json!(dec(bid_qty)));
                m.insert("askPrice".into(), json!(dec(ask)));
                m.insert("askQty".into(), json!(dec(ask_qty)));
            }
            Value::Object(m)
        })
        .collect();
    Ok(rows(list, single))
}

/// `GET /api/v3/ticker`: the rolling window `windowSize` (`1m`…`59m`, `1h`…`23h`, `1d`…`7d`; default `1d`).
pub fn ticker_window(ex: &Exchange, params: &Params, now: i64) -> Result<Value, ApiError> {
    let (symbols, single) = wanted(ex, params)?;
    if params.get("symbol").is_none() && params.get("symbols").is_none() {
        return Err(ApiError::new(-1102, "Parameter 'symbol' or 'symbols' must be sent."));
    }
    let size = params.get("windowSize").unwrap_or("1d");
    let invalid = || ApiError::new(-1100, "Invalid windowSize.");
    let (n, unit) = size.split_at(size.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| invalid())?;
    let span_ms = match (unit, n) {
        ("m", 1..=59) => n * 60_000,
        ("h", 1..=23) => n * 3_600_000,
        ("d", 1..=7) => n * 86_400_000,
        _ => return Err(invalid()),
    };
    let list = symbols.into_iter().map(|s| Value::Object(stats(s, &window(s, now - span_ms, now), now))).collect();
    Ok(rows(list, single))
}

/// `GET /api/v3/ticker/price`.
pub fn ticker_price(ex: &Exchange, params: &Params) -> Result<Value, ApiError> {
    let (symbols, single) = wanted(ex, params)?;
    let list = symbols.into_iter().map(|s| json!({"symbol": s.config.symbol, "price": dec(last_trade(s).0)})).collect();
    Ok(rows(list, single))
}

/// `GET /api/v3/avgPrice`: the volume-weighted price of the last 5 minutes.
pub fn avg_price(ex: &Exchange, params: &Params, now: i64) -> Result<Value, ApiError> {
    let s = ex.symbol(params.required("symbol")?)?;
    let w = window(s, now - 5 * 60_000, now);
    let price = if w.volume.is_zero() { last_trade(s).0 } else { (w.quote_volume / w.volume).round_dp(8) };
    let close_time = s.recent.back().map_or(now, |(_, _, _, t, _)| *t);
    Ok(json!({"mins": 5, "price": dec(price), "closeTime": close_time}))
}

/// `GET /api/v3/aggTrades`: each of the simulator's trades is its own aggregate
/// (its takers never sweep several makers at one price in one match).
pub fn agg_trades(ex: &Exchange, params: &Params) -> Result<Value, ApiError> {
    let s = ex.symbol(params.required("symbol")?)?;
    let limit = params.u64("limit")?.unwrap_or(500).clamp(1, 1000) as usize;
    let from = params.u64("fromId")?;
    let (start, end) = (params.u64("startTime")?, params.u64("endTime")?);
    let rows: Vec<Value> = s
        .recent
        .iter()
        .filter(|(id, _, _, t, _)| {
            from.is_none_or(|f| *id >= f)
                && start.is_none_or(|st| *t >= st as i64)
                && end.is_none_or(|e| *t <= e as i64)
        })
        .map(|(id, p, q, t, m)| json!({"a": id, "p": dec(*p), "q": dec(*q), "f": id, "l": id, "T": t, "m": m, "M": true}))
        .collect();
    // Oldest first; without fromId, the latest `limit`.
    let skip = if from.is_some() { 0 } else { rows.len().saturating_sub(limit) };
    Ok(Value::Array(rows.into_iter().skip(skip).take(limit).collect()))
}
