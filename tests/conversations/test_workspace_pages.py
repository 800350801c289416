"""The agent workspace pages: sign-in, dashboard, conversation page (LIVE-2, NOT-4, NOT-6, NOT-10,
ROU-5, ROU-7, SUM-1, SUM-6, SUM-8, SUM-10, SUM-11, SUM-13, SUM-17, SEC-1, SEC-2, I18N-1)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, Message, Session
from conversations.persistent import conversation_park
from conversations.services import conversation_agent_end, conversation_customer_end
from conversations.services import message_post as post
from notifications.models import AgentBanner, Notification
from routing.models import Offer
from routing.services import offer_accept
from tests.conversations.factories import ConversationFactory, chat_given_to, closed_chat_of, offer_to
from tests.notifications.factories import NotificationTemplateFactory, NotificationTemplateFieldFactory
from tests.routing.factories import (
    PASSWORD,
    AgentProfileFactory,
    QueueFactory,
    SkillFactory,
    SupervisorFactory,
    UserFactory,
    WorkstreamFactory,
    presence,
)
from tests.snapshots import snapshot
from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory

pytestmark = pytest.mark.django_db

LOGIN = "/workspace/login/"
DASHBOARD = "/workspace/"


def page(conversation_id: int) -> str:
    return f"/workspace/conversations/{conversation_id}/"


# --- Sign-in and who may use the workspace ---------------------------------------------------------


@pytest.mark.parametrize("path", [DASHBOARD, page(1), "/workspace/presence/"])
def test_workspace_pages_send_anonymous_visitors_to_the_workspace_sign_in(client, path):
    # spec: SEC-1 — agents sign in at the workspace, not the admin
    response = client.get(path)
    assert response.status_code == 302 if path != "/workspace/presence/" else 405
    if response.status_code == 302:
        assert response["Location"] == f"{LOGIN}?next={path}"


def test_the_site_root_opens_the_workspace_dashboard(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, DASHBOARD)


def test_an_agent_signs_in_and_lands_on_the_dashboard(client, agent):
    # spec: I18N-1 — the sign-in page is the workspace's own, with its own words
    form = client.get(LOGIN)
    assert form.status_code == 200
    assert b"Sign in to the agent workspace" in form.content
    response = client.post(LOGIN, {"username": agent.user.username, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, DASHBOARD)
    assert client.get(DASHBOARD).status_code == 200


def test_signing_in_returns_the_agent_to_the_page_they_asked_for(client, agent):
    conversation = chat_given_to(agent)
    asked = client.get(page(conversation.pk))["Location"]
    form = client.get(asked)
    assert f'name="next" value="{page(conversation.pk)}"' in form.content.decode()
    response = client.post(
        asked, {"username": agent.user.username, "password": PASSWORD, "next": page(conversation.pk)}
    )
    assert response["Location"] == page(conversation.pk)


def test_a_user_without_an_agent_profile_cannot_sign_in_and_is_told_why(client):
    # spec: SEC-1
    user = UserFactory()
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert b"no agent profile, so it cannot use the agent workspace" in response.content
    assert "_auth_user_id" not in client.session


def test_a_signed_in_user_without_an_agent_profile_sees_a_clear_refusal(client):
    # spec: SEC-1 — e.g. an admin signed in through the admin center
    client.force_login(UserFactory(is_staff=True))
    response = client.get(DASHBOARD)
    assert response.status_code == 403
    assert b"This account cannot use the agent workspace" in response.content
    assert b"ws-pending-notifications" not in response.content  # no socket, no notifications


def test_signing_out_ends_the_session(client, agent):
    client.force_login(agent.user)
    response = client.post("/workspace/logout/")
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert client.get(DASHBOARD).status_code == 302


# --- The dashboard -------------------------------------------------------------------------------


def test_the_dashboard_lists_open_sessions_closed_work_and_capacity(client, agent):
    # spec: SUM-1, ROU-6, ROU-7 — active conversations link to their page, closed ones open read-only
    first = chat_given_to(agent, prechat_answers={"name": "Grace Hopper"})
    second = chat_given_to(agent)
    closed = closed_chat_of(agent)
    someone_else = AgentProfileFactory()
    others = chat_given_to(someone_else)
    closed_chat_of(someone_else)
    client.force_login(agent.user)

    response = client.get(DASHBOARD)

    board = response.context["board"]
    assert [row.conversation_id for row in board.sessions] == [second.pk, first.pk]
    agent.refresh_from_db()
    assert (board.capacity_used, board.capacity, board.session_count) == (agent.capacity_used, 100, 2)
    assert agent.capacity_used == 20  # two chats of 10 units each
    html = response.content.decode()
    assert f'href="{page(first.pk)}">Grace Hopper</a>' in html
    assert f'href="{page(second.pk)}"' in html
    assert f'href="{page(others.pk)}"' not in html
    assert "20 of 100 units used" in html
    assert "2 of 10 open" in html
    closed_tab = client.get(DASHBOARD, {"tab": "closed"})  # issue 15: closed work is an inbox tab
    assert [row.conversation_id for row in closed_tab.context["inbox"].rows] == [closed.pk]
    assert f'href="{page(closed.pk)}"' in closed_tab.content.decode()


def parked_chat_of(agent) -> Conversation:
    """A chat the agent moved to waiting (PER-6): its session closed, the agent still its owner."""
    conversation = chat_given_to(
        agent, workstream=WorkstreamFactory(persistent=True), channel=Conversation.Channel.PERSISTENT_CHAT
    )
    return conversation_park(conversation_id=conversation.pk, agent=agent)


def test_the_dashboard_lists_the_agents_parked_conversations_apart_from_the_active_ones(client, agent):
    # spec: PER-6, PER-8 — a parked chat holds no session but stays the agent's, one click away
    parked = parked_chat_of(agent)
    theirs = parked_chat_of(AgentProfileFactory())
    client.force_login(agent.user)

    response = client.get(DASHBOARD, {"tab": "waiting"})

    board = response.context["board"]
    assert [row.conversation_id for row in response.context["inbox"].rows] == [parked.pk]
    assert board.sessions == []
    html = response.content.decode()
    assert "Waiting for the customer" in html
    assert f'href="{page(parked.pk)}"' in html
    assert f'href="{page(theirs.pk)}"' not in html


def test_the_dashboard_shows_at_most_ten_sessions_and_only_open_ones(client, agent):
    # spec: ROU-7
    for _ in range(10):
        chat_given_to(agent)
    Session.objects.filter(pk=Session.objects.filter(agent=agent).order_by("pk").first().pk).update(
        closed_at=timezone.now()
    )
    client.force_login(agent.user)
    board = client.get(DASHBOARD).context["board"]
    assert len(board.sessions) == 9
    assert all(Session.objects.get(pk=row.session_id).closed_at is None for row in board.sessions)


def test_the_presence_selector_offers_the_agent_selectable_presences_and_the_current_one(client, agent):
    # spec: ROU-5 — Inactive is set by the system: shown when it is the agent's, never choosable
    inactive = presence("inactive")
    agent.presence = inactive
    agent.save(update_fields=["presence"])
    client.force_login(agent.user)
    html = client.get(DASHBOARD).content.decode()
    assert 'data-testid="presence-select"' in html
    for base in ("available", "busy", "busy_dnd", "away", "offline"):
        assert f'data-base="{base}"' in html
    assert f'<option value="{inactive.pk}" data-base="inactive" selected disabled>' in html


def test_the_presence_form_sets_the_presence_and_refuses_a_system_one(client, agent):
    # spec: ROU-5
    client.force_login(agent.user)
    away = presence("away")
    response = client.post("/workspace/presence/", {"presence": away.pk}, follow=True)
    agent.refresh_from_db()
    assert agent.presence == away
    assert b"Your presence is now Away." in response.content

    response = client.post("/workspace/presence/", {"presence": presence("inactive").pk}, follow=True)
    agent.refresh_from_db()
    assert agent.presence == away
    assert "is set by the system; choose another presence" in response.content.decode()

    response = client.post("/workspace/presence/", {"presence": "nope"}, follow=True)
    agent.refresh_from_db()
    assert agent.presence == away
    assert b"Choose one of the listed presences." in response.content


def test_open_banners_are_shown_at_the_top_of_the_dashboard(client, agent):
    # spec: NOT-10 — the banner stays until the presence is reset
    AgentBanner.objects.create(agent=agent, kind="missed_notification", message="You missed a chat <b>!</b>")
    AgentBanner.objects.create(agent=agent, kind="rejected", message="Old news", cleared_at=timezone.now())
    client.force_login(agent.user)
    html = client.get(DASHBOARD).content.decode()
    assert 'data-testid="banner"' in html
    assert "You missed a chat &lt;b&gt;!&lt;/b&gt;" in html
    assert "Old news" not in html
    assert html.index('data-testid="banners"') < html.index('data-testid="presence-select"')


def test_pending_notifications_are_rendered_into_the_page_for_the_script_to_show(client, agent):
    # spec: NOT-4, NOT-6, NOT-6a — a page loaded while an alert is pending shows it too
    template = NotificationTemplateFactory(
        title="Chat from {customerName}", icon="sms", accept_label="Take it", show_reject=False, show_timeout=False
    )
    NotificationTemplateFieldFactory(template=template, header="Queue", value="{queueName}")
    workstream = WorkstreamFactory(default_queue=QueueFactory(name="VIP <lounge>"))
    workstream.templates.create(scenario="incoming_chat", template=template)
    pending = offer_to(agent, ConversationFactory(workstream=workstream, prechat_answers={"name": "Ada"}))
    displayed = offer_to(agent)
    Notification.objects.filter(offer_id=displayed.pk).update(status="displayed")
    expired = offer_to(agent)
    Notification.objects.filter(offer_id=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    answered = offer_to(agent)
    Notification.objects.filter(offer_id=answered.pk).update(status="rejected")
    offer_to(AgentProfileFactory())
    client.force_login(agent.user)

    for path in (DASHBOARD, page(chat_given_to(agent).pk)):
        response = client.get(path)
        shown = json.loads(_json_script(response, "ws-pending-notifications"))
        assert [n["offer"] for n in shown] == [pending.pk, displayed.pk]
        first = shown[0]
        assert first["title"] == "Chat from Ada"
        assert first["icon"] == "sms"
        assert first["accept_label"] == "Take it"
        assert (first["show_reject"], first["show_timeout"], first["timeout_seconds"]) == (False, False, 120)
        assert first["fields"] == [{"header": "Queue", "value": "VIP <lounge>"}]
        assert first["expires_at"] == pending.expires_at.isoformat()
        assert (first["status"], shown[1]["status"]) == ("sent", "displayed")
        # json_script escapes markup, so the text cannot break out of the script element (SEC-2)
        assert "VIP <lounge>" not in response.content.decode()


def _json_script(response, element_id: str) -> str:
    html = response.content.decode()
    start = html.index(f'<script id="{element_id}" type="application/json">') + len(
        f'<script id="{element_id}" type="application/json">'
    )
    return html[start : html.index("</script>", start)]


def test_the_workspace_script_gets_its_words_from_the_javascript_catalog(client, agent):
    # spec: I18N-1 — the scripts' words come from the djangojs catalog, in the page's language
    agent.language = "fr"
    agent.save(update_fields=["language"])
    client.force_login(agent.user)
    html = client.get(DASHBOARD).content.decode()
    assert '<script src="/jsi18n/fr/"></script>' in html
    strings = json.loads(_json_script(client.get(DASHBOARD), "ws-strings"))
    assert "delivery_prefix" in strings  # what the server names at run time stays data
    catalog = client.get("/jsi18n/fr/")
    assert catalog.status_code == 200
    body = catalog.content.decode()
    assert '"Reject": "Refuser"' in body and "conversation status\\u0004Open" in body
    assert client.get("/jsi18n/xx/").status_code == 404


@pytest.mark.parametrize("sessions", [1, 10])
def test_the_dashboard_takes_the_same_number_of_queries_for_one_or_ten_sessions(
    client, agent, sessions, django_assert_max_num_queries
):
    # spec: SUM-17, ROU-7 — bounded queries whatever the agent holds
    for _ in range(sessions):
        closed_chat_of(agent)
        AgentBanner.objects.create(agent=AgentProfileFactory(), kind="rejected", message="Not theirs")
    for _ in range(sessions):
        parked_chat_of(agent)
        chat_given_to(agent)
        offer_to(agent)
    client.force_login(agent.user)
    # The inbox's counts, rows and filter selects included (issue 15); a pending notification's
    # work item is one more (notifications keep its id, routing reads it back: issue 11).
    with django_assert_max_num_queries(14):
        response = client.get(DASHBOARD)
    board, inbox = response.context["board"], response.context["inbox"]
    counts = (len(board.sessions), inbox.counts["waiting"], inbox.counts["closed"], len(board.notifications))
    assert counts == (sessions,) * 4


# --- The conversation page -------------------------------------------------------------------------


def test_the_conversation_page_is_a_404_for_a_conversation_the_agent_may_not_see(client, workstream, agent):
    # spec: SEC-1 — another queue's conversation, held or waiting, is not there for them
    elsewhere = WorkstreamFactory(default_queue=QueueFactory(name="Elsewhere"))
    held_elsewhere = chat_given_to(AgentProfileFactory(queues=[elsewhere.default_queue]), workstream=elsewhere)
    waiting_elsewhere = ConversationFactory(workstream=elsewhere)
    client.force_login(agent.user)
    assert client.get(page(held_elsewhere.pk)).status_code == 404
    assert client.get(page(waiting_elsewhere.pk)).status_code == 404
    assert client.get(page(999_999)).status_code == 404


def test_a_conversation_of_the_agents_queue_they_never_held_opens_read_only(client, workstream, agent):
    # spec: SEC-1 — what the search returns (their queues' conversations) opens; only the holder writes
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    theirs = chat_given_to(colleague, workstream=workstream)
    waiting_in_queue = ConversationFactory(workstream=workstream)
    client.force_login(agent.user)
    for conversation in (theirs, waiting_in_queue):
        response = client.get(page(conversation.pk))
        assert response.status_code == 200
        assert (response.context["page"].holds_it, response.context["page"].can_write) == (False, False)
        html = response.content.decode()
        assert "Read-only: you do not hold this conversation." in html
        assert 'data-can-write="false"' in html and "ws-composer" in html


def test_an_agent_opens_a_conversation_they_hold_or_held_and_supervisors_open_any(client, agent):
    # spec: SUM-1, SEC-1 — a conversation transferred away stays readable to the agent who had it
    held = chat_given_to(agent)
    handed_on = chat_given_to(agent)
    Conversation.objects.filter(pk=handed_on.pk).update(agent=AgentProfileFactory())
    client.force_login(agent.user)
    assert client.get(page(held.pk)).context["page"].holds_it is True
    handed_on_page = client.get(page(handed_on.pk))
    assert handed_on_page.status_code == 200
    assert handed_on_page.context["page"].holds_it is False
    assert b"Read-only: you do not hold this conversation." in handed_on_page.content

    client.force_login(SupervisorFactory().user)
    assert client.get(page(held.pk)).status_code == 200


def test_the_conversation_page_shows_the_history_and_how_to_resume_it(client, agent):
    # spec: LIVE-2, CONV-2 — the page joins with after = the last seq it shows
    conversation = chat_given_to(agent)
    post(conversation_id=conversation.pk, sender="customer", text="Where is my parcel?")
    post(conversation_id=conversation.pk, sender="agent", text="Let me check.", sender_user=agent.user)
    client.force_login(agent.user)
    response = client.get(page(conversation.pk))
    view = response.context["page"]
    assert [(m.sender, m.sender_name, str(m.markup)) for m in view.messages] == [
        ("system", "System", "Ada joined the chat."),
        ("customer", "Customer", "Where is my parcel?"),
        ("agent", "Ada", "Let me check."),
    ]
    html = response.content.decode()
    assert 'data-last-seq="3"' in html
    assert 'data-testid="message" data-sender="customer" data-seq="2"' in html
    assert 'data-holds-it="true"' in html
    assert 'data-testid="conversation-status" data-status="active"' in html
    for testid in ("composer", "send", "end-conversation", "close-conversation", "summary-queue"):
        assert f'data-testid="{testid}"' in html


def test_message_text_is_escaped_and_web_links_are_made_safely_clickable(client, agent):
    # spec: SEC-2
    conversation = chat_given_to(agent)
    post(
        conversation_id=conversation.pk,
        sender="customer",
        text='<script>alert("x")</script> see https://shop.example.com/o?a=1&b=2. or javascript:alert(1)',
    )
    client.force_login(agent.user)
    html = client.get(page(conversation.pk)).content.decode()
    assert "<script>alert" not in html
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; see "
        '<a href="https://shop.example.com/o?a=1&amp;b=2" target="_blank" rel="noopener noreferrer nofollow">'
        "https://shop.example.com/o?a=1&amp;b=2</a>. or javascript:alert(1)"
    ) in html
    assert 'href="javascript' not in html


def test_the_summary_shows_channel_wait_skills_queue_and_start(client, agent):
    # spec: SUM-6
    workstream = WorkstreamFactory(default_queue=QueueFactory(name="Returns"))
    conversation = ConversationFactory(workstream=workstream)
    conversation.skills.set([SkillFactory(name="French"), SkillFactory(name="Billing")])
    Conversation.objects.filter(pk=conversation.pk).update(created_at=timezone.now() - timedelta(seconds=185))
    offer_accept(offer_id=offer_to(agent, conversation).pk, agent=agent)
    conversation.refresh_from_db()
    client.force_login(agent.user)
    view = client.get(page(conversation.pk)).context["page"]
    assert (view.channel, view.queue, view.skills) == ("Live chat", "Returns", ["Billing", "French"])
    assert view.wait == "3 min 05 s"
    assert view.started_at == conversation.created_at


def test_the_tabs_show_prechat_answers_visitor_details_and_displayable_context(client, agent):
    # spec: SUM-8, SUM-10, SUM-11, SUM-13
    widget = ChatWidgetFactory()
    PreChatQuestionFactory(widget=widget, name="order", label="Order number", order=1)
    PreChatQuestionFactory(widget=widget, name="topic", label="Topic", order=0)
    conversation = chat_given_to(
        agent,
        workstream=widget.workstream,
        widget=widget,
        prechat_answers={"order": "A-17", "topic": "<b>Refund</b>"},
        context_variables={
            "tier": {"value": "<script>gold</script>", "isDisplayable": True},
            "secret": {"value": "do-not-show", "isDisplayable": False},
        },
        authenticated=True,
        browser="Firefox 128",
        operating_system="Ubuntu",
        location="Lyon, France",
        language="fr",
    )
    client.force_login(agent.user)
    response = client.get(page(conversation.pk))
    view = response.context["page"]
    assert [(d.name, d.label, d.value) for d in view.prechat] == [
        ("topic", "Topic", "<b>Refund</b>"),
        ("order", "Order number", "A-17"),
    ]
    assert [(d.label, d.value) for d in view.visitor] == [
        ("Authenticated", "Yes"),
        ("Browser", "Firefox 128"),
        ("Operating system", "Ubuntu"),
        ("Location", "Lyon, France"),
        ("Language", "fr"),
    ]
    assert [(d.name, d.value) for d in view.additional] == [("tier", "<script>gold</script>")]
    html = response.content.decode()
    assert '<dd data-testid="prechat-answer-topic">&lt;b&gt;Refund&lt;/b&gt;</dd>' in html
    assert '<dd data-testid="context-tier">&lt;script&gt;gold&lt;/script&gt;</dd>' in html
    assert "do-not-show" not in html
    for tab in ("tab-prechat", "tab-visitor", "tab-additional"):
        assert f'data-testid="{tab}"' in html


def test_visitor_details_say_no_for_an_unverified_visitor(client, agent):
    # spec: SUM-11 — Yes only for a verified token
    conversation = chat_given_to(agent, authenticated=False)
    client.force_login(agent.user)
    assert client.get(page(conversation.pk)).context["page"].visitor[0].value == "No"


@pytest.mark.parametrize(
    ("enabled", "variables"),
    [(False, {"tier": {"value": "gold", "isDisplayable": True}}), (True, {"x": {"value": 1, "isDisplayable": False}})],
)
def test_additional_details_are_hidden_when_switched_off_or_empty(client, agent, enabled, variables):
    # spec: SUM-13
    workstream = WorkstreamFactory(chat_settings__summary_show_additional_details=enabled)
    conversation = chat_given_to(agent, workstream=workstream, context_variables=variables)
    client.force_login(agent.user)
    response = client.get(page(conversation.pk))
    assert response.context["page"].show_additional is False
    assert b'data-testid="tab-additional"' not in response.content
    assert b'data-testid="context-' not in response.content


def test_a_chat_the_customer_ended_says_so_and_offers_close(client, agent):
    # spec: LIVE-3, CONV-1 — wrap-up shows Close, not End
    conversation = chat_given_to(agent)
    conversation_customer_end(conversation_id=conversation.pk)
    client.force_login(agent.user)
    response = client.get(page(conversation.pk))
    assert response.context["page"].customer_ended is True
    html = response.content.decode()
    assert '<p class="ws-notice" data-testid="customer-ended" role="status">' in html
    assert 'data-testid="end-conversation" hidden' in html
    assert 'data-testid="close-conversation">' in html


def test_a_chat_the_agent_ended_does_not_say_the_customer_ended_it(client, agent):
    conversation = chat_given_to(agent)
    conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    client.force_login(agent.user)
    response = client.get(page(conversation.pk))
    assert response.context["page"].customer_ended is False
    assert b'data-testid="customer-ended" role="status" hidden' in response.content


@pytest.mark.parametrize("messages", [1, 100])
def test_the_conversation_page_takes_the_same_number_of_queries_for_1_or_100_messages(
    client, agent, messages, django_assert_max_num_queries
):
    # spec: SUM-17
    widget = ChatWidgetFactory()
    PreChatQuestionFactory(widget=widget, name="topic")
    conversation = chat_given_to(
        agent, workstream=widget.workstream, widget=widget, prechat_answers={"topic": "Refund"}
    )
    conversation.skills.set([SkillFactory(), SkillFactory()])
    for number in range(messages):
        sender = "agent" if number % 2 else "customer"
        post(conversation_id=conversation.pk, sender=sender, text=f"Message {number}", sender_user=agent.user)
    offer_to(agent)
    client.force_login(agent.user)
    # 8 for the chat panel, 3 for its notes, canned replies and wrap-up codes, 1 for the read
    # marker and 2 for the tags (issue 15), 5 for the customer summary (tests/customers/test_summary_api.py),
    # 1 for the pending notification's work item (issue 11).
    with django_assert_max_num_queries(20):
        response = client.get(page(conversation.pk))
    assert len(response.context["page"].messages) == messages + 1  # and the system "joined" line


def test_pages_change_nothing(client, agent):
    # spec: SEC-1 — reading a page is not an act
    conversation = chat_given_to(agent)
    offer_to(agent)
    before = snapshot(Conversation, Message, Session, Notification, Offer)
    client.force_login(agent.user)
    client.get(DASHBOARD)
    client.get(page(conversation.pk))
    assert snapshot(Conversation, Message, Session, Notification, Offer) == before
