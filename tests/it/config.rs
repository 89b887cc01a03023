//! Configuration loading: the shipped files load, and every kind of bad input
//! gets its own message naming file and key.

use tradewind::config::{Config, ConfigErrors, VenueConfig};

use crate::support::{ConfigDir, SIM_VENUE, repo_config, sma_file};

fn load(dir: &ConfigDir) -> Result<Config, ConfigErrors> {
    Config::load_with_env(&dir.main_file(), [])
}

fn issues(main: &str, strategies: &[(&str, &str)]) -> Vec<String> {
    let dir = ConfigDir::new(main, strategies);
    let errors = load(&dir).expect_err("config should be rejected");
    // Every issue names its file.
    for issue in errors.issues() {
        assert!(issue.file.starts_with(dir.path()), "issue without its file: {issue}");
    }
    errors.issues().iter().map(|i| i.to_string().replace(&format!("{}/", dir.path().display()), "")).collect()
}

#[test]
fn shipped_configs_load() {
    let config = Config::load_with_env(&repo_config().join("tradewind.toml"), []).expect("default config is valid");
    assert!(matches!(config.venues[0], VenueConfig::Sim(_)));
    assert!(!config.strategies.is_empty());
    assert!(config.strategies.iter().all(|s| config.venue(&s.venue_name).is_some()));
}

#[test]
fn environment_overrides_keys() {
    let dir = ConfigDir::new(SIM_VENUE, &[("a.toml", &sma_file("a"))]);
    let env = [
        ("TRADEWIND__RISK__MAX_OPEN_ORDERS".to_owned(), "3".to_owned()),
        ("TRADEWIND__RUNTIME__LOG_LEVEL".to_owned(), "debug".to_owned()),
        ("UNRELATED".to_owned(), "x".to_owned()),
    ];
    let config = Config::load_with_env(&dir.main_file(), env).unwrap();
    assert_eq!(config.risk.max_open_orders, 3);
    assert_eq!(config.runtime.log_level, "debug");

    // A strategy's own [risk] overrides [risk] for it alone.
    let own = format!("{}[risk]\nmax_position = \"0.5\"\nmax_open_orders = 7\n", sma_file("b"));
    let dir2 = ConfigDir::new(
        &format!("{SIM_VENUE}[risk]\nmax_position = \"2\"\nmax_order_qty = \"1\"\n"),
        &[("a.toml", &sma_file("a")), ("b.toml", &own)],
    );
    let c = load(&dir2).unwrap();
    let of = |name: &str| c.risk.for_strategy(&c.strategies.iter().find(|s| s.instance.name == name).unwrap().risk);
    let (a, b) = (of("a"), of("b"));
    assert_eq!(
        (a.max_position, a.max_open_orders, a.max_order_qty),
        (Some("2".parse().unwrap()), 20, Some("1".parse().unwrap()))
    );
    assert_eq!(
        (b.max_position, b.max_open_orders, b.max_order_qty),
        (Some("0.5".parse().unwrap()), 7, Some("1".parse().unwrap()))
    );

    let bad = [("TRADEWIND__RISK__MAX_OPEN_ORDERS".to_owned(), "many".to_owned())];
    let err = Config::load_with_env(&dir.main_file(), bad).unwrap_err().to_string();
    assert!(err.contains("risk.max_open_orders"), "{err}");
}

/// (case, main file, strategy files, expected fragments of the one issue reported).
type Case = (&'static str, String, Vec<(&'static str, String)>, &'static [&'static str]);

fn cases() -> Vec<Case> {
    let sim = SIM_VENUE.to_owned();
    let sma = |extra: &str| format!("{}{extra}", sma_file("s1"));
    vec![
        (
            "bad strategy risk limit",
            sim.clone(),
            vec![("s1.toml", sma("[risk]\nmax_orders_per_sec = 0\n"))],
            &["s1.toml: risk.max_orders_per_sec: must be >= 1, got 0"],
        ),
        (
            "unknown strategy risk key",
            sim.clone(),
            vec![("s1.toml", sma("[risk]\nmax_positon = \"1\"\n"))],
            &["s1.toml: ", "max_positon"],
        ),
        (
            "bad price band",
            format!("{sim}[risk]\nprice_band_pct = \"150\"\n"),
            vec![],
            &["tradewind.toml: risk.price_band_pct: must be > 0 and <= 100, got 150"],
        ),
        (
            "bad account limit",
            format!("{sim}[risk.account]\nmax_daily_loss = \"-5\"\n"),
            vec![],
            &["tradewind.toml: risk.account.max_daily_loss: must be > 0, got -5"],
        ),
        (
            "toml syntax",
            "[runtime\nlog_level = 1".into(),
            vec![],
            &["tradewind.toml: ", "line 1, column 9", "expected `]`"],
        ),
        (
            "unknown key",
            format!("{sim}[runtime]\nlog_levle = \"info\""),
            vec![],
            &["runtime.log_levle: unknown field `log_levle`"],
        ),
        (
            "wrong type",
            format!("{sim}[runtime]\ntimer_interval_ms = \"fast\""),
            vec![],
            &["runtime.timer_interval_ms: invalid type"],
        ),
        (
            "out of range",
            format!("{sim}[runtime]\ntimer_interval_ms = 5"),
            vec![],
            &["runtime.timer_interval_ms: must be between 10 and 60000, got 5"],
        ),
        (
            "bad enum value",
            format!("{sim}[runtime]\nlog_format = \"xml\""),
            vec![],
            &["runtime.log_format: expected one of", "got \"xml\""],
        ),
        (
            "bad log filter",
            format!("{sim}[runtime]\nlog_level = \"info,=x=\""),
            vec![],
            &["runtime.log_level: ", "is not a level", "got \"info,=x=\""],
        ),
        (
            "a log level that is a word, not a level",
            format!("{sim}[runtime]\nlog_level = \"warning\""),
            vec![],
            &[
                "tradewind.toml: runtime.log_level: \"warning\" is not a level (one of trace, debug, info, warn, error, off",
            ],
        ),
        (
            "a log level that is no word at all",
            format!("{sim}[runtime]\nlog_level = \"verbose!!\""),
            vec![],
            &["tradewind.toml: runtime.log_level: \"verbose!!\" is not a level"],
        ),
        (
            "an empty strategies folder",
            sim.clone(),
            vec![("notes.txt", "not a strategy".to_owned())],
            &["strategies: strategies_dir: holds no strategy file (*.toml): nothing would trade"],
        ),
        (
            "unknown venue kind",
            "[[venues]]\nname = \"x\"\nkind = \"ftx\"".into(),
            vec![],
            &["venues[0].kind: unknown variant `ftx`"],
        ),
        ("unknown venue key", format!("{sim}seeed = 1"), vec![], &["venues[0].seeed: unknown field"]),
        ("duplicate venue", format!("{sim}{sim}"), vec![], &["venues[1].name: duplicate venue name \"sim\""]),
        (
            "secret in config",
            "[[venues]]\nname = \"b\"\nkind = \"binance\"\napi_secret = \"abc\"".into(),
            vec![],
            &["venues[0].api_secret: secrets are never read from config files"],
        ),
        (
            "plain http off loopback",
            "[[venues]]\nname = \"b\"\nkind = \"binance\"\nrest_url = \"http://example.com\"".into(),
            vec![],
            &["venues[0].rest_url: plain http:// is allowed only on loopback"],
        ),
        (
            "half credentials",
            "[[venues]]\nname = \"b\"\nkind = \"binance\"\n[venues.credentials]\napi_key_env = \"K\"".into(),
            vec![],
            &["venues[0].credentials: give both"],
        ),
        (
            "a passphrase for a binance key",
            "[[venues]]\nname = \"b\"\nkind = \"binance\"\n[venues.credentials]\napi_key_env = \"K\"\n\
             api_secret_env = \"S\"\napi_passphrase_env = \"P\""
                .into(),
            vec![],
            &["venues[0].credentials: Binance API keys have no passphrase"],
        ),
        (
            "an okx key without its passphrase",
            "[[venues]]\nname = \"o\"\nkind = \"okx\"\nenvironment = \"demo\"\n[venues.credentials]\n\
             api_key_env = \"K\"\napi_secret_env = \"S\""
                .into(),
            vec![],
            &["venues[0].credentials: an OKX API key needs the passphrase it was created with"],
        ),
        (
            "okx on a testnet",
            "[[venues]]\nname = \"o\"\nkind = \"okx\"".into(),
            vec![],
            &["venues[0].environment: OKX has no testnet"],
        ),
        (
            "a region off okx",
            "[[venues]]\nname = \"b\"\nkind = \"bybit\"\nregion = \"eea\"".into(),
            vec![],
            &["venues[0].region: only OKX venues have regions"],
        ),
        (
            "an unknown key type",
            "[[venues]]\nname = \"b\"\nkind = \"binance\"\n[venues.credentials]\nkey_type = \"dsa\"".into(),
            vec![],
            &["venues[0]: unknown variant `dsa`, expected one of `hmac`, `ed25519`, `rsa`"],
        ),
        (
            "bad decimal",
            format!("{sim}[risk]\nmax_order_notional = \"lots\""),
            vec![],
            &["risk.max_order_notional: invalid value"],
        ),
        (
            "negative limit",
            format!("{sim}[risk]\nmax_order_notional = -5"),
            vec![],
            &["risk.max_order_notional: must be > 0, got -5"],
        ),
        (
            "bad listen address",
            format!("{sim}[ops]\nlisten = \"localhost\""),
            vec![],
            &["ops.listen: invalid socket address"],
        ),
        (
            "missing strategies dir",
            format!("strategies_dir = \"nowhere\"\n{sim}"),
            vec![],
            &["nowhere: strategies_dir: cannot read folder"],
        ),
        (
            "unknown strategy kind",
            sim.clone(),
            vec![("s.toml", sma("").replace("sma_cross", "martingale"))],
            &[
                "strategies/s.toml: kind: unknown variant `martingale`, expected one of `sma_cross`, `grid`, `market_maker`, `rebalancer`, `twap`, `arbitrage`",
            ],
        ),
        (
            "missing kind",
            sim.clone(),
            vec![("s.toml", sma("").replace("kind = \"sma_cross\"\n", ""))],
            &["strategies/s.toml: kind: missing"],
        ),
        (
            "missing venue",
            sim.clone(),
            vec![("s.toml", sma("").replace("venue = \"sim\"\n", ""))],
            &["strategies/s.toml: venue: missing"],
        ),
        (
            "undefined venue",
            sim.clone(),
            vec![("s.toml", sma("").replace("venue = \"sim\"", "venue = \"kraken\""))],
            &["strategies/s.toml: venue: \"kraken\" is not a configured venue (known: sim)"],
        ),
        (
            "unknown strategy key",
            sim.clone(),
            vec![("s.toml", sma("stop_loss = 3\n"))],
            &["strategies/s.toml: stop_loss: unknown field `stop_loss`"],
        ),
        (
            "param rule",
            sim.clone(),
            vec![("s.toml", sma("").replace("slow_period = 5", "slow_period = 1"))],
            &["strategies/s.toml: slow_period: must be > fast_period (2), got 1"],
        ),
        (
            "param type",
            sim.clone(),
            vec![("s.toml", sma("").replace("fast_period = 2", "fast_period = \"two\""))],
            &["strategies/s.toml: fast_period: invalid type"],
        ),
        (
            "bad symbol",
            sim.clone(),
            vec![("s.toml", sma("").replace("\"BTCUSDT\"", "\"BTC USDT\""))],
            &["strategies/s.toml: symbols[0]: contains ' '"],
        ),
        (
            "bad strategy name",
            sim.clone(),
            vec![("s.toml", sma_file("way_too_long_strategy_name"))],
            &["strategies/s.toml: name: must be 1 to 16 characters of [A-Za-z0-9_]"],
        ),
        (
            "strategy toml syntax",
            sim.clone(),
            vec![("s.toml", "name = \"s1\"\nkind = sma_cross\n".into())],
            &["strategies/s.toml: ", "line 2, column 8"],
        ),
    ]
}

#[test]
fn each_bad_input_gets_a_message_naming_the_key() {
    let cases = cases();
    assert!(cases.len() >= 15);
    let fine = sma_file("fine");
    for (case, main, strategies, expected) in cases {
        let mut files: Vec<(&str, &str)> = strategies.iter().map(|(n, t)| (*n, t.as_str())).collect();
        // A folder without strategy files is a problem of its own (tested below).
        if files.is_empty() {
            files.push(("fine.toml", &fine));
        }
        let mut found = issues(&main, &files);
        // Where the case names its venue otherwise, the filler file names an unknown one.
        found.retain(|i| !i.starts_with("strategies/fine.toml: venue:"));
        assert_eq!(found.len(), 1, "{case}: expected one issue, got {found:#?}");
        for fragment in expected {
            assert!(found[0].contains(fragment), "{case}: {:?} does not contain {fragment:?}", found[0]);
        }
    }
}

#[test]
fn duplicate_strategy_names_name_both_files() {
    let found = issues(SIM_VENUE, &[("a.toml", &sma_file("same")), ("b.toml", &sma_file("same"))]);
    assert_eq!(found, ["strategies/b.toml: name: duplicate strategy name \"same\" (also in strategies/a.toml)"]);
}

#[test]
fn names_whose_client_id_codes_clash_are_refused() {
    // Both hash to the code `kmtvy` (see `sdk::owner`): their orders could not be told apart.
    let found = issues(SIM_VENUE, &[("a.toml", &sma_file("s9713")), ("b.toml", &sma_file("s151500"))]);
    assert_eq!(
        found,
        ["strategies/b.toml: name: \"s151500\" and \"s9713\" share the client order id code kmtvy; rename one"]
    );
}

#[test]
fn missing_main_file_is_reported() {
    let err = Config::load_with_env(std::path::Path::new("/nonexistent/tradewind.toml"), []).unwrap_err();
    assert_eq!(err.to_string(), "/nonexistent/tradewind.toml: file not found (give another with --config PATH)");
}

#[test]
fn every_problem_in_every_file_is_listed_at_once() {
    let main = format!("{SIM_VENUE}[risk]\nmax_open_orders = 0\n[runtime]\nshutdown_timeout_secs = 0\n");
    let bad_params = sma_file("a")
        .replace("slow_period = 5", "slow_period = 1")
        .replace("order_qty = \"0.001\"", "order_qty = \"0\"");
    let found = issues(
        &main,
        &[("a.toml", &bad_params), ("b.toml", "oops = ["), ("c.toml", &sma_file("c").replace("\"sim\"", "\"nope\""))],
    );
    assert_eq!(found.len(), 6, "{found:#?}");
    let all = found.join("\n");
    for fragment in [
        "tradewind.toml: runtime.shutdown_timeout_secs",
        "tradewind.toml: risk.max_open_orders",
        "strategies/a.toml: slow_period",
        "strategies/a.toml: order_qty: must be > 0",
        "strategies/b.toml: ",
        "strategies/c.toml: venue",
    ] {
        assert!(all.contains(fragment), "missing {fragment:?} in\n{all}");
    }
}

#[test]
fn a_broken_main_file_still_lists_the_strategy_files_problems_and_every_mistyped_key() {
    // The main file has two type errors in two sections; a strategy file has two in its
    // parameters and one in its common keys: all five are listed at once.
    let main = format!("{SIM_VENUE}[risk]\nmax_open_orders = \"many\"\n[runtime]\nshutdown_timeout_secs = \"soon\"\n");
    let strategy = sma_file("a")
        .replace("slow_period = 5", "slow_period = \"slow\"")
        .replace("order_qty = \"0.001\"", "order_qty = [1]")
        .replace("symbols = [\"BTCUSDT\"]", "symbols = \"BTCUSDT\"");
    let found = issues(&main, &[("a.toml", &strategy)]);
    let all = found.join("\n");
    for fragment in [
        "tradewind.toml: risk.max_open_orders",
        "tradewind.toml: runtime.shutdown_timeout_secs",
        "strategies/a.toml: slow_period",
        "strategies/a.toml: order_qty",
        "strategies/a.toml: symbols",
    ] {
        assert!(all.contains(fragment), "missing {fragment:?} in\n{all}");
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn an_environment_override_that_is_wrong_names_its_variable() {
    let dir = ConfigDir::new(SIM_VENUE, &[("a.toml", &sma_file("a"))]);
    for (var, value, key) in [
        ("TRADEWIND__RISK__MAX_OPEN_ORDERS", "many", "risk.max_open_orders"),
        ("TRADEWIND__RISK__MAX_OPEN_ORDERS", "0", "risk.max_open_orders"),
        ("TRADEWIND__RUNTIME__LOG_LEVEL", "warning", "runtime.log_level"),
    ] {
        let err = Config::load_with_env(&dir.main_file(), [(var.to_owned(), value.to_owned())]).unwrap_err();
        let issue = &err.issues()[0];
        assert_eq!(issue.key.as_deref(), Some(key), "{issue}");
        assert!(issue.message.contains(&format!("set by the environment variable {var}")), "{issue}");
    }
}

#[test]
fn strategy_entries_that_are_not_files_are_named() {
    let dir = ConfigDir::new(SIM_VENUE, &[("a.toml", &sma_file("a"))]);
    let strategies = dir.path().join("strategies");
    std::os::unix::fs::symlink(dir.path().join("gone.toml"), strategies.join("dangling.toml")).unwrap();
    std::fs::create_dir(strategies.join("folder.toml")).unwrap();
    let found = load(&dir).unwrap_err().to_string();
    assert!(found.contains("strategies/dangling.toml: is a symlink to nothing that can be read"), "{found}");
    assert!(found.contains("strategies/folder.toml: is not a file"), "{found}");
}

#[test]
fn every_binance_kline_interval_is_accepted_in_a_strategy_file() {
    // regression: kline_interval_1M (a month was refused)
    for interval in ["1s", "2h", "6h", "8h", "12h", "3d", "1w", "1M"] {
        let file = format!("{}source = \"klines\"\ninterval = \"{interval}\"\n", sma_file("k"));
        let config =
            load(&ConfigDir::new(SIM_VENUE, &[("k.toml", &file)])).unwrap_or_else(|e| panic!("{interval}: {e}"));
        assert!(
            config.strategies[0].params.summary().contains(interval),
            "{interval}: {}",
            config.strategies[0].params.summary()
        );
    }
}

#[test]
fn a_setting_that_no_longer_does_anything_still_loads() {
    // `warm_interval_us` kept the order path warm once; the start logs it as ignored.
    let dir =
        ConfigDir::new(&format!("{SIM_VENUE}[runtime]\nwarm_interval_us = 1000\n"), &[("a.toml", &sma_file("a"))]);
    let config = load(&dir).expect("loads");
    assert_eq!(config.runtime.warm_interval_us, Some(1000));
}
