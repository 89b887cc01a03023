//! Checks that serde cannot express: ranges, references between files,
//! duplicates. Every check pushes an issue and goes on.

use std::collections::HashMap;
use std::path::Path;

use rust_decimal::Decimal;
use tradewind_strategies::sdk::{InstanceCode, VenueId};

use super::schema::{RawConfig, RiskConfig, VenueConfig};
use super::{ConfigIssue, StrategyConfig};

/// Longest strategy name (it labels metrics and logs; client order ids carry a
/// five-character code of it, see `sdk::owner`).
pub const MAX_STRATEGY_NAME: usize = 16;

pub(super) fn main(file: &Path, raw: &RawConfig, issues: &mut Vec<ConfigIssue>) {
    let mut push = |key: &str, message: String| issues.push(ConfigIssue::new(file, Some(key), message));
    let rt = &raw.runtime;
    if let Err(e) = check_log_level(&rt.log_level) {
        push("runtime.log_level", format!("{e}, got {:?}", rt.log_level));
    }
    if !(10..=60_000).contains(&rt.timer_interval_ms) {
        push("runtime.timer_interval_ms", format!("must be between 10 and 60000, got {}", rt.timer_interval_ms));
    }
    if !(16..=1 << 24).contains(&rt.engine_queue) {
        push("runtime.engine_queue", format!("must be between 16 and 16777216, got {}", rt.engine_queue));
    }
    if !(1..=600).contains(&rt.shutdown_timeout_secs) {
        push("runtime.shutdown_timeout_secs", format!("must be between 1 and 600, got {}", rt.shutdown_timeout_secs));
    }
    risk_limits("risk.", &raw.risk, &mut push);
    for (key, value) in [
        ("account.max_daily_loss", raw.risk.account.max_daily_loss),
        ("account.max_drawdown", raw.risk.account.max_drawdown),
    ] {
        if let Some(v) = value.filter(|v| *v <= Decimal::ZERO) {
            push(&format!("risk.{key}"), format!("must be > 0, got {v}"));
        }
    }

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, venue) in raw.venues.iter().enumerate() {
        let key = |k: &str| format!("venues[{i}].{k}");
        if let Err(e) = VenueId::new(venue.name()) {
            push(&key("name"), format!("{e}, got {:?}", venue.name()));
        }
        if let Some(first) = seen.insert(venue.name(), i) {
            push(&key("name"), format!("duplicate venue name {:?} (also venues[{first}])", venue.name()));
        }
        match venue {
            VenueConfig::Sim(_) => {}
            VenueConfig::Binance(b) | VenueConfig::Bybit(b) | VenueConfig::Okx(b) => {
                if !(1..=60_000).contains(&b.recv_window_ms) {
                    push(&key("recv_window_ms"), format!("must be between 1 and 60000, got {}", b.recv_window_ms));
                }
                for (name, url) in
                    [("rest_url", &b.rest_url), ("stream_url", &b.stream_url), ("private_url", &b.private_url)]
                {
                    if let Some(url) = url
                        && let Err(e) = check_url(url, name == "rest_url")
                    {
                        push(&key(name), format!("{e}, got {url:?}"));
                    }
                }
                for (name, present) in [("api_key", b.api_key.is_some()), ("api_secret", b.api_secret.is_some())] {
                    if present {
                        push(
                            &key(name),
                            format!(
                                "secrets are never read from config files; name an environment variable \
                                 (credentials.{name}_env) or a file (credentials.{name}_file) instead"
                            ),
                        );
                    }
                }
                let c = &b.credentials;
                let has_key = c.api_key_env.is_some() || c.api_key_file.is_some();
                let has_secret = c.api_secret_env.is_some() || c.api_secret_file.is_some();
                if has_key != has_secret {
                    push(
                        &key("credentials"),
                        "give both an API key source and an API secret source, or neither".into(),
                    );
                }
                let okx = venue.kind() == "okx";
                if okx && has_key && !c.has_passphrase() {
                    push(
                        &key("credentials"),
                        "an OKX API key needs the passphrase it was created with: add api_passphrase_env \
                         or api_passphrase_file"
                            .into(),
                    );
                }
                if !okx && c.has_passphrase() {
                    let venue = if venue.kind() == "bybit" { "Bybit" } else { "Binance" };
                    push(&key("credentials"), format!("{venue} API keys have no passphrase; remove api_passphrase_*"));
                }
                if okx && b.environment == crate::config::Environment::Testnet {
                    push(
                        &key("environment"),
                        "OKX has no testnet: use \"demo\" (demo trading) or \"mainnet\" (live)".into(),
                    );
                }
                if !okx && b.region.is_some() {
                    push(&key("region"), "only OKX venues have regions; remove it".into());
                }
            }
        }
    }
}

/// The levels a log filter may name.
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// A log filter: a level, or comma-separated directives, each a level or
/// `target=level` (`info,tradewind=debug`). A bare word that is not a level
/// (`warning`) is refused: the filter syntax would take it for a target and
/// silence everything else.
pub fn check_log_level(filter: &str) -> Result<(), String> {
    let levels = LOG_LEVELS.join(", ");
    if filter.trim().is_empty() {
        return Err(format!("must name a level ({levels})"));
    }
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (target, level) = match directive.rsplit_once('=') {
            Some((target, level)) => (Some(target), level),
            None => (None, directive),
        };
        if !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!("{level:?} is not a level (one of {levels}; or target=level directives)"));
        }
        if target.is_some_and(|t| t.is_empty() || !t.chars().all(|c| c.is_alphanumeric() || "_:-[]{}.=\"".contains(c)))
        {
            return Err(format!("{directive:?} is not a target=level directive"));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter).map(drop).map_err(|e| format!("is not a valid log filter ({e})"))
}

/// Accepts `https`/`wss` anywhere and plain `http`/`ws` only on loopback.
fn check_url(text: &str, http: bool) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    let (secure, plain) = if http { ("https", "http") } else { ("wss", "ws") };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        s if s == secure => Ok(()),
        s if s == plain && loopback => Ok(()),
        s if s == plain => Err(format!("plain {plain}:// is allowed only on loopback addresses; use {secure}://")),
        s => Err(format!("scheme must be {secure} (or {plain} on loopback), not {s}")),
    }
}

/// What each strategy file must hold on its own: name, parameters, limits.
pub(super) fn strategy_files(strategies: &[StrategyConfig], issues: &mut Vec<ConfigIssue>) {
    let mut names: HashMap<&str, &Path> = HashMap::new();
    let mut codes: HashMap<InstanceCode, &str> = HashMap::new();
    for s in strategies {
        let file = s.file.as_path();
        let mut push = |key: &str, message: String| issues.push(ConfigIssue::new(file, Some(key), message));
        let name = s.instance.name.as_str();
        let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if name.is_empty() || name.len() > MAX_STRATEGY_NAME || !valid_chars {
            push("name", format!("must be 1 to {MAX_STRATEGY_NAME} characters of [A-Za-z0-9_], got {name:?}"));
        }
        if let Some(other) = names.insert(name, file) {
            push("name", format!("duplicate strategy name {name:?} (also in {})", other.display()));
        }
        match codes.insert(InstanceCode::of(name), name) {
            Some(other) if other != name => push(
                "name",
                format!("{name:?} and {other:?} share the client order id code {}; rename one", InstanceCode::of(name)),
            ),
            _ => {}
        }
        for e in s.params.validate(&s.instance) {
            push(&e.key, e.message);
        }
        // Only the strategy's own limits (the defaults pass; `[risk]` is checked once in `main`).
        risk_limits("risk.", &RiskConfig::default().for_strategy(&s.risk), &mut push);
    }
}

/// What the strategy files name in the main file: their venues.
pub(super) fn references(raw: &RawConfig, strategies: &[StrategyConfig], issues: &mut Vec<ConfigIssue>) {
    for s in strategies {
        let file = s.file.as_path();
        let mut push = |key: &str, message: String| issues.push(ConfigIssue::new(file, Some(key), message));
        if !raw.venues.iter().any(|v| v.name() == s.venue_name) {
            let known: Vec<&str> = raw.venues.iter().map(VenueConfig::name).collect();
            push("venue", format!("{:?} is not a configured venue (known: {})", s.venue_name, known.join(", ")));
        }
        // A disabled file may name a venue that is not configured yet (an example to enable later).
        for other in s.params.other_venues().into_iter().filter(|_| s.enabled) {
            if !raw.venues.iter().any(|v| v.name() == other) {
                push("other_venue", format!("{other:?} is not a configured venue"));
            }
        }
    }
}

/// Range checks of one set of limits (keys prefixed with `prefix`).
fn risk_limits(prefix: &str, r: &RiskConfig, push: &mut dyn FnMut(&str, String)) {
    let mut positive = |key: &str, v: Option<Decimal>| {
        if let Some(v) = v.filter(|v| *v <= Decimal::ZERO) {
            push(&format!("{prefix}{key}"), format!("must be > 0, got {v}"));
        }
    };
    positive("max_order_notional", Some(r.max_order_notional));
    positive("max_order_qty", r.max_order_qty);
    positive("max_position", r.max_position);
    positive("max_daily_loss", r.max_daily_loss);
    positive("max_drawdown", r.max_drawdown);
    if let Some(v) = r.min_free_quote.filter(|v| *v < Decimal::ZERO) {
        push(&format!("{prefix}min_free_quote"), format!("must be >= 0, got {v}"));
    }
    if let Some(p) = r.price_band_pct.filter(|p| *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED) {
        push(&format!("{prefix}price_band_pct"), format!("must be > 0 and <= 100, got {p}"));
    }
    for (key, v) in [
        ("max_open_orders", Some(r.max_open_orders as u64)),
        ("max_orders_per_sec", r.max_orders_per_sec.map(u64::from)),
        ("max_orders_per_min", r.max_orders_per_min.map(u64::from)),
    ] {
        if v == Some(0) {
            push(&format!("{prefix}{key}"), "must be >= 1, got 0".to_owned());
        }
    }
}
