"""The production channel layer (core/channel_layer.py) on a real Redis: a subscription is
confirmed before ``group_add`` returns, group membership never leaks, a restarted Redis gets
every subscription back, and what the product relies on from channels_redis's core layer
(per-channel send, a group with no members, capacity) still holds. The restart with a live server
and real sockets: tests/omnichannel/test_broker_restart.py."""

import asyncio
import logging
import uuid

import pytest
import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

from core.channel_layer import RedisPubSubLayer, subscription_name

pytestmark = pytest.mark.redis


def other_process(url: str) -> aioredis.Redis:
    """A Redis connection of its own, as another server process (or Celery) would publish on."""
    return aioredis.Redis.from_url(url)


def redis_url() -> str:
    return settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"]


async def numsub(client: aioredis.Redis, layer: RedisPubSubLayer, group: str) -> int:
    """How many connections (processes) Redis delivers ``group`` to."""
    ((_name, count),) = await client.pubsub_numsub(subscription_name(layer.prefix, group))
    return count


async def test_a_publish_right_after_group_add_from_another_process_is_received(redis_layer):
    # spec: REL-1 — group_add returns once Redis confirmed the subscription: a publish from another
    # connection right after it (a socket joined, then an event) is never missed
    layer = get_channel_layer()
    assert isinstance(layer, RedisPubSubLayer)
    publisher = other_process(redis_url())
    channel = await layer.new_channel()
    missed = 0
    for attempt in range(200):
        group = f"conversation.{attempt}"
        await layer.group_add(group, channel)
        await publisher.publish(subscription_name(layer.prefix, group), layer.serializer.serialize({"type": "n"}))
        try:
            await asyncio.wait_for(layer.receive(channel), 2)
        except TimeoutError:
            missed += 1
    assert missed == 0
    await publisher.aclose()
    await layer.flush()


async def test_a_message_sent_right_after_new_channel_is_received(redis_layer):
    # spec: REL-1 — the same for a consumer's own channel (channels' per-channel send)
    layer = get_channel_layer()
    sender = RedisPubSubLayer(hosts=[{"address": redis_url()}], prefix=layer.prefix)  # another process
    for attempt in range(50):
        channel = await layer.new_channel()
        await sender.send(channel, {"type": "direct", "n": attempt})
        assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "direct", "n": attempt}
    await sender.flush()
    await layer.flush()


async def test_a_group_without_members_takes_a_send_and_a_stranger_cannot_join(redis_layer):
    layer = get_channel_layer()
    await layer.group_send("agent.404", {"type": "nobody"})  # no error, nothing queued anywhere
    with pytest.raises(RuntimeError):
        await layer.group_add("agent.1", "specific.not-of-this-process")
    assert layer.subscriptions() == set()
    await layer.flush()


async def test_many_consumers_that_come_and_go_leave_no_membership_behind(redis_layer):
    # Half the consumers leave their groups, half just stop (channels cancels their receive, as
    # when a socket drops): afterwards this process subscribes nothing, and Redis agrees.
    layer = get_channel_layer()
    checker = other_process(redis_url())
    stayer = await layer.new_channel()
    await layer.group_add("supervisors", stayer)

    async def consumer(number: int) -> None:
        channel = await layer.new_channel()
        groups = [f"conversation.{number % 7}", "supervisors", f"agent.{number}"]
        for group in groups:
            await layer.group_add(group, channel)
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        if number % 2:
            for group in groups:
                await layer.group_discard(group, channel)
        receiving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await receiving

    for round_ in range(4):
        await asyncio.gather(*(consumer(round_ * 50 + n) for n in range(50)))

    assert layer.members("supervisors") == {stayer}
    assert layer.subscriptions() == {subscription_name(layer.prefix, "supervisors"), f"{layer.prefix}:channel:{stayer}"}
    state = layer.on_loop()
    assert set(state.queues) == {stayer}
    assert state.joined == {stayer: {subscription_name(layer.prefix, "supervisors")}}
    assert [await numsub(checker, layer, f"conversation.{n}") for n in range(7)] == [0] * 7
    assert await numsub(checker, layer, "supervisors") == 1
    await layer.group_send("supervisors", {"type": "still"})
    assert await asyncio.wait_for(layer.receive(stayer), 2) == {"type": "still"}
    await checker.aclose()
    await layer.flush()


async def test_a_full_channel_drops_what_does_not_fit_and_says_so(redis_layer, caplog):
    # the core layer's capacity (100 a channel by default): a consumer that does not read cannot
    # make the process hold an unbounded backlog
    layer = RedisPubSubLayer(hosts=[{"address": redis_url()}], prefix=f"test-{uuid.uuid4().hex[:8]}", capacity=3)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    for n in range(5):
        await layer.group_send("room", {"type": "n", "n": n})
    await layer.group_send("room", {"type": "last"})

    def dropped() -> int:
        return sum("is full" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)

    # Read only once all six arrived (three fit, three were dropped): a read before that would
    # make room for a later one, on a busy machine.
    for _ in range(100):
        if dropped() == 3:
            break
        await asyncio.sleep(0.02)
    received = [await asyncio.wait_for(layer.receive(channel), 2) for _ in range(3)]
    assert received == [{"type": "n", "n": 0}, {"type": "n", "n": 1}, {"type": "n", "n": 2}]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)
    assert dropped() == 3
    await layer.flush()


async def test_every_subscription_comes_back_after_a_redis_restart(private_redis, caplog):
    # spec: REL-1 — Redis restarts empty (it forgot every subscription): the layer connects again
    # and subscribes everything this process still wants, with nobody joining anew; a group_add
    # while Redis is away waits for it and returns once it is confirmed
    caplog.set_level(logging.INFO, logger="core.channel_layer")
    layer = RedisPubSubLayer(hosts=[{"address": private_redis.url}], prefix="restart", retry_max_seconds=0.5)
    stayed_open = await layer.new_channel()
    await layer.group_add("agent.3", stayed_open)
    await layer.group_add("supervisors", stayed_open)

    private_redis.stop()
    await asyncio.sleep(0.5)
    private_redis.start()

    # A socket that joins once Redis is back waits for the layer's resubscription.
    joining = await asyncio.wait_for(layer.new_channel(), 10)
    await asyncio.wait_for(layer.group_add("agent.3", joining), 10)
    publisher = other_process(private_redis.url)
    assert await numsub(publisher, layer, "agent.3") == 1
    assert await numsub(publisher, layer, "supervisors") == 1  # nobody joined it again: the layer did
    await layer.group_send("agent.3", {"type": "after"})
    await layer.group_send("supervisors", {"type": "also"})
    assert await asyncio.wait_for(layer.receive(stayed_open), 2) == {"type": "after"}
    assert await asyncio.wait_for(layer.receive(stayed_open), 2) == {"type": "also"}
    assert await asyncio.wait_for(layer.receive(joining), 2) == {"type": "after"}
    # its three and the joining channel, whose subscription woke the reconnect
    assert any("subscribing 4 name(s) again" in r.getMessage() for r in caplog.records)
    await publisher.aclose()
    await layer.flush()


async def test_a_group_add_while_redis_is_away_completes_when_it_returns(private_redis):
    # spec: REL-1
    layer = RedisPubSubLayer(hosts=[{"address": private_redis.url}], prefix="away", retry_max_seconds=0.3)
    channel = await layer.new_channel()
    private_redis.stop()
    await asyncio.sleep(0.3)
    joining = asyncio.ensure_future(layer.group_add("agent.9", channel))
    await asyncio.sleep(0.5)
    assert not joining.done()  # it waits: Redis has not confirmed anything
    private_redis.start()
    await asyncio.wait_for(joining, 10)
    await layer.group_send("agent.9", {"type": "back"})
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "back"}
    await layer.flush()


async def test_a_group_add_gives_up_after_its_timeout_and_joins_when_redis_returns(private_redis):
    # spec: REL-1 — a socket is not held forever by a Redis that stays away; its membership stays
    from core.channel_layer import SubscriptionTimeout

    layer = RedisPubSubLayer(
        hosts=[{"address": private_redis.url}], prefix="gone", subscribe_timeout=0.5, retry_max_seconds=0.3
    )
    channel = await layer.new_channel()
    private_redis.stop()
    await asyncio.sleep(0.3)
    with pytest.raises(SubscriptionTimeout):
        await layer.group_add("agent.5", channel)
    private_redis.start()
    publisher = other_process(private_redis.url)
    for _ in range(100):
        if await numsub(publisher, layer, "agent.5") == 1:
            break
        await asyncio.sleep(0.1)
    await layer.group_send("agent.5", {"type": "joined anyway"})
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "joined anyway"}
    await publisher.aclose()
    await layer.flush()
