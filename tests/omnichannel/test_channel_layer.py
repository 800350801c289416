"""The channel layer's own bookkeeping for a Redis restart (REL-1): which group memberships it
joins again once Redis has forgotten them. The restart itself, with a live server and real
sockets: tests/omnichannel/test_broker_restart.py."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from omnichannel.channel_layer import ReconnectingRedisChannelLayer

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
