"""python-binance (a third-party Binance client) against `tradewind sim`.

Usage: check_python_binance.py URL API_KEY API_SECRET
Trades through the calls the library makes by default and checks each answer.
"""
import sys
from decimal import Decimal

from binance.client import Client


def main(url: str, key: str, secret: str) -> None:
    client = Client(key, secret, ping=False)
    client.API_URL = url + "/api"
    client.ping()
    assert client.get_server_time()["serverTime"] > 0
    info = client.get_exchange_info()
    assert any(s["symbol"] == "BTCUSDT" for s in info["symbols"])
    assert client.get_symbol_info("BTCUSDT")["baseAsset"] == "BTC"
    assert Decimal(client.get_symbol_ticker(symbol="BTCUSDT")["price"]) > 0
    assert Decimal(client.get_ticker(symbol="BTCUSDT")["lastPrice"]) > 0
    assert client.get_avg_price(symbol="BTCUSDT")["mins"] == 5
    assert isinstance(client.get_aggregate_trades(symbol="BTCUSDT", limit=5), list)
    book = client.get_order_book(symbol="BTCUSDT", limit=5)
    assert book["bids"] and book["asks"]
    assert client.get_klines(symbol="BTCUSDT", interval=Client.KLINE_INTERVAL_1MINUTE, limit=3)
    usdt = Decimal(client.get_asset_balance(asset="USDT")["free"])
    assert usdt > 0

    bid = Decimal(book["bids"][0][0])
    resting = client.order_limit_buy(symbol="BTCUSDT", quantity="0.001", price=str((bid * Decimal("0.9")).quantize(Decimal("0.01"))), newClientOrderId="pyb-1")
    assert resting["status"] == "NEW", resting
    assert client.get_order(symbol="BTCUSDT", origClientOrderId="pyb-1")["status"] == "NEW"
    assert [o["clientOrderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == ["pyb-1"]
    cancelled = client.cancel_order(symbol="BTCUSDT", origClientOrderId="pyb-1")
    assert cancelled["status"] == "CANCELED" and cancelled["origClientOrderId"] == "pyb-1", cancelled
    bought = client.order_market_buy(symbol="BTCUSDT", quantity="0.001")
    assert bought["status"] == "FILLED", bought
    assert Decimal(client.get_asset_balance(asset="BTC")["free"]) > 0
    every = client.get_all_orders(symbol="BTCUSDT")
    assert [o["status"] for o in every] == ["CANCELED", "FILLED"], every
    trades = client.get_my_trades(symbol="BTCUSDT")
    assert sum(Decimal(t["qty"]) for t in trades) == Decimal("0.001"), trades
    print("python-binance: 19 calls against the simulator as expected")


if __name__ == "__main__":
    main(*sys.argv[1:4])
