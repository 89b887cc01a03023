"""Drives the simulator's Bybit v5 dialect with pybit, Bybit's official Python SDK.

Usage: python check_pybit.py http://127.0.0.1:PORT KEY SECRET
REST (HMAC-signed) places, queries, amends and cancels spot orders and reads
the wallet; the public WebSocket streams the book (a snapshot, then deltas
whose `u` steps by one, merged by pybit into a book that never crosses) and
trades; the private WebSocket (op: auth) streams
the account's order and execution updates. Exits non-zero with the failing
step if anything does not behave like Bybit.
"""
import copy
import queue
import sys
import time
from decimal import Decimal

from pybit import unified_trading
from pybit.exceptions import InvalidRequestError

base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
ws_base = base.replace("http://", "ws://", 1)
# pybit builds its hosts from templates: point them at the simulator.
unified_trading.PUBLIC_WSS = ws_base + "/v5/public/{CHANNEL_TYPE}"
unified_trading.PRIVATE_WSS = ws_base + "/v5/private"

http = unified_trading.HTTP(api_key=key, api_secret=secret, recv_window=5000)
http.endpoint = base
SYMBOL = "BTCUSDT"
PATIENCE = 20.0


def step(name):
    print(f"pybit: {name}", flush=True)


def result(response):
    assert response["retCode"] == 0, response
    return response["result"]


def wait_for(q, pick, what):
    """The first message on `q` that `pick` accepts (others are dropped)."""
    deadline = time.monotonic() + PATIENCE
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {what} within {PATIENCE} s")
        try:
            message = q.get(timeout=left)
        except queue.Empty:
            continue
        if pick(message):
            return message


step("get_server_time")
now = int(result(http.get_server_time())["timeNano"]) // 1_000_000
assert abs(now - time.time() * 1000) < 10_000, now

step("get_instruments_info")
instruments = result(http.get_instruments_info(category="spot", symbol=SYMBOL))["list"]
assert [i["symbol"] for i in instruments] == [SYMBOL], instruments
tick = Decimal(instruments[0]["priceFilter"]["tickSize"])
base_precision = Decimal(instruments[0]["lotSizeFilter"]["basePrecision"])
assert tick > 0 and base_precision > 0, instruments[0]

step("get_orderbook")
book = result(http.get_orderbook(category="spot", symbol=SYMBOL, limit=50))
best_bid, best_ask = Decimal(book["b"][0][0]), Decimal(book["a"][0][0])
assert best_bid < best_ask, book

step("get_wallet_balance")


def coins():
    wallet = result(http.get_wallet_balance(accountType="UNIFIED"))["list"][0]["coin"]
    return {c["coin"]: (Decimal(c["walletBalance"]), Decimal(c["locked"])) for c in wallet}


before = coins()
assert before["USDT"][0] > 0 and before["USDT"][1] == 0, before

step("WebSocket private: auth, order and execution topics")
private = unified_trading.WebSocket(channel_type="private", testnet=False, api_key=key, api_secret=secret)
updates = queue.Queue()
private.order_stream(callback=updates.put)
private.execution_stream(callback=updates.put)

step("place_order limit (resting, far below the market)")
price = (best_bid * Decimal("0.9") / tick).quantize(Decimal(1)) * tick
placed = result(http.place_order(category="spot", symbol=SYMBOL, side="Buy", orderType="Limit", qty="0.001",
                                 price=str(price), timeInForce="GTC", orderLinkId="pybit-limit-1"))
assert placed["orderLinkId"] == "pybit-limit-1" and placed["orderId"], placed
wait_for(updates, lambda m: m["topic"] == "order" and m["data"][0]["orderLinkId"] == "pybit-limit-1"
         and m["data"][0]["orderStatus"] == "New", "order update New")
assert coins()["USDT"][1] == price * Decimal("0.001"), coins()

step("get_open_orders")
open_orders = result(http.get_open_orders(category="spot", symbol=SYMBOL))["list"]
assert [o["orderLinkId"] for o in open_orders] == ["pybit-limit-1"], open_orders
assert Decimal(open_orders[0]["price"]) == price and open_orders[0]["orderStatus"] == "New", open_orders

step("amend_order (quantity and price, same order)")
new_price = price - tick * 10
amended = result(http.amend_order(category="spot", symbol=SYMBOL, orderLinkId="pybit-limit-1", qty="0.002",
                                  price=str(new_price)))
assert amended["orderId"] == placed["orderId"], amended
wait_for(updates, lambda m: m["topic"] == "order" and Decimal(m["data"][0]["qty"]) == Decimal("0.002"),
         "order update after the amend")
o = result(http.get_open_orders(category="spot", symbol=SYMBOL, orderLinkId="pybit-limit-1"))["list"][0]
assert (Decimal(o["qty"]), Decimal(o["price"])) == (Decimal("0.002"), new_price), o
assert coins()["USDT"][1] == new_price * Decimal("0.002"), coins()

step("an amend the venue refuses raises with Bybit's code")
try:
    http.amend_order(category="spot", symbol=SYMBOL, orderLinkId="pybit-nope", qty="0.001")
    raise AssertionError("amending an unknown order succeeded")
except InvalidRequestError as e:
    assert e.status_code == 170213, e

step("cancel_order")
cancelled = result(http.cancel_order(category="spot", symbol=SYMBOL, orderLinkId="pybit-limit-1"))
assert cancelled["orderId"] == placed["orderId"], cancelled
wait_for(updates, lambda m: m["topic"] == "order" and m["data"][0]["orderLinkId"] == "pybit-limit-1"
         and m["data"][0]["orderStatus"] == "Cancelled", "order update Cancelled")
assert result(http.get_open_orders(category="spot", symbol=SYMBOL))["list"] == []
assert coins()["USDT"][1] == 0, coins()

step("place_order market (base coin) and its execution")
result(http.place_order(category="spot", symbol=SYMBOL, side="Buy", orderType="Market", qty="0.001",
                        marketUnit="baseCoin", orderLinkId="pybit-mkt-1"))
fill = wait_for(updates, lambda m: m["topic"] == "execution" and m["data"][0]["orderLinkId"] == "pybit-mkt-1",
                "execution of the market order")["data"][0]
assert Decimal(fill["execQty"]) > 0 and fill["feeCurrency"] == "BTC", fill

step("get_order_history")
history = result(http.get_order_history(category="spot", symbol=SYMBOL, orderLinkId="pybit-mkt-1"))["list"]
assert history and history[0]["orderStatus"] == "Filled", history
assert Decimal(history[0]["cumExecQty"]) == Decimal("0.001"), history

step("get_executions")
executions = result(http.get_executions(category="spot", symbol=SYMBOL, orderId=history[0]["orderId"]))["list"]
assert sum(Decimal(e["execQty"]) for e in executions) == Decimal("0.001"), executions
after = coins()
assert after["BTC"][0] > before["BTC"][0], (before, after)
private.exit()

step("WebSocket public: the book (snapshot, then contiguous deltas) and trades")
public = unified_trading.WebSocket(channel_type="spot", testnet=False)
market = queue.Queue()
# pybit hands over its own book, which it goes on changing: keep a copy of each.
public.orderbook_stream(depth=50, symbol=SYMBOL, callback=lambda m: market.put(copy.deepcopy(m)))
public.trade_stream(symbol=SYMBOL, callback=market.put)
# pybit applies the deltas itself and hands over the merged book each time.
book_topic = f"orderbook.50.{SYMBOL}"
first = wait_for(market, lambda m: m["topic"] == book_topic, "book snapshot")
last_u = first["data"]["u"]
assert first["data"]["b"] and first["data"]["a"], first
for _ in range(5):
    m = wait_for(market, lambda m: m["topic"] == book_topic, "book delta")
    assert m["data"]["u"] == last_u + 1, ("each delta follows the one before", last_u, m["data"]["u"])
    last_u = m["data"]["u"]
    bids = [Decimal(p) for p, q in m["data"]["b"]]
    asks = [Decimal(p) for p, q in m["data"]["a"]]
    assert bids and asks and max(bids) < min(asks), ("the merged book is not crossed", max(bids), min(asks))
trade = wait_for(market, lambda m: m["topic"] == f"publicTrade.{SYMBOL}", "trade")["data"][0]
assert trade["s"] == SYMBOL and Decimal(trade["p"]) > 0 and trade["S"] in ("Buy", "Sell"), trade
public.exit()

print("pybit: all steps passed", flush=True)
