"""Driving the widget's sockets in tests, as the customer's page does: the chat socket
(/ws/widget/<key>/) and the page's visit socket (/ws/widget/<key>/visit/)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.sync.client import connect

from conversations.models import Message
from conversations.services import message_post
from tests.conversations.factories import ConversationFactory
from tests.widgets.factories import ChatWidgetFactory, PageVisitFactory, VisitorFactory
from widgets.tokens import conversation_token, page_visit_token, visitor_token

ORIGIN = "https://shop.example.com"


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def assert_silent(ws, seconds=0.3):
    """Nothing more arrives: proves a message was not sent twice."""
    with pytest.raises(TimeoutError):
        ws.recv(timeout=seconds)


def open_socket(server, widget, origin=ORIGIN):
    return connect(f"{server.ws_url}/ws/widget/{widget.public_key}/", origin=origin, open_timeout=5)


def send(ws, frame) -> None:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))


def chat(widget=None, **kwargs):
    """A live chat of a visitor of ``widget`` and the customer's token for it."""
    widget = widget or ChatWidgetFactory()
    visitor = VisitorFactory(widget=widget)
    conversation = ConversationFactory(widget=widget, visitor=visitor, workstream=widget.workstream, **kwargs)
    token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
    return conversation, token


def post(conversation, text, sender=Message.Sender.AGENT) -> Message:
    return message_post(conversation_id=conversation.pk, sender=sender, text=text)[0]


def join(ws, conversation, token, after=0) -> dict:
    send(ws, {"type": "join", "token": token, "after": after, "ref": "j"})
    joined = receive(ws)
    assert {name: value for name, value in joined.items() if name != "availability"} == {
        "type": "joined",
        "conversation": str(conversation.public_id),
        "status": conversation.status,
        "ref": "j",
    }
    assert set(joined["availability"]) == {"available", "open", "message", "may_wait"}  # LIVE-4
    return joined


def texts(frames) -> list[tuple[int, str]]:
    return [(frame["seq"], frame["text"]) for frame in frames]


def open_visit_socket(server, widget, origin=ORIGIN):
    return connect(f"{server.ws_url}/ws/widget/{widget.public_key}/visit/", origin=origin, open_timeout=5)


def visit_frame(page_visit) -> dict:
    visitor = page_visit.visitor
    return {
        "type": "visit",
        "visitor_token": visitor_token(visitor_public_id=visitor.public_id, widget_key=visitor.widget.public_key),
        "page_visit": page_visit_token(page_visit_public_id=page_visit.public_id, visitor_public_id=visitor.public_id),
    }


def page_visit_of(rule, *, seconds_ago=0):
    started = timezone.now() - timedelta(seconds=seconds_ago)
    return PageVisitFactory(visitor=VisitorFactory(widget=rule.widget), started_at=started, last_seen_at=started)
