"""The channel layer's own bookkeeping for a Redis restart (REL-1): which group memberships it
joins again once Redis has forgotten them. The restart itself, with a live server and real
sockets: tests/omnichannel/test_broker_restart.py."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from core.channel_layer import ReconnectingRedisChannelLayer

pytestmark = pytest.mark.redis


async def forget_everything(layer: ReconnectingRedisChannelLayer) -> None:
    """What a Redis that restarted empty has lost: every key of this layer."""
    connection = layer.connection(0)
    keys = await connection.keys(layer.prefix + "*")
    if keys:
        await connection.delete(*keys)


async def test_rejoin_restores_the_memberships_redis_forgot_and_no_others(redis_layer):
    # spec: REL-1
    layer = get_channel_layer()
    assert isinstance(layer, ReconnectingRedisChannelLayer)
    stays, leaves = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("agent.1", stays)
    await layer.group_add("supervisors", stays)
    await layer.group_add("agent.1", leaves)
    await layer.group_discard("agent.1", leaves)  # the socket left its group before Redis went

    await forget_everything(layer)
    assert await layer.connection(0).keys(layer.prefix + "*") == []

    assert await layer.rejoin_groups() == 2
    await layer.group_send("agent.1", {"type": "after"})
    await layer.group_send("supervisors", {"type": "also"})
    assert await asyncio.wait_for(layer.receive(stays), 2) == {"type": "after"}
    assert await asyncio.wait_for(layer.receive(stays), 2) == {"type": "also"}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(leaves), 0.5)
    await layer.flush()


async def test_a_stopped_consumer_is_not_joined_again(redis_layer):
    # spec: REL-1 — channels cancels a consumer's receive when it stops; its groups go with it
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("agent.7", channel)
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.2)
    receiving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiving
    assert await layer.rejoin_groups() == 0
    await layer.flush()


async def test_a_connection_to_a_restarted_redis_rejoins_before_its_first_command(redis_layer):
    # spec: REL-1 — the first connection this process opens to a Redis with a new run_id writes
    # every membership back before it publishes, so a publish right after the restart reaches a
    # socket that stayed open (without waiting for that socket's receive to notice the outage)
    layer = get_channel_layer()
    stayed_open = await layer.new_channel()
    await layer.group_add("agent.3", stayed_open)
    assert layer.server_ids.get(0)  # the run_id of the Redis the membership is on
    await forget_everything(layer)
    layer.server_ids[0] = "a Redis that has since restarted"
    await layer.close_pools()  # the next command connects anew, as after a restart
    await layer.group_send("agent.3", {"type": "after"})
    assert await asyncio.wait_for(layer.receive(stayed_open), 2) == {"type": "after"}
    assert layer.server_ids[0] != "a Redis that has since restarted"
    await layer.flush()
