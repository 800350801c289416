"""Publishers outside any event loop (a Celery task, a dispatch pass) send through one event loop
per process that keeps its Redis connections, instead of a new loop and connection per event."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.layers import get_channel_layer

from core import realtime

pytestmark = pytest.mark.django_db


def test_events_from_a_thread_with_no_loop_share_one_loop_and_arrive_in_order(redis_layer):
    # spec: PERF-2 — one connection per process for the pass's events, not one per event
    layer = get_channel_layer()
    received: list[int] = []
    ready, done = threading.Event(), threading.Event()

    async def listen() -> None:
        channel = await layer.new_channel()
        await layer.group_add("agent.4242", channel)
        ready.set()
        while len(received) < 20:
            received.append((await asyncio.wait_for(layer.receive(channel), 10))["n"])
        await layer.flush()
        done.set()

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    assert ready.wait(10)

    loops_seen = set()

    def publish() -> None:  # a plain thread: no loop in it, none around it
        for n in range(10):
            realtime.group_send_now("agent.4242", {"type": "test.event", "n": n})
            loops_seen.update(loop for loop in layer.loops if loop.is_running())
        realtime.group_send_many_now([("agent.4242", {"type": "test.event", "n": n}) for n in range(10, 20)])
        loops_seen.update(loop for loop in layer.loops if loop.is_running())

    publisher = threading.Thread(target=publish)
    publisher.start()
    publisher.join(20)
    assert done.wait(20)
    listener.join(10)
    assert received == list(range(20))
    # Every send went through the one publishing loop, whose state (its connections) stays for
    # the next event; a loop per call would have been closed, and its state dropped, after each.
    assert realtime._publisher_loop() in loops_seen
    assert realtime._publisher_loop() in layer.loops
