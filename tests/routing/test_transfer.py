"""Transfer (ROU-14), consult / escalation and the bot hand-over (ROU-15), with their toasts (NOT-3)."""

import pytest
from rest_framework.test import APIClient

from agents.models import AgentProfile
from conversations.bots import bot_client_create
from conversations.models import Conversation, ConversationEvent, Message, Session
from conversations.services import message_post
from conversations.transfer import conversation_consult, conversation_transfer
from core.errors import NotFound
from core.realtime import agent_group, conversation_group
from notifications.models import Notification, NotificationTemplate, NotificationTemplateField
from routing.errors import RoutingError
from routing.models import Offer, RoutingRule, WorkItem, WorkstreamTemplate
from routing.services import offer_accept
from tests.conversations.factories import chat_accepted_by
from tests.routing.factories import AgentProfileFactory, QueueFactory, SupervisorFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    return QueueFactory(name="General")


@pytest.fixture
def held(queue):
    """An active chat Alice holds, with Bogdan free in the same queue."""
    workstream = WorkstreamFactory(default_queue=queue, capacity_units=30)
    widget = ChatWidgetFactory(workstream=workstream)
    alice = AgentProfileFactory(reachable=True, queues=[queue], display_name="Alice", capacity=300)
    bogdan = AgentProfileFactory(reachable=True, queues=[queue], display_name="Bogdan", presence=presence("away"))
    conversation = chat_accepted_by(alice, widget)
    AgentProfile.objects.filter(pk=bogdan.pk).update(presence=presence("available"))
    message_post(conversation_id=conversation.pk, sender="customer", text="My parcel never came.")
    return conversation, alice, AgentProfile.objects.get(pk=bogdan.pk)


def loads(*agents):
    return [
        (a.capacity_used, a.session_count)
        for a in AgentProfile.objects.filter(pk__in=[x.pk for x in agents]).order_by("display_name")
    ]


def test_transfer_to_an_agent_moves_capacity_session_and_tells_everyone(run_on_commit, held, published, client):
    # spec: ROU-14, NOT-3 — the toast's fields come from the transfer template; the customer stays
    # in an active chat and sees a system message; the receiver opens it with history and note
    conversation, alice, bogdan = held
    template = NotificationTemplate.objects.create(
        name="Our transfer", scenario="transfer", kind="toast", title="{fromAgent} sent you {customerName}"
    )
    NotificationTemplateField.objects.create(template=template, header="Why", value="{transferNote}")
    WorkstreamTemplate.objects.create(workstream=conversation.workstream, scenario="transfer", template=template)
    published.clear()
    run_on_commit(
        conversation_transfer, conversation_id=conversation.pk, by=alice, to_agent_id=bogdan.pk, note="Wants a refund"
    )
    conversation.refresh_from_db()
    assert (conversation.status, conversation.agent) == ("active", bogdan)
    assert WorkItem.objects.get(conversation=conversation).agent == bogdan
    assert loads(alice, bogdan) == [(0, 0), (30, 1)]
    assert Session.objects.get(conversation=conversation, closed_at__isnull=True).agent == bogdan
    event = ConversationEvent.objects.get(conversation=conversation, kind="transferred")
    assert (event.note, event.actor_user, event.data) == (
        "Wants a refund",
        alice.user,
        {"from_agent": alice.pk, "to_agent": bogdan.pk},
    )
    last = conversation.messages.order_by("-seq").first()
    assert (last.sender, last.text) == ("system", "Alice transferred the conversation to Bogdan.")
    toast = Notification.objects.get(agent=bogdan, scenario="transfer")
    assert (toast.kind, toast.title, toast.fields) == (
        "toast",
        "Alice sent you Visitor",  # {customerName}: no contact, no pre-chat name
        [{"header": "Why", "value": "Wants a refund"}],
    )
    frames = [event for group, event in published if group == agent_group(bogdan.pk)]
    assert frames[-1]["type"] == "notification.raised"
    assert frames[-1]["notification"]["url"] == f"/workspace/conversations/{conversation.pk}/"
    assert (
        conversation_group(conversation.pk),
        {
            "type": "conversation.transferred",
            "conversation": conversation.pk,
            "from_agent": alice.pk,
            "to_agent": bogdan.pk,
            "to_queue": None,
        },
    ) in published
    # Bogdan opens it: the whole history, the note, and he may write
    client.force_login(bogdan.user)
    page = client.get(f"/workspace/conversations/{conversation.pk}/")
    html = page.content.decode()
    assert "My parcel never came." in html and "Wants a refund" in html
    assert page.context["page"].can_write is True
    message_post(conversation_id=conversation.pk, sender="agent", text="Hi, Bogdan here.", agent=bogdan)
    with pytest.raises(Exception, match="Only the agent who holds"):
        message_post(conversation_id=conversation.pk, sender="agent", text="Still me", agent=alice)


def test_transfer_to_a_queue_routes_it_again_with_the_note(run_on_commit, held, queue):
    # spec: ROU-14 — the sender is released, the next agent of that queue is offered it
    conversation, alice, bogdan = held
    billing = QueueFactory(name="Billing")
    carla = AgentProfileFactory(reachable=True, queues=[billing], display_name="Carla")
    run_on_commit(
        conversation_transfer, conversation_id=conversation.pk, by=alice, to_queue_id=billing.pk, note="Invoice issue"
    )
    conversation.refresh_from_db()
    assert (conversation.status, conversation.queue) == ("open", billing)
    assert loads(alice) == [(0, 0)]
    work_item = WorkItem.objects.get(conversation=conversation)
    assert (work_item.queue, work_item.status) == (billing, "offered")
    offer = Offer.objects.get(work_item=work_item, status="pending")
    assert offer.agent == carla
    assert conversation.messages.order_by("-seq").first().text == (
        "Alice transferred you to Billing. The next agent will be with you shortly."
    )
    run_on_commit(offer_accept, offer_id=offer.pk, agent=carla)
    assert Conversation.objects.get(pk=conversation.pk).agent == carla
    assert ConversationEvent.objects.get(conversation=conversation, kind="transferred").note == "Invoice issue"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"to_agent_id": None, "to_queue_id": None}, "bad_target"),
        ({"to_agent_id": "self"}, "bad_target"),
        ({"to_agent_id": "stranger"}, "not_found"),
        ({"to_queue_id": 999_999}, "not_found"),
        ({"to_agent_id": "bogdan", "note": "x" * 1001}, "bad_note"),
        ({"to_agent_id": "bogdan", "bogdan": {"session_count": 10}}, "max_sessions"),
        ({"to_agent_id": "bogdan", "bogdan": {"capacity_used": 80}}, "no_capacity"),
        ({"to_agent_id": "bogdan", "bogdan": {"presence": "offline"}}, "unavailable"),
        ({"to_agent_id": "bogdan", "by": "bogdan"}, "not_holder"),
    ],
)
def test_a_refused_transfer_changes_nothing(held, kwargs, error):
    # spec: ROU-14, SEC-1, ROU-6, ROU-7
    conversation, alice, bogdan = held
    stranger = AgentProfileFactory(reachable=True)
    changes = kwargs.pop("bogdan", {})
    if "presence" in changes:
        changes["presence"] = presence(changes["presence"])
    AgentProfile.objects.filter(pk=bogdan.pk).update(**changes)
    names = {"self": alice.pk, "stranger": stranger.pk, "bogdan": bogdan.pk}
    target = kwargs.pop("to_agent_id", None)
    by = bogdan if kwargs.pop("by", None) == "bogdan" else alice
    before = (loads(alice, bogdan), list(Message.objects.values_list("pk", flat=True)))
    with pytest.raises((RoutingError, NotFound)) as refused:
        conversation_transfer(conversation_id=conversation.pk, by=by, to_agent_id=names.get(target, target), **kwargs)
    assert refused.value.code == error
    assert Conversation.objects.get(pk=conversation.pk).agent == alice
    assert (loads(alice, bogdan), list(Message.objects.values_list("pk", flat=True))) == before
    assert not ConversationEvent.objects.filter(kind="transferred").exists()


def test_consult_brings_in_a_supervisor_who_writes_without_holding_it(run_on_commit, held, published, client):
    # spec: ROU-15, NOT-3 — an escalation toast; the consultant reads and writes, Alice keeps it
    conversation, alice, _bogdan = held
    chief = SupervisorFactory(display_name="Chief")  # shares no queue: any supervisor may be asked
    published.clear()
    run_on_commit(conversation_consult, conversation_id=conversation.pk, by=alice, consultant_id=chief.pk, note="Help")
    assert Conversation.objects.get(pk=conversation.pk).agent == alice
    assert loads(chief) == [(0, 0)]
    toast = Notification.objects.get(agent=chief)
    assert (toast.scenario, toast.kind, toast.title) == ("escalation", "toast", "Conversation escalated to you")
    assert {"header": "Note", "value": "Help"} in toast.fields
    assert ConversationEvent.objects.get(conversation=conversation, kind="escalated").data["consultant"] == chief.pk
    message, _ = message_post(
        conversation_id=conversation.pk, sender="agent", text="Chief here", sender_user=chief.user, agent=chief
    )
    assert (message.sender, message.seq) == ("agent", conversation.messages.count())
    client.force_login(chief.user)
    page = client.get(f"/workspace/conversations/{conversation.pk}/")
    assert page.context["page"].can_write is True and page.context["page"].holds_it is False
    with pytest.raises(Exception, match="already in this conversation"):
        conversation_consult(conversation_id=conversation.pk, by=alice, consultant_id=chief.pk)


def test_an_agent_consultant_gets_a_consult_toast_and_strangers_cannot_be_asked(run_on_commit, held):
    # spec: ROU-15, SEC-1
    conversation, alice, bogdan = held
    run_on_commit(conversation_consult, conversation_id=conversation.pk, by=alice, consultant_id=bogdan.pk)
    assert Notification.objects.get(agent=bogdan).scenario == "consult"
    stranger = AgentProfileFactory(reachable=True)
    with pytest.raises(NotFound):
        conversation_consult(conversation_id=conversation.pk, by=alice, consultant_id=stranger.pk)
    with pytest.raises(RoutingError) as refused:
        conversation_consult(conversation_id=conversation.pk, by=bogdan, consultant_id=alice.pk)
    assert refused.value.code == "not_holder"


def test_the_handover_page_and_its_forms(client, held, django_assert_max_num_queries):
    # spec: ROU-14, ROU-15 — the workspace's Transfer and Consult controls; bad input changes nothing
    conversation, alice, bogdan = held
    client.force_login(alice.user)
    page = client.get(f"/workspace/conversations/{conversation.pk}/")
    assert f"/workspace/conversations/{conversation.pk}/handover/" in page.content.decode()
    with django_assert_max_num_queries(10):
        response = client.get(f"/workspace/conversations/{conversation.pk}/handover/")
    assert [agent.pk for agent in response.context["agents"]] == [bogdan.pk]
    for bad in ({"target": "agent:x"}, {"target": "robot:1"}, {}):
        response = client.post(f"/workspace/conversations/{conversation.pk}/transfer/", bad, follow=True)
        assert "Choose an agent or a queue." in response.content.decode() or "required" in response.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).agent == alice
    response = client.post(
        f"/workspace/conversations/{conversation.pk}/transfer/", {"target": f"agent:{bogdan.pk}", "note": "<i>vip</i>"}
    )
    assert response["Location"] == "/workspace/"
    assert Conversation.objects.get(pk=conversation.pk).agent == bogdan
    client.force_login(bogdan.user)
    html = client.get(f"/workspace/conversations/{conversation.pk}/").content.decode()
    assert "&lt;i&gt;vip&lt;/i&gt;" in html and "<i>vip" not in html
    assert client.get("/workspace/conversations/999999/handover/").status_code == 404


# --- Bots (ROU-15) ---------------------------------------------------------------------------------


def bot_client(name: str, *workstreams) -> APIClient:
    """A bot client granted ``workstreams``, calling with its own key (SEC-1)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bot {bot_client_create(name=name, workstreams=workstreams)[1]}")
    return client


def test_a_bot_takes_a_conversation_then_escalates_it_to_a_human_with_transcript_and_context(
    run_on_commit, published, django_capture_on_commit_callbacks
):
    # spec: ROU-15, NOT-1 (escalation from a bot) — routed by the rules over its context
    general, vip = QueueFactory(name="General"), QueueFactory(name="VIP")
    workstream = WorkstreamFactory(default_queue=general)
    RoutingRule.objects.create(
        workstream=workstream,
        name="Gold",
        queue=vip,
        conditions=[{"source": "context", "name": "tier", "operator": "equals", "value": "gold"}],
    )
    human = AgentProfileFactory(reachable=True, queues=[vip])
    bot = bot_client("Help bot", workstream)
    response = bot.post(
        "/api/v1/bot/conversations/",
        {"workstream": workstream.pk, "context": {"tier": "gold", "order": {"value": "A-17", "isDisplayable": True}}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    conversation_id = response.json()["id"]
    assert response.json()["origin"] == "bot" and response.json()["status"] == "open"
    url = f"/api/v1/bot/conversations/{conversation_id}"
    assert bot.post(f"{url}/messages/", {"sender": "customer", "text": "Where is A-17?"}).status_code == 201
    assert bot.post(f"{url}/messages/", {"text": "Let me get a human."}).status_code == 201
    assert not Offer.objects.exists()  # a bot's conversation waits for no agent
    with django_capture_on_commit_callbacks(execute=True):
        response = bot.post(f"{url}/escalate/", {"note": "Order lookup failed"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["queue"] == {"id": vip.pk, "name": "VIP"}
    offer = Offer.objects.get(work_item__conversation__pk=conversation_id)
    assert offer.agent == human
    notification = Notification.objects.get(offer_id=offer.pk)
    assert (notification.scenario, notification.title) == ("bot_escalation", "A bot needs a human")
    run_on_commit(offer_accept, offer_id=offer.pk, agent=human)
    conversation = Conversation.objects.get(pk=conversation_id)
    assert (conversation.status, conversation.agent) == ("active", human)
    assert conversation.context_variables["order"] == {"value": "A-17", "isDisplayable": True}
    assert list(conversation.messages.values_list("sender", "text"))[:3] == [
        ("customer", "Where is A-17?"),
        ("bot", "Let me get a human."),
        ("system", "Connecting you with an agent. Please wait a moment."),
    ]
    assert ConversationEvent.objects.get(conversation=conversation, kind="escalated").note == "Order lookup failed"
    # after the hand-over: the bot relays the customer only, and cannot escalate again
    refused = bot.post(f"{url}/messages/", {"text": "Me again"})
    assert (refused.status_code, refused.json()["code"]) == (409, "escalated")
    assert bot.post(f"{url}/messages/", {"sender": "customer", "text": "Thanks"}).status_code == 201
    again = bot.post(f"{url}/escalate/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_escalated")
    assert [m["text"] for m in bot.get(f"{url}/messages/?after=4").json()] == ["Thanks"]


def test_bots_see_only_their_conversations_and_bad_input_is_refused(run_on_commit):
    # spec: ROU-15, SEC-1, REL-3
    workstream = WorkstreamFactory()
    mine, other = bot_client("Bot A", workstream), bot_client("Bot B", workstream)
    conversation_id = mine.post("/api/v1/bot/conversations/", {"workstream": workstream.pk}, format="json").json()["id"]
    url = f"/api/v1/bot/conversations/{conversation_id}"
    assert other.post(f"{url}/messages/", {"text": "hi"}).status_code == 404
    assert other.post(f"{url}/escalate/", {}, format="json").status_code == 404
    assert other.get(f"{url}/messages/").status_code == 404
    assert APIClient().post("/api/v1/bot/conversations/", {}).status_code == 401
    for bad in ({"workstream": 999_999}, {"workstream": workstream.pk, "context": [1]}, {"nope": 1}):
        assert mine.post("/api/v1/bot/conversations/", bad, format="json").status_code == 400
    for bad in ({"text": ""}, {"text": "hi", "sender": "agent"}, {"text": "x" * 29_000}, {"text": "hi", "x": 1}):
        response = mine.post(f"{url}/messages/", bad, format="json")
        assert response.status_code in (400, 409), bad
    assert Conversation.objects.get(pk=conversation_id).messages.count() == 0
