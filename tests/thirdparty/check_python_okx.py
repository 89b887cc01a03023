"""OKX's official Python SDK (python-okx) against the simulator's OKX v5 dialect.

REST: the clock, instruments, balances, a limit order placed, read, amended
and cancelled, a refusal with its sCode, a market buy and its fills. WebSocket:
the public `books` channel (a snapshot, then updates whose prevSeqId is the
last seqId), and after a login the private `orders` channel and an order
placed and cancelled over the private WebSocket.
Usage: check_python_okx.py URL API_KEY SECRET
"""
import asyncio
import json
import sys
from decimal import Decimal

import websockets
from okx import Account, PublicData, Trade
from okx.websocket import WebSocketFactory
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync


async def plain_connect(self):
    # python-okx always passes a TLS context, which `websockets` refuses for
    # a ws:// URL (the simulator on loopback): the same connection without it.
    self.websocket = await websockets.connect(self.url)
    return self.websocket


WebSocketFactory.WebSocketFactory.connect = plain_connect

url, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
passphrase = "tradewind-sim"
ws = url.replace("http://", "ws://")
flag = "0"  # live trading: no x-simulated-trading header is needed by the simulator

public = PublicData.PublicAPI(flag=flag, domain=url)
assert int(public.get_system_time()["data"][0]["ts"]) > 0
spot = public.get_instruments(instType="SPOT")["data"]
btc = next(i for i in spot if i["instId"] == "BTC-USDT")
assert Decimal(btc["tickSz"]) > 0, btc

account = Account.AccountAPI(key, secret, passphrase, flag=flag, domain=url)
usdt = next(d for d in account.get_account_balance()["data"][0]["details"] if d["ccy"] == "USDT")
assert Decimal(usdt["availBal"]) > 0, usdt

trade = Trade.TradeAPI(key, secret, passphrase, flag=flag, domain=url)
placed = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.001", px="20000", clOrdId="pyokx1")
assert placed["code"] == "0", placed
order = trade.get_order(instId="BTC-USDT", clOrdId="pyokx1")["data"][0]
assert (order["state"], order["px"]) == ("live", "20000"), order
amended = trade.amend_order(instId="BTC-USDT", clOrdId="pyokx1", newSz="0.002")
assert amended["code"] == "0", amended
assert trade.get_order(instId="BTC-USDT", clOrdId="pyokx1")["data"][0]["sz"] == "0.002"
assert trade.cancel_order(instId="BTC-USDT", clOrdId="pyokx1")["code"] == "0"
assert trade.get_order(instId="BTC-USDT", clOrdId="pyokx1")["data"][0]["state"] == "canceled"
refused = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="50", px="20000")
assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "51008"), refused
market = trade.place_order(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.001", tgtCcy="base_ccy")
assert market["code"] == "0", market
fills = trade.get_fills(instType="SPOT", instId="BTC-USDT", ordId=market["data"][0]["ordId"])["data"]
assert sum(Decimal(f["fillSz"]) for f in fills) == Decimal("0.001"), fills


async def streams():
    books, orders, replies = [], [], []

    def on_book(message):
        m = json.loads(message)
        if m.get("arg", {}).get("channel") == "books" and "data" in m:
            books.append((m["action"], m["data"][0]))

    def on_order(message):
        m = json.loads(message)
        if m.get("arg", {}).get("channel") == "orders" and "data" in m:
            orders.extend(m["data"])
        if m.get("op") in ("order", "cancel-order"):
            replies.append(m)

    pub = WsPublicAsync(url=f"{ws}/ws/v5/public")
    reading = [await pub.start()]
    await pub.subscribe([{"channel": "books", "instId": "BTC-USDT"}], on_book)
    private = WsPrivateAsync(apiKey=key, passphrase=passphrase, secretKey=secret, url=f"{ws}/ws/v5/private")
    reading.append(await private.start())
    await private.subscribe([{"channel": "orders", "instType": "SPOT"}], on_order)
    # Placed over the private WebSocket: the reply by its id, the order on the `orders` channel.
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.001", "px": "20000", "clOrdId": "pyokx2"}
    await private.place_order([order], id="ws1")
    for _ in range(200):
        if len(books) > 5 and any(o["clOrdId"] == "pyokx2" for o in orders) and replies:
            break
        await asyncio.sleep(0.05)
    assert replies and (replies[0]["id"], replies[0]["code"], replies[0]["data"][0]["sCode"]) == ("ws1", "0", "0"), replies
    await private.cancel_order([{"instId": "BTC-USDT", "clOrdId": "pyokx2"}], id="ws2")
    for _ in range(100):
        if len(replies) > 1:
            break
        await asyncio.sleep(0.05)
    assert (replies[1]["id"], replies[1]["code"]) == ("ws2", "0"), replies
    for task in reading:
        task.cancel()
    await pub.stop()
    await private.stop()
    assert books and books[0][0] == "snapshot", books[:1]
    for (_, before), (action, after) in zip(books, books[1:]):
        assert action == "update" and after["prevSeqId"] == before["seqId"], (before, after)
    live = next((o for o in orders if o["clOrdId"] == "pyokx2"), None)
    assert live, (len(books), orders[:3])
    assert live["state"] == "live", live
    assert trade.get_order(instId="BTC-USDT", clOrdId="pyokx2")["data"][0]["state"] == "canceled"
    return len(books)


updates = asyncio.run(streams())
print(f"python-okx: REST place/read/amend/cancel/refuse/market+fills, books {updates} messages in sequence, orders channel, order and cancel-order over the WebSocket: ok")
