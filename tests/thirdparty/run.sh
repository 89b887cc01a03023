#!/usr/bin/env bash
# Starts `tradewind sim` on an ephemeral loopback port and drives it with
# third-party clients (pinned), each on its own account: in the Binance
# dialect CCXT, python-binance and Binance's own Python SDK
# (binance-sdk-spot); in the Bybit v5 dialect, on the same port, CCXT's
# `bybit` and Bybit's own Python SDK (pybit); in the OKX v5 dialect, CCXT's
# `okx` and OKX's own Python SDK (python-okx).
# Usage: tests/thirdparty/run.sh [path/to/tradewind]   (default: target/debug/tradewind)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/debug/tradewind}"
venv="${THIRDPARTY_VENV:-target/thirdparty-venv}"
packages=("ccxt==4.5.90" "python-binance==1.0.37" "binance-sdk-spot==13.3.0" "binance-common==4.7.0" "pybit==5.17.0" "python-okx==0.4.4")

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/pip" show --quiet binance-sdk-spot pybit python-okx >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
fi

log="$(mktemp)"
"$bin" --log-format json sim --listen 127.0.0.1:0 \
  --account ccxt-key:ccxt-secret --account pyb-key:pyb-secret --account sdk-key:sdk-secret \
  --account ccxtb-key:ccxtb-secret --account pybit-key:pybit-secret --account pyokx-key:pyokx-secret --account ccxto-key:ccxto-secret >"$log" 2>&1 &
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
"$venv/bin/python" tests/thirdparty/check_ccxt.py "$url" ccxt-key ccxt-secret
"$venv/bin/python" tests/thirdparty/check_python_binance.py "$url" pyb-key pyb-secret
"$venv/bin/python" tests/thirdparty/check_binance_sdk.py "$url" sdk-key sdk-secret
"$venv/bin/python" tests/thirdparty/check_ccxt_bybit.py "$url" ccxtb-key ccxtb-secret
"$venv/bin/python" tests/thirdparty/check_pybit.py "$url" pybit-key pybit-secret
"$venv/bin/python" tests/thirdparty/check_python_okx.py "$url" pyokx-key pyokx-secret
"$venv/bin/python" tests/thirdparty/check_ccxt_okx.py "$url" ccxto-key ccxto-secret
