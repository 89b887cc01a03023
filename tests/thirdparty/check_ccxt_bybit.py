"""Drives the simulator's Bybit v5 dialect with CCXT's `bybit` (REST) and `ccxt.pro`'s (WebSocket).

Usage: python check_ccxt_bybit.py http://127.0.0.1:PORT KEY SECRET
Places, queries, amends (edit_order) and cancels spot orders, reads the
wallet and fills, and streams trades and the book (CCXT merges the deltas
into its own book, which must never cross). Exits non-zero with the failing step if anything does not
behave like Bybit.
"""
import asyncio
import sys

import ccxt
import ccxt.pro

base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
ws_base = base.replace("http://", "ws://", 1)
SYMBOL = "BTC/USDT"


def configure(ex):
    for name in ("spot", "futures", "v2", "public", "private"):
        ex.urls["api"][name] = base
    # Spot only: do not probe derivatives, options or the asset endpoints the simulator does not have.
    ex.options["fetchMarkets"] = {"types": ["spot"]}
    ex.has["fetchCurrencies"] = False
    return ex


def step(name):
    print(f"ccxt bybit: {name}", flush=True)


ex = configure(ccxt.bybit({"apiKey": key, "secret": secret, "enableRateLimit": False}))

step("load_markets")
markets = ex.load_markets()
assert SYMBOL in markets, sorted(markets)
m = markets[SYMBOL]
assert m["spot"] and m["precision"]["price"] and m["limits"]["cost"]["min"] is not None, m

step("fetch_order_book")
book = ex.fetch_order_book(SYMBOL, 50)
assert book["bids"] and book["asks"], book
best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
assert best_bid < best_ask, (best_bid, best_ask)

step("fetch_trades")
public_trades = ex.fetch_trades(SYMBOL)
assert all(t["symbol"] == SYMBOL and t["price"] > 0 for t in public_trades), public_trades

step("fetch_balance")
balance = ex.fetch_balance()
assert balance["USDT"]["free"] > 0 and balance["USDT"]["used"] == 0, balance["USDT"]

step("create_order limit (resting, far below the market)")
price = float(ex.price_to_precision(SYMBOL, best_bid * 0.9))
limit = ex.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "ccxtb-limit-1"})
assert limit["id"], limit

step("fetch_open_orders")
open_orders = ex.fetch_open_orders(SYMBOL)
assert [o["id"] for o in open_orders] == [limit["id"]], open_orders
assert open_orders[0]["clientOrderId"] == "ccxtb-limit-1" and open_orders[0]["status"] == "open", open_orders

step("edit_order (an amend: same order, new quantity and price)")
new_price = float(ex.price_to_precision(SYMBOL, price * 0.99))
edited = ex.edit_order(limit["id"], SYMBOL, "limit", "buy", 0.002, new_price)
assert edited["id"] == limit["id"], edited
fetched = ex.fetch_open_order(limit["id"], SYMBOL)
assert (fetched["amount"], fetched["price"], fetched["status"]) == (0.002, new_price, "open"), fetched
assert abs(ex.fetch_balance()["USDT"]["used"] - 0.002 * new_price) < 1e-9

step("cancel_order")
ex.cancel_order(limit["id"], SYMBOL)
assert ex.fetch_open_orders(SYMBOL) == []
closed = ex.fetch_closed_orders(SYMBOL)
assert any(o["id"] == limit["id"] and o["status"] == "canceled" for o in closed), closed

step("create_order market")
market = ex.create_order(SYMBOL, "market", "buy", 0.002, None, {"marketUnit": "baseCoin"})
filled = [o for o in ex.fetch_closed_orders(SYMBOL) if o["id"] == market["id"]]
assert filled and filled[0]["status"] == "closed" and filled[0]["filled"] == 0.002, filled

step("fetch_my_trades")
trades = [t for t in ex.fetch_my_trades(SYMBOL) if t["order"] == market["id"]]
assert abs(sum(t["amount"] for t in trades) - 0.002) < 1e-12, trades
assert all(t["fee"]["currency"] == "BTC" for t in trades), trades

step("fetch_balance after the fill")
after = ex.fetch_balance()
assert after["BTC"]["total"] > balance["BTC"]["total"], (after["BTC"], balance["BTC"])

step("a refused order raises the mapped exception")
try:
    ex.create_order(SYMBOL, "limit", "buy", 1000, price)
    raise AssertionError("an order beyond the balance was accepted")
except ccxt.InsufficientFunds:
    pass


async def streams():
    pro = configure(ccxt.pro.bybit({"apiKey": key, "secret": secret}))
    pro.urls["api"]["ws"]["public"]["spot"] = ws_base + "/v5/public/spot"
    pro.urls["api"]["ws"]["private"]["spot"] = ws_base + "/v5/private"
    try:
        await pro.load_markets()
        step("watch_order_book (snapshot, then deltas merged by CCXT)")
        for _ in range(5):
            ob = await asyncio.wait_for(pro.watch_order_book(SYMBOL, 50), 20)
            assert ob["bids"] and ob["asks"] and ob["bids"][0][0] < ob["asks"][0][0], ob
        step("watch_trades")
        streamed = await asyncio.wait_for(pro.watch_trades(SYMBOL), 20)
        assert streamed and all(t["symbol"] == SYMBOL for t in streamed), streamed
    finally:
        await pro.close()


asyncio.run(streams())
print("ccxt bybit: all steps passed", flush=True)
