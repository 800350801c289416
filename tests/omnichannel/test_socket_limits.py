"""Limits on what one client may make the sockets do, through a real uvicorn and real clients:
frames per second per socket, customer messages per minute per conversation, open widget sockets
per visitor (REL-3, SEC-3; docs/live-chat-protocol.md "Frames, errors and limits"). Counted in
Redis when REDIS_URL is set, in process memory in embedded mode."""

import copy
import json
import time
import uuid
from contextlib import ExitStack

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conversations.models import Message
from tests.routing.factories import AgentProfileFactory
from tests.widgets.factories import ProactiveRuleFactory
from tests.widgets.widget_socket import ORIGIN, chat, page_visit_of, visit_frame
from tests.widgets.widget_socket import join as widget_join

pytestmark = pytest.mark.embedded


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


@pytest.fixture
def private_cache(settings):
    """The configured cache (Redis with REDIS_URL), under a key prefix of this test's own."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = caches


@pytest.fixture
def sockets(in_memory_layer, asgi_server, private_cache):
    """Open sockets on the live server; all closed at the end of the test."""
    with ExitStack() as stack:

        def open_socket(path, **kwargs):
            return stack.enter_context(connect(f"{asgi_server.ws_url}{path}", open_timeout=5, **kwargs))

        open_socket.stack = stack
        yield open_socket


def test_a_burst_of_1000_frames_is_answered_in_full_but_applied_only_up_to_the_limit(
    sockets, settings, asgi_server, agent_login
):
    # spec: REL-3, SEC-3 — frames per second per socket, a token bucket: over it → rate_limited,
    # not applied, and the socket stays open
    settings.SOCKET_FRAMES_PER_SECOND, settings.SOCKET_FRAME_BURST = 5, 10
    agent = AgentProfileFactory()
    ws = sockets("/ws/workspace/", origin=asgi_server.url, additional_headers={"Cookie": agent_login(agent)})
    assert receive(ws)["type"] == "hello"
    started = time.monotonic()
    for number in range(1000):
        ws.send(json.dumps({"type": "ping", "ref": f"p{number}"}))
    answers = [receive(ws) for _ in range(1000)]
    elapsed = time.monotonic() - started
    assert sorted(answer["ref"] for answer in answers) == sorted(f"p{number}" for number in range(1000))
    pongs = [answer for answer in answers if answer["type"] == "pong"]
    refused = [answer for answer in answers if answer["type"] == "error"]
    assert len(pongs) + len(refused) == 1000
    assert 10 <= len(pongs) <= 10 + 5 * elapsed + 1
    assert {answer["code"] for answer in refused} == {"rate_limited"} and refused[0]["message"]
    time.sleep(0.5)  # the bucket refills: the socket is usable again
    ws.send(json.dumps({"type": "ping", "ref": "again"}))
    assert receive(ws) == {"type": "pong", "ref": "again"}


def test_a_customer_writes_at_most_the_messages_of_a_minute(sockets, settings):
    # spec: REL-3, SEC-3 — customer messages per minute per conversation, counted in the cache
    settings.CUSTOMER_MESSAGES_PER_MINUTE = 5
    if time.time() % 60 > 50:  # all eight messages in one clock minute
        time.sleep(61 - time.time() % 60)
    conversation, token = chat()
    first = sockets(f"/ws/widget/{conversation.widget.public_key}/", origin=ORIGIN)
    second = sockets(f"/ws/widget/{conversation.widget.public_key}/", origin=ORIGIN)
    widget_join(first, conversation, token)
    widget_join(second, conversation, token)
    answers = []
    for number in range(8):  # from two tabs: the limit is the conversation's, not the socket's
        ws = first if number % 2 else second
        ws.send(json.dumps({"type": "message.send", "text": f"m{number}", "client_id": f"c{number}"}))
        while (answer := receive(ws))["type"] == "conversation.message":
            pass
        answers.append(answer)
    assert [answer["type"] for answer in answers] == ["message.ack"] * 5 + ["error"] * 3
    for error in answers[5:]:
        assert error["code"] == "rate_limited" and error["message"]
        assert 1 <= error["details"]["retry_after"] <= 60
    assert Message.objects.filter(conversation=conversation).count() == 5


def test_a_visitor_holds_at_most_the_configured_chat_sockets(sockets, settings):
    # spec: REL-3, SEC-3 — open widget sockets per visitor: the extra one is told and closed (4429)
    settings.WIDGET_SOCKETS_PER_VISITOR = 2
    conversation, token = chat()
    path = f"/ws/widget/{conversation.widget.public_key}/"
    first, second, third = (sockets(path, origin=ORIGIN) for _ in range(3))
    widget_join(first, conversation, token)
    widget_join(second, conversation, token)
    third.send(json.dumps({"type": "join", "token": token, "after": 0, "ref": "j"}))
    error = receive(third)
    assert (error["type"], error["code"], error["ref"]) == ("error", "too_many_connections", "j")
    assert error["message"]
    with pytest.raises(ConnectionClosed) as closed:
        third.recv(timeout=5)
    assert closed.value.rcvd.code == 4429

    first.close()  # a socket that closes frees its place
    time.sleep(0.3)
    fourth = sockets(path, origin=ORIGIN)
    widget_join(fourth, conversation, token)


def test_a_visitor_holds_at_most_the_configured_visit_sockets(sockets, settings):
    # spec: REL-3, SEC-3 — the same bound for the proactive visit socket
    settings.WIDGET_SOCKETS_PER_VISITOR = 1
    page_visit = page_visit_of(ProactiveRuleFactory(time_on_page_seconds=3600))
    path = f"/ws/widget/{page_visit.visitor.widget.public_key}/visit/"
    first, second = sockets(path, origin=ORIGIN), sockets(path, origin=ORIGIN)
    first.send(json.dumps(visit_frame(page_visit)))
    assert receive(first)["type"] == "visiting"
    second.send(json.dumps(visit_frame(page_visit)))
    assert receive(second)["code"] == "too_many_connections"
    with pytest.raises(ConnectionClosed) as closed:
        second.recv(timeout=5)
    assert closed.value.rcvd.code == 4429
    first.send(json.dumps({"type": "heartbeat", "ref": "h"}))
    assert receive(first)["type"] == "heartbeat.ack"
