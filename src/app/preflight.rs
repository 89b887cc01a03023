//! What `run` would refuse, found before anything starts. `check-config` runs
//! the same checks, so a configuration it passes is one `run` takes; `run`
//! runs them first and exits 2 on any, like any other configuration error.
//!
//! Offline only: credentials present and readable (private files), mainnet
//! confirmed, the control API's token and listen address, the simulator's
//! settings, and for simulated venues the symbols and order sizes (their rules
//! are known without a network). What needs the venue is `online` (`check-config --online`).

use std::path::Path;

use crate::config::{Config, ConfigErrors, ConfigIssue, Environment, VenueConfig};
use crate::venue::credentials;
use crate::venue::sim::SimConfig;

use super::RunOptions;

/// Fewest characters of a control API token: 128 bits as hex (`openssl rand -hex 16`).
pub const MIN_TOKEN_CHARS: usize = 32;

/// Problems that do not stop a start but that an operator should read.
#[derive(Debug, Default)]
pub struct Warnings(pub Vec<ConfigIssue>);

/// Every check; `env` reads environment variables (the process's in production).
pub fn check(
    config: &Config,
    options: RunOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Warnings, ConfigErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let file = config.file.as_path();
    let live = options.live || config.runtime.live;
    for (i, venue) in config.venues.iter().enumerate() {
        let key = |k: &str| Some(format!("venues[{i}].{k}"));
        let trading = config.strategies.iter().filter(|s| s.enabled && s.venue_name == venue.name());
        match venue {
            VenueConfig::Binance(b) | VenueConfig::Bybit(b) | VenueConfig::Okx(b) => {
                if b.environment == Environment::Mainnet && !live {
                    errors.push(issue(
                        file,
                        key("environment"),
                        "mainnet is real money: set runtime.live = true or pass --live to trade on it",
                    ));
                }
                match crate::venue::probe::has_key(venue, env) {
                    Ok(true) => {}
                    Ok(false) => {
                        for s in trading {
                            errors.push(issue(
                                &s.file,
                                Some("venue".to_owned()),
                                &format!(
                                    "venue {:?} has no API credentials ([venues.credentials]), so this strategy \
                                     could not place an order",
                                    b.name
                                ),
                            ));
                        }
                    }
                    Err(e) => errors.push(issue(file, key("credentials"), &format!("{e:#}"))),
                }
            }
            VenueConfig::Sim(s) => {
                let settings = match &s.sim_config {
                    Some(path) => {
                        let dir = file.parent().unwrap_or(Path::new("."));
                        match SimConfig::load(&dir.join(path)) {
                            Ok(settings) => Some(settings),
                            Err(e) => {
                                errors.push(issue(file, key("sim_config"), &e.to_string()));
                                None
                            }
                        }
                    }
                    None => Some(SimConfig::default()),
                };
                if let Some(settings) = settings {
                    sim_symbols(config, venue.name(), &settings, &mut errors, &mut warnings);
                }
            }
        }
    }
    ops(config, env, &mut errors, &mut warnings);
    if errors.is_empty() { Ok(Warnings(warnings)) } else { Err(ConfigErrors(errors)) }
}

fn issue(file: &Path, key: Option<String>, message: &str) -> ConfigIssue {
    ConfigIssue { file: file.to_owned(), key, message: message.to_owned() }
}

/// Each strategy on a simulated venue trades symbols it lists, in sizes its
/// filters take (at the start price, or the price the parameters fix).
fn sim_symbols(
    config: &Config,
    venue: &str,
    settings: &SimConfig,
    errors: &mut Vec<ConfigIssue>,
    warnings: &mut Vec<ConfigIssue>,
) {
    for s in config.strategies.iter().filter(|s| s.venue_name == venue) {
        // The simulator's candles are 1-minute ones.
        let built = s.params.build(&s.instance);
        let intervals = built.subscriptions().into_iter().filter_map(|sub| sub.klines);
        for interval in intervals.filter(|i| *i != tradewind_strategies::sdk::KlineInterval::M1) {
            errors.push(issue(
                &s.file,
                Some("interval".to_owned()),
                &format!(
                    "the simulator (venue {venue:?}) serves 1m klines only, not {}; use interval = \"1m\" or \
                     source = \"trades\"",
                    interval.as_str()
                ),
            ));
        }
        let listed: Vec<&str> = settings.symbols.iter().map(|c| c.symbol.as_str()).collect();
        for (i, symbol) in s.instance.symbols.iter().enumerate() {
            let Some(rules) = settings.symbols.iter().find(|c| c.symbol == symbol.as_str()) else {
                errors.push(issue(
                    &s.file,
                    Some(format!("symbols[{i}]")),
                    &format!("{symbol} is not listed on venue {venue:?} (it lists {})", listed.join(", ")),
                ));
                continue;
            };
            for size in s.params.order_sizes() {
                let price = size.price.unwrap_or(rules.start_price);
                if let Some(problem) = size_problem(size.qty, price, rules.step_size, rules.min_notional) {
                    let message = format!("{problem} on {symbol}: every such order would be refused");
                    // A price the market sets may move above the minimum; one the parameters fix will not.
                    let list =
                        if size.price.is_some() || size.qty < rules.step_size { &mut *errors } else { &mut *warnings };
                    list.push(issue(&s.file, Some(size.key.to_owned()), &message));
                }
            }
        }
    }
}

/// Why an order of `qty` at `price` breaks the venue's minimums, if it does.
pub fn size_problem(
    qty: rust_decimal::Decimal,
    price: rust_decimal::Decimal,
    step: rust_decimal::Decimal,
    min_notional: rust_decimal::Decimal,
) -> Option<String> {
    if step > rust_decimal::Decimal::ZERO && qty < step {
        return Some(format!("{qty} is below the venue's quantity step {step}"));
    }
    let notional = qty * price;
    (notional < min_notional).then(|| {
        format!(
            "{qty} at {} is {} in notional, below the venue's minimum {}",
            price.normalize(),
            notional.normalize(),
            min_notional.normalize()
        )
    })
}

/// The control API: a token where the API is reachable from elsewhere, long
/// enough, in a private file.
fn ops(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigIssue>,
    warnings: &mut Vec<ConfigIssue>,
) {
    let file = config.file.as_path();
    let token = match credentials::api_token(config.ops.token_file.as_deref(), env) {
        Ok(token) => token,
        Err(e) => {
            errors.push(issue(file, Some("ops.token_file".to_owned()), &format!("control API token: {e}")));
            return;
        }
    };
    if let Some(token) = &token
        && token.expose().chars().count() < MIN_TOKEN_CHARS
    {
        errors.push(issue(
            file,
            Some("ops.token_file".to_owned()),
            &format!(
                "the control API token must be at least {MIN_TOKEN_CHARS} characters (128 bits as hex: \
                 `openssl rand -hex 16`)"
            ),
        ));
    }
    let listen = config.ops.listen;
    if listen.ip().is_loopback() {
        return;
    }
    match token {
        None => errors.push(issue(
            file,
            Some("ops.listen".to_owned()),
            &format!(
                "{listen} is reachable from other machines: metrics, positions and PnL would be open to them; \
                 configure a control API token (ops.token_file) or listen on 127.0.0.1"
            ),
        )),
        Some(_) => warnings.push(issue(
            file,
            Some("ops.listen".to_owned()),
            &format!(
                "{listen} serves plain HTTP: the control API token travels unencrypted off this machine; \
                 put a TLS proxy in front or listen on 127.0.0.1"
            ),
        )),
    }
}
