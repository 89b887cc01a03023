//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// A throwaway config folder: `tradewind.toml` plus `strategies/*.toml`.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(main: &str, strategies: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("tradewind.toml"), main).expect("write main file");
        std::fs::create_dir(dir.path().join("strategies")).expect("create strategies dir");
        for (name, text) in strategies {
            std::fs::write(dir.path().join("strategies").join(name), text).expect("write strategy file");
        }
        Self { dir }
    }

    pub fn main_file(&self) -> PathBuf {
        self.dir.path().join("tradewind.toml")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The repository's `config/` folder.
pub fn repo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Just one simulator venue named `sim` (config validation tests).
pub const SIM_VENUE: &str = "[[venues]]\nname = \"sim\"\nkind = \"sim\"\n";

/// A main file with one simulator venue named `sim` and the journal in the config folder.
/// Keys appended to it land in the venue.
pub const SIM_MAIN: &str =
    "[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n[[venues]]\nname = \"sim\"\nkind = \"sim\"\n";

/// A valid `sma_cross` strategy file named `name`.
pub fn sma_file(name: &str) -> String {
    format!(
        "name = \"{name}\"\nkind = \"sma_cross\"\nvenue = \"sim\"\nsymbols = [\"BTCUSDT\"]\n\
         fast_period = 2\nslow_period = 5\norder_qty = \"0.001\"\n"
    )
}

/// The control API token the daemons of [`start_with`] get.
pub const TOKEN: &str = "integration-test-token-6f1c2a9e0b7d4";

/// A main file whose venue `bn` is the Binance connector pointed at `sim`
/// (testnet, the demo account's key), with `extra` (e.g. a `[risk]` table) before it.
pub fn binance_main(sim: &tradewind::venue::sim::SimHandle, extra: &str) -> String {
    binance_main_named(&[("bn", sim)], extra)
}

/// [`binance_main`] with one Binance venue per (name, simulator).
pub fn binance_main_named(venues: &[(&str, &tradewind::venue::sim::SimHandle)], extra: &str) -> String {
    let mut main = format!("[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n{extra}");
    for (name, sim) in venues {
        let rest = sim.rest_url();
        let host = rest.trim_start_matches("http://").to_owned();
        main.push_str(&format!(
            "[[venues]]\nname = \"{name}\"\nkind = \"binance\"\nenvironment = \"testnet\"\n\
             rest_url = \"{rest}\"\nstream_url = \"ws://{host}\"\nws_api_url = \"ws://{host}/ws-api/v3\"\n\
             [venues.credentials]\napi_key_env = \"TW_BN_KEY\"\napi_secret_env = \"TW_BN_SECRET\"\n"
        ));
    }
    main
}

/// Starts the daemon on `dir` with the demo account's key and [`TOKEN`]; returns once it is ready.
pub fn start_with(dir: &ConfigDir, more: &[(&str, &str)]) -> Daemon {
    use tradewind::venue::sim;
    let mut env =
        vec![("TW_BN_KEY", sim::DEMO_API_KEY), ("TW_BN_SECRET", sim::DEMO_API_SECRET), ("TRADEWIND_API_TOKEN", TOKEN)];
    env.extend_from_slice(more);
    Daemon::start(dir, &env)
}

/// A decimal the control API sent as a string.
/// Whether `client_id` is one of the ids instance `name` makes (whichever
/// process made it: no name needs registering).
pub fn owned_by(client_id: &str, name: &str) -> bool {
    use tradewind_strategies::sdk::{InstanceCode, owner};
    owner::parts(client_id).is_some_and(|(code, _)| code == InstanceCode::of(name))
}

pub fn dec(v: &serde_json::Value) -> rust_decimal::Decimal {
    v.as_str().unwrap_or_else(|| panic!("decimal as string, got {v}")).parse().unwrap()
}

/// A `tradewind run` child process whose log lines a thread drains into a
/// channel (so the daemon never blocks on a full pipe), with helpers to wait
/// for log messages and call its control API.
pub struct Daemon {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The ops listener (`host:port`).
    pub ops: String,
    /// Every log line read so far.
    pub seen: Vec<String>,
}

/// How long a test waits for a log line before it fails.
const LOG_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

impl Daemon {
    /// Starts the daemon on `dir` with extra environment variables; returns once it logs `running`.
    pub fn start(dir: &ConfigDir, env: &[(&str, &str)]) -> Daemon {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tradewind"));
        command.args(["--log-format", "json", "run", "--config"]).arg(dir.main_file()).env_remove("RUST_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.stderr(std::process::Stdio::piped()).spawn().expect("the daemon starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Daemon { child, lines, ops: String::new(), seen: Vec::new() };
        daemon.wait_count("running", 1);
        daemon.ops = daemon.seen.iter().find_map(|l| crate::cli::ops_addr(l)).expect("the ops address is logged");
        daemon
    }

    /// Reads log lines until `message` has been logged `n` times in all.
    pub fn wait_count(&mut self, message: &str, n: usize) {
        let needle = format!("\"message\":\"{message}\"");
        let deadline = std::time::Instant::now() + LOG_PATIENCE;
        while self.count(message) < n {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("{needle} ×{n} never came ({e:?}); the daemon said:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Reads log lines until one satisfies `pick`; returns it.
    pub fn wait_line(&mut self, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + LOG_PATIENCE;
        loop {
            if let Some(line) = self.seen.iter().find(|l| pick(l)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("{what} never came ({e:?}); the daemon said:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Reads `n` more log lines, whatever they say.
    pub fn wait_lines(&mut self, n: usize) {
        for _ in 0..n {
            match self.lines.recv_timeout(LOG_PATIENCE) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("the daemon went quiet ({e:?}):\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Reads log lines until `message` is logged once more.
    pub fn wait_message(&mut self, message: &str) {
        let n = self.count(message) + 1;
        self.wait_count(message, n);
    }

    /// How often `message` was logged so far.
    pub fn count(&self, message: &str) -> usize {
        let needle = format!("\"message\":\"{message}\"");
        self.seen.iter().filter(|l| l.contains(&needle)).count()
    }

    /// Every line logged so far, including those not waited for.
    pub fn drain(&mut self) -> &[String] {
        self.seen.extend(self.lines.try_iter());
        &self.seen
    }

    /// An HTTP call to the control API; the status and the JSON body.
    pub fn call(&self, method: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
        let (status, body) = crate::cli::http(&self.ops, method, path, Some(token));
        (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}")))
    }

    /// A GET on the control API (with [`TOKEN`]) that must succeed.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.call("GET", path, TOKEN);
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Waits until none of the daemon's open orders is still on its way to the venue
    /// (each is `open`), asking its control API.
    pub fn settled(&self) {
        let moving = || -> Vec<serde_json::Value> {
            let orders = self.get("/v1/orders");
            orders.as_array().expect("a list").iter().filter(|o| o["state"] != "open").cloned().collect()
        };
        if !self.until(|| moving().is_empty()) {
            panic!("orders never settled: {:?}", moving());
        }
    }

    /// Asks `done` until it holds; false if it still does not after a minute.
    pub fn until(&self, done: impl FnMut() -> bool) -> bool {
        eventually(done)
    }

    /// The client order ids of the daemon's open orders.
    pub fn open_order_ids(&self) -> std::collections::BTreeSet<String> {
        let orders = self.get("/v1/orders");
        orders.as_array().expect("a list").iter().map(|o| o["client_order_id"].as_str().unwrap().to_owned()).collect()
    }

    /// SIGTERM, then the exit code once it stopped.
    pub fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
        self.child.wait().expect("the daemon is waited for").code()
    }

    /// SIGKILL: no drain, no flush.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().expect("the daemon is waited for");
    }
}

/// Asks `done` until it holds; false if it still does not after a minute.
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + LOG_PATIENCE;
    while !done() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        // The daemon is another process, its state read over HTTP or from its
        // files: asking again is the only way to see it change.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}
