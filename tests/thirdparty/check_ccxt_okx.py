"""Drives the simulator's OKX v5 dialect with CCXT's `okx` (REST).

Usage: python check_ccxt_okx.py http://127.0.0.1:PORT KEY SECRET
Loads the spot markets, reads the book and the balance, places, queries,
lists, amends (edit_order) and cancels a limit order, gets InsufficientFunds
for an order beyond the balance, and runs a market buy and reads its fills. CCXT places through
`trade/batch-orders` (one order a batch).
Exits non-zero with the failing step if anything does not behave like OKX.
"""
import sys

import ccxt

base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
SYMBOL = "BTC/USDT"


def step(name):
    print(f"ccxt okx: {name}", flush=True)


ex = ccxt.okx({"apiKey": key, "secret": secret, "password": "tradewind-sim", "enableRateLimit": False})
for name in list(ex.urls["api"]["rest"] if isinstance(ex.urls["api"].get("rest"), dict) else []):
    ex.urls["api"]["rest"][name] = base
if not isinstance(ex.urls["api"].get("rest"), dict):
    ex.urls["api"]["rest"] = base
# Spot only: do not probe derivatives, options or the asset endpoints the simulator does not have.
ex.options["fetchMarkets"] = {"types": ["spot"]}
ex.has["fetchCurrencies"] = False

step("load_markets")
markets = ex.load_markets()
assert SYMBOL in markets, sorted(markets)[:10]
assert markets[SYMBOL]["spot"] and markets[SYMBOL]["precision"]["price"], markets[SYMBOL]

step("fetch_order_book")
book = ex.fetch_order_book(SYMBOL, 20)
best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
assert best_bid < best_ask, (best_bid, best_ask)

step("fetch_balance")
balance = ex.fetch_balance()
assert balance["USDT"]["free"] > 0, balance["USDT"]

step("create_order limit (resting, far below the market)")
price = float(ex.price_to_precision(SYMBOL, best_bid * 0.9))
limit = ex.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "ccxtokx1"})
assert limit["id"], limit

step("fetch_order")
fetched = ex.fetch_order(limit["id"], SYMBOL)
assert fetched["status"] == "open" and fetched["clientOrderId"] == "ccxtokx1", fetched

step("fetch_open_orders")
assert any(o["id"] == limit["id"] for o in ex.fetch_open_orders(SYMBOL))

step("edit_order (amend: same order, new size)")
ex.edit_order(limit["id"], SYMBOL, "limit", "buy", 0.002, price)
assert ex.fetch_order(limit["id"], SYMBOL)["amount"] == 0.002

step("cancel_order")
ex.cancel_order(limit["id"], SYMBOL)
assert ex.fetch_order(limit["id"], SYMBOL)["status"] == "canceled"

step("an order beyond the balance raises InsufficientFunds")
try:
    ex.create_order(SYMBOL, "limit", "buy", 50, price)
    raise SystemExit("an order beyond the balance was accepted")
except ccxt.InsufficientFunds:
    pass

step("create_order market buy (size in BTC: tgtCcy base_ccy) and its fills")
market = ex.create_order(SYMBOL, "market", "buy", 0.0005)
trades = ex.fetch_my_trades(SYMBOL, params={"ordId": market["id"]})
assert trades and all(t["order"] == market["id"] for t in trades), trades
assert abs(sum(t["amount"] for t in trades) - 0.0005) < 1e-12, trades

step("all steps passed")
