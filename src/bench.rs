//! `tradewind bench`: the end-to-end harness.
//!
//! Starts the simulator as a child process with its trade firehose at
//! `rate` events/s (seeded, over the Binance combined-stream protocol on
//! loopback), then the daemon as another child process, configured with one
//! `probe` strategy per symbol that answers every `every`-th trade with an
//! order (a post-only buy replaced at the new price). After a warm-up it
//! measures, over `seconds`, the daemon alone: market events ingested (its
//! `tradewind_market_events_total`), tick-to-order latency (its in-process
//! histogram, frame read → signed order handed to the HTTP client, read from
//! `/v1/latency` at both ends of the measured time), CPU
//! seconds per million events (`/proc/<pid>/stat`) and peak RSS (`VmHWM`);
//! plus startup to READY. Prints a table and one JSON line.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::latency::Summary;
use crate::venue::sim::{DEMO_API_KEY, DEMO_API_SECRET};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Measured time, after the warm-up.
    pub seconds: u64,
    pub warmup_secs: u64,
    /// Trades per second the simulator sends, over all symbols.
    pub rate: u32,
    pub symbols: u32,
    /// One order per this many trades of a symbol.
    pub every: u32,
    pub seed: u64,
}

/// What was measured (the JSON line).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub seed: u64,
    pub symbols: u32,
    pub every: u32,
    pub seconds: f64,
    pub offered_per_sec: u32,
    pub events: u64,
    pub events_per_sec: f64,
    /// Ingested at least 95 % of what was offered, without a reconnect.
    pub kept_up: bool,
    pub reconnects: u64,
    pub orders: u64,
    pub tick_to_order_us: Option<Quantiles>,
    /// Frame read → strategy callback, every event.
    pub tick_to_strategy_us: Option<Quantiles>,
    pub cpu_s_per_million_events: f64,
    /// Share of one core the daemon used while measured.
    pub cpu_cores: f64,
    pub peak_rss_mib: f64,
    pub startup_to_ready_ms: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl From<Summary> for Quantiles {
    fn from(s: Summary) -> Self {
        Self { p50: s.p50_us, p99: s.p99_us, p999: s.p999_us, max: s.max_us }
    }
}

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmark; the working files live in a temporary folder removed afterwards.
pub fn run(options: &BenchOptions) -> anyhow::Result<BenchReport> {
    if options.symbols == 0 || options.symbols > 99 || options.every == 0 || options.rate == 0 {
        bail!("--symbols must be 1..=99, --every and --rate at least 1");
    }
    let dir = std::env::temp_dir().join(format!("tradewind-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("strategies")).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(options, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(options: &BenchOptions, dir: &Path) -> anyhow::Result<BenchReport> {
    let exe = std::env::current_exe().context("finding the tradewind binary")?;
    let (sim_addr, ops_addr) = (free_port()?, free_port()?);
    let symbols: Vec<String> =
        (0..options.symbols).map(|i| if i == 0 { "BTCUSDT".to_owned() } else { format!("X{i:02}USDT") }).collect();
    write_configs(options, dir, sim_addr, ops_addr, &symbols)?;

    let _sim = Guard(
        Command::new(&exe)
            .args(["--log-format", "json", "sim", "--listen", &sim_addr.to_string(), "--seed"])
            .arg(options.seed.to_string())
            .arg("--config")
            .arg(dir.join("sim.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sim.log"))?)
            .spawn()
            .context("starting the simulator")?,
    );
    wait_until(Duration::from_secs(10), || TcpStream::connect(sim_addr).is_ok())
        .context("the simulator did not start listening")?;

    let started = Instant::now();
    let daemon = Guard(
        Command::new(&exe)
            .args(["--log-format", "json", "run", "--config"])
            .arg(dir.join("tradewind.toml"))
            .env("TW_BENCH_KEY", DEMO_API_KEY)
            .env("TW_BENCH_SECRET", DEMO_API_SECRET)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("daemon.log"))?)
            .spawn()
            .context("starting the daemon")?,
    );
    let pid = daemon.0.id();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let base = format!("http://{ops_addr}");
    let ready = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await
                && r.status().is_success()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        false
    });
    if !ready {
        let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
        bail!("the daemon was not ready within 30 s; its log:\n{log}");
    }
    let startup_to_ready_ms = started.elapsed().as_millis() as u64;

    std::thread::sleep(Duration::from_secs(options.warmup_secs));
    let before = runtime.block_on(sample(&http, &base, pid))?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(options.seconds));
    let after = runtime.block_on(sample(&http, &base, pid))?;
    let seconds = t0.elapsed().as_secs_f64();
    // Latency of the measured time only: not the warm-up's first orders.
    let tick_to_order = Summary::between(&before.latency.tick_to_order, &after.latency.tick_to_order);
    let tick_to_strategy = Summary::between(&before.latency.tick_to_strategy, &after.latency.tick_to_strategy);

    let events = after.events.saturating_sub(before.events);
    let events_per_sec = events as f64 / seconds;
    let cpu = (after.cpu_ticks.saturating_sub(before.cpu_ticks)) as f64 / CLOCK_TICKS_PER_SEC;
    let reconnects = after.reconnects;
    Ok(BenchReport {
        seed: options.seed,
        symbols: options.symbols,
        every: options.every,
        seconds,
        offered_per_sec: options.rate,
        events,
        events_per_sec,
        kept_up: events_per_sec >= 0.95 * f64::from(options.rate) && reconnects == 0,
        reconnects,
        orders: tick_to_order.map_or(0, |s| s.count),
        tick_to_order_us: tick_to_order.map(Quantiles::from),
        tick_to_strategy_us: tick_to_strategy.map(Quantiles::from),
        cpu_s_per_million_events: if events == 0 { 0.0 } else { cpu / events as f64 * 1e6 },
        cpu_cores: cpu / seconds,
        peak_rss_mib: after.peak_rss_kib as f64 / 1024.0,
        startup_to_ready_ms,
    })
}

/// `/proc/<pid>/stat` counts CPU time in clock ticks: 100 a second on Linux.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

struct Sample {
    events: u64,
    reconnects: u64,
    cpu_ticks: u64,
    peak_rss_kib: u64,
    latency: crate::ops::api::Latency,
}

async fn sample(http: &reqwest::Client, base: &str, pid: u32) -> anyhow::Result<Sample> {
    let metrics = http.get(format!("{base}/metrics")).send().await?.text().await?;
    let latency = http.get(format!("{base}/v1/latency")).send().await?.error_for_status()?.json().await?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("the daemon is gone")?;
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Ok(Sample {
        events: metric_sum(&metrics, "tradewind_market_events_total", "channel=\"trade\""),
        reconnects: metric_sum(&metrics, "tradewind_ws_reconnects_total", ""),
        cpu_ticks: tick(11) + tick(12),
        peak_rss_kib,
        latency,
    })
}

/// The sum of a Prometheus metric's series whose labels contain `label`.
fn metric_sum(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' ')))
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn write_configs(
    options: &BenchOptions,
    dir: &Path,
    sim: SocketAddr,
    ops: SocketAddr,
    symbols: &[String],
) -> anyhow::Result<()> {
    let mut sim_toml = format!(
        "[balances]\nUSDT = \"1000000000\"\n\
         [limits]\nrequest_weight_per_minute = 10000000\norders_per_10s = 1000000\norders_per_day = 1000000000\n\
         [market]\nevents_per_sec = 1\nfirehose_per_sec = {}\n",
        options.rate
    );
    for s in symbols {
        let base = s.trim_end_matches("USDT");
        sim_toml += &format!(
            "[[symbols]]\nsymbol = \"{s}\"\nbase = \"{base}\"\nquote = \"USDT\"\ntick_size = \"0.01\"\n\
             step_size = \"0.00001\"\nmin_notional = \"5\"\nmax_num_orders = 1000\nstart_price = \"60000\"\nquote_qty = \"0.01\"\n"
        );
    }
    write(&dir.join("sim.toml"), &sim_toml)?;
    write(
        &dir.join("tradewind.toml"),
        &format!(
            "strategies_dir = \"strategies\"\n\
             [runtime]\nlog_level = \"warn\"\n\
             [journal]\npath = \"bench.db\"\n\
             [ops]\nlisten = \"{ops}\"\n\
             [risk]\nmax_order_notional = \"1000\"\nmax_open_orders = 1000\n\
             [[venues]]\nname = \"sim\"\nkind = \"binance\"\nenvironment = \"testnet\"\n\
             rest_url = \"http://{sim}\"\nstream_url = \"ws://{sim}\"\nws_api_url = \"ws://{sim}/ws-api/v3\"\n\
             [venues.credentials]\napi_key_env = \"TW_BENCH_KEY\"\napi_secret_env = \"TW_BENCH_SECRET\"\n"
        ),
    )?;
    for (i, s) in symbols.iter().enumerate() {
        write(
            &dir.join("strategies").join(format!("probe{i}.toml")),
            &format!(
                "name = \"probe{i}\"\nkind = \"probe\"\nvenue = \"sim\"\nsymbols = [\"{s}\"]\n\
                 every = {}\ndistance_bps = \"500\"\nnotional = \"20\"\n",
                options.every
            ),
        )?;
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The report as a table.
pub fn report_text(r: &BenchReport) -> String {
    let to_strategy = match r.tick_to_strategy_us {
        Some(q) => format!("p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs", q.p50, q.p99, q.p999, q.max),
        None => "no event".to_owned(),
    };
    let latency = match r.tick_to_order_us {
        Some(q) => format!(
            "p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs over {} orders",
            q.p50, q.p99, q.p999, q.max, r.orders
        ),
        None => "no order".to_owned(),
    };
    format!(
        "offered          {} trades/s over {} symbol(s), one order per {} trades, seed {}\n\
         ingested         {:.0} events/s ({} in {:.1} s){}\n\
         tick to strategy {to_strategy}\n\
         tick to order    {latency}\n\
         cpu              {:.2} s per million events ({:.0} % of one core)\n\
         peak rss         {:.1} MiB\n\
         startup → READY  {} ms\n",
        r.offered_per_sec,
        r.symbols,
        r.every,
        r.seed,
        r.events_per_sec,
        r.events,
        r.seconds,
        if r.kept_up { "" } else { " — fell behind" },
        r.cpu_s_per_million_events,
        r.cpu_cores * 100.0,
        r.peak_rss_mib,
        r.startup_to_ready_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sums_pick_the_series_asked_for() {
        let text = "# TYPE tradewind_market_events_total counter\n\
                    tradewind_market_events_total{venue=\"sim\",channel=\"trade\"} 120\n\
                    tradewind_market_events_total{venue=\"b\",channel=\"trade\"} 5\n\
                    tradewind_market_events_total{venue=\"sim\",channel=\"quote\"} 7\n\
                    tradewind_market_events_total_other{channel=\"trade\"} 1000\n";
        assert_eq!(metric_sum(text, "tradewind_market_events_total", "channel=\"trade\""), 125);
        assert_eq!(metric_sum(text, "tradewind_market_events_total", ""), 132);
        assert_eq!(metric_sum(text, "tradewind_ws_reconnects_total", ""), 0);
    }
}
