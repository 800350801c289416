"""The Redis channel layer, made to outlive a Redis restart (REL-1; design.md, "Real time").

channels_redis's core layer raises a lost connection into whichever consumer is waiting for
messages at that moment: the consumer ends and its socket drops without a close frame. And a
Redis that restarts empty has forgotten every group membership, so a socket that stayed open
would hear nothing more. This layer waits for Redis instead of failing the consumer, and once
Redis answers again it adds every channel of this process back to its groups.

When to add them back: before anything else this process does on the new Redis. Each new
connection (a new one, or one reconnected by redis-py's retries or by its pool) asks the server
for its ``run_id``; a Redis that restarted has a new one, and the connection writes every
membership back before its first command. Waiting for the next ``receive`` of a consumer is too
late: that consumer may still be in its back-off (or redis-py may have reconnected its blocked
BZPOPMIN silently), while a new socket joins and an event is published to a group that, on the
new Redis, no longer lists the socket that stayed open.

Events sent while Redis was away are lost, as any event may be: clients resume with
"everything after N" (REL-1), and timers live in the database (REL-2).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# A lost or refused connection, a read timeout, a Redis still loading its data (BusyLoadingError
# is a ConnectionError).
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError)

# Set while this task writes memberships back: its own new connections must not do it again.
_rejoining: contextvars.ContextVar[bool] = contextvars.ContextVar("rejoining", default=False)


def server_run_id(info: bytes | str) -> str | None:
    """The ``run_id`` in the text of ``INFO server``: new each time a Redis starts."""
    if isinstance(info, bytes):
        info = info.decode("utf-8", "replace")
    for line in info.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    return None


class ReconnectingRedisChannelLayer(RedisChannelLayer):
    """``channels_redis.core.RedisChannelLayer`` that keeps its consumers through a Redis restart.

    It remembers the groups each channel of this process joined (one set per open socket), so
    that it can join them again after Redis lost them. Only ``receive`` waits for Redis: a
    ``send``/``group_send`` during an outage still raises to its caller, which publishes after
    commit and logs a failed notice (``core.realtime.publish_on_commit``).
    """

    retry_first_seconds = 0.1
    retry_max_seconds = 2.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.memberships: dict[str, set[str]] = {}  # channel → groups it joined
        self.server_ids: dict[int, str] = {}  # host index → run_id of the Redis our groups are on

    def create_pool(self, index: int):
        """channels_redis's pool, whose every connection checks on (re)connecting that it talks to
        the Redis that holds our memberships (:meth:`check_server`)."""
        pool = super().create_pool(index)
        make_connection = pool.make_connection
        layer = self

        def make_checked_connection():
            connection = make_connection()
            connection.layer_host_index = index
            connection.register_connect_callback(layer.check_server)
            return connection

        pool.make_connection = make_checked_connection
        return pool

    async def check_server(self, connection) -> None:
        """Connect callback: on a Redis that is not the one our groups were written to (it
        restarted, empty or not), write every membership back before this connection's first
        command. A ConnectionError here fails the connect, which redis-py retries."""
        if _rejoining.get():
            return
        await connection.send_command("INFO", "server")
        try:
            run_id = server_run_id(await connection.read_response())
        except ResponseError:  # INFO not allowed to this user: rely on receive's rejoin alone
            return
        index = getattr(connection, "layer_host_index", 0)
        known = self.server_ids.get(index)
        if run_id is None or run_id == known:
            return
        if known is not None:
            await self.rejoin_groups()
        self.server_ids[index] = run_id

    async def group_add(self, group: str, channel: str) -> None:
        await super().group_add(group, channel)
        self.memberships.setdefault(channel, set()).add(group)

    async def group_discard(self, group: str, channel: str) -> None:
        groups = self.memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.memberships[channel]
        await super().group_discard(group, channel)

    async def flush(self) -> None:
        """Delete every message and group (tests): nothing is left to rejoin either."""
        self.memberships.clear()
        await super().flush()

    async def receive(self, channel: str) -> dict:
        delay = self.retry_first_seconds
        while True:
            try:
                return await super().receive(channel)
            except asyncio.CancelledError:
                # The consumer stopped (channels cancels its receive): it is in no group anymore.
                self.memberships.pop(channel, None)
                raise
            except REDIS_UNAVAILABLE as error:
                logger.warning("The channel layer lost Redis (%r); waiting %.1f s for it.", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
                try:
                    await self.rejoin_groups()
                except REDIS_UNAVAILABLE:
                    continue  # still away: wait again
                delay = self.retry_first_seconds

    async def rejoin_groups(self) -> int:
        """Add every channel of this process to its groups again (idempotent: a group is a
        sorted set). Returns the number of memberships written."""
        written = 0
        token = _rejoining.set(True)
        try:
            for channel, groups in list(self.memberships.items()):
                for group in list(groups):
                    await super().group_add(group, channel)
                    written += 1
        finally:
            _rejoining.reset(token)
        if written:
            logger.info("The channel layer rejoined %d group membership(s) after Redis returned.", written)
        return written
