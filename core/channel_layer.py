"""The product's Redis channel layer: Redis pub/sub with confirmed subscriptions (REL-1; design.md,
"Real time").

Why not channels_redis's layers as they ship:

- the core layer (lists and sorted sets) drops messages under load (the chat benchmark's bare
  relay lost half of them at 200 pairs) and costs a quarter of a server's CPU;
- its ``RedisPubSubChannelLayer`` sends SUBSCRIBE and returns before Redis has processed it, so
  an event published right after ``group_add`` (a socket joins, then reads the backlog and
  waits for what follows) can be missed; a consumer that stops without ``group_discard`` stays
  in its groups for the life of the process; and its reader logs and sleeps when Redis goes.

This layer keeps channels_redis's wire format (its serializers, ``hosts`` and ``prefix``
settings) and its model: one Redis subscription per group (or channel) per process, fanned
out to that process's consumers in memory. What it adds:

- **Confirmed.** ``new_channel`` and ``group_add`` return once Redis has confirmed the
  subscription on the connection that reads the messages; from then on every publish reaches
  the channel. Redis answers each SUBSCRIBE and UNSUBSCRIBE once per name, in order, so the
  layer counts the commands in flight per name and a name is confirmed when the last one sent
  was a SUBSCRIBE and has been answered.
- **Rejoined.** The subscriptions this process wants are a set in memory. When the connection
  drops (Redis restarted, the network went away, a health PING went unanswered) the layer
  connects again with a short back-off and subscribes the whole set in one command; a
  ``group_add`` meanwhile waits for that confirmation (up to ``subscribe_timeout``).
- **No leaks.** A group is subscribed while one of the process's channels is in it. A consumer
  that stops (channels cancels its ``receive``) leaves all its groups, whether or not it called
  ``group_discard``, and a process that dies takes its subscriptions with its connection, so no
  expiry is needed.
- **Bounded.** Each channel's queue holds ``capacity`` messages (100, as channels_redis); a
  message for a full queue is dropped and logged.

Events published while Redis is away are lost, as any event may be: clients resume with
"everything after N" (REL-1), and timers live in the database (REL-2). Redis pub/sub ignores the
database number, so ``prefix`` is what keeps two deployments (or two tests) on one Redis apart.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import logging
import types
import uuid

from channels.layers import BaseChannelLayer
from channels_redis.serializers import registry
from channels_redis.utils import create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# A lost or refused connection, a read timeout, a Redis still loading its data (BusyLoadingError
# is a ConnectionError).
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)

# Names per SUBSCRIBE when the whole set is written again after a reconnect.
SUBSCRIBE_BATCH = 1000


class SubscriptionTimeout(RedisTimeoutError):
    """Redis did not confirm a subscription in time (it is away): the subscription stays wanted
    and is made as soon as Redis answers again."""


def subscription_name(prefix: str, group: str) -> str:
    """The Redis pub/sub channel of a group (also what ``PUBSUB NUMSUB`` counts processes of)."""
    return f"{prefix}:group:{group}"


def channel_subscription_name(prefix: str, channel: str) -> str:
    return f"{prefix}:channel:{channel}"


class PubSubShard:
    """One Redis: a client for publishing and one connection that holds this process's
    subscriptions there and reads what is published to them.

    All of it runs on one event loop. ``wanted`` is what should be subscribed; ``confirmed`` what
    Redis has confirmed on the current connection; ``in_flight`` the SUBSCRIBE/UNSUBSCRIBE
    commands per name not yet answered on it."""

    def __init__(self, host: dict, layer: PubSubLoopLayer) -> None:
        self.layer = layer
        self.config = layer.config
        self.pool = create_pool(host)
        self.publisher = aioredis.Redis(connection_pool=self.pool)
        self.wanted: set[str] = set()
        self.confirmed: set[str] = set()
        self.in_flight: dict[str, int] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.connection = None
        self.ready = False  # connected, and the whole wanted set sent on this connection
        self.ever_connected = False
        self.reader: asyncio.Task | None = None
        self.last_read = 0.0
        self.wake = asyncio.Event()

    # --- publishing ----------------------------------------------------------------------------
    async def publish(self, name: str, data: bytes) -> None:
        await self.publisher.publish(name, data)

    # --- subscriptions -------------------------------------------------------------------------
    async def subscribe(self, name: str) -> None:
        """Return once Redis has confirmed that this process receives what is published to
        ``name``. Raises :class:`SubscriptionTimeout` if Redis does not answer in time."""
        if name in self.confirmed:
            return
        waiter = self.waiters.get(name)
        if waiter is None or waiter.done():
            waiter = self.waiters[name] = asyncio.get_running_loop().create_future()
        if name not in self.wanted:
            self.wanted.add(name)
            await self.command("SUBSCRIBE", name)
        self.start_reader()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.config["subscribe_timeout"])
        except TimeoutError:
            raise SubscriptionTimeout(f"Redis did not confirm the subscription to {name}.") from None

    async def unsubscribe(self, name: str) -> None:
        """Stop receiving ``name``. Never raises: without a connection there is nothing to undo
        (the next connection subscribes only what is still wanted)."""
        self.wanted.discard(name)
        self.confirmed.discard(name)
        waiter = self.waiters.pop(name, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        await self.command("UNSUBSCRIBE", name)

    async def command(self, verb: str, *names: str) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE on the reading connection, counting it in flight. Without a
        ready connection, wake the reader: it sends the whole wanted set when it connects."""
        if not self.ready:
            self.wake.set()
            return
        for name in names:
            self.in_flight[name] = self.in_flight.get(name, 0) + 1
        try:
            await self.connection.send_command(verb, *names, check_health=False)
        except REDIS_UNAVAILABLE as error:
            logger.warning("The channel layer lost Redis while sending %s (%r).", verb, error)
            await self.drop_connection()

    def answered(self, kind: bytes, name: str) -> None:
        """Redis answered one SUBSCRIBE or UNSUBSCRIBE for ``name``."""
        left = self.in_flight.get(name, 0) - 1
        if left > 0:
            self.in_flight[name] = left
            return
        self.in_flight.pop(name, None)
        if kind == b"subscribe" and name in self.wanted:
            self.confirmed.add(name)
            waiter = self.waiters.pop(name, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    # --- the reading connection ---------------------------------------------------------------
    def start_reader(self) -> None:
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(self.read_forever())

    async def connect(self) -> None:
        """A new reading connection, and every wanted name subscribed on it in one go."""
        kwargs = {
            # RESP2, where a message is a reply read here (RESP3 hands pushes to a handler), so
            # without redis-py's maintenance notifications, which need RESP3.
            **{k: v for k, v in self.pool.connection_kwargs.items() if not k.startswith("maint_notifications")},
            "socket_timeout": None,  # it waits for messages; health is checked by PING
            "retry": Retry(NoBackoff(), 0),  # this class reconnects, and resubscribes
            "protocol": 2,
        }
        connection = self.pool.connection_class(**kwargs)
        await connection.connect()
        self.connection = connection
        self.in_flight.clear()
        self.confirmed.clear()
        self.ready = True
        names = sorted(self.wanted)
        if names and self.ever_connected:
            logger.info("The channel layer is back on Redis; subscribing %d name(s) again.", len(names))
        self.ever_connected = True
        for start in range(0, len(names), SUBSCRIBE_BATCH):
            batch = [name for name in names[start : start + SUBSCRIBE_BATCH] if name in self.wanted]
            if batch:
                await self.command("SUBSCRIBE", *batch)

    async def drop_connection(self) -> None:
        self.ready = False
        self.confirmed.clear()
        self.in_flight.clear()
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    async def read_forever(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.config["retry_first_seconds"]
        while True:
            pinger = None
            try:
                await self.connect()
                delay = self.config["retry_first_seconds"]
                self.last_read = loop.time()
                pinger = loop.create_task(self.ping_forever(self.connection))
                while self.ready:
                    response = await self.connection.read_response()
                    self.last_read = loop.time()
                    self.received(response)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the reader never dies: it connects again
                if self.wanted:
                    logger.warning("The channel layer lost Redis (%r); trying again in %.1f s.", error, delay)
            finally:
                if pinger is not None:
                    pinger.cancel()
                await self.drop_connection()
            if not self.wanted:
                return  # nothing to read: the next subscribe starts a reader
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), delay)
            delay = min(delay * 2, self.config["retry_max_seconds"])

    async def ping_forever(self, connection) -> None:
        """A PING every ``ping_seconds``; nothing read for three of them is a dead link, which is
        dropped (the reader then connects again)."""
        loop = asyncio.get_running_loop()
        seconds = self.config["ping_seconds"]
        while connection is self.connection and self.ready:
            await asyncio.sleep(seconds)
            if loop.time() - self.last_read > 3 * seconds:
                logger.warning("Redis has not answered the channel layer for %.0f s; reconnecting.", 3 * seconds)
                await self.drop_connection()
                return
            try:
                await connection.send_command("PING", check_health=False)
            except REDIS_UNAVAILABLE:
                return  # the reader sees the same failure

    def received(self, response) -> None:
        if not isinstance(response, list) or not response:
            return  # PONG outside subscribed mode
        kind = response[0]
        if kind == b"message":
            self.layer.deliver(response[1].decode(), response[2])
        elif kind in (b"subscribe", b"unsubscribe"):
            self.answered(kind, response[1].decode())

    async def close(self) -> None:
        self.wanted.clear()
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.cancel()
        self.waiters.clear()
        reader, self.reader = self.reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        await self.drop_connection()
        await self.publisher.aclose(close_connection_pool=True)


class PubSubLoopLayer:
    """The layer's state on one event loop: its channels' queues, which of them are in which
    group, and a shard per Redis host."""

    def __init__(self, layer: RedisPubSubLayer) -> None:
        self.layer = layer
        self.config = layer.config
        self.queues: dict[str, asyncio.Queue] = {}  # channel → its messages
        self.groups: dict[str, set[str]] = {}  # group subscription name → channels in it
        self.joined: dict[str, set[str]] = {}  # channel → groups it is in
        self.shards = [PubSubShard(host, self) for host in layer.hosts]
        self.channel_names = channel_subscription_name(layer.prefix, "")

    def shard(self, name: str) -> PubSubShard:
        if len(self.shards) == 1:
            return self.shards[0]
        return self.shards[binascii.crc32(name.encode()) % len(self.shards)]

    def deliver(self, name: str, data: bytes) -> None:
        """A message Redis delivered to ``name`` (a channel's or a group's subscription)."""
        if name.startswith(self.channel_names):
            channel = name[len(self.channel_names) :]
            queue = self.queues.get(channel)
            if queue is not None:
                self.put(channel, queue, data)
            return
        for channel in self.groups.get(name, ()):
            self.put(channel, self.queues[channel], data)

    def put(self, channel: str, queue: asyncio.Queue, data: bytes) -> None:
        try:
            queue.put_nowait(data)
        except asyncio.QueueFull:
            logger.warning("Channel %s is full (%d messages): a message was dropped.", channel, queue.maxsize)

    async def open_channel(self, channel: str) -> asyncio.Queue:
        queue = self.queues.get(channel)
        if queue is None:
            queue = self.queues[channel] = asyncio.Queue(maxsize=self.layer.get_capacity(channel))
        name = channel_subscription_name(self.layer.prefix, channel)
        await self.shard(name).subscribe(name)
        return queue

    async def close_channel(self, channel: str) -> None:
        """The channel's consumer stopped: it leaves every group it is in, and its queue goes."""
        self.queues.pop(channel, None)
        emptied = []
        for group in self.joined.pop(channel, ()):
            members = self.groups.get(group)
            if members is not None:
                members.discard(channel)
                if not members:
                    del self.groups[group]
                    emptied.append(group)
        name = channel_subscription_name(self.layer.prefix, channel)
        for subscription in [name, *emptied]:
            await self.shard(subscription).unsubscribe(subscription)

    async def close(self) -> None:
        self.queues.clear()
        self.groups.clear()
        self.joined.clear()
        for shard in self.shards:
            await shard.close()


class RedisPubSubLayer(BaseChannelLayer):
    """The production channel layer (settings: ``CHANNEL_LAYERS``). Config: ``hosts`` and
    ``prefix`` as channels_redis; ``capacity``/``channel_capacity`` per channel queue;
    ``subscribe_timeout`` (how long ``group_add`` waits for Redis), ``ping_seconds`` (health
    check of the reading connection), ``retry_first_seconds``/``retry_max_seconds`` (reconnect
    back-off); ``serializer_format``/``symmetric_encryption_keys`` as channels_redis."""

    extensions = ["groups", "flush"]

    def __init__(
        self,
        hosts=None,
        prefix: str = "asgi",
        capacity: int = 100,
        channel_capacity=None,
        subscribe_timeout: float = 10.0,
        ping_seconds: float = 10.0,
        retry_first_seconds: float = 0.1,
        retry_max_seconds: float = 2.0,
        serializer_format: str = "msgpack",
        symmetric_encryption_keys=None,
    ) -> None:
        super().__init__(capacity=capacity, channel_capacity=channel_capacity)
        self.hosts = decode_hosts(hosts)
        self.prefix = prefix
        self.config = {
            "subscribe_timeout": subscribe_timeout,
            "ping_seconds": ping_seconds,
            "retry_first_seconds": retry_first_seconds,
            "retry_max_seconds": retry_max_seconds,
        }
        self.serializer = registry.get_serializer(
            serializer_format, symmetric_encryption_keys=symmetric_encryption_keys
        )
        self.loops: dict[asyncio.AbstractEventLoop, PubSubLoopLayer] = {}

    def on_loop(self) -> PubSubLoopLayer:
        """This event loop's state, closed with the loop (``async_to_sync`` from a thread with no
        loop runs each call on a new one)."""
        loop = asyncio.get_running_loop()
        state = self.loops.get(loop)
        if state is None:
            state = self.loops[loop] = PubSubLoopLayer(self)
            close_with_loop(self, loop)
        return state

    # --- channels ------------------------------------------------------------------------------
    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{prefix}{uuid.uuid4().hex}"
        await self.on_loop().open_channel(channel)
        return channel

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        name = channel_subscription_name(self.prefix, channel)
        await self.on_loop().shard(name).publish(name, self.serializer.serialize(message))

    async def receive(self, channel: str) -> dict:
        """The next message of a channel of this process. Cancelled (the consumer stopped), the
        channel leaves all its groups."""
        self.require_valid_channel_name(channel)
        state = self.on_loop()
        queue = state.queues.get(channel)
        if queue is None:
            queue = await state.open_channel(channel)
        try:
            data = await queue.get()
        except (asyncio.CancelledError, GeneratorExit):
            try:
                await state.close_channel(channel)
            except Exception:
                logger.exception("Could not close channel %s.", channel)
            raise
        return self.serializer.deserialize(data)

    # --- groups --------------------------------------------------------------------------------
    async def group_add(self, group: str, channel: str) -> None:
        """Add a channel of this process to ``group``; returns once Redis confirmed that this
        process receives the group's messages (raises :class:`SubscriptionTimeout` if Redis is
        away for ``subscribe_timeout``; the membership stays and is made when Redis is back)."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        state = self.on_loop()
        if channel not in state.queues:
            raise RuntimeError(f"Channel {channel} does not belong to this process: it cannot join {group}.")
        name = subscription_name(self.prefix, group)
        state.groups.setdefault(name, set()).add(channel)
        state.joined.setdefault(channel, set()).add(name)
        await state.shard(name).subscribe(name)

    async def group_discard(self, group: str, channel: str) -> None:
        """Take a channel out of ``group`` (no error if it was not in it). Never raises for a
        Redis that is away: the process's own membership is what counts."""
        self.require_valid_group_name(group)
        state = self.on_loop()
        name = subscription_name(self.prefix, group)
        state.joined.get(channel, set()).discard(name)
        members = state.groups.get(name)
        if members is None or channel not in members:
            return
        members.discard(channel)
        if not members:
            del state.groups[name]
            await state.shard(name).unsubscribe(name)

    async def group_send(self, group: str, message: dict) -> None:
        """Publish to every process with a channel in ``group`` (none: nothing happens)."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        name = subscription_name(self.prefix, group)
        await self.on_loop().shard(name).publish(name, self.serializer.serialize(message))

    async def flush(self) -> None:
        """Forget every channel and group of this process and close its connections (tests)."""
        state = self.loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.close()

    # --- what tests and operators look at ------------------------------------------------------
    def members(self, group: str) -> set[str]:
        """The channels of this process (on the running loop) in ``group``."""
        state = self.loops.get(asyncio.get_running_loop())
        return set(state.groups.get(subscription_name(self.prefix, group), ())) if state else set()

    def subscriptions(self) -> set[str]:
        """The Redis names this process wants subscribed on the running loop."""
        state = self.loops.get(asyncio.get_running_loop())
        return set().union(*(shard.wanted for shard in state.shards)) if state else set()


def close_with_loop(layer: RedisPubSubLayer, loop: asyncio.AbstractEventLoop) -> None:
    """Close the layer's connections of ``loop`` when the loop closes."""
    original_close = loop.close

    def close(self, *args, **kwargs):
        state = layer.loops.pop(loop, None)
        if state is not None and not loop.is_running():
            with contextlib.suppress(Exception):
                loop.run_until_complete(state.close())
        self.close = original_close
        return original_close(*args, **kwargs)

    loop.close = types.MethodType(close, loop)
