//! Strategy files: one TOML file per strategy instance.
//!
//! A file holds the instance's `name`, `kind`, `venue`, `symbols`, optional
//! `enabled`, and the parameters of its kind, all at top level:
//!
//! ```toml
//! name = "sma_btc"
//! kind = "sma_cross"
//! venue = "sim"
//! symbols = ["BTCUSDT"]
//! fast_period = 5
//! slow_period = 20
//! order_qty = "0.001"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tradewind_strategies::sdk::Symbol;
use tradewind_strategies::{Instance, StrategyParams};

use super::{ConfigIssue, deserialize_all};

/// Keys every strategy file has, whatever its kind.
const COMMON_KEYS: [&str; 6] = ["name", "kind", "venue", "symbols", "enabled", "risk"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    name: String,
    /// Read again as text for the parameters; here so that a missing or mistyped one is reported.
    #[serde(rename = "kind")]
    _kind: String,
    venue: String,
    symbols: Vec<Symbol>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    risk: super::schema::StrategyRisk,
}

fn yes() -> bool {
    true
}

/// One strategy instance as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyConfig {
    /// The file it came from.
    pub file: PathBuf,
    pub instance: Instance,
    /// Venue name as written (checked against `[[venues]]` by validation).
    pub venue_name: String,
    /// `enabled = false` keeps the file but does not run the instance.
    pub enabled: bool,
    pub params: StrategyParams,
    /// This strategy's own limits (over `[risk]`).
    pub risk: super::schema::StrategyRisk,
}

/// Loads every `*.toml` file in `dir`, sorted by name. Files that fail add
/// issues and are left out; a `*.toml` entry that is not a readable file (a
/// folder, a dangling symlink) and a folder without any strategy file are problems too.
pub(super) fn load_dir(dir: &Path, issues: &mut Vec<ConfigIssue>) -> Vec<StrategyConfig> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            issues.push(ConfigIssue::new(dir, Some("strategies_dir"), format!("cannot read folder: {e}")));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let (files, odd): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|p| p.is_file());
    for p in &odd {
        let what = if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
            "a symlink to nothing that can be read"
        } else {
            "not a file"
        };
        issues.push(ConfigIssue::new(p, None, format!("is {what}; a strategy file must be a readable file")));
    }
    if files.is_empty() && odd.is_empty() {
        issues.push(ConfigIssue::new(
            dir,
            Some("strategies_dir"),
            "holds no strategy file (*.toml): nothing would trade; see config/strategies/ for examples",
        ));
    }
    files.iter().filter_map(|f| load_file(f).map_err(|mut e| issues.append(&mut e)).ok()).collect()
}

/// Loads one strategy file.
pub fn load_file(file: &Path) -> Result<StrategyConfig, Vec<ConfigIssue>> {
    let parsed = config::Config::builder()
        .add_source(config::File::from(file).format(config::FileFormat::Toml).required(true))
        .build()
        .and_then(|c| c.try_deserialize::<config::Map<String, config::Value>>())
        .map_err(|e| vec![ConfigIssue::new(file, None, super::describe_parse_error(&e.to_string(), file))])?;

    let (common, rest): (config::Map<_, _>, config::Map<_, _>) =
        parsed.into_iter().partition(|(k, _)| COMMON_KEYS.contains(&k.as_str()));
    let origin = file.display().to_string();
    // The parameters are checked even when a common key is wrong, so both are reported.
    let kind = common.get("kind").and_then(|k| k.clone().into_string().ok());
    let common: Result<Common, _> =
        deserialize_all(file, config::Value::new(Some(&origin), common), |d| Common::deserialize(d));
    let rest = config::Value::new(Some(&origin), rest);
    let params = match kind {
        Some(kind) => deserialize_all(file, rest, |d| StrategyParams::deserialize_kind(&kind, d)).map_err(|mut e| {
            for issue in e.iter_mut().filter(|i| i.message.starts_with("unknown variant")) {
                issue.key = Some("kind".to_owned());
            }
            e
        }),
        // `common` reports the missing or mistyped kind.
        None => Err(Vec::new()),
    };
    let (common, params) = match (common, params) {
        (Ok(common), Ok(params)) => (common, params),
        (common, params) => {
            let mut issues = common.err().unwrap_or_default();
            let mut kind_reported = issues.iter().any(|i| i.key.as_deref() == Some("kind"));
            for issue in params.err().unwrap_or_default() {
                // An unknown kind is one problem, whichever part noticed it.
                if issue.key.as_deref() == Some("kind") && std::mem::replace(&mut kind_reported, true) {
                    continue;
                }
                issues.push(issue);
            }
            return Err(issues);
        }
    };
    let venue = tradewind_strategies::sdk::VenueId::new(&common.venue);
    let instance = Instance {
        name: common.name,
        // An invalid venue name is reported by validation (it matches no venue).
        venue: venue.unwrap_or_else(|_| tradewind_strategies::sdk::VenueId::new("invalid").expect("valid literal")),
        symbols: common.symbols,
    };
    Ok(StrategyConfig {
        file: file.to_path_buf(),
        instance,
        venue_name: common.venue,
        enabled: common.enabled,
        params,
        risk: common.risk,
    })
}
