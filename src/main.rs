//! The `tradewind` command: CLI parsing, logging setup, signals, exit codes.
//! Logic lives in the library.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tradewind::app::{self, RunOptions};
use tradewind::config::{self, Config, LogFormat};
use tradewind::lifecycle::Phase;
use tradewind::ops::client::{self, ApiClient, ClientError, Request};

/// Exit code for an invalid configuration.
const EXIT_CONFIG: u8 = 2;

/// Automated crypto trading daemon.
#[derive(Debug, Parser)]
#[command(name = "tradewind", version, about)]
struct Cli {
    /// Log format: auto (human on a terminal, JSON otherwise), human or json.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon until SIGINT or SIGTERM.
    Run {
        /// Main configuration file.
        #[arg(long, short, env = "TRADEWIND_CONFIG", default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        /// Allow venues with environment = "mainnet" (real money).
        #[arg(long)]
        live: bool,
    },
    /// Record the market data the configured strategies subscribe to, from
    /// every venue they use, without trading (for backtests).
    Record {
        /// Main configuration file.
        #[arg(long, short, env = "TRADEWIND_CONFIG", default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        /// Folder of the recordings (default: `[record] dir` of the configuration).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import public history into recordings (for backtests): Binance's
    /// public data CSVs (data.binance.vision, unzipped) or Tardis.dev's CSVs (gunzipped).
    Import {
        /// Whose files: `binance` or `tardis`.
        #[arg(value_enum)]
        source: ImportSource,
        /// Which files: trades, agg-trades or klines (Binance); trades, quotes or incremental-book-l2 (Tardis).
        #[arg(long, value_enum)]
        kind: ImportKind,
        /// The klines' interval (`1m`, `1h`, `1d`, ...), with `--kind klines`.
        #[arg(long)]
        interval: Option<String>,
        /// The venue name the events carry (the `[[venues]]` name a backtest uses).
        #[arg(long)]
        venue: String,
        /// The symbol the files are of, as the venue names it.
        #[arg(long)]
        symbol: String,
        /// Folder of the recordings (an empty one: events are appended).
        #[arg(long)]
        out: PathBuf,
        /// The CSV files, oldest first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Validate a configuration and every strategy file it includes, and
    /// everything `run` would refuse (credentials, mainnet, the control API).
    CheckConfig {
        /// Main configuration file.
        #[arg(long, short, env = "TRADEWIND_CONFIG", default_value = config::DEFAULT_PATH)]
        config: PathBuf,
        /// Check as `run --live` would (mainnet venues allowed).
        #[arg(long)]
        live: bool,
        /// Also ask each venue (read-only calls): symbols listed, order sizes
        /// above its minimums, the API key valid and unable to withdraw.
        #[arg(long)]
        online: bool,
    },
    /// The running daemon's status: phase, trading state, strategies, open orders, PnL.
    Status(ApiArgs),
    /// The running daemon's strategies.
    Strategies(ApiArgs),
    /// Positions per strategy (from the journal when no daemon runs).
    Positions(ApiArgs),
    /// Open orders (from the journal when no daemon runs; --all: every state, from the journal).
    Orders {
        #[command(flatten)]
        api: ApiArgs,
        /// Orders in every state, newest first (read from the journal).
        #[arg(long)]
        all: bool,
        /// At most this many orders.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Balances on every venue, as last reported by the venue.
    Balances(ApiArgs),
    /// Kill switch: halt all trading and cancel every resting order.
    Halt(ApiArgs),
    /// Lift the halt; with a strategy name, resume that strategy.
    Resume {
        #[command(flatten)]
        api: ApiArgs,
        strategy: Option<String>,
    },
    /// Pause one strategy: no new orders, its resting orders cancelled.
    Pause {
        #[command(flatten)]
        api: ApiArgs,
        strategy: String,
    },
    /// Cancel one open order by client order id.
    Cancel {
        #[command(flatten)]
        api: ApiArgs,
        client_order_id: String,
    },
    /// Ask the daemon to reload its configuration.
    Reload(ApiArgs),
    /// End-to-end benchmark: the simulator's trade firehose into a daemon with
    /// `probe` strategies; prints ingest rate, tick-to-order latency, CPU and RSS.
    Bench {
        /// Measured seconds (after the warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// Trades per second the simulator sends, over all symbols.
        #[arg(long, default_value_t = 50_000)]
        rate: u32,
        #[arg(long, default_value_t = 1)]
        symbols: u32,
        /// One order per this many trades of a symbol.
        #[arg(long, default_value_t = 1000)]
        every: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Print only the JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Run the exchange simulator standalone: one market and ledger, spoken
    /// over Binance Spot's, Bybit v5's and OKX v5's REST and WebSocket protocols on one port.
    Sim {
        /// Whose endpoints to print at start: binance, bybit or okx (all are served).
        #[arg(long, value_enum, default_value = "binance")]
        protocol: Protocol,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: std::net::SocketAddr,
        /// Seed of the synthetic market: same seed, same market.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulator settings (symbols, balances, fees, limits, faults). Default: built in.
        #[arg(long)]
        config: Option<PathBuf>,
        /// An account as API_KEY:SECRET (repeatable). Default: the demo account.
        #[arg(long = "account", value_name = "KEY:SECRET")]
        accounts: Vec<String>,
    },
}

/// Whose public history `import` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportSource {
    Binance,
    Tardis,
}

/// Which of a source's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ImportKind {
    Trades,
    AggTrades,
    Klines,
    Quotes,
    #[value(name = "incremental-book-l2")]
    IncrementalBookL2,
}

/// A wire protocol the simulator speaks.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Protocol {
    Binance,
    Bybit,
    Okx,
}

impl Protocol {
    /// The base URLs a client of this protocol is pointed at.
    fn endpoints(self, addr: std::net::SocketAddr) -> String {
        match self {
            Protocol::Binance => format!(
                "Binance Spot: REST http://{addr}/api/v3, market streams ws://{addr}/ws, WebSocket API ws://{addr}/ws-api/v3"
            ),
            Protocol::Bybit => format!(
                "Bybit v5 (category spot): REST http://{addr}/v5, public ws://{addr}/v5/public/spot, private ws://{addr}/v5/private"
            ),
            Protocol::Okx => format!(
                "OKX v5 (spot, passphrase {}): REST http://{addr}/api/v5, public ws://{addr}/ws/v5/public, business ws://{addr}/ws/v5/business, private ws://{addr}/ws/v5/private",
                tradewind::venue::sim::OKX_PASSPHRASE
            ),
        }
    }
}

/// How to reach a running daemon.
#[derive(Debug, clap::Args)]
struct ApiArgs {
    /// Main configuration file (for [ops] listen, token_file and the journal path).
    #[arg(long, short, env = "TRADEWIND_CONFIG", default_value = config::DEFAULT_PATH)]
    config: PathBuf,
    /// The daemon's ops address (default: [ops] listen of the configuration).
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The journal to read when no daemon answers (default: `[journal] path`,
    /// under `$STATE_DIRECTORY` when set).
    #[arg(long, env = "TRADEWIND_JOURNAL", value_name = "PATH")]
    journal: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tradewind::venue::install_tls_provider();
    match cli.command {
        Command::CheckConfig { config, live, online } => check_config(&config, RunOptions { live }, online),
        Command::Run { config, live } => run(&config, cli.log_format, RunOptions { live }),
        Command::Record { config, out } => record(&config, out, cli.log_format),
        Command::Import { source, kind, interval, venue, symbol, out, files } => {
            import(source, kind, interval.as_deref(), (&venue, &symbol), &out, &files)
        }
        Command::Sim { protocol, listen, seed, config, accounts } => {
            sim(protocol, listen, seed, config, &accounts, cli.log_format)
        }
        Command::Status(api) => control(&api, Request::Status),
        Command::Strategies(api) => control(&api, Request::Strategies),
        Command::Positions(api) => control(&api, Request::Positions),
        Command::Orders { api, all, limit } => control(&api, Request::Orders { all, limit }),
        Command::Balances(api) => control(&api, Request::Balances),
        Command::Halt(api) => control(&api, Request::Halt),
        Command::Resume { api, strategy } => control(&api, Request::Resume(strategy)),
        Command::Pause { api, strategy } => control(&api, Request::Pause(strategy)),
        Command::Cancel { api, client_order_id } => control(&api, Request::Cancel(client_order_id)),
        Command::Reload(api) => control(&api, Request::Reload),
        Command::Bench { seconds, warmup, rate, symbols, every, seed, json } => {
            bench(&tradewind::bench::BenchOptions { seconds, warmup_secs: warmup, rate, symbols, every, seed }, json)
        }
    }
}

fn bench(options: &tradewind::bench::BenchOptions, json: bool) -> ExitCode {
    match tradewind::bench::run(options) {
        Ok(report) => {
            if !json {
                print!("{}", tradewind::bench::report_text(&report));
            }
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code when no daemon answers.
const EXIT_UNREACHABLE: u8 = 3;

/// One call to a running daemon's control API; prints its answer.
fn control(args: &ApiArgs, request: Request) -> ExitCode {
    let config = match Config::load_main(&args.config) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let client = match ApiClient::new(&config.ops, args.api.as_deref()) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    let journal = args.journal.clone().unwrap_or_else(|| app::journal_path(&config));
    match runtime.block_on(client::execute(&client, &request, &journal, args.json)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e @ ClientError::Unreachable(_)) => {
            eprintln!("{e}: is tradewind running? (see [ops] listen)");
            ExitCode::from(EXIT_UNREACHABLE)
        }
        // A failed reload's JSON goes where the successful one does: stdout.
        Err(ClientError::Other(text)) if args.json && matches!(request, Request::Reload) => {
            println!("{text}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn sim(
    protocol: Protocol,
    listen: std::net::SocketAddr,
    seed: u64,
    config: Option<PathBuf>,
    accounts: &[String],
    log_format: Option<LogFormat>,
) -> ExitCode {
    use tradewind::secret::Secret;
    use tradewind::venue::sim::{self, SimConfig};
    tradewind::logging::init(log_format.unwrap_or(LogFormat::Auto), "info");
    let config = match config.map(|p| SimConfig::load(&p)).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let mut parsed = Vec::new();
    for a in accounts {
        match a.split_once(':') {
            Some((key, secret)) if !key.is_empty() && !secret.is_empty() => {
                parsed.push((key.to_owned(), Secret::new(secret)));
            }
            _ => {
                eprintln!("--account: expected KEY:SECRET with both parts non-empty");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    if parsed.is_empty() {
        println!("demo account: API key {} secret {}", sim::DEMO_API_KEY, sim::DEMO_API_SECRET);
    }
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        eprintln!("cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(watch_signals(shutdown.clone(), None));
        let options = sim::SimOptions { listen, seed, config, accounts: parsed };
        match sim::start(options, shutdown.clone()).await {
            Ok(handle) => {
                println!("{}", protocol.endpoints(handle.addr));
                shutdown.cancelled().await;
                handle.stop().await;
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, addr = %listen, "cannot listen");
                ExitCode::FAILURE
            }
        }
    })
}

fn refuse(errors: &config::ConfigErrors) -> ExitCode {
    eprintln!("{errors}");
    eprintln!("{} problem(s) found", errors.issues().len());
    ExitCode::from(EXIT_CONFIG)
}

/// The configuration and what `run` would refuse of it (warnings come back).
fn load(path: &std::path::Path, options: RunOptions) -> Result<(Config, app::preflight::Warnings), ExitCode> {
    let config = Config::load(path).map_err(|errors| refuse(&errors))?;
    let warnings = app::preflight::check(&config, options, &|k| std::env::var(k).ok()).map_err(|e| refuse(&e))?;
    Ok((config, warnings))
}

fn check_config(path: &std::path::Path, options: RunOptions, online: bool) -> ExitCode {
    let (config, warnings) = match load(path, options) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    for w in &warnings.0 {
        eprintln!("warning: {w}");
    }
    if online {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            eprintln!("cannot start the async runtime");
            return ExitCode::FAILURE;
        };
        match runtime.block_on(app::online::check(&config, &|k| std::env::var(k).ok())) {
            Ok(report) => {
                for w in &report.warnings {
                    eprintln!("warning: {w}");
                }
                if !report.errors.is_empty() {
                    return refuse(&config::ConfigErrors(report.errors));
                }
                for line in &report.checked {
                    println!("{line}");
                }
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("ok");
    for s in &config.strategies {
        let symbols: Vec<&str> = s.instance.symbols.iter().map(|s| s.as_str()).collect();
        let disabled = if s.enabled { "" } else { " (disabled)" };
        println!(
            "{}: {} on {} [{}]: {}{disabled}",
            s.instance.name,
            s.params.kind(),
            s.venue_name,
            symbols.join(","),
            s.params.summary()
        );
    }
    ExitCode::SUCCESS
}

fn run(path: &std::path::Path, log_format: Option<LogFormat>, options: RunOptions) -> ExitCode {
    let (config, warnings) = match load(path, options) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    tradewind::logging::init(log_format.unwrap_or(config.runtime.log_format), &config.runtime.log_level);
    for w in &warnings.0 {
        tracing::warn!(file = %w.file.display(), key = w.key.as_deref().unwrap_or(""), problem = %w.message, "configuration warning");
    }
    let Some(runtime) = runtime() else { return ExitCode::FAILURE };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let reloads = app::Reloads::new();
        tokio::spawn(watch_signals(shutdown.clone(), Some(reloads.sender())));
        let (phase, _) = tokio::sync::watch::channel(Phase::Starting);
        app::run(config, options, shutdown, phase, reloads).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<app::ConfigRefused>() {
            Some(app::ConfigRefused(errors)) => {
                tradewind::logging::fatal("refusing to start", &errors);
                ExitCode::from(EXIT_CONFIG)
            }
            None => {
                tradewind::logging::fatal("daemon failed", &format!("{e:#}"));
                ExitCode::FAILURE
            }
        },
    }
}

/// The daemon's multi-threaded runtime (`None`, said in the log, if it cannot start).
fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| tradewind::logging::fatal("cannot start the async runtime", &e))
        .ok()
}

/// `tradewind import`: each file in turn into recordings under `out`.
fn import(
    source: ImportSource,
    kind: ImportKind,
    interval: Option<&str>,
    (venue, symbol): (&str, &str),
    out: &std::path::Path,
    files: &[PathBuf],
) -> ExitCode {
    use tradewind::record::import::{Format, binance, tardis};
    let usage = |message: String| {
        eprintln!("import: {message}");
        ExitCode::from(EXIT_CONFIG)
    };
    if interval.is_some() && kind != ImportKind::Klines {
        return usage("--interval goes with --kind klines only".into());
    }
    let format = match (source, kind) {
        (ImportSource::Binance, ImportKind::Trades) => Format::Binance(binance::Kind::Trades),
        (ImportSource::Binance, ImportKind::AggTrades) => Format::Binance(binance::Kind::AggTrades),
        (ImportSource::Binance, ImportKind::Klines) => {
            let Some(text) = interval else { return usage("--kind klines needs --interval".into()) };
            match serde_json::from_value(serde_json::Value::String(text.to_owned())) {
                Ok(interval) => Format::Binance(binance::Kind::Klines(interval)),
                Err(_) => {
                    return usage(format!(
                        "--interval {text:?} is not one of Binance's (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M)"
                    ));
                }
            }
        }
        (ImportSource::Tardis, ImportKind::Trades) => Format::Tardis(tardis::Kind::Trades),
        (ImportSource::Tardis, ImportKind::Quotes) => Format::Tardis(tardis::Kind::Quotes),
        (ImportSource::Tardis, ImportKind::IncrementalBookL2) => Format::Tardis(tardis::Kind::IncrementalBookL2),
        (source, kind) => return usage(format!("{source:?} has no {kind:?} files")),
    };
    let pair = match (tradewind_strategies::sdk::VenueId::new(venue), tradewind_strategies::sdk::Symbol::new(symbol)) {
        (Ok(v), Ok(s)) => (v, s),
        (Err(e), _) => return usage(format!("--venue {venue:?}: {e}")),
        (_, Err(e)) => return usage(format!("--symbol {symbol:?}: {e}")),
    };
    let each = |path: &std::path::Path, events| println!("{}: {events} events", path.display());
    match tradewind::record::import::import_files(format, pair, out, files, each) {
        Ok(total) => {
            println!("{total} events into {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("import: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `tradewind record`: the configuration's venues, market data only, to recordings.
fn record(path: &std::path::Path, out: Option<PathBuf>, log_format: Option<LogFormat>) -> ExitCode {
    // No keys are read (market data only), so none need to be there.
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(errors) => return refuse(&errors),
    };
    tradewind::logging::init(log_format.unwrap_or(config.runtime.log_format), &config.runtime.log_level);
    let Some(runtime) = runtime() else { return ExitCode::FAILURE };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(watch_signals(shutdown.clone(), None));
        app::record::record(config, out, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tradewind::logging::fatal("recording failed", &format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// First SIGINT/SIGTERM: graceful shutdown. Second: exit at once. SIGHUP: reload.
async fn watch_signals(
    shutdown: CancellationToken,
    reload: Option<tokio::sync::mpsc::Sender<tradewind::lifecycle::ReloadRequest>>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        return;
    };
    let mut stops = 0;
    loop {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
            _ = hup.recv() => {
                match &reload {
                    Some(reload) if reload.try_send(None).is_ok() => {}
                    Some(_) => tracing::warn!("SIGHUP: a reload is already queued"),
                    None => tracing::info!("SIGHUP ignored: nothing to reload"),
                }
                continue;
            }
        }
        stops += 1;
        if stops == 1 {
            tracing::info!("signal received; draining (send it again to exit at once)");
            shutdown.cancel();
        } else {
            tracing::warn!("second signal; exiting without draining");
            std::process::exit(130);
        }
    }
}
