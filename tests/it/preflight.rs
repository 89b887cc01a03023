//! What `run` refuses, `check-config` finds first: each configuration below
//! passes the file checks, and both commands refuse it with exit code 2 and a
//! message naming the file and key (or variable) at fault.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::{ConfigDir, SIM_MAIN, sma_file};

fn tradewind() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tradewind"));
    cmd.env_remove("RUST_LOG").env_remove("TRADEWIND_CONFIG").env_remove("TRADEWIND_API_TOKEN");
    cmd.env_remove("CREDENTIALS_DIRECTORY").env_remove("STATE_DIRECTORY");
    cmd
}

const BINANCE_ENV_KEYS: &str = "[[venues]]\nname = \"bn\"\nkind = \"binance\"\nenvironment = \"{env}\"\n\
    [venues.credentials]\napi_key_env = \"TW_PF_KEY\"\napi_secret_env = \"TW_PF_SECRET\"\n";

fn on_bn(name: &str) -> String {
    sma_file(name).replace("venue = \"sim\"", "venue = \"bn\"")
}

/// (case, main file, strategy files, environment, files to write (name, text, mode), fragments).
type Case = (
    &'static str,
    String,
    Vec<(&'static str, String)>,
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str, u32)>,
    Vec<&'static str>,
);

fn cases() -> Vec<Case> {
    let keys = vec![("TW_PF_KEY", "k"), ("TW_PF_SECRET", "s")];
    let journal = "[journal]\npath = \"journal.db\"\n";
    vec![
        (
            "mainnet without live",
            format!("{journal}{}", BINANCE_ENV_KEYS.replace("{env}", "mainnet")),
            vec![("a.toml", on_bn("a"))],
            keys.clone(),
            vec![],
            vec![
                "tradewind.toml: venues[0].environment: mainnet is real money: set runtime.live = true or pass --live",
            ],
        ),
        (
            "a credentials variable that is not set",
            format!("{journal}{}", BINANCE_ENV_KEYS.replace("{env}", "testnet")),
            vec![("a.toml", on_bn("a"))],
            vec![("TW_PF_KEY", "k")],
            vec![],
            vec!["tradewind.toml: venues[0].credentials: environment variable TW_PF_SECRET is not set or empty"],
        ),
        (
            "a key file readable by others",
            format!(
                "{journal}[[venues]]\nname = \"bn\"\nkind = \"binance\"\n[venues.credentials]\n\
                 api_key_file = \"{{dir}}/key\"\napi_secret_file = \"{{dir}}/secret\"\n"
            ),
            vec![("a.toml", on_bn("a"))],
            vec![],
            vec![("key", "k", 0o644), ("secret", "s", 0o600)],
            vec!["tradewind.toml: venues[0].credentials: key is readable by group or others; chmod 600 it"],
        ),
        (
            "a venue without credentials that strategies trade on",
            format!("{journal}[[venues]]\nname = \"bn\"\nkind = \"binance\"\n"),
            vec![("a.toml", on_bn("a"))],
            vec![],
            vec![],
            vec!["strategies/a.toml: venue: venue \"bn\" has no API credentials"],
        ),
        (
            "a simulator settings file that is not there",
            format!("{SIM_MAIN}sim_config = \"nope.toml\"\n"),
            vec![("a.toml", sma_file("a"))],
            vec![],
            vec![],
            vec!["tradewind.toml: venues[0].sim_config: ", "nope.toml"],
        ),
        (
            "a control API open to other machines without a token",
            SIM_MAIN.replace("127.0.0.1:0", "0.0.0.0:0"),
            vec![("a.toml", sma_file("a"))],
            vec![],
            vec![],
            vec!["tradewind.toml: ops.listen: 0.0.0.0:0 is reachable from other machines"],
        ),
        (
            "a token shorter than 128 bits",
            SIM_MAIN.to_owned(),
            vec![("a.toml", sma_file("a"))],
            vec![("TRADEWIND_API_TOKEN", "short-token")],
            vec![],
            vec!["tradewind.toml: ops.token_file: the control API token must be at least 32 characters"],
        ),
        (
            "a token file readable by others",
            SIM_MAIN.replace("[ops]\n", "[ops]\ntoken_file = \"{dir}/token\"\n"),
            vec![("a.toml", sma_file("a"))],
            vec![],
            vec![("token", "0123456789abcdef0123456789abcdef", 0o644)],
            vec!["tradewind.toml: ops.token_file: control API token: token is readable by group or others"],
        ),
        (
            "a symbol the venue does not list",
            SIM_MAIN.to_owned(),
            vec![("a.toml", sma_file("a").replace("BTCUSDT", "DOGEUSDT"))],
            vec![],
            vec![],
            vec![
                "strategies/a.toml: symbols[0]: DOGEUSDT is not listed on venue \"sim\" (it lists BTCUSDT, ETHUSDT, ETHBTC)",
            ],
        ),
        (
            "klines the simulator does not make",
            SIM_MAIN.to_owned(),
            vec![("a.toml", format!("{}source = \"klines\"\ninterval = \"5m\"\n", sma_file("a")))],
            vec![],
            vec![],
            vec!["strategies/a.toml: interval: the simulator (venue \"sim\") serves 1m klines only, not 5m"],
        ),
        (
            "orders below the minimum notional",
            SIM_MAIN.to_owned(),
            vec![(
                "g.toml",
                "name = \"g\"\nkind = \"grid\"\nvenue = \"sim\"\nsymbols = [\"ETHUSDT\"]\nlower = \"2985\"\n\
                 upper = \"3015\"\nlevels = 4\norder_qty = \"0.001\"\n"
                    .to_owned(),
            )],
            vec![],
            vec![],
            vec![
                "strategies/g.toml: order_qty: 0.001 at 2985 is 2.985 in notional, below the venue's minimum 5 on ETHUSDT",
            ],
        ),
    ]
}

#[test]
fn check_config_and_run_refuse_the_same_configurations_with_exit_code_2() {
    for (case, main, strategies, env, files, fragments) in cases() {
        let dir = ConfigDir::new("", &[]);
        for (name, text, mode) in &files {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        let main = main.replace("{dir}", &dir.path().display().to_string());
        std::fs::write(dir.main_file(), main).unwrap();
        for (name, text) in &strategies {
            std::fs::write(dir.path().join("strategies").join(name), text).unwrap();
        }
        for command in ["check-config", "run"] {
            let mut cmd = tradewind();
            cmd.args(["--log-format", "json", command, "--config"]).arg(dir.main_file());
            for (k, v) in &env {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", dir.path().display()), "");
            assert_eq!(out.status.code(), Some(2), "{case}: {command}: {stderr}");
            for fragment in &fragments {
                assert!(stderr.contains(fragment), "{case}: {command}: {fragment:?} not in\n{stderr}");
            }
        }
    }
}

#[test]
fn check_config_live_accepts_what_run_live_would() {
    let dir = ConfigDir::new(
        &format!("[journal]\npath = \"j.db\"\n{}", BINANCE_ENV_KEYS.replace("{env}", "mainnet")),
        &[("a.toml", &on_bn("a"))],
    );
    let out = tradewind()
        .args(["check-config", "--live", "--config"])
        .arg(dir.main_file())
        .env("TW_PF_KEY", "k")
        .env("TW_PF_SECRET", "s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A simulator on loopback for the commands to ask, with its runtime.
fn simulator() -> (tokio::runtime::Runtime, tradewind::venue::sim::SimHandle) {
    use tradewind::venue::sim::{self, SimOptions};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let options = SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 5,
        config: sim::SimConfig::default(),
        accounts: Vec::new(),
    };
    let sim = runtime.block_on(sim::start(options, tokio_util::sync::CancellationToken::new())).unwrap();
    (runtime, sim)
}

fn with_demo_key(cmd: &mut Command) -> &mut Command {
    use tradewind::venue::sim;
    cmd.env("TW_BN_KEY", sim::DEMO_API_KEY).env("TW_BN_SECRET", sim::DEMO_API_SECRET)
}

#[test]
fn check_config_online_asks_the_venue_about_symbols_sizes_and_the_key() {
    let (_runtime, sim) = simulator();
    let main = crate::support::binance_main(&sim, "");
    let on = |text: String| text.replace("venue = \"sim\"", "venue = \"bn\"");
    let good = ConfigDir::new(&main, &[("a.toml", &on(sma_file("a")))]);
    let mut cmd = tradewind();
    let out = with_demo_key(cmd.args(["check-config", "--online", "--config"]).arg(good.main_file())).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("bn: BTCUSDT listed and trading (a)"), "{stdout}");
    assert!(stdout.contains("bn: the API key reads the account"), "{stdout}");

    // A symbol the venue does not list, a size below its minimum at today's price, a wrong key.
    let unlisted = on(sma_file("u")).replace("BTCUSDT", "DOGEUSDT");
    let tiny = on(sma_file("t")).replace("order_qty = \"0.001\"", "order_qty = \"0.00001\"");
    let bad = ConfigDir::new(&main, &[("u.toml", &unlisted), ("t.toml", &tiny)]);
    let out = tradewind()
        .args(["check-config", "--online", "--config"])
        .arg(bad.main_file())
        .env("TW_BN_KEY", "not-a-key")
        .env("TW_BN_SECRET", "nope")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", bad.path().display()), "");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for fragment in [
        "strategies/u.toml: symbols[0]: DOGEUSDT is not listed on venue \"bn\"",
        "strategies/t.toml: order_qty: 0.00001 at ",
        "below the venue's minimum 5 on BTCUSDT",
        "tradewind.toml: venues[0].credentials: the venue refused the API key",
    ] {
        assert!(stderr.contains(fragment), "{fragment:?} not in\n{stderr}");
    }
}

#[test]
fn run_refuses_a_symbol_the_venue_does_not_list_with_exit_code_2() {
    let (_runtime, sim) = simulator();
    let main = crate::support::binance_main(&sim, "");
    let unlisted = sma_file("u").replace("venue = \"sim\"", "venue = \"bn\"").replace("BTCUSDT", "DOGEUSDT");
    let dir = ConfigDir::new(&main, &[("u.toml", &unlisted)]);
    let mut cmd = tradewind();
    let out =
        with_demo_key(cmd.args(["--log-format", "json", "run", "--config"]).arg(dir.main_file())).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", dir.path().display()), "");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("strategies/u.toml: symbols[0]: DOGEUSDT is not listed on venue \\\"bn\\\""), "{stderr}");
}
