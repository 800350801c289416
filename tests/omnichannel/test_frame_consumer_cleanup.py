"""The frame consumer's disconnect path runs exactly once, however the socket ends (issue 10,
defect 2; LIVE-3, REL-3). The ASGI server is played by two coroutines, so the moment the client
is gone is exact; the end-to-end proof on a real uvicorn is tests/widgets/test_socket_cleanup.py."""

import asyncio
import logging

import pytest
from uvicorn.protocols.utils import ClientDisconnected

from core.consumers import FrameConsumer
from core.frames import Frame

pytestmark = pytest.mark.embedded


class PingFrame(Frame):
    pass


class EchoConsumer(FrameConsumer):
    frames = {"ping": PingFrame}
    forwarded_events = frozenset({"news"})
    disconnects: list[int]

    def connect(self):
        self.disconnects = []
        self.accept()
        self.join("room")

    def frame_ping(self, frame):
        self.send_json({"type": "pong"})
        self.send_json({"type": "pong", "again": True})

    def disconnect(self, code):
        super().disconnect(code)
        self.disconnects.append(code)
        type(self).seen.append(self)


class FakeServer:
    """An ASGI server whose client vanishes at the first ``websocket.send`` after ``ok_sends``."""

    def __init__(self, *, ok_sends: int):
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []
        self.ok_sends = ok_sends
        self.failed_sends = 0

    async def receive(self):
        return await self.inbox.get()

    async def send(self, message):
        if message["type"] == "websocket.send":
            if self.ok_sends == 0:
                self.failed_sends += 1
                raise ClientDisconnected()
            self.ok_sends -= 1
        self.sent.append(message)


async def run(server: FakeServer, frames: list[dict]):
    EchoConsumer.seen = []
    app = EchoConsumer.as_asgi()
    scope = {"type": "websocket", "path": "/ws/echo/", "headers": [], "subprotocols": []}
    await server.inbox.put({"type": "websocket.connect"})
    for frame in frames:
        await server.inbox.put(frame)
    await asyncio.wait_for(app(scope, server.receive, server.send), 5)
    return EchoConsumer.seen


@pytest.mark.parametrize("ok_sends", [0, 1])
async def test_a_send_to_a_gone_client_ends_the_consumer_through_its_disconnect_path_once(
    in_memory_layer, caplog, ok_sends
):
    # spec: LIVE-3, REL-3 — the failed send is no frame error: no error frame is attempted on the
    # dead socket, nothing more is written, disconnect runs once, nothing is logged as a failure
    server = FakeServer(ok_sends=ok_sends)
    caplog.set_level(logging.WARNING)
    ping = {"type": "websocket.receive", "text": '{"type": "ping"}'}
    # The client vanished; the server's later websocket.disconnect must not run the path again.
    consumers = await run(server, [ping, ping, {"type": "websocket.disconnect", "code": 1006}])
    (consumer,) = consumers
    assert consumer.disconnects == [1006]
    assert server.failed_sends == 1  # no error frame, no second pong, no second ping's answer
    assert [m["type"] for m in server.sent] == ["websocket.accept"] + ["websocket.send"] * ok_sends
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    from channels.layers import get_channel_layer

    assert get_channel_layer().groups.get("room", {}) == {}  # it left its group


async def test_a_forwarded_event_to_a_gone_client_ends_the_consumer_the_same_way(in_memory_layer, caplog):
    # spec: LIVE-3, REL-3 — event sends fail the same way as frame answers, and are handled the same way
    from channels.layers import get_channel_layer

    server = FakeServer(ok_sends=0)
    caplog.set_level(logging.WARNING)
    EchoConsumer.seen = []
    app = EchoConsumer.as_asgi()
    scope = {"type": "websocket", "path": "/ws/echo/", "headers": [], "subprotocols": []}
    await server.inbox.put({"type": "websocket.connect"})
    task = asyncio.ensure_future(app(scope, server.receive, server.send))
    layer = get_channel_layer()
    for _ in range(100):  # until it joined its group
        if layer.groups.get("room"):
            break
        await asyncio.sleep(0.01)
    await layer.group_send("room", {"type": "news", "text": "hello"})
    await asyncio.wait_for(task, 5)
    (consumer,) = EchoConsumer.seen
    assert consumer.disconnects == [1006]
    assert server.failed_sends == 1
    assert layer.groups.get("room", {}) == {}
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_normal_close_runs_the_disconnect_path_once(in_memory_layer):
    # spec: LIVE-3 — the ordinary way still works, once
    server = FakeServer(ok_sends=10)
    (consumer,) = await run(server, [{"type": "websocket.disconnect", "code": 1000}])
    assert consumer.disconnects == [1000]
