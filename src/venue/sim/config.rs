//! The simulator's own settings (`config/sim.toml`): symbols and their
//! filters, starting prices, balances, fees, rate limits, market speed and
//! faults. Every field has a default, so an empty file (or none) gives the
//! built-in market of BTCUSDT, ETHUSDT and ETHBTC.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use rust_decimal::prelude::Zero;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Tradable symbols.
    pub symbols: Vec<SymbolConfig>,
    /// Starting balance of every account, by asset.
    pub balances: BTreeMap<String, Decimal>,
    pub fees: FeeConfig,
    pub limits: LimitConfig,
    pub market: MarketConfig,
    pub faults: FaultConfig,
    /// What `GET /sapi/v1/account/apiRestrictions` says of every key: whether
    /// it may withdraw (a daemon on mainnet refuses such keys).
    pub keys_can_withdraw: bool,
}

/// One symbol and its filters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    /// PRICE_FILTER tickSize.
    pub tick_size: Decimal,
    /// LOT_SIZE stepSize.
    pub step_size: Decimal,
    /// LOT_SIZE minQty (default: one step).
    pub min_qty: Option<Decimal>,
    /// LOT_SIZE maxQty.
    #[serde(default = "default_max_qty")]
    pub max_qty: Decimal,
    /// NOTIONAL minNotional.
    #[serde(default)]
    pub min_notional: Decimal,
    /// NOTIONAL maxNotional (0 = unbounded).
    #[serde(default)]
    pub max_notional: Decimal,
    /// MAX_NUM_ORDERS: open orders per account on this symbol.
    #[serde(default = "default_max_num_orders")]
    pub max_num_orders: usize,
    /// Where the synthetic market starts.
    pub start_price: Decimal,
    /// Size of one random-walk step of the mid price, in basis points.
    #[serde(default = "default_volatility_bps")]
    pub volatility_bps: Decimal,
    /// Quantity of each background maker quote.
    pub quote_qty: Decimal,
}

fn default_max_qty() -> Decimal {
    Decimal::from(9_000_000)
}

fn default_max_num_orders() -> usize {
    200
}

fn default_volatility_bps() -> Decimal {
    Decimal::ONE
}

/// Commission rates (fractions, e.g. 0.001 = 0.1 %).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeeConfig {
    pub maker: Decimal,
    pub taker: Decimal,
}

impl Default for FeeConfig {
    fn default() -> Self {
        Self { maker: Decimal::new(1, 3), taker: Decimal::new(1, 3) }
    }
}

/// The limits published in `exchangeInfo.rateLimits` and enforced.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitConfig {
    /// REQUEST_WEIGHT per minute (per server, as Binance counts per IP).
    pub request_weight_per_minute: u32,
    /// ORDERS per 10 seconds, per account.
    pub orders_per_10s: u32,
    /// ORDERS per day, per account.
    pub orders_per_day: u32,
    /// Requests sent while rate-limited (after a 429) before the IP is banned (418).
    pub requests_before_ban: u32,
    /// First ban length; each further ban doubles it.
    pub ban_secs: u64,
    /// Incoming messages per second a WebSocket connection may send.
    pub ws_messages_per_sec: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            request_weight_per_minute: 6000,
            orders_per_10s: 50,
            orders_per_day: 160_000,
            requests_before_ban: 5,
            ban_secs: 120,
            ws_messages_per_sec: 5,
        }
    }
}

/// The synthetic market.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// Market steps per second (each step moves every symbol once).
    pub events_per_sec: u32,
    /// Background maker levels on each side.
    pub levels: u32,
    /// Distance between the mid and the first maker level, and between levels, in ticks.
    pub spread_ticks: u32,
    /// Probability (0..1) that a step includes a background taker crossing the spread.
    pub taker_probability: Decimal,
    /// Load tests: this many extra trades per second (over all symbols, in
    /// turn) published on `<symbol>@trade` straight from a seeded random
    /// walk, not through the book — a firehose for `tradewind bench`. 0 = off.
    pub firehose_per_sec: u32,
    /// Now and then the makers quote this far (bps) above or below the
    /// random walk's mid for a while, then return to it: two simulators with
    /// the same seed, one of them dislocated, drift apart and back (what a
    /// cross-venue arbitrage lives on). 0 = never.
    pub dislocation_bps: Decimal,
    /// Probability (0..1) that a step starts a dislocation, when none is on.
    pub dislocation_probability: Decimal,
    /// Steps a dislocation lasts.
    pub dislocation_steps: u32,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            events_per_sec: 10,
            levels: 10,
            spread_ticks: 2,
            taker_probability: Decimal::new(3, 1),
            firehose_per_sec: 0,
            dislocation_bps: Decimal::ZERO,
            dislocation_probability: Decimal::new(2, 2),
            dislocation_steps: 30,
        }
    }
}

/// Fault injection, off by default. The control endpoint changes these at run time.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Close every WebSocket connection every N seconds (0 = never).
    pub drop_ws_every_secs: u64,
    /// Delay every REST response by this many milliseconds.
    pub rest_delay_ms: u64,
    /// Fraction (0..1) of accepted new orders answered with HTTP 503 instead of the ack.
    pub fail_after_accept: f64,
    /// Fraction (0..1) of accepted new orders whose ack is held back this many
    /// milliseconds (`timeout_after_accept_ms`), longer than a client waits.
    pub timeout_after_accept: f64,
    pub timeout_after_accept_ms: u64,
    /// Fraction (0..1) of user-stream events sent twice.
    pub duplicate_user_events: f64,
    /// Fraction (0..1) of user-stream events never sent (clients must reconcile).
    pub drop_user_events: f64,
    /// Fraction (0..1) of user-stream events held back and sent after the next one.
    pub reorder_user_events: f64,
    /// The venue's clock runs this far ahead of the machine's (negative:
    /// behind), as a client with a wrong clock would find it: the server time
    /// it reports and the timestamps it checks, in milliseconds (the times of
    /// its events stay the machine's).
    pub clock_offset_ms: i64,
    /// Send `serverShutdown` on every WebSocket connection every N seconds
    /// (0 = never); each connection closes 2 s after its notice.
    pub shutdown_notice_every_secs: u64,
    /// Fraction (0..1) of REST requests answered with HTTP 500 before doing
    /// anything (for an order: its client cannot tell that it never executed).
    pub rest_errors: f64,
    /// Fraction (0..1) of depth diffs never sent (clients see a gap in the update ids and resync).
    pub drop_depth_diffs: f64,
    /// The next N REST requests (counted from when these settings are set)
    /// are answered with HTTP 500 before doing anything.
    pub fail_next_requests: u32,
    /// New orders (and cancel-replaces) wait this many milliseconds before the
    /// matching engine sees them (a slow venue: the client has sent, nothing happened yet).
    pub order_delay_ms: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            drop_ws_every_secs: 0,
            rest_delay_ms: 0,
            fail_after_accept: 0.0,
            timeout_after_accept: 0.0,
            timeout_after_accept_ms: 15_000,
            duplicate_user_events: 0.0,
            drop_user_events: 0.0,
            reorder_user_events: 0.0,
            clock_offset_ms: 0,
            shutdown_notice_every_secs: 0,
            rest_errors: 0.0,
            drop_depth_diffs: 0.0,
            fail_next_requests: 0,
            order_delay_ms: 0,
        }
    }
}

impl FaultConfig {
    /// The fractions that must lie within 0..1, by name.
    pub fn fractions(&self) -> [(&'static str, f64); 7] {
        [
            ("fail_after_accept", self.fail_after_accept),
            ("timeout_after_accept", self.timeout_after_accept),
            ("duplicate_user_events", self.duplicate_user_events),
            ("drop_user_events", self.drop_user_events),
            ("reorder_user_events", self.reorder_user_events),
            ("rest_errors", self.rest_errors),
            ("drop_depth_diffs", self.drop_depth_diffs),
        ]
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        let d = |s: &str| s.parse::<Decimal>().expect("built-in decimal literals are valid");
        let symbol = |symbol: &str, base: &str, quote: &str, tick, step, min_notional, price, qty| SymbolConfig {
            symbol: symbol.into(),
            base: base.into(),
            quote: quote.into(),
            tick_size: d(tick),
            step_size: d(step),
            min_qty: None,
            max_qty: default_max_qty(),
            min_notional: d(min_notional),
            max_notional: Decimal::zero(),
            max_num_orders: default_max_num_orders(),
            start_price: d(price),
            volatility_bps: default_volatility_bps(),
            quote_qty: d(qty),
        };
        Self {
            symbols: vec![
                symbol("BTCUSDT", "BTC", "USDT", "0.01", "0.00001", "5", "60000", "0.05"),
                symbol("ETHUSDT", "ETH", "USDT", "0.01", "0.0001", "5", "3000", "1"),
                symbol("ETHBTC", "ETH", "BTC", "0.00001", "0.0001", "0.0001", "0.05", "1"),
            ],
            balances: [("BTC", "1"), ("ETH", "10"), ("USDT", "100000")]
                .into_iter()
                .map(|(a, v)| (a.to_owned(), d(v)))
                .collect(),
            fees: FeeConfig::default(),
            limits: LimitConfig::default(),
            market: MarketConfig::default(),
            faults: FaultConfig::default(),
            keys_can_withdraw: false,
        }
    }
}

/// Why the simulator's settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum SimConfigError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {}", .problems.join("; "))]
    Invalid { path: String, problems: Vec<String> },
}

impl SimConfig {
    /// Reads and validates a settings file.
    pub fn load(path: &Path) -> Result<Self, SimConfigError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| SimConfigError::Read { path: shown.clone(), source })?;
        let config: SimConfig = toml::from_str(&text)
            .map_err(|e| SimConfigError::Parse { path: shown.clone(), message: e.message().to_owned() })?;
        config.validate().map_err(|problems| SimConfigError::Invalid { path: shown, problems })?;
        Ok(config)
    }

    /// Every problem, each naming its key.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.symbols.is_empty() {
            problems.push("symbols: at least one symbol is needed".to_owned());
        }
        for (i, s) in self.symbols.iter().enumerate() {
            let key = |field: &str| format!("symbols[{i}].{field}");
            // Binance lists symbols such as 币安人生USDT: letters of any script, ASCII ones upper-case.
            let symbol_char =
                |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || (!c.is_ascii() && c.is_alphanumeric());
            if s.symbol.is_empty() || !s.symbol.chars().all(symbol_char) {
                problems.push(format!(
                    "{}: must be upper-case letters (or letters of other scripts) and digits, got {:?}",
                    key("symbol"),
                    s.symbol
                ));
            }
            for (field, value) in [("tick_size", s.tick_size), ("step_size", s.step_size), ("quote_qty", s.quote_qty)] {
                if value <= Decimal::ZERO {
                    problems.push(format!("{}: must be > 0, got {value}", key(field)));
                }
            }
            if s.start_price <= Decimal::ZERO
                || (s.tick_size > Decimal::ZERO && !(s.start_price % s.tick_size).is_zero())
            {
                problems.push(format!("{}: must be a positive multiple of tick_size", key("start_price")));
            }
            if s.step_size > Decimal::ZERO && !(s.quote_qty % s.step_size).is_zero() {
                problems.push(format!("{}: must be a multiple of step_size", key("quote_qty")));
            }
            if self.symbols[..i].iter().any(|o| o.symbol == s.symbol) {
                problems.push(format!("{}: {} is listed twice", key("symbol"), s.symbol));
            }
        }
        if self.market.events_per_sec == 0 || self.market.levels == 0 || self.market.spread_ticks == 0 {
            problems.push("market: events_per_sec, levels and spread_ticks must be ≥ 1".to_owned());
        }
        if !(Decimal::ZERO..=Decimal::ONE).contains(&self.market.taker_probability) {
            problems.push("market.taker_probability: must be within 0..1".to_owned());
        }
        for (field, value) in self.faults.fractions() {
            if !(0.0..=1.0).contains(&value) {
                problems.push(format!("faults.{field}: must be within 0..1, got {value}"));
            }
        }
        if self.limits.request_weight_per_minute == 0 || self.limits.orders_per_10s == 0 {
            problems.push("limits: request_weight_per_minute and orders_per_10s must be ≥ 1".to_owned());
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_settings_are_valid_and_the_shipped_file_matches_them() {
        SimConfig::default().validate().unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
        let shipped = SimConfig::load(&path).unwrap();
        let built_in = SimConfig::default();
        assert_eq!(shipped.symbols.len(), built_in.symbols.len());
        for (a, b) in shipped.symbols.iter().zip(&built_in.symbols) {
            assert_eq!(
                (&a.symbol, a.tick_size, a.step_size, a.start_price),
                (&b.symbol, b.tick_size, b.step_size, b.start_price)
            );
        }
        assert_eq!(shipped.balances, built_in.balances);
        assert_eq!(shipped.faults, built_in.faults, "every fault documented, all off");
    }

    #[test]
    fn bad_settings_name_every_key() {
        let text = r#"
            [[symbols]]
            symbol = "btc-usdt"
            base = "BTC"
            quote = "USDT"
            tick_size = "0"
            step_size = "0.001"
            start_price = "0"
            quote_qty = "0.0005"
            [faults]
            fail_after_accept = 2.0
        "#;
        let config: SimConfig = toml::from_str(text).unwrap();
        let problems = config.validate().unwrap_err().join("\n");
        for key in [
            "symbols[0].symbol",
            "symbols[0].tick_size",
            "symbols[0].start_price",
            "symbols[0].quote_qty",
            "faults.fail_after_accept",
        ] {
            assert!(problems.contains(key), "{key} missing from:\n{problems}");
        }
        assert!(toml::from_str::<SimConfig>("[market]\nspeed = 3").is_err(), "unknown keys are refused");
    }
}
