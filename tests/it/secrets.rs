//! Secrets never leave: a daemon trading with canary credentials (and a
//! canary control API token) at TRACE level — through orders, refused API
//! calls, a crash and the recovery after it — writes them into no log line,
//! no metric and no API answer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{ConfigDir, Daemon, sma_file};

const KEY: &str = "canaryKEY4f9d2Q";
const SECRET: &str = "canarySECRET7b1eZ";
const TOKEN: &str = "canaryTOKEN9c3aX7f2e81d4b6a0c95e3";

#[test]
fn canary_credentials_appear_in_no_log_line_or_metric() {
    // A standalone simulator that knows the canary account.
    let mut sim = Command::new(env!("CARGO_BIN_EXE_tradewind"))
        .args(["--log-format", "json", "sim", "--listen", "127.0.0.1:0", "--account"])
        .arg(format!("{KEY}:{SECRET}"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut sim_lines = BufReader::new(sim.stderr.take().unwrap()).lines();
    let url = sim_lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("listening on http://").nth(1).map(|rest| rest.split('"').next().unwrap_or("").to_owned())
        })
        .expect("the simulator reports its address");

    let main = format!(
        "[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n[runtime]\nlog_level = \"trace\"\n\
         [[venues]]\nname = \"bn\"\nkind = \"binance\"\nenvironment = \"testnet\"\n\
         rest_url = \"http://{url}\"\nstream_url = \"ws://{url}\"\nws_api_url = \"ws://{url}/ws-api/v3\"\n\
         [venues.credentials]\napi_key_env = \"TW_CANARY_KEY\"\napi_secret_env = \"TW_CANARY_SECRET\"\n"
    );
    let strategy = sma_file("c").replace("venue = \"sim\"", "venue = \"bn\"");
    let dir = ConfigDir::new(&main, &[("c.toml", &strategy)]);
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_tradewind"))
        .args(["--log-format", "json", "run", "--config"])
        .arg(dir.main_file())
        .env_remove("RUST_LOG")
        .env("TW_CANARY_KEY", KEY)
        .env("TW_CANARY_SECRET", SECRET)
        .env("TRADEWIND_API_TOKEN", TOKEN)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut ops = None;
    for line in lines.by_ref().map_while(Result::ok) {
        ops = ops.or_else(|| crate::cli::ops_addr(&line));
        let filled = line.contains("\"message\":\"fill\"");
        seen.push(line);
        if filled {
            break;
        }
    }
    let ops = ops.expect("ops address logged");
    let metrics = crate::cli::http_get(&ops, "/metrics").1;
    // The control API: its answers (and its refusals) carry no secret either.
    let mut answers = Vec::new();
    for (path, token) in
        [("/v1/status", TOKEN), ("/v1/orders", TOKEN), ("/v1/balances", TOKEN), ("/v1/status", "wrong")]
    {
        let (status, body) = crate::cli::http(&ops, "GET", path, Some(token));
        assert_eq!(status, if token == TOKEN { 200 } else { 401 }, "{path}: {body}");
        answers.push(body);
    }
    assert!(Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap().success());
    seen.extend(lines.map_while(Result::ok));
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    // A crash while trading (SIGKILL), then the recovery run: the same holds for both.
    let env = [("TW_CANARY_KEY", KEY), ("TW_CANARY_SECRET", SECRET), ("TRADEWIND_API_TOKEN", TOKEN)];
    let mut crashed = Daemon::start(&dir, &env);
    crashed.wait_message("order accepted");
    seen.extend(crashed.drain().to_vec());
    crashed.kill();
    let mut recovering = Daemon::start(&dir, &env);
    assert_eq!(recovering.count("reconciled with the venue"), 1);
    seen.extend(recovering.drain().to_vec());
    assert_eq!(recovering.stop(), Some(0));
    let _ = sim.kill();
    let _ = sim.wait();

    // The most verbose levels were on (libraries that dump wire payloads are capped at DEBUG).
    assert!(seen.iter().any(|l| l.contains("\"level\":\"DEBUG\"")), "debug lines were written: {seen:#?}");
    for line in seen.iter().chain(&answers) {
        for canary in [KEY, SECRET, TOKEN] {
            assert!(!line.contains(canary), "a secret leaked into: {line}");
        }
    }
    for canary in [KEY, SECRET, TOKEN] {
        assert!(!metrics.contains(canary), "a secret leaked into /metrics");
    }
    assert!(metrics.contains("tradewind_fills_total{venue=\"bn\",strategy=\"c\"}"), "{metrics}");
}

#[test]
fn mainnet_refuses_an_api_key_that_can_withdraw_unless_allowed() {
    use tradewind::venue::sim::{self, SimConfig, SimOptions};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let config = SimConfig { keys_can_withdraw: true, ..SimConfig::default() };
    let options = SimOptions { listen: "127.0.0.1:0".parse().unwrap(), seed: 3, config, accounts: Vec::new() };
    let sim = runtime.block_on(sim::start(options, tokio_util::sync::CancellationToken::new())).unwrap();
    let rest = sim.rest_url();
    let host = rest.trim_start_matches("http://").to_owned();
    let main = |allow: bool| {
        format!(
            "[journal]\npath = \"journal.db\"\n[ops]\nlisten = \"127.0.0.1:0\"\n\
             [[venues]]\nname = \"live\"\nkind = \"binance\"\nenvironment = \"mainnet\"\nallow_withdrawal_keys = {allow}\n\
             rest_url = \"{rest}\"\nstream_url = \"ws://{host}\"\nws_api_url = \"ws://{host}/ws-api/v3\"\n\
             [venues.credentials]\napi_key_env = \"TW_K\"\napi_secret_env = \"TW_S\"\n"
        )
    };
    let run = |dir: &ConfigDir| {
        Command::new(env!("CARGO_BIN_EXE_tradewind"))
            .args(["--log-format", "json", "run", "--live", "--config"])
            .arg(dir.main_file())
            .env_remove("RUST_LOG")
            .env("TW_K", sim::DEMO_API_KEY)
            .env("TW_S", sim::DEMO_API_SECRET)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let strategy = sma_file("a").replace("venue = \"sim\"", "venue = \"live\"");
    let refused = run(&ConfigDir::new(&main(false), &[("a.toml", &strategy)])).wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "a key that can withdraw is a configuration error");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("can withdraw funds: create a key with trading rights only"), "{stderr}");

    // Allowed explicitly: it starts, with a warning.
    let dir = ConfigDir::new(&main(true), &[("a.toml", &strategy)]);
    let mut daemon = run(&dir);
    let mut output = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let lines: Vec<String> =
        output.by_ref().map_while(Result::ok).take_while(|l| !l.contains("\"message\":\"running\"")).collect();
    assert!(lines.iter().any(|l| l.contains("the API key can withdraw funds (allowed")), "{lines:#?}");
    assert!(Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = output.map_while(Result::ok).collect();
    assert_eq!(daemon.wait().unwrap().code(), Some(0), "{rest:#?}");
}
