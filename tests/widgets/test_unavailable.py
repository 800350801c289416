"""No agent online (LIVE-1, LIVE-4, WID-8, issue 16): the widget knows whether somebody can answer
now, before and during a chat; nobody is told "number 1 in the queue" while nobody is there; the
offline form's message becomes a case an agent of the widget's queue finds."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from conversations.models import ChatSettings, Conversation, Message
from customers.models import Case, Contact
from customers.selectors import case_list
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import (
    AgentProfileFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    WorkstreamFactory,
)
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory
from tests.widgets.widget_socket import chat, join, open_socket, receive
from widgets import selectors
from widgets.models import ChatWidget

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_serving_cache(monkeypatch):
    """Each check asks the database: the cache is proven on its own below."""
    monkeypatch.setattr(selectors, "SERVING_CACHE_SECONDS", 0)


@pytest.fixture
def widget():
    return ChatWidgetFactory(origins=[ORIGIN], workstream=WorkstreamFactory(default_queue=QueueFactory(name="Help")))


def config(client, widget, **headers) -> dict:
    response = call(client, widget, "session", {}, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_widget_knows_before_a_chat_whether_somebody_can_answer(client, widget):
    # spec: LIVE-4, WID-8 — reachable and available agents of the widget's queue, no one else
    queue = widget.workstream.default_queue
    AgentProfileFactory(queues=[queue])  # available, but no workspace page open
    AgentProfileFactory(reachable=True, queues=[QueueFactory()])  # another queue
    nobody = config(client, widget)["config"]["availability"]
    assert nobody == {
        "available": False,
        "open": True,
        "message": "Nobody can answer right now. You can start a chat and wait for the next free agent.",
        "may_wait": True,
    }
    AgentProfileFactory(reachable=True, queues=[queue])
    assert config(client, widget)["config"]["availability"] == {
        "available": True,
        "open": True,
        "message": "",
        "may_wait": True,
    }


def test_the_admins_message_and_the_offline_form_setting_reach_the_widget(client, widget):
    # spec: LIVE-4 — the admin's configured message; the offline form instead of waiting
    widget.when_unavailable = ChatWidget.WhenUnavailable.OFFLINE_FORM
    widget.save()
    answer = config(client, widget)["config"]
    assert answer["when_unavailable"] == "offline_form"
    assert answer["availability"]["may_wait"] is False
    assert answer["availability"]["message"].startswith("Nobody can answer right now. Leave us a message")
    widget.unavailable_message = "Back at 9 tomorrow: <b>write to us</b>."
    widget.save()
    assert config(client, widget)["config"]["availability"]["message"] == "Back at 9 tomorrow: <b>write to us</b>."


def test_out_of_hours_the_queues_message_shows_and_nobody_is_offered_to_wait(client):
    # spec: LIVE-4 — out of hours a live chat cannot reach an agent
    hours = OperatingHoursFactory(time_zone="Europe/Paris")
    OperatingWindowFactory(schedule=hours, weekday=0, opens_at="09:00", closes_at="17:00")
    queue = QueueFactory(operating_hours=hours, out_of_hours_message="Closed until Monday 9:00.")
    widget = ChatWidgetFactory(origins=[ORIGIN], workstream=WorkstreamFactory(default_queue=queue))
    AgentProfileFactory(reachable=True, queues=[queue])
    monday_evening_paris = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    with time_machine.travel(monday_evening_paris, tick=False):
        availability = config(client, widget)["config"]["availability"]
    assert availability == {
        "available": False,
        "open": False,
        "message": "Closed until Monday 9:00.",
        "may_wait": False,
    }


def test_the_message_is_in_the_widgets_display_language(client, widget):
    # spec: LIVE-4, I18N-1 — the standard sentence in the visitor's language
    fr = config(client, widget, HTTP_ACCEPT_LANGUAGE="fr-FR")["config"]
    assert fr["language"] == "fr"
    assert fr["strings"]["offlineEmail"]  # the words of the offline form come from the server
    assert isinstance(fr["availability"]["message"], str) and fr["availability"]["message"]


def test_whether_somebody_can_answer_is_cached_per_widget(widget, monkeypatch, django_assert_max_num_queries):
    # spec: WID-8 — cheap: at most three queries per widget per few seconds, however many ask
    monkeypatch.setattr(selectors, "SERVING_CACHE_SECONDS", 60)
    widget = selectors.widget_for_key(widget.public_key)
    with django_assert_max_num_queries(3):
        first = selectors.widget_unavailable_notice(widget, language="en")
    AgentProfileFactory(reachable=True, queues=[widget.workstream.default_queue])
    with django_assert_max_num_queries(0):
        assert selectors.widget_unavailable_notice(widget, language="en") == first


# --- The wait messages (LIVE-1) ----------------------------------------------------------------------


def start(client, widget) -> Conversation:
    token = config(client, widget)["visitor_token"]
    response = call(client, widget, "chats", {"visitor_token": token})
    assert response.status_code == 201, response.content
    return Conversation.objects.get(public_id=response.json()["conversation"]["id"])


def system_texts(conversation) -> list[str]:
    return list(conversation.messages.filter(sender=Message.Sender.SYSTEM).values_list("text", flat=True))


def test_nobody_is_told_a_queue_position_while_nobody_can_pick_the_chat_up(client, widget):
    # spec: LIVE-1, LIVE-4 — the "number 1 in the queue … 1 minutes" while nobody is there
    conversation = start(client, widget)
    assert conversation.status == "open"
    assert system_texts(conversation) == []


def test_the_wait_messages_count_minutes_when_somebody_can_pick_the_chat_up(client, widget):
    # spec: LIVE-1 — "1 minute", "2 minutes" (ngettext), only when somebody can pick the chat up
    queue = widget.workstream.default_queue
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    agent.capacity_used = agent.capacity  # full: nobody could take it
    agent.save(update_fields=["capacity_used"])
    assert system_texts(start(client, widget)) == []
    agent.capacity_used = 0
    agent.save(update_fields=["capacity_used"])
    assert system_texts(start(client, widget)) == [
        "You are number 2 in the queue.",
        "The average wait is about 1 minute.",
    ]
    now = timezone.now()
    picked_up = ConversationFactory(queue=queue)  # a recent chat picked up after 2 minutes
    Conversation.objects.filter(pk=picked_up.pk).update(created_at=now - timedelta(minutes=2), first_assigned_at=now)
    assert system_texts(start(client, widget))[1] == "The average wait is about 2 minutes."


def test_a_workstreams_own_wording_is_used_as_written(client, widget):
    # spec: LIVE-1 — admins override the messages' text per workstream
    workstream = widget.workstream
    ChatSettings.objects.filter(workstream=workstream).update(
        queue_position_message="Place {position}.", average_wait_message="Wait: {minutes} min."
    )
    AgentProfileFactory(reachable=True, queues=[workstream.default_queue])
    assert system_texts(start(client, widget)) == ["Place 1.", "Wait: 1 min."]


# --- The offline form (LIVE-4) -----------------------------------------------------------------------


@pytest.fixture
def offline_widget(widget):
    widget.when_unavailable = ChatWidget.WhenUnavailable.OFFLINE_FORM
    widget.save()
    return widget


def counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "contacts": Contact.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
    }


def test_the_offline_message_becomes_a_case_an_agent_of_the_queue_finds(client, offline_widget):
    # spec: LIVE-4, SEC-1 — a case for the queue's agents, no one else's
    token = config(client, offline_widget)["visitor_token"]
    response = call(
        client,
        offline_widget,
        "offline",
        {"visitor_token": token, "name": "Grace Hopper", "email": "Grace@Example.com", "message": "My <b>kettle</b>"},
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert response.json() == {"received": True, "case": case.pk}
    assert (case.title, case.description, case.origin, case.status) == (
        "Offline message from Grace Hopper",
        "My <b>kettle</b>",
        "chat",
        "active",
    )
    assert (case.contact.last_name, case.contact.email) == ("Grace Hopper", "grace@example.com")
    conversation = Conversation.objects.get()
    assert (conversation.status, conversation.case, conversation.queue) == (
        "closed",
        case,
        offline_widget.workstream.default_queue,
    )
    assert list(conversation.messages.values_list("sender", "text")) == [("customer", "My <b>kettle</b>")]
    agent = AgentProfileFactory(queues=[offline_widget.workstream.default_queue])
    stranger = AgentProfileFactory(queues=[QueueFactory()])
    assert list(case_list(agent.user)) == [case]
    assert list(case_list(stranger.user)) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Grace", "email": "not an email", "message": "Hi"}, "email"),
        ({"name": "", "email": "g@example.com", "message": "Hi"}, "name"),
        ({"name": "Grace", "email": "g@example.com", "message": "   "}, "message"),
        ({"name": "Grace", "email": "g@example.com", "message": "x" * (29 * 1024)}, "message"),
        ({"name": ["Grace"], "email": "g@example.com", "message": "Hi"}, "name"),
        ({"name": "Grace", "email": "g@example.com", "message": 5}, "message"),
    ],
)
def test_a_bad_offline_message_is_refused_and_changes_nothing(client, offline_widget, body, field):
    # spec: LIVE-4 — bad input gets a clear error and changes nothing
    token = config(client, offline_widget)["visitor_token"]
    before = counts()
    response = call(client, offline_widget, "offline", {"visitor_token": token, **body})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert counts() == before


def test_a_widget_without_the_offline_form_takes_no_offline_message(client, widget):
    # spec: LIVE-4 — per widget setting
    token = config(client, widget)["visitor_token"]
    before = counts()
    response = call(
        client, widget, "offline", {"visitor_token": token, "name": "G", "email": "g@example.com", "message": "Hi"}
    )
    assert (response.status_code, response.json()["code"]) == (409, "offline_form_off")
    assert counts() == before


# --- During the chat, over the widget's socket -------------------------------------------------------


def test_the_chat_socket_tells_the_customer_when_somebody_can_answer(asgi_server, settings):
    # spec: LIVE-4 — the availability answer updates during the chat
    settings.SOCKET_KEEPALIVE_SECONDS = 0.3
    widget = ChatWidgetFactory(origins=[ORIGIN])
    conversation, token = chat(widget)
    with open_socket(asgi_server, widget) as ws:
        joined = join(ws, conversation, token)
        assert joined["availability"]["available"] is False
        AgentProfileFactory(reachable=True, queues=[widget.workstream.default_queue])
        frame = receive(ws)
        assert frame == {"type": "availability", "available": True, "open": True, "message": "", "may_wait": True}
