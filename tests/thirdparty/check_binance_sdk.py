"""Binance's official Python SDK (binance-sdk-spot) against `tradewind sim`:
REST market data and order entry, then the WebSocket API's order methods
(which need `rateLimits` on every answer).

Usage: check_binance_sdk.py URL API_KEY API_SECRET
"""
import asyncio
import sys
from decimal import Decimal

from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketAPI
from binance_sdk_spot.spot import Spot


def rest(url: str, key: str, secret: str) -> float:
    """Returns a price 10 % under the best bid, for resting orders."""
    client = Spot(config_rest_api=ConfigurationRestAPI(api_key=key, api_secret=secret, base_path=url))
    api = client.rest_api
    api.ping()
    assert api.time().data().server_time > 0
    assert any(s.symbol == "BTCUSDT" for s in api.exchange_info().data().symbols)
    assert Decimal(api.avg_price(symbol="BTCUSDT").data().price) > 0
    book = api.depth(symbol="BTCUSDT", limit=5).data()
    assert book.bids and book.asks
    bid = Decimal(book.bids[0][0])
    price = float((bid * Decimal("0.9")).quantize(Decimal("0.01")))
    placed = api.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.001, price=price, new_client_order_id="sdk-1").data()
    assert placed.status == "NEW", placed
    assert api.get_order(symbol="BTCUSDT", orig_client_order_id="sdk-1").data().status == "NEW"
    cancelled = api.delete_order(symbol="BTCUSDT", orig_client_order_id="sdk-1").data()
    assert cancelled.status == "CANCELED" and cancelled.orig_client_order_id == "sdk-1", cancelled
    assert any(b.asset == "USDT" for b in api.get_account().data().balances)
    return price


async def ws(url: str, key: str, secret: str, price: float) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws-api/v3"
    client = Spot(config_ws_api=ConfigurationWebSocketAPI(api_key=key, api_secret=secret, stream_url=ws_url))
    connection = await client.websocket_api.create_connection()
    try:
        response = await connection.order_place(symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.001, price=price, new_client_order_id="sdk-ws-1")
        placed = response.data().result
        assert response.data().rate_limits, "rateLimits on the answer"
        assert placed.status == "NEW", placed
        status = (await connection.order_status(symbol="BTCUSDT", orig_client_order_id="sdk-ws-1")).data().result
        assert status.client_order_id == "sdk-ws-1", status
        cancelled = (await connection.order_cancel(symbol="BTCUSDT", orig_client_order_id="sdk-ws-1")).data().result
        assert cancelled.status == "CANCELED", cancelled
        account = (await connection.account_status()).data().result
        assert any(b.asset == "USDT" for b in account.balances)
    finally:
        await connection.close_connection(close_session=True)


def main(url: str, key: str, secret: str) -> None:
    price = rest(url, key, secret)
    asyncio.run(ws(url, key, secret, price))
    print("binance-sdk-spot: REST and WebSocket API calls against the simulator as expected")


if __name__ == "__main__":
    main(*sys.argv[1:4])
