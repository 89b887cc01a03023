"""Drives the simulator with CCXT, a third-party Binance client, over HMAC-signed REST.

Usage: python check_ccxt.py http://127.0.0.1:PORT KEY SECRET
Exits non-zero (with the failing step) if anything does not behave like Binance Spot.
"""
import sys

import ccxt

base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
ex = ccxt.binance({"apiKey": key, "secret": secret, "enableRateLimit": False})
api = base + "/api/v3"
for name in ("public", "private", "v3"):
    ex.urls["api"][name] = api
# Spot only: do not probe margin/futures/sapi endpoints the simulator does not have.
ex.options["fetchMarkets"] = {"types": ["spot"]}
ex.options["fetchCurrencies"] = False
ex.options["fetchMargins"] = False
ex.has["fetchCurrencies"] = False


def step(name):
    print(f"ccxt: {name}", flush=True)


step("load_markets")
markets = ex.load_markets()
assert "BTC/USDT" in markets, sorted(markets)
m = markets["BTC/USDT"]
assert m["precision"]["price"] is not None and m["limits"]["amount"]["min"] is not None, m

step("fetch_order_book")
book = ex.fetch_order_book("BTC/USDT", 10)
assert book["bids"] and book["asks"], book
best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
assert best_bid < best_ask, (best_bid, best_ask)

step("fetch_balance")
balance = ex.fetch_balance()
usdt_before = balance["USDT"]["free"]
assert usdt_before > 0, balance["USDT"]

step("create_order limit (resting, far below the market)")
price = float(ex.price_to_precision("BTC/USDT", best_bid * 0.9))
limit = ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"newClientOrderId": "ccxt-limit-1"})
assert limit["status"] == "open", limit
assert limit["clientOrderId"] == "ccxt-limit-1", limit

step("fetch_open_orders")
open_orders = ex.fetch_open_orders("BTC/USDT")
assert [o["id"] for o in open_orders] == [limit["id"]], open_orders

step("fetch_order")
fetched = ex.fetch_order(limit["id"], "BTC/USDT")
assert fetched["status"] == "open" and fetched["amount"] == 0.001, fetched

step("cancel_order")
canceled = ex.cancel_order(limit["id"], "BTC/USDT")
assert canceled["status"] == "canceled", canceled
assert ex.fetch_open_orders("BTC/USDT") == []

step("create_order market")
market = ex.create_order("BTC/USDT", "market", "buy", 0.002)
assert market["status"] == "closed" and market["filled"] == 0.002, market
assert market["trades"], market

step("fetch_my_trades")
trades = ex.fetch_my_trades("BTC/USDT")
assert any(t["order"] == market["id"] for t in trades), trades
assert all(t["fee"]["currency"] == "BTC" for t in trades if t["order"] == market["id"]), trades

step("fetch_balance after the fill")
after = ex.fetch_balance()
assert after["BTC"]["total"] > balance["BTC"]["total"], (after["BTC"], balance["BTC"])

step("a rejected order raises the mapped exception")
try:
    ex.create_order("BTC/USDT", "limit", "buy", 1000, price)
    raise AssertionError("an order beyond the balance was accepted")
except ccxt.InsufficientFunds:
    pass

print("ccxt: all steps passed")
