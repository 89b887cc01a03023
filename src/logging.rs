//! `tracing` setup: human-readable lines on a terminal, JSON lines otherwise
//! (journald and log shippers read those), filter from `RUST_LOG` or config.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Libraries whose TRACE output dumps wire payloads (WebSocket frames carry the
/// API key and signatures of WebSocket API requests). They are capped at DEBUG
/// whatever the filter says, so no log level can leak a secret.
const PAYLOAD_DUMPERS: &[&str] = &["tungstenite", "tokio_tungstenite", "hyper", "hyper_util", "h2", "reqwest"];

/// Installs the global subscriber. Logs go to stderr; stdout is for command output.
/// `RUST_LOG`, when set, overrides the configured filter (and says so once
/// the subscriber is up); an invalid `RUST_LOG` is reported and ignored.
pub fn init(format: LogFormat, default_filter: &str) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let env_verdict = from_env.as_deref().map(|v| crate::config::check_log_level(v).map(|()| v.to_owned()));
    let chosen = match &env_verdict {
        Some(Ok(v)) => v.as_str(),
        _ => default_filter,
    };
    let mut filter = EnvFilter::try_new(chosen).unwrap_or_else(|_| EnvFilter::new("info"));
    // Only a filter that enables TRACE somewhere needs the cap (adding it to a
    // quieter filter would turn these libraries up, not down).
    if filter.max_level_hint().is_none_or(|max| max > tracing::level_filters::LevelFilter::DEBUG) {
        for target in PAYLOAD_DUMPERS {
            if let Ok(cap) = format!("{target}=debug").parse() {
                filter = filter.add_directive(cap);
            }
        }
    }
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    match env_verdict {
        Some(Ok(v)) if v != default_filter => {
            tracing::info!(rust_log = %v, configured = %default_filter, "log filter from RUST_LOG (overrides [runtime] log_level)");
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "RUST_LOG ignored: not a valid log filter; using [runtime] log_level")
        }
        _ => {}
    }
    // Panics (a strategy's included) become log lines, not raw stderr text.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%location, panic = %payload, "panic");
    }));
}

/// A fatal error of the command: logged, and written to stderr as a plain
/// line too when the log filter would drop it, so it always reaches the operator.
pub fn fatal(message: &str, error: &dyn std::fmt::Display) {
    if tracing::enabled!(tracing::Level::ERROR) {
        tracing::error!(error = %error, "{message}");
    } else {
        eprintln!("tradewind: {message}: {error}");
    }
}
