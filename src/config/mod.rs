//! Configuration: raw TOML (serde, `deny_unknown_fields`) → validated [`Config`].
//!
//! Sources, in order of precedence: environment variables
//! `TRADEWIND__SECTION__KEY` (e.g. `TRADEWIND__RISK__MAX_OPEN_ORDERS=5`), the
//! main file (default `config/tradewind.toml`), and one file per strategy
//! instance in `strategies_dir`. Loading never stops at the first problem: it
//! gathers every problem, each naming its file and key, so `check-config`
//! can list them all. This module does no network I/O and reads no secrets
//! (it only keeps the *names* of the variables or files that hold them).

pub mod diff;
mod error;
pub mod schema;
mod strategy_file;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use error::{ConfigErrors, ConfigIssue};
pub use schema::{
    BinanceVenueConfig, Credentials, Environment, JournalConfig, LogFormat, OpsConfig, RawConfig, RiskConfig,
    RuntimeConfig, SimVenueConfig, VenueConfig,
};
pub use strategy_file::StrategyConfig;

/// The default main configuration file.
pub const DEFAULT_PATH: &str = "config/tradewind.toml";

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main file it was read from.
    pub file: PathBuf,
    pub runtime: RuntimeConfig,
    pub venues: Vec<VenueConfig>,
    pub risk: RiskConfig,
    pub journal: JournalConfig,
    pub ops: OpsConfig,
    /// Resolved folder of strategy files.
    pub strategies_dir: PathBuf,
    /// Strategy instances, sorted by file name.
    pub strategies: Vec<StrategyConfig>,
}

impl Config {
    /// Loads `path` with overrides from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Loads only the main file (no strategy files, no cross-checks): what a
    /// client of a running daemon needs (`[ops]`, `[journal]`), even while a
    /// strategy file being edited is invalid.
    pub fn load_main(path: &Path) -> Result<Config, ConfigErrors> {
        let env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("TRADEWIND__")).collect();
        let raw = read_main(path, env).map_err(|issue| ConfigErrors(vec![issue]))?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Config {
            file: path.to_path_buf(),
            strategies_dir: base_dir.join(&raw.strategies_dir),
            runtime: raw.runtime,
            venues: raw.venues,
            risk: raw.risk,
            journal: raw.journal,
            ops: raw.ops,
            strategies: Vec::new(),
        })
    }

    /// Loads `path` with overrides taken from `env` instead of the process
    /// environment (only variables starting with `TRADEWIND__` are used).
    pub fn load_with_env(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigErrors> {
        let env: HashMap<String, String> = env.into_iter().filter(|(k, _)| k.starts_with("TRADEWIND__")).collect();
        let mut issues = Vec::new();
        let raw = match read_main(path, env) {
            Ok(raw) => raw,
            Err(issue) => return Err(ConfigErrors(vec![issue])),
        };
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let strategies_dir = base_dir.join(&raw.strategies_dir);
        validate::main(path, &raw, &mut issues);
        let strategies = strategy_file::load_dir(&strategies_dir, &mut issues);
        validate::strategies(&raw, &strategies, &mut issues);
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        // The journal path stays as written: `app::journal_path` resolves it
        // (against $STATE_DIRECTORY under systemd, else this file's folder).
        let journal = raw.journal;
        Ok(Config {
            file: path.to_path_buf(),
            runtime: raw.runtime,
            venues: raw.venues,
            risk: raw.risk,
            journal,
            ops: raw.ops,
            strategies_dir,
            strategies,
        })
    }

    pub fn venue(&self, name: &str) -> Option<&VenueConfig> {
        self.venues.iter().find(|v| v.name() == name)
    }
}

/// Reads and deserializes the main file plus environment overrides.
fn read_main(path: &Path, env: HashMap<String, String>) -> Result<RawConfig, ConfigIssue> {
    if !path.is_file() {
        return Err(ConfigIssue::new(path, None, "file not found (give another with --config PATH)"));
    }
    let built = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml).required(true))
        .add_source(
            config::Environment::with_prefix("TRADEWIND")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        )
        .build()
        .and_then(|c| c.try_deserialize::<config::Map<String, config::Value>>())
        .map_err(|e| ConfigIssue::new(path, None, describe_parse_error(&e.to_string(), path)))?;
    deserialize(path, config::Value::new(None, built))
}

/// Deserializes with the failing key's path in the issue.
pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(file: &Path, value: config::Value) -> Result<T, ConfigIssue> {
    deserialize_with(file, value, |d| T::deserialize(d))
}

/// Runs `f` on a path-tracking wrapper of `value`; a failure names the key it was at.
pub(crate) fn deserialize_with<T, F>(file: &Path, value: config::Value, f: F) -> Result<T, ConfigIssue>
where
    F: for<'a, 'b> FnOnce(serde_path_to_error::Deserializer<'a, 'b, config::Value>) -> Result<T, config::ConfigError>,
{
    let de = value;
    let mut track = serde_path_to_error::Track::new();
    f(serde_path_to_error::Deserializer::new(de, &mut track)).map_err(|inner| {
        let path = track.path().to_string();
        let message = clean_message(&inner.to_string());
        let key = match key_in_message(&message) {
            _ if path.is_empty() || path == "." => key_in_message(&message),
            // serde does not always extend the path by the unknown field it names.
            Some(field) if message.starts_with("unknown field") && !path.ends_with(&field) => {
                Some(format!("{path}.{field}"))
            }
            _ => Some(path),
        };
        ConfigIssue { file: file.to_path_buf(), key, message }
    })
}

/// Makes the TOML parser's multi-line report one line: position and reason.
fn describe_parse_error(text: &str, path: &Path) -> String {
    let text = text.replace(&format!(" in {}", path.display()), "");
    // The `config` crate appends " in <origin>" (a relative path); the issue names the file already.
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("in "));
    let head = lines.next().unwrap_or("cannot be parsed").to_owned();
    // The report is: header, then a source excerpt (`|` lines), then the reason.
    let reason = lines.rfind(|l| !l.contains('|') && !l.starts_with('^'));
    match reason {
        Some(r) if head.contains("line") => format!("{head}: {r}"),
        _ => head,
    }
}

/// Drops the `config` crate's origin suffixes, which repeat the file name.
fn clean_message(message: &str) -> String {
    let mut m = message.to_owned();
    if let Some(i) = m.find(" for key `") {
        m.truncate(i);
    }
    if let Some(i) = m.find(" in ") {
        // " in <origin>" suffixes carry the file path; the issue already names it.
        if m[i..].contains('/') || m[i..].contains(".toml") || m[i..].contains("environment") {
            m.truncate(i);
        }
    }
    m
}

/// For errors serde reports without a path (`unknown field `x``), the key it names.
fn key_in_message(message: &str) -> Option<String> {
    if message.starts_with("unknown variant") {
        return Some("kind".to_owned());
    }
    let quote = if message.contains('`') { '`' } else { '"' };
    let start = message.find(quote)? + 1;
    let end = start + message[start..].find(quote)?;
    Some(message[start..end].to_owned())
}
