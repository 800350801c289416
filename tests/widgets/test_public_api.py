"""The widget's public HTTP endpoints: session, chats, availability, actions
(docs/live-chat-protocol.md; WID-3, WID-6, WID-8, WID-11, WID-12, WID-13, SUM-12, SEC-3, REL-3)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.utils import timezone

from conversations.models import Conversation, Message
from routing.models import WorkItem
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import (
    AgentProfileFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    WorkstreamFactory,
    presence,
)
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory, VisitorFactory
from widgets.models import PageVisit, SelfServiceAction, Visitor
from widgets.selectors import widget_attachment_config
from widgets.tokens import conversation_token, read_conversation_token, read_visitor_token, visitor_token

pytestmark = pytest.mark.django_db

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


@pytest.fixture
def widget():
    return ChatWidgetFactory(origins=[ORIGIN, "http://127.0.0.1:8123"])


def session(client, widget, **body):
    response = call(client, widget, "session", body)
    assert response.status_code == 200, response.content
    return response.json()


def new_visitor(client, widget) -> str:
    return session(client, widget)["visitor_token"]


def counts() -> dict[str, int]:
    """Everything the widget endpoints can create, to prove a refusal created nothing."""
    return {
        "visitors": Visitor.objects.count(),
        "page_visits": PageVisit.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "actions": SelfServiceAction.objects.count(),
        "work_items": WorkItem.objects.count(),
    }


def assert_cors(response, origin=ORIGIN):
    assert response["Access-Control-Allow-Origin"] == origin
    assert "Origin" in response["Vary"]


# --- Session: visitor identity and page visits (WID-12) --------------------------------------------


def test_session_creates_a_visitor_records_the_page_and_describes_the_widget(
    client, widget, django_assert_max_num_queries
):
    # spec: WID-12 — a visitor identity kept across page loads; page visits with URL, title and time
    PreChatQuestionFactory(widget=widget, name="order_id", label="Order number", required=True, order=1)
    PreChatQuestionFactory(
        widget=widget, name="topic", label="Topic", kind="option_set", choices=["Billing", "Orders"], order=2
    )
    with django_assert_max_num_queries(11):  # 8, and 3 for whether somebody can answer (cached after)
        response = call(
            client,
            widget,
            "session",
            {"url": "https://shop.example.com/checkout?step=2", "title": "Checkout"},
            HTTP_USER_AGENT=CHROME_ON_WINDOWS,
            HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5",
        )
    assert response.status_code == 200
    assert_cors(response)
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    visitor = Visitor.objects.get()
    assert read_visitor_token(body["visitor_token"], widget_key=widget.public_key).visitor == visitor.public_id
    assert (visitor.widget, visitor.language, visitor.user_agent, visitor.visit_count) == (
        widget,
        "fr",
        CHROME_ON_WINDOWS,
        1,
    )
    visit = PageVisit.objects.get()
    assert (visit.visitor, visit.url, visit.title) == (visitor, "https://shop.example.com/checkout?step=2", "Checkout")
    # Nobody can answer now (tests/widgets/test_unavailable.py), and the newer controls' words.
    assert body["config"].pop("availability")["available"] is False
    assert (body["config"].pop("when_unavailable"), body["config"].pop("unread_sound")) == ("wait", False)
    assert body["config"].pop("survey") is None  # no post-chat survey unless the admin sets one
    assert body["config"].pop("transcript_email") is settings.OUTBOUND_MAIL
    assert set(body["config"].pop("strings")) >= {"offlineName", "offlineEmail", "offlineMessage", "unread"}
    assert body["config"].pop("catalog")["Open chat"] == "Ouvrir le chat"  # the scripts' words (I18N-1)
    assert body["config"] == {
        "title": widget.title,
        "greeting": widget.greeting,
        "theme_color": widget.theme_color,
        "theme_ink": "#fff",
        "position": "bottom_right",
        "language": "fr",
        "persistent": False,
        "proactive_enabled": False,
        "attachments": widget_attachment_config(widget, language="fr"),  # issue 16 (test_attachment_settings.py)
        "prechat_questions": [
            {
                "name": "order_id",
                "label": "Order number",
                "kind": "single_line",
                "required": True,
                "choices": [],
                "consent_url": "",
            },
            {
                "name": "topic",
                "label": "Topic",
                "kind": "option_set",
                "required": False,
                "choices": ["Billing", "Orders"],
                "consent_url": "",
            },
        ],
    }
    assert "conversation" not in body


def test_the_same_browser_stays_the_same_visitor_across_page_loads(client, widget):
    # spec: WID-12
    token = session(client, widget, url="https://shop.example.com/", title="Home")["visitor_token"]
    again = session(client, widget, visitor_token=token, url="https://shop.example.com/cart", title="Cart")
    visitor = Visitor.objects.get()
    assert read_visitor_token(again["visitor_token"], widget_key=widget.public_key).visitor == visitor.public_id
    assert visitor.visit_count == 1  # two page loads a moment apart are one visit
    assert list(visitor.page_visits.order_by("pk").values_list("title", flat=True)) == ["Home", "Cart"]

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        session(client, widget, visitor_token=token)
    visitor.refresh_from_db()
    assert (Visitor.objects.count(), visitor.visit_count, visitor.is_returning) == (1, 2, True)
    assert PageVisit.objects.count() == 2  # no URL sent, no page visit


@pytest.mark.parametrize("kind", ["forged", "other_widget", "conversation_token", "garbage"])
def test_a_session_with_a_bad_visitor_token_starts_a_new_visitor(client, widget, kind):
    # spec: WID-12 — a new signed visitor token when none or an invalid one was sent
    theirs = VisitorFactory()  # a visitor of another widget
    token = {
        "forged": signing.dumps({"v": str(theirs.public_id), "w": str(widget.public_key)}, salt="widgets.visitor")[:-2]
        + "xx",
        "other_widget": visitor_token(visitor_public_id=theirs.public_id, widget_key=theirs.widget.public_key),
        "conversation_token": conversation_token(conversation_public_id=uuid.uuid4(), visitor_public_id=uuid.uuid4()),
        "garbage": "not-a-token",
    }[kind]
    body = session(client, widget, visitor_token=token)
    mine = Visitor.objects.get(widget=widget)
    assert mine != theirs
    assert read_visitor_token(body["visitor_token"], widget_key=widget.public_key).visitor == mine.public_id
    assert Visitor.objects.count() == 2


def test_a_visitor_token_of_another_widgets_visitor_signed_for_this_widget_is_not_theirs(client, widget):
    # spec: SEC-1 — a token naming a visitor of another widget does not open that visitor
    theirs = VisitorFactory()
    token = visitor_token(visitor_public_id=theirs.public_id, widget_key=widget.public_key)
    before = counts()
    response = call(client, widget, "chats", {"visitor_token": token})
    assert (response.status_code, response.json()["code"]) == (403, "invalid_token")
    assert counts() == before


def test_session_language_follows_the_widget_then_the_browser(client):
    # spec: I18N-1 — the widget follows the visitor's browser language unless the widget sets one
    plain = ChatWidgetFactory()
    assert session(client, plain, language="pl-PL")["config"]["language"] == "pl"
    assert session(client, plain, language="de-DE")["config"]["language"] == "en"  # not shipped: English
    fixed = ChatWidgetFactory(language="ro")
    assert session(client, fixed, language="pl-PL")["config"]["language"] == "ro"


def test_session_offers_the_unfinished_chat_to_resume(client, widget):
    # spec: CONV-2 — a reloaded page carries on with the chat it had
    token = new_visitor(client, widget)
    visitor = Visitor.objects.get()
    conversation = ConversationFactory(widget=widget, visitor=visitor, workstream=widget.workstream)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_seq=4)
    resumed = session(client, widget, visitor_token=token)["conversation"]
    assert resumed["id"] == str(conversation.public_id)
    assert (resumed["status"], resumed["last_seq"]) == ("open", 4)
    claim = read_conversation_token(resumed["token"])
    assert (claim.conversation, claim.visitor) == (conversation.public_id, visitor.public_id)

    Conversation.objects.filter(pk=conversation.pk).update(status="wrap_up")
    assert "conversation" not in session(client, widget, visitor_token=token)


# --- Origins, preflight, CORS (WID-3, SEC-3) -------------------------------------------------------

ENDPOINTS = [
    ("session", "post", {"url": "https://evil.example.net/", "title": "x"}),
    ("chats", "post", None),
    ("availability", "get", None),
    ("actions", "post", None),
    ("session", "options", None),
    ("chats", "options", None),
]


@pytest.mark.parametrize(("endpoint", "method", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.net",
        None,
        "null",
        "http://shop.example.com",  # same host, other scheme
        "https://shop.example.com.evil.net",
        "https://shop.example.com:8443",
    ],
)
def test_a_page_of_a_non_allowed_origin_gets_403_and_nothing_is_created(client, widget, endpoint, method, body, origin):
    # spec: WID-3 — the server refuses the widget's HTTP calls from that origin with a clear error
    token = visitor_token(visitor_public_id=VisitorFactory(widget=widget).public_id, widget_key=widget.public_key)
    if body is None and method == "post":
        body = {"visitor_token": token, "kind": "custom_action", "title": "Viewed returns policy"}
    before = counts()
    response = call(client, widget, endpoint, body, method=method, origin=origin)
    assert response.status_code == 403
    assert response.json() == {
        "code": "origin_not_allowed",
        "message": "This site is not on the chat widget's allowed domains.",
    }
    # The page may read the refusal, so the host site's error event says why (WID-8 error events).
    assert response.get("Access-Control-Allow-Origin") == origin
    assert counts() == before


@pytest.mark.parametrize("endpoint", ["session", "chats", "availability", "actions"])
def test_preflight_from_an_allowed_origin_is_answered(client, widget, endpoint):
    # spec: WID-3 — allowed origins get CORS headers and preflight answers
    response = call(
        client,
        widget,
        endpoint,
        method="options",
        origin="http://127.0.0.1:8123",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert_cors(response, "http://127.0.0.1:8123")
    assert response["Access-Control-Allow-Headers"] == "Content-Type"
    assert response["Access-Control-Max-Age"] == "600"
    expected = "GET, OPTIONS" if endpoint == "availability" else "POST, OPTIONS"
    assert response["Access-Control-Allow-Methods"] == expected
    assert counts()["visitors"] == 0


def test_an_unknown_or_switched_off_widget_is_404(client, widget):
    # spec: WID-3 — a clear error, nothing created
    response = client.post(
        f"/widget/{uuid.uuid4()}/session/", "{}", content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert (response.status_code, response.json()["code"]) == (404, "widget_not_found")
    widget.is_active = False
    widget.save()
    response = call(client, widget, "session", {})
    assert (response.status_code, response.json()["code"]) == (404, "widget_not_found")
    assert client.post("/widget/not-a-key/session/", HTTP_ORIGIN=ORIGIN).status_code == 404
    assert counts()["visitors"] == 0


def test_the_widget_may_post_json_as_text_plain_to_skip_the_preflight(client, widget):
    # spec: WID-2 — one tag; the script's calls work cross-origin (a "simple" request needs no preflight)
    response = call(client, widget, "session", {"title": "Home"}, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200
    assert_cors(response)
    assert Visitor.objects.count() == 1


def test_paths_work_without_the_trailing_slash(client, widget):
    response = client.post(
        f"/widget/{widget.public_key}/session", "{}", content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 200


# --- Bad input: clear 400s, never 500 (REL-3) ------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "errors"),
    [
        ("session", "{not json", {"body"}),
        ("session", "[1, 2]", {"non_field_errors"}),
        ("session", {"url": "javascript:alert(1)"}, {"url"}),
        ("session", {"visitor_token": 7, "language": "x" * 50}, {"language"}),
        ("chats", "", {"visitor_token"}),
        ("chats", {"visitor_token": "t", "prechat": [1], "context": "no"}, {"prechat", "context"}),
        ("actions", {"visitor_token": "t", "kind": "hacked", "title": ""}, {"kind", "title"}),
        ("actions", {"kind": "custom_action", "title": "x", "url": "ftp://x"}, {"visitor_token", "url"}),
    ],
)
def test_bad_json_and_bad_fields_get_400_with_per_field_errors(client, widget, endpoint, body, errors):
    # spec: REL-3 — bad input gets a clear error and changes nothing
    before = counts()
    response = call(client, widget, endpoint, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid" and answer["message"]
    assert set(answer["errors"]) == errors
    assert_cors(response)
    assert counts() == before


def test_the_wrong_method_is_405_json(client, widget):
    # spec: REL-3
    response = call(client, widget, "session", method="get")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- Starting a chat (LIVE-1, WID-6, WID-11, WID-13) ------------------------------------------------


@pytest.fixture
def survey(widget):
    PreChatQuestionFactory(widget=widget, name="name", label="Your name", required=True, order=1)
    PreChatQuestionFactory(widget=widget, name="details", label="Details", kind="multi_line", order=2)
    PreChatQuestionFactory(
        widget=widget, name="topic", label="Topic", kind="option_set", choices=["Billing", "Orders"], required=True
    )
    PreChatQuestionFactory(
        widget=widget, name="terms", label="I accept", kind="consent", consent_url="https://x.example/t", required=True
    )
    return widget


ANSWERS = {"name": "Ana", "details": "Parcel\nlate", "topic": "Orders", "terms": True}


def test_a_chat_starts_with_the_answers_context_and_visitor_details(client, survey, django_assert_max_num_queries):
    # spec: WID-11, WID-6, WID-13, LIVE-1
    token = new_visitor(client, survey)
    context = {
        "cart_total": {"value": 42.5, "isDisplayable": True},
        "segment": {"value": "gold", "isDisplayable": False},
    }
    # 31: one read of the enabled webhook endpoints per transaction (API-2: the conversation started).
    with django_assert_max_num_queries(31):
        response = call(
            client,
            survey,
            "chats",
            {"visitor_token": token, "prechat": ANSWERS, "context": context, "url": "https://shop.example.com/help"},
            HTTP_USER_AGENT=CHROME_ON_WINDOWS,
            HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9",
        )
    assert response.status_code == 201, response.json()
    assert_cors(response)
    answer = response.json()["conversation"]
    conversation = Conversation.objects.get()
    assert answer["id"] == str(conversation.public_id)
    assert answer["status"] == "open"
    assert answer["last_seq"] == conversation.last_message_seq
    claim = read_conversation_token(answer["token"])
    visitor = Visitor.objects.get()
    assert (claim.conversation, claim.visitor) == (conversation.public_id, visitor.public_id)
    assert (conversation.widget, conversation.visitor, conversation.channel) == (survey, visitor, "live_chat")
    assert conversation.prechat_answers == {"name": "Ana", "details": "Parcel\nlate", "topic": "Orders", "terms": "yes"}
    assert conversation.context_variables["cart_total"] == {"value": 42.5, "isDisplayable": True}
    assert conversation.context_variables["segment"] == {"value": "gold", "isDisplayable": False}
    assert (conversation.language, conversation.page_url, conversation.authenticated) == (
        "id",
        "https://shop.example.com/help",
        False,
    )
    assert (conversation.browser, conversation.operating_system, conversation.device) == (
        "Chrome 124.0",
        "Windows 10",
        "Desktop",
    )
    # LIVE-1, LIVE-4: the chat is queued; with no agent who could take it, no queue position is
    # promised (tests/widgets/test_unavailable.py has the messages when somebody can).
    assert list(conversation.messages.values_list("sender", flat=True)) == []
    assert WorkItem.objects.get().conversation == conversation


def test_a_second_submit_resumes_the_chat_under_way(client, widget):
    # spec: LIVE-1 — one chat per customer at a time, even after a double click
    token = new_visitor(client, widget)
    first = call(client, widget, "chats", {"visitor_token": token})
    assert first.status_code == 201
    before = counts()
    second = call(client, widget, "chats", {"visitor_token": token})
    assert second.status_code == 200
    assert second.json()["conversation"]["id"] == first.json()["conversation"]["id"]
    assert counts() == before


def test_missing_required_answers_are_refused_per_question_and_nothing_is_created(client, survey):
    # spec: WID-11 — missing required answers are refused with a clear per-field error
    token = new_visitor(client, survey)
    before = counts()
    response = call(
        client, survey, "chats", {"visitor_token": token, "prechat": {"details": "x", "topic": "Spam", "terms": False}}
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid"
    assert answer["errors"] == {
        "prechat": {
            "name": ["This answer is required."],
            "topic": ["Choose one of the options."],
            "terms": ["Please give your consent to continue."],
        }
    }
    assert_cors(response)
    assert counts() == before


def test_more_than_100_context_variables_are_refused(client, widget):
    # spec: WID-6 — at most 100 context variables a conversation
    token = new_visitor(client, widget)
    context = {f"v{i}": {"value": i, "isDisplayable": False} for i in range(101)}
    before = counts()
    response = call(client, widget, "chats", {"visitor_token": token, "context": context})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["context"]
    assert counts() == before
    context.pop("v100")
    assert call(client, widget, "chats", {"visitor_token": token, "context": context}).status_code == 201
    assert len(Conversation.objects.get().context_variables) == 100


@pytest.mark.parametrize("kind", ["forged", "other_widget", "visitor_of_other_widget", "expired", "missing_visitor"])
def test_chats_refuse_tokens_that_are_not_this_widgets_visitor(client, widget, kind):
    # spec: WID-3, SEC-1 — forged or foreign tokens are refused and nothing is created
    mine = VisitorFactory(widget=widget)
    other = VisitorFactory()
    token = {
        "forged": visitor_token(visitor_public_id=mine.public_id, widget_key=widget.public_key)[:-3] + "abc",
        "other_widget": visitor_token(visitor_public_id=other.public_id, widget_key=other.widget.public_key),
        "visitor_of_other_widget": visitor_token(visitor_public_id=other.public_id, widget_key=widget.public_key),
        "expired": visitor_token(visitor_public_id=mine.public_id, widget_key=widget.public_key),
        "missing_visitor": visitor_token(visitor_public_id=uuid.uuid4(), widget_key=widget.public_key),
    }[kind]
    before = counts()
    travel = timedelta(days=400) if kind == "expired" else timedelta(0)
    with time_machine.travel(timezone.now() + travel):
        response = call(client, widget, "chats", {"visitor_token": token})
    assert response.status_code == 403
    assert response.json()["code"] == ("expired_token" if kind == "expired" else "invalid_token")
    assert response.json()["message"]
    assert counts() == before


def test_a_persistent_widget_refuses_an_unauthenticated_customer(client):
    # spec: PER-2 — an unauthenticated customer cannot start a persistent chat
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(persistent=True))
    token = new_visitor(client, widget)
    before = counts()
    response = call(client, widget, "chats", {"visitor_token": token})
    assert (response.status_code, response.json()["code"]) == (403, "authentication_required")
    assert counts() == before


# --- Throttling (SEC-3) ---------------------------------------------------------------------------


def test_too_many_calls_from_one_address_get_429(client, widget, settings):
    # spec: SEC-3 — public widget endpoints are rate limited
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"widget": "3/min"}}
    for _ in range(3):
        assert call(client, widget, "session", {}).status_code == 200
    before = counts()
    response = call(client, widget, "session", {"url": "https://shop.example.com/"})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert_cors(response)  # the widget can read why
    assert call(client, widget, "availability", method="get").status_code == 429
    assert counts() == before
    # Another address is not held back by this one.
    assert call(client, widget, "session", {}, REMOTE_ADDR="10.0.0.7").status_code == 200


# --- Availability (WID-8) ------------------------------------------------------------------------


def test_availability_when_nobody_can_take_a_chat(client, widget, django_assert_max_num_queries):
    # spec: WID-8
    with django_assert_max_num_queries(6):
        response = call(client, widget, "availability", method="get")
    assert response.status_code == 200
    assert_cors(response)
    assert response.json() == {"available": False, "average_wait_minutes": 1, "next_change": None}


def test_availability_with_an_available_agent_the_queue_position_and_the_average_wait(client, widget):
    # spec: WID-8 — available agent, position in queue, average wait
    queue = widget.workstream.default_queue
    AgentProfileFactory(reachable=True, queues=[queue], presence=presence("away"))
    AgentProfileFactory(reachable=True, queues=[QueueFactory()])  # available, but in another queue
    AgentProfileFactory(queues=[queue])  # available, but no workspace page open (ROU-8)
    assert call(client, widget, "availability", method="get").json()["available"] is False
    AgentProfileFactory(reachable=True, queues=[queue])
    now = timezone.now()
    for minutes in (2, 5):  # two chats picked up recently after 2 and 5 minutes of waiting
        ConversationFactory(
            workstream=widget.workstream, created_at=now - timedelta(minutes=minutes), first_assigned_at=now
        )
    token = new_visitor(client, widget)
    ahead = call(client, widget, "chats", {"visitor_token": new_visitor(client, widget)})
    mine = call(client, widget, "chats", {"visitor_token": token})
    assert ahead.status_code == mine.status_code == 201
    answer = call(client, widget, "availability", {"visitor_token": token}, method="get").json()
    assert answer == {"available": True, "queue_position": 2, "average_wait_minutes": 4, "next_change": None}


def test_availability_tells_the_next_opening_hours_change(client):
    # spec: WID-8 — the next operating-hours change
    hours = OperatingHoursFactory(time_zone="Europe/Paris")
    OperatingWindowFactory(schedule=hours, weekday=0, opens_at="09:00", closes_at="17:00")
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=QueueFactory(operating_hours=hours)))
    AgentProfileFactory(reachable=True, queues=[widget.workstream.default_queue])
    monday_noon_paris = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    with time_machine.travel(monday_noon_paris, tick=False):
        open_now = call(client, widget, "availability", method="get").json()
    assert open_now["available"] is True
    assert open_now["next_change"] == "2026-03-02T17:00:00+01:00"
    with time_machine.travel(monday_noon_paris + timedelta(hours=8), tick=False):
        closed = call(client, widget, "availability", method="get").json()
    assert closed["available"] is False
    assert closed["next_change"] == "2026-03-09T09:00:00+01:00"


def test_availability_refuses_a_forged_visitor_token(client, widget):
    # spec: SEC-1
    response = call(client, widget, "availability", {"visitor_token": "forged"}, method="get")
    assert (response.status_code, response.json()["code"]) == (403, "invalid_token")


# --- Self-service actions (SUM-12, WID-12) --------------------------------------------------------


def test_actions_attach_to_the_visitor_and_then_to_the_conversation(client, widget, django_assert_max_num_queries):
    # spec: SUM-12, WID-12 — actions attach to the visitor and, once a conversation starts, to it
    token = new_visitor(client, widget)
    with django_assert_max_num_queries(8):
        response = call(
            client,
            widget,
            "actions",
            {"visitor_token": token, "kind": "phrase_searched", "title": "refund", "url": "https://shop.example.com/s"},
        )
    assert response.status_code == 201
    assert_cors(response)
    assert response.json()["kind"] == "phrase_searched"
    action = SelfServiceAction.objects.get()
    assert (action.visitor, action.kind, action.title, action.url, action.conversation) == (
        Visitor.objects.get(),
        "phrase_searched",
        "refund",
        "https://shop.example.com/s",
        None,
    )
    assert call(client, widget, "chats", {"visitor_token": token}).status_code == 201
    conversation = Conversation.objects.get()
    action.refresh_from_db()
    assert action.conversation == conversation  # earlier actions join the conversation when it starts
    assert call(client, widget, "actions", {"visitor_token": token, "kind": "custom_action", "title": "Opened FAQ"})
    assert SelfServiceAction.objects.get(title="Opened FAQ").conversation == conversation


@pytest.mark.parametrize("token", ["forged", None])
def test_actions_with_a_bad_token_are_refused(client, widget, token):
    # spec: SUM-12, REL-3
    other = VisitorFactory()
    if token is None:
        token = visitor_token(visitor_public_id=other.public_id, widget_key=other.widget.public_key)
    before = counts()
    response = call(client, widget, "actions", {"visitor_token": token, "kind": "custom_action", "title": "x"})
    assert (response.status_code, response.json()["code"]) == (403, "invalid_token")
    assert counts() == before
