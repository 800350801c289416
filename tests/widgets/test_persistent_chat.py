"""Persistent chat from the customer's side: signed in on any browser, the same conversation;
only its own customer reaches it; no customer end (PER-2, PER-3, PER-4, AUTH-2, AUTH-3, SEC-1),
over the widget's HTTP endpoints and its socket."""

import json

import pytest
from websockets.sync.client import connect

from conversations.models import Conversation, Message
from conversations.services import message_post
from tests.routing.factories import WorkstreamFactory
from tests.widgets.endpoints import call
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory
from tests.widgets.signing import SigningKey
from widgets.tokens import conversation_token

ORIGIN = "https://portal.example.com"
KEY = SigningKey("RS256")


@pytest.fixture
def portal():
    setting = AuthenticationSettingFactory(public_key_pem=KEY.public_pem, key_set_url="", algorithms=["RS256"])
    return ChatWidgetFactory(workstream=WorkstreamFactory(persistent=True), authentication=setting, origins=[ORIGIN])


def post(client, widget, endpoint, body):
    return call(client, widget, endpoint, body, origin=ORIGIN)


def browser(client, widget, auth_token=None) -> dict:
    """A new browser opening the widget (a new visitor), signed in with ``auth_token`` if given."""
    body = {"auth_token": auth_token} if auth_token else {}
    response = post(client, widget, "session", body)
    assert response.status_code == 200, response.content
    return response.json()


def start(client, widget, session, auth_token):
    return post(client, widget, "chats", {"visitor_token": session["visitor_token"], "auth_token": auth_token})


@pytest.mark.django_db
def test_the_signed_in_customer_gets_their_conversation_on_any_browser_and_nobody_else_does(client, portal):
    # spec: PER-3, AUTH-3, SEC-1
    first = browser(client, portal, KEY.token(sub="ada"))
    started = start(client, portal, first, KEY.token(sub="ada"))
    assert started.status_code == 201
    conversation = Conversation.objects.get()
    assert (conversation.authenticated, conversation.auth_subject) == (True, "ada")

    laptop = browser(client, portal, KEY.token(sub="ada"))  # another device, a fresh token
    assert laptop["conversation"]["id"] == str(conversation.public_id)
    again = start(client, portal, laptop, KEY.token(sub="ada"))
    assert again.status_code == 200  # resumed, not a second conversation
    assert again.json()["conversation"]["id"] == str(conversation.public_id)

    assert "conversation" not in browser(client, portal, KEY.token(sub="grace"))  # another customer
    assert "conversation" not in browser(client, portal)  # not signed in
    # A shared browser: Grace signs in where Ada chatted; she gets her own conversation, not Ada's.
    shared = post(
        client, portal, "session", {"visitor_token": first["visitor_token"], "auth_token": KEY.token(sub="grace")}
    )
    assert "conversation" not in shared.json()
    graces = start(client, portal, first, KEY.token(sub="grace"))
    assert graces.status_code == 201
    assert graces.json()["conversation"]["id"] != str(conversation.public_id)
    assert Conversation.objects.count() == 2


@pytest.mark.django_db
def test_the_customer_end_endpoint_refuses_persistent_chat_and_ends_a_live_one(client, portal):
    # spec: PER-4, LIVE-3
    session = browser(client, portal, KEY.token(sub="ada"))
    chat = start(client, portal, session, KEY.token(sub="ada")).json()["conversation"]
    refused = post(client, portal, "chats/end", {"token": chat["token"], "auth_token": KEY.token(sub="ada")})
    assert refused.status_code == 409
    assert refused.json()["code"] == "end_not_allowed"
    assert Conversation.objects.get().status == "open"
    forged = post(client, portal, "chats/end", {"token": chat["token"], "auth_token": KEY.token(sub="grace")})
    assert forged.status_code == 404  # another customer's token finds nothing

    live = ChatWidgetFactory(origins=[ORIGIN])
    live_session = browser(client, live)
    live_chat = post(client, live, "chats", {"visitor_token": live_session["visitor_token"]}).json()["conversation"]
    ended = post(client, live, "chats/end", {"token": live_chat["token"]})
    assert ended.status_code == 200
    assert ended.json()["conversation"]["status"] == Conversation.objects.get(widget=live).status == "closed"
    assert post(client, live, "chats/end", {"token": "forged"}).json()["code"] == "invalid_token"


# --- the socket -----------------------------------------------------------------------------------


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def open_socket(server, widget):
    return connect(f"{server.ws_url}/ws/widget/{widget.public_key}/", origin=ORIGIN, open_timeout=5)


@pytest.mark.embedded
def test_joining_a_persistent_chat_needs_the_customers_own_valid_token(asgi_server, portal):
    # spec: PER-3, PER-4, AUTH-2, AUTH-3, SEC-1
    from conversations.services import conversation_start
    from tests.widgets.factories import VisitorFactory

    first = VisitorFactory(widget=portal)
    conversation = conversation_start(widget=portal, visitor=first, authenticated=True, auth_subject="ada")
    message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text="Written on my phone")
    # The token a second browser of Ada's got from its session.
    second = VisitorFactory(widget=portal)
    token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=second.public_id)
    with open_socket(asgi_server, portal) as ws:
        for auth_token, code in [
            (None, "authentication_required"),
            (KEY.token(sub="ada", lifetime=-120), "auth_token_expired"),
            (SigningKey("RS256", index=1).token(sub="ada"), "auth_token_signature"),
            (KEY.token(sub="grace"), "not_found"),
        ]:
            frame = {"type": "join", "token": token, "ref": code}
            if auth_token:
                frame["auth_token"] = auth_token
            ws.send(json.dumps(frame))
            answer = receive(ws)
            assert (answer["type"], answer["code"], answer["ref"]) == ("error", code, code)
        ws.send(json.dumps({"type": "message.send", "text": "sneaky"}))
        assert receive(ws)["code"] == "not_joined"  # still nobody's: the socket stays open

        ws.send(json.dumps({"type": "join", "token": token, "auth_token": KEY.token(sub="ada"), "after": 0}))
        assert receive(ws)["type"] == "joined"
        backlog = receive(ws)
        assert (backlog["seq"], backlog["text"]) == (1, "Written on my phone")
        ws.send(json.dumps({"type": "chat.end", "ref": "end"}))
        refused = receive(ws)
        assert (refused["type"], refused["code"], refused["ref"]) == ("error", "end_not_allowed", "end")
    assert Conversation.objects.get(pk=conversation.pk).status == "open"
    assert list(Message.objects.filter(conversation=conversation).values_list("text", flat=True)) == [
        "Written on my phone"
    ]


@pytest.mark.django_db
def test_the_rest_api_cannot_save_a_persistent_workstream_around_the_authentication_rule(portal):
    # spec: PER-1, PER-2 — workstreams are read-only in the API; the admin center (tests/widgets/
    # test_admin.py, tests/routing/test_admin.py) is the only place they are saved, and refuses
    # a persistent widget or workstream without authentication.
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")
    workstream = portal.workstream
    listed = api.get(f"/api/v1/workstreams/{workstream.pk}/").json()
    assert (listed["chat_mode"], listed["keep_same_agent"]) == ("persistent", True)
    created = api.post("/api/v1/workstreams/", {"name": "Sneaky", "channel": "chat", "chat_mode": "persistent"})
    changed = api.patch(f"/api/v1/workstreams/{workstream.pk}/", {"keep_same_agent": False}, format="json")
    assert (created.status_code, changed.status_code) == (405, 405)
    workstream.refresh_from_db()
    assert workstream.keep_same_agent and workstream.is_persistent
