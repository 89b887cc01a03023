//! The `tradewind` binary: exit codes and output of its commands.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{ConfigDir, SIM_MAIN, repo_config, sma_file};

fn tradewind() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tradewind"));
    cmd.env_remove("RUST_LOG").env_remove("TRADEWIND_CONFIG");
    cmd
}

#[test]
fn check_config_prints_ok_and_a_line_per_strategy() {
    let out =
        tradewind().args(["check-config", "--config"]).arg(repo_config().join("tradewind.toml")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("ok"));
    let strategies = std::fs::read_dir(repo_config().join("strategies")).unwrap().count();
    assert_eq!(lines.count(), strategies);
    assert!(stdout.contains("sma_btc: sma_cross on sim [BTCUSDT]"), "{stdout}");
}

#[test]
fn the_shipped_exchange_configs_check_with_keys_in_the_environment_and_name_the_missing_ones() {
    for (file, key, secret, line) in [
        (
            "testnet.toml",
            "TRADEWIND_BINANCE_TESTNET_API_KEY",
            "TRADEWIND_BINANCE_TESTNET_API_SECRET",
            "sma_testnet: sma_cross on testnet [BTCUSDT]",
        ),
        (
            "bybit-testnet.toml",
            "TRADEWIND_BYBIT_TESTNET_API_KEY",
            "TRADEWIND_BYBIT_TESTNET_API_SECRET",
            "sma_bybit: sma_cross on bybit [BTCUSDT]",
        ),
    ] {
        let check = || {
            let mut command = tradewind();
            command.args(["check-config", "--config"]).arg(repo_config().join(file)).env_remove(key).env_remove(secret);
            command
        };
        let out = check().env(key, "k").env(secret, "s").output().unwrap();
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(line), "{file}");
        let out = check().output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("environment variable {key} is not set")), "{file}: {stderr}");
    }
}

#[test]
fn the_shipped_okx_demo_config_checks_with_its_three_key_parts_and_names_a_missing_passphrase() {
    let [key, secret, passphrase] =
        ["TRADEWIND_OKX_DEMO_API_KEY", "TRADEWIND_OKX_DEMO_API_SECRET", "TRADEWIND_OKX_DEMO_API_PASSPHRASE"];
    let check = || {
        let mut command = tradewind();
        command.args(["check-config", "--config"]).arg(repo_config().join("okx-demo.toml"));
        command.env_remove(key).env_remove(secret).env_remove(passphrase);
        command
    };
    let out = check().env(key, "k").env(secret, "s").env(passphrase, "p").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sma_okx: sma_cross on okx [BTC-USDT]"));
    let out = check().env(key, "k").env(secret, "s").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("environment variable {passphrase} is not set")), "{stderr}");
}

#[test]
fn check_config_lists_every_problem_and_exits_2() {
    let bad = sma_file("b").replace("slow_period = 5", "slow_period = 0");
    let dir = ConfigDir::new(&format!("{SIM_MAIN}[risk]\nmax_open_orders = 0\n"), &[("b.toml", &bad)]);
    let out = tradewind().args(["check-config", "--config"]).arg(dir.main_file()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("tradewind.toml: risk.max_open_orders: must be >= 1, got 0"), "{stderr}");
    assert!(stderr.contains("b.toml: slow_period: must be > fast_period (2), got 0"), "{stderr}");
    assert!(stderr.contains("2 problem(s) found"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// Starts `tradewind run` on a config folder; its JSON log lines come from stderr.
fn run_daemon(dir: &ConfigDir) -> (std::process::Child, std::io::Lines<BufReader<std::process::ChildStderr>>) {
    let mut child = tradewind()
        .args(["--log-format", "json", "run", "--config"])
        .arg(dir.main_file())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

#[test]
fn run_stops_cleanly_on_sigterm() {
    let dir = ConfigDir::new(SIM_MAIN, &[("a.toml", &sma_file("a"))]);
    let (mut child, mut lines) = run_daemon(&dir);
    // Wait for the daemon to say it runs (no sleeping: read its log).
    let running = lines.by_ref().map_while(Result::ok).find(|l| l.contains("\"message\":\"running\""));
    assert!(running.is_some(), "daemon never reported running");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{rest:#?}");
    assert!(rest.iter().any(|l| l.contains("\"message\":\"stopped\"")), "{rest:#?}");
    // Every log line is one JSON object.
    for line in &rest {
        assert!(line.starts_with('{') && line.ends_with('}'), "not a JSON line: {line}");
    }
}

/// Runs the daemon until it logged a fill, then stops it; returns the client order ids it used.
fn trade_once(dir: &ConfigDir) -> Vec<u64> {
    let (mut child, mut lines) = run_daemon(dir);
    let seq_of = |line: &str| -> Option<u64> {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        tradewind_strategies::sdk::owner::parts(v["client_order_id"].as_str()?).map(|(_, seq)| seq)
    };
    let mut seqs = Vec::new();
    for line in lines.by_ref().map_while(Result::ok) {
        if line.contains("\"message\":\"order accepted\"") {
            seqs.extend(seq_of(&line));
        }
        if line.contains("\"message\":\"fill\"") {
            break;
        }
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    for line in &rest {
        if line.contains("\"message\":\"order accepted\"") {
            seqs.extend(seq_of(line));
        }
    }
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest:#?}");
    assert!(!seqs.is_empty(), "the strategy traded");
    seqs
}

#[test]
fn client_order_ids_continue_from_the_journal_after_a_restart() {
    let dir = ConfigDir::new(SIM_MAIN, &[("a.toml", &sma_file("a"))]);
    let first = trade_once(&dir);
    assert!(dir.path().join("journal.db").exists());
    let second = trade_once(&dir);
    let last_before = *first.iter().max().unwrap();
    assert!(second.iter().all(|s| *s > last_before), "ids never repeat: {first:?} then {second:?}");
    // The second run continues the sequence rather than jumping to the clock.
    assert!(second.iter().min().unwrap() - last_before <= 3, "{first:?} then {second:?}");
}

/// A plain HTTP/1.1 GET; returns the status code and body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http(addr, "GET", path, None)
}

/// A plain HTTP/1.1 request with an optional bearer token; returns the status code and body.
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The ops address from the daemon's "ops endpoints listening" log line.
pub fn ops_addr(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    (v["message"] == "ops endpoints listening").then(|| v["addr"].as_str().map(str::to_owned))?
}

#[test]
fn ops_endpoints_report_health_readiness_and_metrics() {
    let dir = ConfigDir::new(SIM_MAIN, &[("a.toml", &sma_file("a"))]);
    let (mut child, mut lines) = run_daemon(&dir);
    let mut addr = None;
    for line in lines.by_ref().map_while(Result::ok) {
        addr = addr.or_else(|| ops_addr(&line));
        if line.contains("\"message\":\"fill\"") {
            break;
        }
    }
    let addr = addr.expect("the ops address is logged");
    assert_eq!(http_get(&addr, "/healthz"), (200, "ok\n".to_owned()));
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!((status, body.contains("running")), (200, true), "{body}");
    let (status, metrics) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    for name in [
        "tradewind_market_events_total{venue=\"sim\",channel=\"trade\"}",
        "tradewind_orders_total{venue=\"sim\",strategy=\"a\",outcome=\"accepted\"}",
        "tradewind_fills_total{venue=\"sim\",strategy=\"a\"}",
        "tradewind_rate_limit_limit{venue=\"sim\",budget=\"request_weight_1m\"} 6000",
        // (recorded at start: an order's own sample may land after its fill is reported)
        "tradewind_request_seconds_bucket{venue=\"sim\",endpoint=\"/api/v3/exchangeInfo\",le=\"0.001\"}",
        "tradewind_market_lag_seconds_count{venue=\"sim\"}",
        "tradewind_open_orders{strategy=\"a\"}",
        "tradewind_process_resident_memory_bytes ",
        "tradewind_phase{phase=\"running\"} 1",
        "tradewind_tick_to_strategy_seconds_count",
        "tradewind_tick_to_order_seconds_bucket{le=\"0.001\"}",
        // Rare events are exported at 0 from the start.
        "tradewind_ws_reconnects_total{venue=\"sim\"} 0",
        "tradewind_parse_errors_total{venue=\"sim\"} 0",
        "tradewind_http_429_total{venue=\"sim\"} 0",
        "tradewind_book_resyncs_total{venue=\"sim\",symbol=\"BTCUSDT\"} 0",
        "tradewind_risk_denials_total{strategy=\"a\",reason=\"max_open_orders\"} 0",
        "tradewind_external_open_orders{venue=\"sim\"} 0",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    // Every family says what it is.
    for family in metrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")).map(|l| l.split(' ').next().unwrap()) {
        assert!(metrics.contains(&format!("# HELP {family} ")), "{family} has no HELP line");
    }
    assert!(!metrics.contains("tradewind-demo-secret") && !metrics.contains("tradewind-demo-key"));
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest:#?}");
}

const CLI_TOKEN: &str = "cli-token-5d0e7a3c9b1f48e2a6c4b7d1";

#[test]
fn the_cli_reads_and_steers_the_running_daemon_then_falls_back_to_the_journal() {
    let dir = ConfigDir::new(SIM_MAIN, &[("a.toml", &sma_file("a"))]);
    let mut child = tradewind()
        .args(["--log-format", "json", "run", "--config"])
        .arg(dir.main_file())
        .env("TRADEWIND_API_TOKEN", CLI_TOKEN)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    for line in lines.by_ref().map_while(Result::ok) {
        addr = addr.or_else(|| ops_addr(&line));
        if line.contains("\"message\":\"fill\"") {
            break;
        }
    }
    let addr = addr.expect("the ops address is logged");
    let api = format!("http://{addr}");
    let cli = |args: &[&str], token: Option<&str>| {
        let mut cmd = tradewind();
        cmd.args(args).arg("--config").arg(dir.main_file()).arg("--api").arg(&api).env_remove("TRADEWIND_API_TOKEN");
        if let Some(t) = token {
            cmd.env("TRADEWIND_API_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, status, _) = cli(&["status"], Some(CLI_TOKEN));
    assert_eq!(code, Some(0));
    assert!(status.starts_with("tradewind ") && status.contains(": running, up "), "{status}");
    assert!(status.contains("trading: active\nstrategies: 1 (1 running)\n"), "{status}");
    assert!(status.contains("tick to order: p50 ") && status.contains(" orders\n"), "{status}");
    let (_, positions, _) = cli(&["positions"], Some(CLI_TOKEN));
    assert!(positions.starts_with("STRATEGY  VENUE  SYMBOL") && positions.contains("AVG ENTRY"), "{positions}");
    assert!(positions.lines().nth(1).is_some_and(|l| l.starts_with("a ") && l.contains("BTCUSDT")), "{positions}");
    let (_, json, _) = cli(&["balances", "--json"], Some(CLI_TOKEN));
    let balances: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(balances.as_array().unwrap().iter().any(|b| b["asset"] == "USDT"), "{json}");

    // Without the token the daemon refuses to change anything.
    let (code, _, err) = cli(&["halt"], None);
    assert_eq!(code, Some(1));
    assert!(err.contains("control_disabled") || err.contains("unauthorized"), "{err}");
    // The kill switch: trading halted, /readyz says so, resume lifts it.
    let (code, out, _) = cli(&["halt"], Some(CLI_TOKEN));
    assert_eq!((code, out.starts_with("ok: trading halted")), (Some(0), true), "{out}");
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!((status, body.contains("\"halted\"")), (503, true), "{body}");
    let (code, _, err) = cli(&["pause", "nope"], Some(CLI_TOKEN));
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown_strategy: no strategy named \"nope\""), "{err}");
    assert_eq!(cli(&["resume"], Some(CLI_TOKEN)).0, Some(0));
    // One strategy's lever says what it did (not "trading halted").
    let (code, out, _) = cli(&["pause", "a"], Some(CLI_TOKEN));
    assert_eq!((code, out.starts_with("ok: strategy a paused, ")), (Some(0), true), "{out}");
    let (code, out, _) = cli(&["resume", "a"], Some(CLI_TOKEN));
    assert_eq!((code, out.starts_with("ok: strategy a resumed, ")), (Some(0), true), "{out}");
    // `orders --all` reads the journal while the daemon runs too, and says only that.
    let (code, orders, _) = cli(&["orders", "--all"], None);
    assert_eq!(code, Some(0));
    assert!(orders.starts_with("(read from the journal "), "{orders}");
    assert_eq!(http_get(&addr, "/readyz").0, 200);

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest:#?}");
    // No daemon: `status` says so (exit 3); `orders` reads the journal.
    let (code, _, err) = cli(&["status"], Some(CLI_TOKEN));
    assert_eq!(code, Some(3), "{err}");
    let (code, orders, _) = cli(&["orders", "--all"], None);
    assert_eq!(code, Some(0));
    assert!(orders.starts_with("(read from the journal "), "{orders}");
    let code = tradewind_strategies::sdk::InstanceCode::of("a");
    assert!(orders.contains("STATE") && orders.contains(&format!("tw{code}")), "{orders}");
}

#[test]
fn the_grafana_dashboard_uses_only_metrics_the_daemon_exports() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard = std::fs::read_to_string(root.join("contrib/grafana/tradewind.json")).unwrap();
    let mut sources = String::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut names: Vec<&str> = dashboard
        .match_indices("tradewind_")
        .map(|(i, _)| {
            let rest = &dashboard[i..];
            &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let base = name.trim_end_matches("_bucket");
        assert!(sources.contains(&format!("\"{base}\"")), "{name} is not exported by the daemon");
    }
}

#[test]
fn bench_drives_the_daemon_from_the_firehose_and_prints_a_json_line() {
    // A short, slow run: the harness works end to end (figures are for release builds).
    let out = tradewind()
        .args(["bench", "--seconds", "2", "--warmup", "1", "--rate", "2000", "--every", "50", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let line = String::from_utf8(out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let events = report["events"].as_u64().unwrap();
    // 2,000 trades/s for about 2 s, all read (no reconnect).
    assert!((3_000..=5_000).contains(&events), "{report}");
    assert_eq!(report["reconnects"], 0, "{report}");
    assert!(report["orders"].as_u64().unwrap() >= 10, "one order per 50 trades: {report}");
    for key in ["p50", "p99", "p999", "max"] {
        assert!(report["tick_to_order_us"][key].as_f64().unwrap() > 0.0, "{report}");
    }
    assert!(report["peak_rss_mib"].as_f64().unwrap() > 1.0, "{report}");
    assert!(report["startup_to_ready_ms"].as_u64().unwrap() < 30_000, "{report}");
}
