#!/usr/bin/env bash
# Starts `tradewind sim` on an ephemeral loopback port and drives it with CCXT.
# Usage: tests/ccxt/run.sh [path/to/tradewind]   (default: target/debug/tradewind)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/debug/tradewind}"
venv="${CCXT_VENV:-target/ccxt-venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ccxt==4.5.90"
fi

log="$(mktemp)"
"$bin" --log-format json sim --listen 127.0.0.1:0 --account ccxt-key:ccxt-secret >"$log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; rm -f "$log"' EXIT

url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'listening on http://[0-9.:]*' "$log" | head -n1 | sed 's/listening on //' || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then cat "$log" >&2; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "the simulator did not start:" >&2
  cat "$log" >&2
  exit 1
fi
"$venv/bin/python" tests/ccxt/check_sim.py "$url" ccxt-key ccxt-secret
