"""The floor: what storing and relaying a chat message costs on this stack with no framework at all.

A raw ASGI application (no Django, no Channels). A socket at ``/floor/<room>/agent/`` subscribes
to the Redis channel ``floor.<room>``; each text a socket at ``/floor/<room>/customer/`` sends is
stored with one INSERT (psycopg, async, a small connection pool; committed) and then sent on with
one PUBLISH (redis.asyncio) to that channel, which the agent's socket forwards as is. The agent's
socket says ``{"type": "ready"}`` once Redis has confirmed its subscription (one Redis connection
per agent socket).

Reads DATABASE_URL and REDIS_URL; the table ``bench_floor_message`` is made by the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import re

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

PATH = re.compile(r"^/floor/(?P<room>\d+)/(?P<role>customer|agent)/$")
INSERT = "INSERT INTO bench_floor_message (room, body) VALUES (%s, %s)"


class Floor:
    def __init__(self) -> None:
        self.pool: AsyncConnectionPool | None = None
        self.redis: aioredis.Redis | None = None

    async def start(self) -> None:
        size = int(os.environ.get("FLOOR_DB_CONNECTIONS", "8"))
        self.pool = AsyncConnectionPool(os.environ["DATABASE_URL"], min_size=2, max_size=size, open=False)
        await self.pool.open(wait=True, timeout=30)
        self.redis = aioredis.from_url(os.environ["REDIS_URL"], max_connections=4096)

    async def stop(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        if self.pool is not None:
            await self.pool.close()

    async def store_and_publish(self, room: int, channel: str, text: str) -> None:
        async with self.pool.connection() as conn:  # commits when the block ends
            await conn.execute(INSERT, [room, text])
        await self.redis.publish(channel, text)


FLOOR = Floor()


async def agent_socket(channel: str, receive, send) -> None:
    """One subscription (one Redis connection) per agent socket: the simplest fan-out there is."""
    async with FLOOR.redis.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        async with asyncio.timeout(30):
            while await pubsub.get_message(timeout=1.0) is None:  # the subscribe confirmation
                pass
        await send({"type": "websocket.send", "text": json.dumps({"type": "ready"})})

        async def forward() -> None:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    await send({"type": "websocket.send", "text": message["data"].decode()})

        forwarder = asyncio.create_task(forward())
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            forwarder.cancel()


async def customer_socket(room: int, channel: str, receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await FLOOR.store_and_publish(room, channel, message["text"])


async def websocket(scope, receive, send) -> None:
    match = PATH.match(scope["path"])
    if (await receive())["type"] != "websocket.connect":
        return
    if match is None:
        await send({"type": "websocket.close", "code": 4404})
        return
    await send({"type": "websocket.accept"})
    channel = f"{os.environ.get('CHANNEL_PREFIX', 'floor')}-floor.{match['room']}"
    if match["role"] == "agent":
        await agent_socket(channel, receive, send)
    else:
        await customer_socket(int(match["room"]), channel, receive)


async def lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await FLOOR.start()
            except Exception as exc:  # uvicorn reports it and exits: the benchmark counts the setup as failed
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await FLOOR.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "websocket":
        await websocket(scope, receive, send)
    else:  # no HTTP here
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Not found"})
