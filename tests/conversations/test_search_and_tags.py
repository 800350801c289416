"""Tags on conversations and the conversation search (issue 15): the workspace page, the
services and the REST API, SEC-1 on every result, escaped highlighted snippets, full-text
search in the conversation's language on PostgreSQL, and the tag chip's contrast."""

import itertools

import pytest
from django.db import connection

from conversations.models import Conversation, ConversationEvent, Tag, relative_luminance
from conversations.search import SEARCH_CONFIGS, ConversationFilters, conversation_search, snippet_markup
from conversations.services import message_post
from conversations.tagging import conversation_tag_add, conversation_tag_remove
from core.errors import NotFound
from tests.api_helpers import ids, token_client
from tests.conversations.factories import ConversationFactory, TagFactory, chat_given_to
from tests.customers.factories import ContactFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, SupervisorFactory, WorkstreamFactory

pytestmark = pytest.mark.django_db
API = "/api/v1"
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="full-text search is PostgreSQL's")


def says(conversation, text, sender="customer"):
    return message_post(conversation_id=conversation.pk, sender=sender, text=text)[0]


@pytest.fixture
def other_queue_conversation():
    """A conversation of a queue the agent is not in, that says the same words."""
    conversation = ConversationFactory(workstream=WorkstreamFactory(default_queue=QueueFactory(name="Elsewhere")))
    says(conversation, "My parcel never arrived, where is my refund?")
    return conversation


@pytest.fixture
def ours(workstream):
    conversation = ConversationFactory(workstream=workstream)
    says(conversation, "My parcel never arrived, where is my refund?")
    return conversation


# --- search --------------------------------------------------------------------------------------


def test_a_search_never_returns_a_conversation_of_another_queue(agent, ours, other_queue_conversation):
    # spec: SEC-1 — every result is one the agent may see
    found = list(conversation_search(agent.user, ConversationFilters(text="parcel")))
    assert [conversation.pk for conversation in found] == [ours.pk]
    supervisor = SupervisorFactory()
    seen = {c.pk for c in conversation_search(supervisor.user, ConversationFilters(text="parcel"))}
    assert seen == {ours.pk, other_queue_conversation.pk}  # supervisors see all


@postgresql_only
def test_the_search_stems_in_the_conversations_language_and_highlights_escaped(agent, workstream):
    english = ConversationFactory(workstream=workstream, language="en")
    says(english, "<b>I</b> was refunding twice & nobody answered")
    french = ConversationFactory(workstream=workstream, language="fr-FR")
    says(french, "Les colis sont arrivés abîmés")
    vector = english.messages.get().search_vector
    assert "'refund'" in vector  # stemmed in English by the trigger

    (found,) = conversation_search(agent.user, ConversationFilters(text="refunds"))
    assert found.pk == english.pk
    html = str(snippet_markup(found.snippet_source))
    assert "<mark>refunding</mark>" in html
    assert "&amp;" in html and "<b>" not in html  # ts_headline drops the tags; the rest is escaped
    (found,) = conversation_search(agent.user, ConversationFilters(text="colis"))
    assert found.pk == french.pk


@postgresql_only
def test_the_language_table_matches_the_databases_function():
    with connection.cursor() as cursor:
        for language, config in [*SEARCH_CONFIGS.items(), ("pl", "simple"), ("", "simple"), ("en-GB", "english")]:
            cursor.execute("SELECT conversation_search_config(%s)::text", [language])
            assert cursor.fetchone()[0] == config, language


@postgresql_only
def test_the_message_search_uses_the_gin_index():
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM conversations_message WHERE search_vector @@ websearch_to_tsquery('simple', 'x')"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "message_search_vector" in plan


def test_a_snippet_lets_no_markup_through():
    # spec: SEC-2 — only balanced <mark>s, around escaped text
    assert str(snippet_markup("\x02<img src=x onerror=alert(1)>\x03 and \x02open")) == (
        "<mark>&lt;img src=x onerror=alert(1)&gt;</mark> and <mark>open</mark>"
    )
    assert str(snippet_markup("\x03\x03<script>")) == "&lt;script&gt;"


def test_the_search_finds_by_customer_details_tag_queue_agent_channel_status_and_dates(agent, workstream):
    contact = ContactFactory(first_name="Grace", last_name="Hopper", email="grace@example.com")
    by_contact = ConversationFactory(workstream=workstream, contact=contact)
    by_phone = ConversationFactory(workstream=workstream, customer_phone="+15550100", channel="sms")
    held = chat_given_to(agent, workstream=workstream)
    tag = TagFactory(name="VIP")
    held.tags.add(tag)

    def found(**filters):
        return {conversation.pk for conversation in conversation_search(agent.user, ConversationFilters(**filters))}

    assert found(text="hopper") == found(text="grace@example") == {by_contact.pk}
    assert found(text="5550100") == found(channel="sms") == {by_phone.pk}
    assert found(tags=(tag.pk,)) == found(agent=agent.pk) == found(status="active") == {held.pk}
    assert found(queue=workstream.default_queue.pk) == {by_contact.pk, by_phone.pk, held.pk}
    today = held.created_at.date()
    assert found(since=today, until=today) == {by_contact.pk, by_phone.pk, held.pk}
    assert found(until=today.replace(year=today.year - 1)) == set()


def test_the_search_page_shows_the_results_the_agent_may_see(client, agent, ours, other_queue_conversation):
    client.force_login(agent.user)
    response = client.get("/workspace/search/", {"q": "parcel"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-conversation-id="{ours.pk}"' in html
    assert f'data-conversation-id="{other_queue_conversation.pk}"' not in html
    assert "1 conversation found" in html
    bad = client.get("/workspace/search/", {"since": "2026-02-02", "until": "2026-01-01", "status": "nope"})
    assert bad.status_code == 200 and bad.context["page"] is None  # errors on the fields, no search


def test_the_search_page_takes_a_bounded_number_of_queries(client, agent, workstream, django_assert_max_num_queries):
    tag = TagFactory()
    for _ in range(30):
        conversation = ConversationFactory(workstream=workstream, contact=ContactFactory())
        says(conversation, "parcel lost")
        conversation.tags.add(tag)
    client.force_login(agent.user)
    with django_assert_max_num_queries(10):  # the wrap-up code select included
        response = client.get("/workspace/search/", {"q": "parcel", "tag": tag.pk})
    assert len(response.context["results"]) == 20


def test_the_search_api_is_paginated_documented_and_checks_access(agent, ours, other_queue_conversation):
    api = token_client(agent.user)
    response = api.get(f"{API}/conversations/search/", {"q": "parcel"})
    assert response.status_code == 200
    assert ids(response) == [ours.pk]
    assert set(response.json()) >= {"count", "next", "previous", "results"}
    assert "tags" in response.json()["results"][0] and "snippet" in response.json()["results"][0]
    for bad in ({"tag": "x"}, {"since": "yesterday"}, {"status": "nope"}, {"queue": 2**70}):
        assert api.get(f"{API}/conversations/search/", bad).status_code == 400
    schema = api.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content.decode()
    assert "/api/v1/conversations/search/" in schema and "/api/v1/conversations/{conversation_id}/tags/" in schema


def test_the_search_api_takes_a_bounded_number_of_queries(agent, workstream, django_assert_max_num_queries):
    for _ in range(30):
        says(ConversationFactory(workstream=workstream), "parcel lost")
    api = token_client(agent.user)
    with django_assert_max_num_queries(8):
        response = api.get(f"{API}/conversations/search/", {"q": "parcel"})
    assert response.json()["count"] == 30


# --- tags ----------------------------------------------------------------------------------------


def test_any_agent_who_may_see_a_conversation_tags_it_once_and_each_change_is_audited(agent, ours):
    tag = TagFactory(name="Refund")
    colleague = AgentProfileFactory(queues=[ours.queue])
    conversation_tag_add(conversation_id=ours.pk, tag_id=tag.pk, by=agent.user)
    conversation_tag_add(conversation_id=ours.pk, tag_id=tag.pk, by=colleague.user)  # idempotent
    assert list(ours.tags.all()) == [tag]
    conversation_tag_remove(conversation_id=ours.pk, tag_id=tag.pk, by=colleague.user)
    assert list(ours.tags.all()) == []
    events = ConversationEvent.objects.filter(conversation=ours, kind="tags_changed").order_by("pk")
    assert [event.data for event in events] == [{"added": "Refund"}, {"removed": "Refund"}]


def test_an_agent_cannot_tag_another_queues_conversation(agent, other_queue_conversation):
    # spec: SEC-1
    tag = TagFactory()
    with pytest.raises(NotFound):
        conversation_tag_add(conversation_id=other_queue_conversation.pk, tag_id=tag.pk, by=agent.user)
    assert not other_queue_conversation.tags.exists()
    api = token_client(agent.user)
    response = api.post(f"{API}/conversations/{other_queue_conversation.pk}/tags/", {"tag": tag.pk}, format="json")
    assert response.status_code == 404
    assert not other_queue_conversation.tags.exists()


def test_the_api_adds_lists_filters_and_removes_tags(agent, ours):
    tag = TagFactory(name="Billing", colour="#111827")
    api = token_client(agent.user)
    assert api.get(f"{API}/tags/").json()["results"] == [
        {"id": tag.pk, "name": "Billing", "colour": "#111827", "text_colour": "#ffffff"}
    ]
    added = api.post(f"{API}/conversations/{ours.pk}/tags/", {"tag": tag.pk}, format="json")
    assert (added.status_code, [t["name"] for t in added.json()["tags"]]) == (200, ["Billing"])
    assert ids(api.get(f"{API}/conversations/", {"tag": tag.pk})) == [ours.pk]
    for bad in ({"tag": 999_999}, {}, {"tag": None}, {"tag": [1]}):
        response = api.post(f"{API}/conversations/{ours.pk}/tags/", bad, format="json")
        assert response.status_code == 400, bad
    removed = api.delete(f"{API}/conversations/{ours.pk}/tags/{tag.pk}/")
    assert (removed.status_code, removed.json()) == (200, {"tags": []})


def test_the_conversation_page_tags_with_a_labelled_form(client, agent):
    conversation = chat_given_to(agent)
    tag = TagFactory(name="Urgent", colour="#dc2626")
    client.force_login(agent.user)
    page = f"/workspace/conversations/{conversation.pk}/"
    html = client.get(page).content.decode()
    assert '<label for="tag-add">Add a tag</label>' in html
    response = client.post(f"{page}tags/", {"action": "add", "tag": tag.pk})
    assert (response.status_code, response["Location"]) == (302, page)
    html = client.get(page).content.decode()
    assert 'aria-label="Remove the tag Urgent"' in html
    assert client.post(f"{page}tags/", {"action": "add", "tag": "x"}).status_code == 302
    assert client.post(f"{page}tags/", {"action": "add", "tag": 999_999}).status_code == 302
    assert list(Conversation.objects.get(pk=conversation.pk).tags.all()) == [tag]
    theirs = chat_given_to(AgentProfileFactory(queues=[QueueFactory()]))
    assert (
        client.post(f"/workspace/conversations/{theirs.pk}/tags/", {"action": "add", "tag": tag.pk}).status_code == 404
    )


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_a_tag_chips_text_reads_at_least_4_5_to_1_on_any_background():
    levels = ["00", "33", "66", "80", "99", "b4", "cc", "ff"]
    for red, green, blue in itertools.product(levels, repeat=3):
        colour = f"#{red}{green}{blue}"
        assert contrast(colour, Tag(colour=colour).text_colour) >= 4.5, colour


def test_the_admin_center_lists_tags_in_the_agent_workspace_section(admin_client):
    from omnichannel.admin_site import section_of

    assert section_of("tag").slug == "agent_tools"
    response = admin_client.post("/admin/conversations/tag/add/", {"name": "Bad", "colour": "blue"})
    assert response.status_code == 200 and "six hex digits" in response.content.decode()
    assert not Tag.objects.exists()


def test_every_search_result_opens_and_what_does_not_open_is_not_found(client, agent, workstream):
    # spec: SEC-1 — the search and the conversation page agree: a colleague's conversation of the
    # agent's queue (never held by them) is found and opens read-only; another queue's is neither
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    theirs = chat_given_to(colleague, workstream=workstream)
    says(theirs, "The blender lid cracked")
    waiting = ConversationFactory(workstream=workstream)
    says(waiting, "Blender lid missing")
    elsewhere = WorkstreamFactory(default_queue=QueueFactory(name="Elsewhere"))
    hidden = chat_given_to(AgentProfileFactory(queues=[elsewhere.default_queue]), workstream=elsewhere)
    says(hidden, "My blender lid is gone too")
    client.force_login(agent.user)

    results = client.get("/workspace/search/", {"q": "lid"}).context["results"]
    found = {result["conversation"].pk for result in results}
    assert found == {theirs.pk, waiting.pk}
    for conversation_id in found:
        response = client.get(f"/workspace/conversations/{conversation_id}/")
        assert response.status_code == 200
        assert response.context["page"].can_write is False
    assert client.get(f"/workspace/conversations/{hidden.pk}/").status_code == 404
    api = token_client(agent.user)
    assert set(ids(api.get(f"{API}/conversations/search/", {"q": "lid"}))) == found
    for conversation_id in found:
        assert api.get(f"{API}/conversations/{conversation_id}/").status_code == 200
    assert api.get(f"{API}/conversations/{hidden.pk}/").status_code == 404
