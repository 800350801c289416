"""Canned responses, private notes, wrap-up codes and the thread's times through the services,
the workspace pages, the admin center and the API (issue 15)."""

from datetime import UTC, datetime
from unittest.mock import ANY

import pytest
from django.urls import reverse
from django.utils import translation

from conversations.api.composer import CannedResponseSerializer
from conversations.canned import (
    access_personal_canned_response,
    canned_replies,
    canned_response_create,
    canned_responses_for,
)
from conversations.errors import ConversationError, ConversationValidationError
from conversations.models import CannedResponse, Conversation, ConversationNote, Message
from conversations.notes import note_post
from conversations.placeholders import placeholders_fill
from conversations.services import conversation_agent_end, conversation_wrap_up_close, message_event, message_post
from conversations.workspace import message_fragment, message_row, message_row_from_event
from conversations.wrap_up import conversation_wrap_up_code_set
from core.errors import NotFound
from tests.api_helpers import token_client
from tests.conversations.factories import CannedResponseFactory, WrapUpCodeFactory, chat_given_to
from tests.customers.factories import ContactFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, UserFactory, WorkstreamFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


def page(conversation_id: int) -> str:
    return reverse("conversations:conversation", args=[conversation_id])


# --- Placeholders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "filled"),
    [
        (
            "Hello {customer_name}, I am {agent_name}.",
            {"customer_name": "Ana", "agent_name": "Ada"},
            "Hello Ana, I am Ada.",
        ),
        ("Hello {customer_name}, welcome.", {}, "Hello, welcome."),
        ("Hello {customer_name}!", {"customer_name": ""}, "Hello!"),
        ("Dear {customer_name} we are on it.", {}, "Dear we are on it."),
        ("Queue: { queue }.", {"queue": "Billing"}, "Queue: Billing."),
        ("Braces {like this} stay.", {}, "Braces {like this} stay."),
    ],
)
def test_placeholders_fill_and_a_missing_value_leaves_a_readable_blank(text, values, filled):
    assert placeholders_fill(text, values) == filled


def test_a_canned_reply_fills_from_the_conversation_and_degrades_without_a_name(agent, workstream):
    CannedResponseFactory(
        shortcut="hi", text="Hi {customer_name}, {agent_name} from {queue} here. Mail: {customer_email}"
    )
    named = chat_given_to(
        agent,
        workstream=workstream,
        contact=ContactFactory(first_name="Ana", last_name="Lima", email="ana@example.com"),
    )
    anonymous = chat_given_to(agent, workstream=workstream)
    [reply] = canned_replies(named, agent)
    assert reply.text == "Hi Ana Lima, Ada from Support here. Mail: ana@example.com"
    [reply] = canned_replies(anonymous, agent)
    assert reply.text == "Hi, Ada from Support here. Mail:"
    assert "{" not in reply.text


def test_the_page_gives_its_script_the_filled_replies_as_json_and_no_placeholder(client, agent, workstream):
    CannedResponseFactory(shortcut="hi", text="Hi {customer_name} <3, {agent_name} here.")
    CannedResponseFactory(personal=True, owner=AgentProfileFactory(), shortcut="theirs")
    conversation = chat_given_to(agent, workstream=workstream)
    client.force_login(agent.user)
    response = client.get(page(conversation.pk))
    assert response.context["page"].canned_replies == [
        {"id": ANY, "title": ANY, "shortcut": "hi", "text": "Hi <3, Ada here.", "personal": False}
    ]
    assert "Hi \\u003C3, Ada here." in response.content.decode()  # json_script escapes "<"


# --- Visibility -----------------------------------------------------------------------------------


def test_an_agent_gets_shared_their_queues_and_their_own_canned_responses_only(agent, workstream):
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    other_queue = QueueFactory(name="Elsewhere")
    everyone = CannedResponseFactory(shortcut="all")
    ours = CannedResponseFactory(for_queues=True, shortcut="ours", queues=[workstream.default_queue])
    CannedResponseFactory(for_queues=True, shortcut="theirs", queues=[other_queue])
    mine = CannedResponseFactory(personal=True, owner=agent, shortcut="mine")
    CannedResponseFactory(personal=True, owner=colleague, shortcut="colleague")
    CannedResponseFactory(shortcut="french", language="fr")
    assert set(canned_responses_for(agent, language="en")) == {everyone, ours, mine}
    assert len(canned_responses_for(agent)) == 4  # the French one too, without a language


def test_the_api_lists_only_visible_canned_responses_and_hides_others_personal_ones(agent, workstream):
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    other_queue = QueueFactory()
    CannedResponseFactory(shortcut="hi", text="Hello {customer_name}.")
    theirs = CannedResponseFactory(personal=True, owner=colleague, shortcut="secret")
    elsewhere = CannedResponseFactory(for_queues=True, shortcut="else", queues=[other_queue])
    conversation = chat_given_to(agent, workstream=workstream)
    api = token_client(agent.user)

    listed = api.get("/api/v1/canned-responses/", {"conversation": conversation.pk})
    assert listed.status_code == 200
    assert [(r["shortcut"], r["filled_text"]) for r in listed.json()] == [("hi", "Hello.")]
    for hidden in (theirs, elsewhere):
        assert api.get(f"/api/v1/canned-responses/{hidden.pk}/").status_code == 404
        assert api.patch(f"/api/v1/canned-responses/{hidden.pk}/", {"text": "x"}, format="json").status_code == 404
        assert api.delete(f"/api/v1/canned-responses/{hidden.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.text != "x"


def test_an_agent_manages_their_own_canned_responses_through_the_api(agent):
    api = token_client(agent.user)
    created = api.post(
        "/api/v1/canned-responses/",
        {"title": "Thanks", "shortcut": "thx", "text": "Thanks, {customer_name}!"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    canned_id = created.json()["id"]
    assert created.json()["personal"] is True
    bad = api.post(
        "/api/v1/canned-responses/", {"title": "Bad", "shortcut": "bad", "text": "Hi {first_name}"}, format="json"
    )
    assert bad.status_code == 400
    assert "{first_name}" in bad.json()["text"][0]
    duplicate = api.post("/api/v1/canned-responses/", {"title": "Again", "shortcut": "thx", "text": "x"}, format="json")
    assert duplicate.status_code == 400
    changed = api.patch(f"/api/v1/canned-responses/{canned_id}/", {"text": "Thank you!"}, format="json")
    assert changed.status_code == 200 and changed.json()["text"] == "Thank you!"
    assert api.patch(f"/api/v1/canned-responses/{canned_id}/", {"owner": 1}, format="json").status_code == 400
    shared = CannedResponseFactory()
    assert api.patch(f"/api/v1/canned-responses/{shared.pk}/", {"text": "x"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/canned-responses/{canned_id}/").status_code == 204
    assert api.delete(f"/api/v1/canned-responses/{canned_id}/").status_code == 404
    assert list(CannedResponse.objects.values_list("pk", flat=True)) == [shared.pk]


def test_a_user_without_an_agent_profile_gets_403_from_the_canned_api():
    assert token_client(UserFactory()).get("/api/v1/canned-responses/").status_code == 403


def test_an_unknown_placeholder_is_a_form_error_in_the_admin_center(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse("admin:conversations_cannedresponse_add")
    response = client.post(
        url, {"title": "Hi", "shortcut": "hi", "text": "Hello {{customer.name}} {nickname}", "visibility": "all"}
    )
    assert response.status_code == 200
    assert "{nickname}" in str(response.context["adminform"].form.errors["text"])
    assert not CannedResponse.objects.exists()
    queue = QueueFactory()
    response = client.post(
        url, {"title": "Hi", "shortcut": "hi", "text": "Hello {customer_name}", "visibility": "queues"}
    )
    assert "queues" in response.context["adminform"].form.errors
    response = client.post(
        url,
        {
            "title": "Hi",
            "shortcut": "hi",
            "text": "Hello {customer_name}",
            "visibility": "queues",
            "queues": [queue.pk],
        },
    )
    assert response.status_code == 302
    assert list(CannedResponse.objects.get().queues.all()) == [queue]


def test_the_workspace_page_manages_personal_canned_responses(client, agent):
    colleague = AgentProfileFactory()
    theirs = CannedResponseFactory(personal=True, owner=colleague, shortcut="theirs")
    client.force_login(agent.user)
    url = reverse("conversations:canned_responses")
    refused = client.post(url, {"title": "Bad", "shortcut": "bad", "text": "Hi {nick}"})
    assert refused.status_code == 200 and b"{nick}" in refused.content
    assert client.post(url, {"title": "Thanks", "shortcut": "thx", "text": "Thanks!"}).status_code == 302
    mine = CannedResponse.objects.get(owner=agent)
    listing = client.get(url)
    assert b"/thx" in listing.content and b"/theirs" not in listing.content
    edit = reverse("conversations:canned_response_edit", args=[mine.pk])
    assert client.post(edit, {"title": "Thanks", "shortcut": "thx", "text": "Many thanks!"}).status_code == 302
    mine.refresh_from_db()
    assert mine.text == "Many thanks!"
    assert client.get(reverse("conversations:canned_response_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("conversations:canned_response_delete", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("conversations:canned_response_delete", args=[mine.pk])).status_code == 302
    assert list(CannedResponse.objects.all()) == [theirs]


def test_the_personal_services_refuse_another_agents_and_invalid_input(agent):
    with pytest.raises(ConversationValidationError) as refused:
        canned_response_create(agent=agent, title="x", shortcut="not a slug", text="{unknown}")
    assert set(refused.value.errors) == {"shortcut", "text"}
    assert not CannedResponse.objects.exists()


# --- Private notes (the workspace side; the customer's side is in test_note_sockets.py) --------------


def test_a_note_is_stored_apart_from_messages_and_the_customers_sequence_has_no_gap(agent):
    conversation = chat_given_to(agent)
    before = conversation.last_message_seq
    note = note_post(conversation_id=conversation.pk, agent=agent, text="Customer is a VIP")
    message, _ = message_post(conversation_id=conversation.pk, sender="customer", text="Hello?")
    assert message.seq == before + 1
    assert ConversationNote.objects.get() == note
    assert not Message.objects.filter(text__contains="VIP").exists()


def test_only_the_holder_or_a_consultant_posts_a_note_and_never_in_a_closed_conversation(agent, workstream):
    conversation = chat_given_to(agent, workstream=workstream)
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    with pytest.raises(ConversationError) as refused:
        note_post(conversation_id=conversation.pk, agent=colleague, text="Not mine")
    assert refused.value.code == "not_holder"
    conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    note_post(conversation_id=conversation.pk, agent=agent, text="During wrap-up")
    conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent)
    with pytest.raises(ConversationError):
        note_post(conversation_id=conversation.pk, agent=agent, text="After closing")
    assert list(ConversationNote.objects.values_list("text", flat=True)) == ["During wrap-up"]


def test_the_page_shows_notes_styled_apart_and_labelled_for_screen_readers(client, agent):
    conversation = chat_given_to(agent)
    note_post(conversation_id=conversation.pk, agent=agent, text="<b>VIP</b> customer")
    client.force_login(agent.user)
    html = client.get(page(conversation.pk)).content.decode()
    assert 'class="ws-message ws-message--note" data-testid="note"' in html
    assert 'role="note" aria-label="Private note"' in html
    assert "&lt;b&gt;VIP&lt;/b&gt; customer" in html and "<b>VIP</b>" not in html
    assert 'data-last-note="' in html


# --- Wrap-up codes --------------------------------------------------------------------------------


def wrapped_up(agent, workstream):
    conversation = chat_given_to(agent, workstream=workstream)
    conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    return conversation


def test_a_required_wrap_up_code_blocks_closing_until_chosen(agent, workstream):
    resolved = WrapUpCodeFactory(workstream=workstream, required=True, name="Resolved")
    other = WrapUpCodeFactory(workstream=WorkstreamFactory(), name="Other workstream's")
    conversation = wrapped_up(agent, workstream)
    before = snapshot(Conversation)
    with pytest.raises(ConversationError) as refused:
        conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent)
    assert refused.value.code == "wrap_up_code_required"
    with pytest.raises(ConversationError) as refused:
        conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent, wrap_up_code_id=other.pk)
    assert refused.value.code == "bad_wrap_up_code"
    assert snapshot(Conversation) == before
    conversation_wrap_up_code_set(conversation_id=conversation.pk, agent=agent, code_id=resolved.pk)
    closed = conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent)
    assert (closed.status, closed.wrap_up_code_id) == ("closed", resolved.pk)


def test_an_optional_wrap_up_code_does_not_block_closing(agent, workstream):
    WrapUpCodeFactory(workstream=workstream, required=False)
    conversation = wrapped_up(agent, workstream)
    assert conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent).status == "closed"


def test_closing_through_the_api_is_refused_without_a_required_code_then_filters_by_it(agent, workstream):
    resolved = WrapUpCodeFactory(workstream=workstream, required=True, name="Resolved")
    conversation = wrapped_up(agent, workstream)
    untouched = wrapped_up(agent, workstream)
    api = token_client(agent.user)
    close = f"/api/v1/conversations/{conversation.pk}/close/"
    refused = api.post(close, {}, format="json")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Choose a wrap-up code before closing this conversation.",
        "code": "wrap_up_code_required",
    }
    assert api.post(close, {"wrap_up_code": "Resolved"}, format="json").status_code == 400
    closed = api.post(close, {"wrap_up_code": resolved.pk}, format="json")
    assert closed.json() == {"id": conversation.pk, "status": "closed", "wrap_up_code": resolved.pk}
    detail = api.get(f"/api/v1/conversations/{conversation.pk}/").json()
    assert detail["wrap_up_code"] == {"id": resolved.pk, "name": "Resolved"}
    listed = api.get("/api/v1/conversations/", {"wrap_up_code": resolved.pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["id"] for row in rows] == [conversation.pk]
    assert Conversation.objects.get(pk=untouched.pk).wrap_up_code_id is None
    chosen = api.put(
        f"/api/v1/conversations/{untouched.pk}/wrap-up-code/", {"wrap_up_code": resolved.pk}, format="json"
    )
    assert chosen.status_code == 200 and chosen.json()["status"] == "wrap_up"


def test_the_page_offers_the_workstreams_codes_and_says_one_is_required(client, agent, workstream):
    WrapUpCodeFactory(workstream=workstream, required=True, name="Resolved")
    WrapUpCodeFactory(workstream=workstream, name="Retired", is_active=False)
    conversation = wrapped_up(agent, workstream)
    client.force_login(agent.user)
    html = client.get(page(conversation.pk)).content.decode()
    assert 'id="wrap-up-code" data-testid="wrap-up-code" aria-required="true"' in html
    assert ">Resolved</option>" in html and "Retired" not in html


# --- One time format for live and stored messages ----------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "7:01 PM"), ("fr", "19:01"), ("id", "19.01"), ("ro", "19:01"), ("pl", "19:01")],
)
def test_live_and_stored_messages_show_the_same_time(agent, language, expected):
    # spec: I18N-1 — the locale's time format, the same for a stored and a live message
    conversation = chat_given_to(agent)
    message, _ = message_post(conversation_id=conversation.pk, sender="customer", text="Hi")
    Message.objects.filter(pk=message.pk).update(created_at=datetime(2026, 12, 1, 19, 1, tzinfo=UTC))
    stored = Message.objects.select_related("sender_user__agent").get(pk=message.pk)
    with translation.override(language):
        page_html = message_fragment(message_row(stored))
        live_html = message_fragment(message_row_from_event(message_event(stored)))
    assert page_html == live_html
    assert f'<time datetime="2026-12-01T19:01:00+00:00" data-testid="message-time">{expected}</time>' in page_html


def test_english_noon_reads_as_a_time_not_a_word(agent):
    # spec: I18N-1 — Django's English "P" writes "noon"; our format module writes 12:00 PM
    conversation = chat_given_to(agent)
    message, _ = message_post(conversation_id=conversation.pk, sender="customer", text="Hi")
    Message.objects.filter(pk=message.pk).update(created_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    stored = Message.objects.select_related("sender_user__agent").get(pk=message.pk)
    with translation.override("en"):
        assert ">12:00 PM</time>" in message_fragment(message_row(stored))


def test_serializer_names_personal(agent):
    mine = CannedResponseFactory(personal=True, owner=agent)
    assert CannedResponseSerializer(mine).data["personal"] is True
    with pytest.raises(NotFound):
        access_personal_canned_response(AgentProfileFactory(), mine.pk)
