#!/usr/bin/env bash
# Soak: runs the daemon against the embedded simulator (market at 100 events/s
# per symbol, the demo strategies) for MINUTES minutes, samples its resident
# memory every minute, and prints one CSV line per sample and a summary.
# Not part of CI.  Usage: scripts/soak.sh [MINUTES] [EVENTS_PER_SEC]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-60}"
rate="${2:-100}"
bin=target/release/tradewind
[ -x "$bin" ] || cargo build --release
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir "$dir/strategies"
cp config/strategies/*.toml "$dir/strategies/"
sed "s/^events_per_sec = .*/events_per_sec = $rate/" config/sim.toml >"$dir/sim.toml"
cat >"$dir/tradewind.toml" <<TOML
[runtime]
log_level = "info"
[[venues]]
name = "sim"
kind = "sim"
seed = 7
sim_config = "sim.toml"
[risk]
max_order_notional = "5000"
max_open_orders = 20
[journal]
path = "soak.db"
[ops]
listen = "127.0.0.1:0"
TOML
"$bin" --log-format json run --config "$dir/tradewind.toml" 2>"$dir/log" &
pid=$!
# Sample from the moment it trades.
until grep -q '"message":"running"' "$dir/log"; do
  kill -0 "$pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
  sleep 0.2
done
echo "minute,rss_kib,journal_bytes"
first=""; last=""; max=0
for ((m = 0; m <= minutes; m++)); do
  [ "$m" -gt 0 ] && sleep 60
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  db=$(stat -c %s "$dir/soak.db" 2>/dev/null || echo 0)
  echo "$m,$rss,$db"
  first="${first:-$rss}"; last="$rss"; [ "$rss" -gt "$max" ] && max="$rss"
done
orders=$(grep -c '"order accepted"' "$dir/log" || true)
echo "summary: rss first ${first} KiB, last ${last} KiB, max ${max} KiB over ${minutes} min; ${orders} orders accepted ($(wc -l <"$dir/log") log lines)"
