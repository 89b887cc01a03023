//! Hot reload on a running daemon: an invalid file changes nothing and says
//! why; then an added, a removed and a changed strategy each get their
//! outcome, a new symbol is subscribed on a new connection, and the running
//! connections stay up. SIGHUP does the same as `tradewind reload`.

use std::process::Command;

use crate::cli::http;
use crate::support::{ConfigDir, Daemon, SIM_MAIN, sma_file};

const TOKEN: &str = "reload-token-3b8e1f0c6a2d9e7f4c51";

fn strategies(ops: &str) -> Vec<(String, String)> {
    let (status, body) = http(ops, "GET", "/v1/strategies", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let rows: serde_json::Value = serde_json::from_str(&body).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r["status"]["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn reload_adds_removes_and_restarts_strategies_and_refuses_invalid_files() {
    let dir =
        ConfigDir::new(SIM_MAIN, &[("a.toml", &sma_file("a")), ("b.toml", &sma_file("b")), ("c.toml", &sma_file("c"))]);
    let mut daemon = Daemon::start(&dir, &[("TRADEWIND_API_TOKEN", TOKEN)]);
    let ops = daemon.ops.clone();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tradewind"))
            .args(args)
            .arg("--config")
            .arg(dir.main_file())
            .args(["--api", &format!("http://{ops}")])
            .env("TRADEWIND_API_TOKEN", TOKEN)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let all = |s: &[(&str, &str)]| s.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<Vec<_>>();
    assert_eq!(strategies(&ops), all(&[("a", "running"), ("b", "running"), ("c", "running")]));

    // An invalid file next to a valid new one: nothing changes, every problem is named.
    let strategies_dir = dir.path().join("strategies");
    let eth = sma_file("d").replace("BTCUSDT", "ETHUSDT");
    std::fs::write(strategies_dir.join("d.toml"), &eth).unwrap();
    std::fs::write(strategies_dir.join("e.toml"), sma_file("e").replace("slow_period = 5", "slow_period = 0")).unwrap();
    let (code, _, err) = cli(&["reload"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("reload failed; the running configuration stays"), "{err}");
    assert!(err.contains("e.toml: slow_period: must be > fast_period (2), got 0"), "{err}");
    assert_eq!(strategies(&ops), all(&[("a", "running"), ("b", "running"), ("c", "running")]));

    // Fixed: e goes, b is removed, c changes, d (a new symbol) arrives.
    std::fs::remove_file(strategies_dir.join("e.toml")).unwrap();
    std::fs::remove_file(strategies_dir.join("b.toml")).unwrap();
    std::fs::write(strategies_dir.join("c.toml"), sma_file("c").replace("slow_period = 5", "slow_period = 7")).unwrap();
    let (code, out, err) = cli(&["reload", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let outcome: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(outcome["ok"], true);
    assert_eq!(outcome["added"], serde_json::json!(["d"]));
    assert_eq!(outcome["removed"], serde_json::json!(["b"]));
    assert_eq!(outcome["restarted"], serde_json::json!(["c"]));
    assert_eq!(outcome["unchanged"], serde_json::json!(["a"]));
    assert_eq!(outcome["streams_added"], 1, "ethusdt@trade on a new connection: {outcome}");
    assert_eq!(strategies(&ops), all(&[("a", "running"), ("b", "stopped"), ("c", "running"), ("d", "running")]));

    // SIGHUP: the same path (here: b comes back).
    std::fs::write(strategies_dir.join("b.toml"), sma_file("b")).unwrap();
    assert!(Command::new("kill").args(["-HUP", &daemon.child.id().to_string()]).status().unwrap().success());
    daemon.wait_count("reloaded", 2);
    assert_eq!(strategies(&ops).iter().find(|(n, _)| n == "b").unwrap().1, "running");

    daemon.wait_count("market stream connected", 2);
    let removed =
        daemon.seen.iter().any(|l| l.contains("\"message\":\"strategy removed\"") && l.contains("\"strategy\":\"b\""));
    let (connected, down) = (daemon.count("market stream connected"), daemon.count("market stream down"));
    assert_eq!(daemon.stop(), Some(0));
    // The first connection never dropped: one more connection (for ETHUSDT), no reconnects.
    assert_eq!((connected, down), (2, 0));
    assert!(removed);
}

#[test]
fn a_rotated_api_key_is_used_after_a_reload_without_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    use tradewind::secret::Secret;
    use tradewind::venue::sim::{self, SimConfig, SimOptions};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let options = SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 5,
        config: SimConfig::default(),
        accounts: Vec::new(),
    };
    let sim = runtime.block_on(sim::start(options, tokio_util::sync::CancellationToken::new())).unwrap();
    let rest = sim.rest_url();
    let host = rest.trim_start_matches("http://").to_owned();
    let keys = tempfile::tempdir().unwrap();
    let write_key = |key: &str, secret: &str| {
        for (name, text) in [("key", key), ("secret", secret)] {
            let path = keys.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    };
    write_key(sim::DEMO_API_KEY, sim::DEMO_API_SECRET);
    let main = format!(
        "[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n\
         [[venues]]\nname = \"bn\"\nkind = \"binance\"\nenvironment = \"testnet\"\n\
         rest_url = \"{rest}\"\nstream_url = \"ws://{host}\"\nws_api_url = \"ws://{host}/ws-api/v3\"\n\
         [venues.credentials]\napi_key_file = \"{}\"\napi_secret_file = \"{}\"\n",
        keys.path().join("key").display(),
        keys.path().join("secret").display()
    );
    let dir = ConfigDir::new(&main, &[("a.toml", &sma_file("a").replace("venue = \"sim\"", "venue = \"bn\""))]);
    let mut daemon = Daemon::start(&dir, &[("TRADEWIND_API_TOKEN", TOKEN)]);
    daemon.wait_count("order accepted", 1);
    let ops = daemon.ops.clone();

    // The exchange issues a second key for the account; the operator puts it in the files.
    sim.add_key("rotated-key-2", &Secret::new("rotated-secret-2"), 2);
    write_key("rotated-key-2", "rotated-secret-2");
    let (status, body) = http(&ops, "POST", "/v1/reload", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let outcome: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["keys_rotated"], serde_json::json!(["bn"]), "{outcome}");
    assert_eq!(outcome["needs_restart"], serde_json::json!([]), "{outcome}");
    // The old key is revoked: from here on only the new one works.
    sim.revoke_key(sim::DEMO_API_KEY);
    daemon.wait_count("user data stream subscribed", 2);
    daemon.wait_message("order accepted");
    let refused = daemon.drain().iter().any(|l| l.contains("-2015") || l.contains("-1022"));
    assert!(!refused, "no request was refused for its key or signature: {:#?}", daemon.seen);
    assert_eq!(daemon.stop(), Some(0));
}
