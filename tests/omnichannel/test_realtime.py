"""The WebSocket round trip through a real ASGI server, on the embedded in-memory layer and on
real Redis (design.md, "Real time"; REL-3: bad frames get error frames, the socket stays open)."""

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from core.realtime import agent_group, publish_on_commit
from tests.routing.factories import AgentProfileFactory, UserFactory

pytestmark = pytest.mark.embedded


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def open_workspace(server, cookie, origin=None):
    return connect(
        f"{server.ws_url}/ws/workspace/",
        origin=origin or server.url,
        additional_headers={"Cookie": cookie},
        open_timeout=5,
    )


def test_workspace_socket_round_trip(layer, asgi_server, agent_login):
    # spec: ROU-8 — an agent's workspace page holds a live connection that receives their events
    agent = AgentProfileFactory()
    with open_workspace(asgi_server, agent_login(agent)) as ws:
        assert receive(ws) == {"type": "hello", "agent": agent.pk}
        ws.send(json.dumps({"type": "ping", "ref": "r1"}))
        assert receive(ws) == {"type": "pong", "ref": "r1"}

        # A service publishing after commit reaches the socket through the channel layer.
        publish_on_commit(agent_group(agent.pk), {"type": "presence.changed", "agent": agent.pk, "presence": "x"})
        assert receive(ws) == {"type": "presence.changed", "agent": agent.pk, "presence": "x"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": 7}', "bad_frame"),
        ('{"type": "launch.missiles"}', "unknown_type"),
        ('{"type": "ping", "ref": "' + "x" * 100 + '"}', "invalid"),
        ('{"type": "ping", "pad": "' + "x" * 70_000 + '"}', "frame_too_large"),
    ],
)
def test_malformed_frames_get_error_frames_and_the_socket_stays_open(
    frame, code, in_memory_layer, asgi_server, agent_login
):
    # spec: REL-3
    agent = AgentProfileFactory()
    with open_workspace(asgi_server, agent_login(agent)) as ws:
        receive(ws)  # hello
        ws.send(frame)
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", code)
        assert error["message"]
        ws.send(json.dumps({"type": "ping"}))
        assert receive(ws) == {"type": "pong"}


def test_anonymous_users_and_non_agents_cannot_open_the_workspace_socket(in_memory_layer, asgi_server, client):
    # spec: SEC-1
    with pytest.raises(InvalidStatus):
        open_workspace(asgi_server, "sessionid=nope")
    client.force_login(UserFactory())
    with pytest.raises(InvalidStatus):
        open_workspace(asgi_server, f"sessionid={client.cookies['sessionid'].value}")


def test_a_page_of_another_site_cannot_open_the_workspace_socket(in_memory_layer, asgi_server, agent_login):
    # spec: SEC-3 — WebSocket connections check origin
    cookie = agent_login(AgentProfileFactory())
    with pytest.raises(InvalidStatus):
        open_workspace(asgi_server, cookie, origin="https://evil.example.net")


def test_an_idle_socket_outlives_the_redis_read_timeout(redis_layer, asgi_server, agent_login):
    # spec: REL-1 — a quiet connection keeps receiving: redis-py 8 reads with a 5 s timeout by
    # default, as long as channels_redis blocks waiting for a message; the layer must wait longer.
    import time

    agent = AgentProfileFactory()
    with open_workspace(asgi_server, agent_login(agent)) as ws:
        assert receive(ws)["type"] == "hello"
        time.sleep(7)
        publish_on_commit(agent_group(agent.pk), {"type": "presence.changed", "agent": agent.pk, "presence": "y"})
        assert receive(ws) == {"type": "presence.changed", "agent": agent.pk, "presence": "y"}
        ws.send(json.dumps({"type": "ping"}))
        assert receive(ws) == {"type": "pong"}
