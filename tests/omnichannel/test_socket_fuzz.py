"""Fuzzing the sockets through a real uvicorn with real WebSocket clients (REL-3, SEC-3): the
widget's chat and visit sockets, the workspace and the supervisor socket get random bytes, every
field of every frame with each wrong JSON type, out-of-range and unstorable values, unknown
fields and types, huge and deeply nested frames and bursts; the handshakes get foreign and
malformed origins. Expected: no ERROR logged (no traceback), no row changed, every bad frame
answered with an error frame (an invalid-UTF-8 text frame: the connection closed with 1007 by
the WebSocket protocol), every bad handshake refused.

The cases come from the consumers' own schema tables, so a frame or field added later is fuzzed
too. Random parts use a fixed seed: a failure repeats."""

import json
import logging
import random
import time
import types
import typing
from contextlib import ExitStack

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from agents.models import AgentProfile
from conversations.consumers import WorkspaceConsumer
from conversations.models import Conversation, ConversationEvent, Message
from conversations.supervisor import SupervisorConsumer
from core.frames import MAX_ID
from notifications.models import Notification
from routing.models import Offer, WorkItem
from tests.conversations.factories import chat_given_to, offer_to
from tests.routing.factories import AgentProfileFactory, SupervisorFactory, presence
from tests.snapshots import snapshot
from tests.widgets.factories import ChatWidgetFactory, ProactiveRuleFactory, VisitorFactory
from tests.widgets.widget_socket import ORIGIN, page_visit_of, visit_frame
from widgets.consumers import WidgetConsumer
from widgets.models import Invitation, PageVisit, Visitor
from widgets.tokens import conversation_token
from widgets.visit_consumer import VisitConsumer

pytestmark = pytest.mark.embedded

SEED = 20261201
STATE = (Conversation, ConversationEvent, Message, Offer, Notification, WorkItem, AgentProfile)
WIDGET_STATE = (Visitor, Invitation)


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


def unwrap(annotation) -> tuple[type, list]:
    """``int`` / ``str`` / ``bool`` of a schema field and the constraints found on the way."""
    metadata = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *more = typing.get_args(annotation)
            metadata.extend(more)
        elif origin in (typing.Union, types.UnionType):
            annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
        else:
            return annotation, metadata


def base_type(annotation) -> type:
    return unwrap(annotation)[0]


SAMPLE = {str: "x", int: 1, bool: True}
WRONG_TYPES = {
    str: [0, 7, -1, 1.5, True, False, [], ["x"], {}, {"x": "y"}],
    int: ["1", "x", "", 1.0, 2.5, True, False, [], [1], {}, {"id": 1}],
    bool: [1, 0, "true", "yes", "", 1.0, [], [True], {}],
}
OUT_OF_RANGE = {
    str: ["\x00", "a\x00b", "\ud800", "x\udfff"],  # unstorable: NUL, unpaired surrogates
    int: [-1, 0, MAX_ID + 1, 10**30],
    bool: [],
}


def bad_frames(schema, frame_type: str):
    """(frame, field) pairs: one field wrong at a time, the others valid."""
    fields = schema.model_fields
    valid = {name: SAMPLE[base_type(info.annotation)] for name, info in fields.items() if info.is_required()}
    valid["type"] = frame_type
    for name, info in fields.items():
        kind = base_type(info.annotation)
        values = list(WRONG_TYPES[kind]) + list(OUT_OF_RANGE[kind])
        if info.is_required():
            values.append(None)
        constraints = [*info.metadata, *unwrap(info.annotation)[1]]
        limit = min((meta.max_length for meta in constraints if getattr(meta, "max_length", None)), default=None)
        if kind is str and limit:
            values.append("y" * (limit + 1))
        for value in values:
            if name == "type":
                continue  # a wrong "type" is a bad frame, below
            if name in ("after", "notes_after") and value == 0 and not isinstance(value, bool):
                continue  # 0 is a valid position
            yield {**valid, name: value}, name
    yield {**valid, "unexpected": 1}, "unexpected"


def shapeless_frames(rng: random.Random, known_types: list[str]):
    """Frames no schema can take: not objects, no or wrong ``type``, unknown types."""
    yield from ("", " ", "null", "1", '"ping"', "[]", '[{"type": "ping"}]', "{}", '{"type": null}', '{"type": 1}')
    yield from ('{"type": ["ping"]}', '{"type": {"ping": 1}}', '{"type": true}', "{'type': 'ping'}", '{"type": "pi')
    yield from ('{"type": "launch.missiles"}', '{"type": "PING"}', '{"type": " ping"}', '{"type": ""}')
    yield json.dumps({"type": "x" * 10_000})
    yield "[" * 60_000  # deeper than the JSON parser recurses
    yield '{"a":' * 10_000 + "1" + "}" * 10_000
    yield json.dumps({"type": "ping", "pad": "x" * 70_000})  # over 64 KB
    yield "x" * (1024 * 1024)
    yield "1" * 5000  # an integer of more digits than Python converts
    for _ in range(60):  # random text (valid UTF-8, so it reaches us)
        length = rng.choice([1, 5, 40, 500])
        yield "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0xD7FF)])) for _ in range(length))
    for _ in range(60):  # random JSON objects, with a field no frame has
        names = ["type", "ref", "text", "conversation", "token", "x"]
        frame = {rng.choice(names): random_json(rng, 3) for _ in range(3)}
        frame["type"] = rng.choice([*known_types, "zz", None, 3])
        frame["zz_not_a_field"] = random_json(rng, 2)
        yield json.dumps(frame)


def random_json(rng: random.Random, depth: int):
    kinds = ["int", "float", "str", "bool", "null"] + (["list", "dict"] if depth else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, 2**64, rng.randint(-(10**6), 10**6)])
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "str":
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 12)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"k{n}": random_json(rng, depth - 1) for n in range(rng.randint(0, 3))}


def expect_error(ws, frame, field=None) -> None:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    answer = receive(ws)
    assert answer["type"] == "error" and answer["code"] and answer["message"], (frame, answer)
    if field is not None:
        assert (answer["code"], list(answer.get("details", {}))) == ("invalid", [field]), (frame, answer)


@pytest.fixture
def world(in_memory_layer, asgi_server, client, settings):
    """A live chat held by an agent, with an offer pending, a visitor on a page, a supervisor."""
    settings.SOCKET_FRAMES_PER_SECOND, settings.SOCKET_FRAME_BURST = 10_000, 10_000  # limits: tested apart
    agent = AgentProfileFactory(presence=presence("available"))
    widget = ChatWidgetFactory()
    visitor = VisitorFactory(widget=widget)
    conversation = chat_given_to(agent, widget=widget, visitor=visitor, workstream=widget.workstream)
    offer = offer_to(agent)
    page_visit = page_visit_of(ProactiveRuleFactory(widget=widget, time_on_page_seconds=3600))
    supervisor = SupervisorFactory()

    def cookie(user):
        client.force_login(user)
        return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}

    with ExitStack() as stack:

        def open_socket(path, origin, headers=None):
            url = f"{asgi_server.ws_url}{path}"
            return stack.enter_context(connect(url, origin=origin, additional_headers=headers, open_timeout=5))

        workspace = open_socket("/ws/workspace/", asgi_server.url, cookie(agent.user))
        assert receive(workspace)["type"] == "hello"
        workspace.send(json.dumps({"type": "conversation.join", "conversation": conversation.pk, "after": 10**6}))
        assert receive(workspace)["type"] == "conversation.joined"
        supervisor_ws = open_socket("/ws/supervisor/", asgi_server.url, cookie(supervisor.user))
        assert receive(supervisor_ws)["type"] == "hello"
        chat_ws = open_socket(f"/ws/widget/{widget.public_key}/", ORIGIN)
        token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
        chat_ws.send(json.dumps({"type": "join", "token": token, "after": 10**6}))
        assert receive(chat_ws)["type"] == "joined"
        visit_ws = open_socket(f"/ws/widget/{widget.public_key}/visit/", ORIGIN)
        visit_ws.send(json.dumps(visit_frame(page_visit)))
        assert receive(visit_ws)["type"] == "visiting"
        yield types.SimpleNamespace(
            sockets={
                WidgetConsumer: chat_ws,
                VisitConsumer: visit_ws,
                WorkspaceConsumer: workspace,
                SupervisorConsumer: supervisor_ws,
            },
            agent=agent,
            offer=offer,
            conversation=conversation,
            page_visit=page_visit,
            open_socket=open_socket,
            cookie=cookie,
            widget=widget,
            server=asgi_server,
            supervisor=supervisor,
        )


def errors_logged(caplog) -> list[str]:
    return [f"{record.name}: {record.getMessage()}" for record in caplog.records if record.levelno >= logging.ERROR]


def test_bad_frames_on_every_socket_are_answered_and_change_nothing(world, caplog, settings):
    # spec: REL-3 — 0 tracebacks, 0 state changes, every bad frame answered with an error frame
    rng = random.Random(SEED)
    page_visit_row = list(PageVisit.objects.filter(pk=world.page_visit.pk).values())
    before = snapshot(*STATE, *WIDGET_STATE)
    sent = 0
    with caplog.at_level(logging.ERROR):
        for consumer, ws in world.sockets.items():
            for frame_type, schema in consumer.frames.items():
                for frame, field in bad_frames(schema, frame_type):
                    expect_error(ws, frame, field)
                    sent += 1
            for frame in shapeless_frames(rng, list(consumer.frames)):
                expect_error(ws, frame)
                sent += 1
            for _ in range(20):  # binary frames of random bytes
                ws.send(rng.randbytes(rng.choice([1, 16, 300])))
                assert receive(ws)["code"] == "bad_frame"
                sent += 1

        # A burst at the real limits: each frame answered (invalid or rate_limited), none applied.
        settings.SOCKET_FRAMES_PER_SECOND, settings.SOCKET_FRAME_BURST = 10, 30
        burst = world.open_socket("/ws/workspace/", world.server.url, world.cookie(world.agent.user))
        assert receive(burst)["type"] == "hello"
        offline = str(presence("offline").pk)
        started = time.monotonic()
        for number in range(1000):
            burst.send(json.dumps({"type": "presence.set", "presence": offline, "ref": str(number)}))
        codes = [receive(burst)["code"] for _ in range(1000)]
        elapsed = time.monotonic() - started
        assert set(codes) == {"invalid", "rate_limited"}, codes[:40]
        assert codes.count("invalid") <= 30 + 10 * elapsed + 1
        sent += 1000
    assert sent > 1500
    assert errors_logged(caplog) == []
    assert snapshot(*STATE, *WIDGET_STATE) == before
    assert list(PageVisit.objects.filter(pk=world.page_visit.pk).values()) == page_visit_row

    with caplog.at_level(logging.ERROR):
        # Invalid UTF-8 in a text frame: the protocol closes the connection (1007); nothing of it logged as an error.
        for ws in world.sockets.values():
            ws.send(b'{"type": "ping", "ref": "\xc3\x28"}', text=True)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    assert errors_logged(caplog) == []


#: Any JSON value (what a client can put in a field).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def of_exact_type(value, kind: type) -> bool:
    return type(value) is kind  # noqa: E721 - exactly: a bool is not an int


def test_any_json_value_of_another_type_in_any_field_is_refused(world, caplog):
    # spec: REL-3 — property: for every field of every frame of every socket, a JSON value of any
    # other type (hypothesis draws them, shrinking a failure to the smallest) is answered
    # `invalid` on that field, and nothing changes
    before = snapshot(*STATE, *WIDGET_STATE)
    cases = [
        (ws, frame_type, schema, name, info)
        for consumer, ws in world.sockets.items()
        for frame_type, schema in consumer.frames.items()
        for name, info in schema.model_fields.items()
        if name != "type"
    ]

    @hypothesis_settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=st.sampled_from(cases), value=JSON_VALUES)
    def check(case, value):
        ws, frame_type, schema, name, info = case
        kind = base_type(info.annotation)
        if of_exact_type(value, kind) or (value is None and not info.is_required()):
            return
        valid = {field: SAMPLE[base_type(other.annotation)] for field, other in schema.model_fields.items()}
        expect_error(ws, {**valid, "type": frame_type, name: value}, name)

    with caplog.at_level(logging.ERROR):
        check()
    assert errors_logged(caplog) == []
    assert snapshot(*STATE, *WIDGET_STATE) == before


FOREIGN_ORIGINS = [
    None,  # no Origin header
    "null",
    "https://evil.example.net",
    "http://shop.example.com",  # another scheme
    "https://shop.example.com:8443",  # another port
    "https://shop.example.com.evil.net",
    "https://evil.net/https://shop.example.com",
    "not a url",
    "://",
    "https://",
    "x" * 4000,
]
MALFORMED_ORIGINS = [
    "http://[",  # an unterminated IPv6 host
    "http://[::1",
    "https://[shop.example.com]",
    "http://127.0.0.1:99999",  # a port out of range
    "http://127.0.0.1:port",
    "https://shop.example.com:-1",
]


def refused_handshakes(world, origins) -> list[tuple[str, str | None, int]]:
    """Open every socket from each origin: the handshakes that were not refused with 403."""
    paths = {
        f"/ws/widget/{world.widget.public_key}/": None,
        f"/ws/widget/{world.widget.public_key}/visit/": None,
        "/ws/workspace/": world.cookie(world.agent.user),
        "/ws/supervisor/": world.cookie(world.supervisor.user),
    }
    wrong = []
    for path, headers in paths.items():
        for origin in origins:
            try:
                world.open_socket(path, origin, headers)
            except InvalidStatus as refused:
                if refused.response.status_code != 403:
                    wrong.append((path.split("/")[2], origin, refused.response.status_code))
            else:
                wrong.append((path.split("/")[2], origin, 101))
    return wrong


def test_foreign_origins_are_refused_at_every_handshake(world, caplog):
    # spec: SEC-3, REL-3 — refused (HTTP 403), never a server error, nothing changed
    before = snapshot(*STATE, *WIDGET_STATE)
    with caplog.at_level(logging.ERROR):
        assert refused_handshakes(world, FOREIGN_ORIGINS) == []
    assert errors_logged(caplog) == []
    assert snapshot(*STATE, *WIDGET_STATE) == before


def test_malformed_origins_are_refused_at_every_handshake(world, caplog):
    # spec: SEC-3, REL-3 — refused (HTTP 403), never a server error
    with caplog.at_level(logging.ERROR):
        assert refused_handshakes(world, MALFORMED_ORIGINS) == []
    assert errors_logged(caplog) == []
