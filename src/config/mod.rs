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

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use error::{ConfigErrors, ConfigIssue};
pub use schema::{
    Credentials, Environment, ExchangeVenueConfig, JournalConfig, KeyType, LogFormat, OpsConfig, RawConfig,
    RecordConfig, Region, RiskConfig, RuntimeConfig, SimProtocol, SimVenueConfig, VenueConfig,
};
pub use strategy_file::StrategyConfig;
pub use validate::check_log_level;

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
    /// `[record]`, its folder resolved against this file's folder.
    pub record: Option<RecordConfig>,
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
        let raw = read_main(path, env).raw.map_err(ConfigErrors)?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Config {
            file: path.to_path_buf(),
            strategies_dir: base_dir.join(&raw.strategies_dir),
            runtime: raw.runtime,
            venues: raw.venues,
            risk: raw.risk,
            journal: raw.journal,
            ops: raw.ops,
            record: raw.record.map(|r| RecordConfig { dir: base_dir.join(r.dir) }),
            strategies: Vec::new(),
        })
    }

    /// Loads `path` with overrides taken from `env` instead of the process
    /// environment (only variables starting with `TRADEWIND__` are used).
    pub fn load_with_env(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigErrors> {
        let env: HashMap<String, String> = env.into_iter().filter(|(k, _)| k.starts_with("TRADEWIND__")).collect();
        let mut issues = Vec::new();
        let main = read_main(path, env);
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // The strategy files are read even when the main file is broken, so
        // that every problem is listed at once.
        let strategies_dir = base_dir.join(&main.strategies_dir);
        if let Ok(raw) = &main.raw {
            validate::main(path, raw, &mut issues);
        }
        let strategies =
            if path.is_file() { strategy_file::load_dir(&strategies_dir, &mut issues) } else { Vec::new() };
        validate::strategy_files(&strategies, &mut issues);
        let raw = match main.raw {
            Ok(raw) => raw,
            Err(mut main_issues) => {
                main_issues.append(&mut issues);
                return Err(ConfigErrors(main.env.name_variables(main_issues)));
            }
        };
        validate::references(&raw, &strategies, &mut issues);
        if !issues.is_empty() {
            return Err(ConfigErrors(main.env.name_variables(issues)));
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
            record: raw.record.map(|r| RecordConfig { dir: base_dir.join(r.dir) }),
            strategies_dir,
            strategies,
        })
    }

    pub fn venue(&self, name: &str) -> Option<&VenueConfig> {
        self.venues.iter().find(|v| v.name() == name)
    }
}

/// The main file as read: its configuration (or every problem found in it),
/// where its strategy files are, and which keys the environment set.
struct MainFile {
    raw: Result<RawConfig, Vec<ConfigIssue>>,
    strategies_dir: PathBuf,
    env: EnvKeys,
}

/// The keys set by `TRADEWIND__…` variables, so that a problem with one of
/// them names the variable rather than the file.
struct EnvKeys {
    file: PathBuf,
    /// dotted key (lower case) → variable name
    keys: HashMap<String, String>,
}

impl EnvKeys {
    fn new(file: &Path, env: &HashMap<String, String>) -> Self {
        let keys = env
            .keys()
            .filter_map(|var| {
                let key = var.strip_prefix("TRADEWIND__")?.to_lowercase().replace("__", ".");
                Some((key, var.clone()))
            })
            .collect();
        Self { file: file.to_owned(), keys }
    }

    /// Issues of the main file about a key an environment variable set say so.
    fn name_variables(&self, mut issues: Vec<ConfigIssue>) -> Vec<ConfigIssue> {
        for issue in issues.iter_mut().filter(|i| i.file == self.file) {
            if let Some(var) = issue.key.as_deref().and_then(|k| self.keys.get(k)) {
                issue.message = format!("{} (set by the environment variable {var})", issue.message);
            }
        }
        issues
    }
}

/// Reads and deserializes the main file plus environment overrides.
fn read_main(path: &Path, env: HashMap<String, String>) -> MainFile {
    let env_keys = EnvKeys::new(path, &env);
    let failed = |issues, env| MainFile { raw: Err(issues), strategies_dir: schema::default_strategies_dir(), env };
    if !path.is_file() {
        return failed(
            vec![ConfigIssue::new(path, None, "file not found (give another with --config PATH)")],
            env_keys,
        );
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
        .and_then(|c| c.try_deserialize::<config::Map<String, config::Value>>());
    let built = match built {
        Ok(built) => built,
        Err(e) => {
            let issue = ConfigIssue::new(path, None, describe_parse_error(&e.to_string(), path));
            return failed(vec![issue], env_keys);
        }
    };
    let strategies_dir = match built.get("strategies_dir").map(|v| v.clone().into_string()) {
        Some(Ok(dir)) => PathBuf::from(dir),
        _ => schema::default_strategies_dir(),
    };
    let raw = deserialize_all(path, config::Value::new(None, built), |d| RawConfig::deserialize(d));
    MainFile { raw, strategies_dir, env: env_keys }
}

/// Deserializes with every failing key reported, not only the first: after
/// each failure the key is taken out and the rest tried again (a key taken
/// out is not reported again as missing).
pub(crate) fn deserialize_all<T, F>(file: &Path, value: config::Value, f: F) -> Result<T, Vec<ConfigIssue>>
where
    F: for<'a, 'b> Fn(serde_path_to_error::Deserializer<'a, 'b, config::Value>) -> Result<T, config::ConfigError>,
{
    /// Enough for any real file; a loop that makes no progress stops earlier.
    const MOST: usize = 64;
    let mut value = value;
    let mut issues: Vec<ConfigIssue> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MOST {
        let issue = match deserialize_with(file, value.clone(), &f) {
            Ok(t) if issues.is_empty() => return Ok(t),
            Ok(_) => return Err(issues),
            Err(issue) => issue,
        };
        let key = issue.key.clone();
        if issue.message.starts_with("missing") {
            // Reported as missing because it was taken out (the `config` crate
            // names it `venues[0]kind`, serde by its path or field alone).
            let flat = |k: &str| k.replace('.', "");
            let named = key_in_message(&issue.message).map(|f| flat(&f));
            let ours = |r: &String| {
                let r = flat(r);
                key.as_deref().is_some_and(|k| flat(k) == r)
                    || named.as_ref().is_some_and(|n| r == *n || r.ends_with(n.as_str()))
            };
            if removed.iter().any(ours) {
                break;
            }
        }
        issues.push(issue);
        match key {
            Some(k) if remove_key(&mut value, &k) => removed.push(k),
            _ => break,
        }
    }
    Err(issues)
}

/// Takes `key` (`a.b[0].c`) out of `value`; false if it is not there.
fn remove_key(value: &mut config::Value, key: &str) -> bool {
    let mut parts: Vec<&str> = Vec::new();
    for dotted in key.split('.') {
        let mut rest = dotted;
        while let Some(open) = rest.find('[') {
            if open > 0 {
                parts.push(&rest[..open]);
            }
            let Some(close) = rest[open..].find(']') else { return false };
            parts.push(&rest[open..open + close + 1]);
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(rest);
        }
    }
    let Some((last, path)) = parts.split_last() else { return false };
    let mut at = value;
    for part in path {
        let next = match (&mut at.kind, part.strip_prefix('[').and_then(|p| p.strip_suffix(']'))) {
            (config::ValueKind::Array(items), Some(i)) => i.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            (config::ValueKind::Table(table), None) => table.get_mut(*part),
            _ => None,
        };
        let Some(next) = next else { return false };
        at = next;
    }
    match &mut at.kind {
        config::ValueKind::Table(table) => table.remove(*last).is_some(),
        _ => false,
    }
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
            Some(field) if message.starts_with("missing field") => Some(format!("{path}.{field}")),
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
