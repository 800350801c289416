"""The customer summary: linking, creating in place, skills, quick notes, the timeline and the
workspace's endpoints (SUM-1, SUM-3..5, SUM-7, SUM-9, SUM-11..16, SEC-1, SEC-2)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import customer_links, summary
from conversations.models import ChatSettings, Conversation, ConversationEvent
from conversations.services import conversation_start
from core.errors import DomainError, Forbidden
from customers.models import Account, Case, Contact, Note
from tests.conversations.factories import ConversationFactory, chat_given_to, closed_chat_of
from tests.customers.factories import AccountFactory, CaseFactory, ContactFactory, NoteFactory
from tests.customers.summary_helpers import customer_with_history, summary_url
from tests.routing.factories import (
    AgentProfileFactory,
    QueueFactory,
    SkillFactory,
    SupervisorFactory,
    WorkstreamFactory,
)
from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory, VisitorFactory
from widgets.models import SelfServiceAction
from widgets.services import self_service_action_log

pytestmark = pytest.mark.django_db


def post(client, url, body) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def snapshot() -> list:
    return [
        list(model.objects.order_by("pk").values())
        for model in (Contact, Account, Case, Note, Conversation, ConversationEvent)
    ]


# --- SUM-5: automatic linking -------------------------------------------------------------------


def start_chat(widget, **fields) -> Conversation:
    return conversation_start(widget=widget, visitor=VisitorFactory(widget=widget), **fields)


def test_a_chat_whose_typed_email_matches_a_contact_only_suggests_her(
    workstream, published, django_capture_on_commit_callbacks
):
    # spec: SUM-5 — a pre-chat email is a claim: a possible match to confirm, never a link
    contact = ContactFactory(email="grace@example.com", account=AccountFactory(name="Navy"))
    widget = ChatWidgetFactory(workstream=workstream)
    PreChatQuestionFactory(widget=widget, name="email", label="Email")
    with django_capture_on_commit_callbacks(execute=True):
        conversation = start_chat(widget, prechat_answers={"email": "Grace@Example.com"})
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.account_id) == (None, None)
    assert (conversation.suggested_contact_id, conversation.suggested_by) == (contact.pk, "email")
    assert not conversation.events.filter(kind=ConversationEvent.Kind.LINKED).exists()
    assert any(e["type"] == "summary.changed" and e["conversation"] == conversation.pk for _g, e in published)


def test_a_verified_token_subject_links_its_contact_and_an_unverified_one_does_not(workstream):
    # spec: SUM-5 — the token subject counts only when verified (AUTH-3)
    contact = ContactFactory(auth_subject="user-42")
    verified = ConversationFactory(workstream=workstream, authenticated=True, auth_subject="user-42")
    unverified = ConversationFactory(workstream=workstream, authenticated=False, auth_subject="user-42")
    assert customer_links.conversation_customer_match(conversation_id=verified.pk).contact_id == contact.pk
    assert customer_links.conversation_customer_match(conversation_id=unverified.pk).contact_id is None


def test_a_mobile_phone_in_any_notation_matches_and_an_sms_number_links(workstream):
    # spec: SUM-5 — phones compared in E.164 (SMS-2); the number an SMS came from is verified
    contact = ContactFactory(mobile_phone="+14155550123")
    conversation = ConversationFactory(workstream=workstream, prechat_answers={"phone": "(415) 555-0123"})
    typed = customer_links.conversation_customer_match(conversation_id=conversation.pk)
    assert (typed.contact_id, typed.suggested_contact_id) == (None, contact.pk)  # typed: a claim
    sms = ConversationFactory(workstream=workstream, channel="sms", customer_phone="+1 415 555 0123")
    assert customer_links.conversation_customer_match(conversation_id=sms.pk).contact_id == contact.pk


def test_an_email_shared_by_two_contacts_or_a_bad_phone_links_nobody(workstream):
    # spec: SUM-5 — only an unambiguous match links
    ContactFactory(email="shared@example.com")
    ContactFactory(email="shared@example.com")
    conversation = ConversationFactory(
        workstream=workstream, prechat_answers={"email": "shared@example.com", "phone": "not a phone"}
    )
    customer_links.conversation_customer_match(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.suggested_contact_id) == (None, None)
    assert not conversation.events.exists()


# --- SUM-3, SUM-11..15: the read model ---------------------------------------------------------


def read(conversation, user):
    return summary.customer_summary(Conversation.objects.all(), conversation.pk, user=user)


def test_the_customer_section_shows_the_contact_and_the_account(agent, workstream):
    # spec: SUM-2, SUM-3
    account = AccountFactory(name="Globex", city="Lyon", country="France", main_phone="+33472000000")
    primary = ContactFactory(first_name="Hank", last_name="Scorpio")
    Account.objects.filter(pk=account.pk).update(primary_contact=primary)
    contact = ContactFactory(
        first_name="Marge", last_name="Simpson", email="marge@example.com", mobile_phone="+14155550100", account=account
    )
    conversation = chat_given_to(agent, workstream=workstream, contact=contact, account=account)
    view = read(conversation, agent.user)
    assert view.contact.name == "Marge Simpson"
    assert {d.name: d.value for d in view.contact.fields} == {
        "email": "marge@example.com",
        "mobile_phone": "+14155550100",
        "location": "San Francisco, United States",
        "account": "Globex",
    }
    assert view.account.name == "Globex"
    assert {d.name: d.value for d in view.account.fields} == {
        "location": "Lyon, France",
        "main_phone": "+33472000000",
        "primary_contact": "Hank Scorpio",
    }
    assert [r.kind for r in view.linked_records] == ["contact", "account"]


def test_self_service_shows_newest_first_only_the_kinds_the_admin_chose(agent, workstream):
    # spec: SUM-12
    visitor = VisitorFactory()
    conversation = chat_given_to(agent, workstream=workstream, visitor=visitor)
    now = timezone.now()
    for minutes, kind, title in (
        (3, "page_visited", "Pricing"),
        (2, "phrase_searched", "refund"),
        (1, "article_viewed", "How refunds work"),
        (0, "custom_action", "Added to basket"),
    ):
        action = self_service_action_log(visitor=visitor, kind=kind, title=title, conversation_id=conversation.pk)
        SelfServiceAction.objects.filter(pk=action.pk).update(occurred_at=now - timedelta(minutes=minutes))
    assert [row.title for row in read(conversation, agent.user).self_service] == [
        "Added to basket",
        "How refunds work",
        "refund",
        "Pricing",
    ]
    ChatSettings.objects.filter(workstream=workstream).update(
        summary_self_service_types=["phrase_searched", "page_visited"]
    )
    assert [(row.kind_label, row.title) for row in read(conversation, agent.user).self_service] == [
        ("Phrase searched", "refund"),
        ("Page visited", "Pricing"),
    ]


def test_visitor_details_come_from_the_user_agent_parsed_at_chat_start(workstream):
    # spec: SUM-11 — browser and OS parsed with ua-parser when the chat starts
    from widgets.api import describe_user_agent

    user_agent = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    )
    widget = ChatWidgetFactory(workstream=workstream)
    conversation = start_chat(widget, language="pl", **describe_user_agent(user_agent))
    supervisor = SupervisorFactory()
    details = {d.name: d.value for d in read(conversation, supervisor.user).visitor}
    assert details == {
        "authenticated": "No",
        "browser": "Chrome 126.0",
        "operating_system": "Windows 10",
        "location": "—",
        "language": "pl",
    }


def test_additional_details_show_only_when_enabled_and_present(agent, workstream):
    # spec: SUM-13
    conversation = chat_given_to(
        agent, workstream=workstream, context_variables={"tier": {"value": "gold", "isDisplayable": True}}
    )
    assert read(conversation, agent.user).show_additional
    ChatSettings.objects.filter(workstream=workstream).update(summary_show_additional_details=False)
    assert not read(conversation, agent.user).show_additional


def test_recent_cases_are_the_customers_latest_five(agent, workstream):
    # spec: SUM-15
    contact = ContactFactory()
    cases = [CaseFactory(contact=contact, title=f"Case {n}") for n in range(7)]
    CaseFactory(title="Somebody else's")
    now = timezone.now()
    for number, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(created_at=now - timedelta(days=10 - number))
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    assert [c.title for c in read(conversation, agent.user).recent_cases] == [f"Case {n}" for n in (6, 5, 4, 3, 2)]


# --- SUM-16: the timeline ------------------------------------------------------------------------


def test_the_timeline_pages_through_everything_newest_first_without_gaps_or_repeats(agent, workstream):
    # spec: SUM-16, SUM-17
    contact = customer_with_history(47, workstream=workstream)
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    seen, cursor = [], None
    while True:
        page = summary.timeline_page(conversation, record_kind="contact", cursor=cursor, limit=10)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 47  # the current conversation is not its own history
    assert [item.at for item in seen] == sorted((item.at for item in seen), reverse=True)
    assert len({(item.kind, item.id) for item in seen}) == 47
    assert {item.kind for item in seen} == {"note", "case", "conversation"}
    assert seen[0].title == "Case 46 opened: Case 46".replace("Case 46 opened", f"Case CAS-{seen[0].id:06d} opened")


def test_items_sharing_a_time_are_neither_lost_nor_repeated_across_pages(agent, workstream):
    # spec: SUM-16 — the keyset cursor orders by (time, kind, id)
    contact = ContactFactory()
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    same = timezone.now() - timedelta(days=1)
    notes = [NoteFactory(contact=contact, text=f"n{n}") for n in range(3)]
    cases = [CaseFactory(contact=contact) for _ in range(3)]
    Note.objects.filter(pk__in=[n.pk for n in notes]).update(created_at=same)
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(created_at=same)
    seen, cursor = [], None
    for _ in range(10):
        page = summary.timeline_page(conversation, record_kind="contact", cursor=cursor, limit=2)
        seen += [(item.kind, item.id) for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted([("note", n.pk) for n in notes] + [("case", c.pk) for c in cases])
    assert len(seen) == 6


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJ4Ijox", "WyJub3QgYSBkYXRlIiwxLDFd", "WyIyMDI0LTAxLTAxVDAwOjAwOjAwIiw5LDFd"]
)
def test_a_broken_cursor_is_a_clear_error(agent, workstream, cursor):
    # spec: SUM-16 — bad input gets a clear error, never a 500
    conversation = chat_given_to(agent, workstream=workstream, contact=ContactFactory())
    with pytest.raises(summary.SummaryError, match="cursor"):
        summary.timeline_page(conversation, record_kind="contact", cursor=cursor)


def test_the_case_timeline_holds_its_notes_and_conversations(agent, workstream):
    # spec: SUM-16 — the linked-records selector switches between contact, account and case
    contact = ContactFactory()
    case = CaseFactory(contact=contact, title="Broken kettle")
    NoteFactory(contact=None, case=case, text="Sent a replacement")
    NoteFactory(contact=contact, text="Prefers email")
    ConversationFactory(workstream=workstream, case=case, status="closed")
    conversation = chat_given_to(agent, workstream=workstream, contact=contact, case=case)
    case_page = summary.timeline_page(conversation, record_kind="case")
    assert [(i.kind, i.text) for i in case_page.items if i.kind == "note"] == [("note", "Sent a replacement")]
    assert {i.kind for i in case_page.items} == {"note", "conversation"}
    contact_page = summary.timeline_page(conversation, record_kind="contact")
    assert {i.text for i in contact_page.items if i.kind == "note"} == {"Prefers email"}
    with pytest.raises(summary.SummaryError, match="No account"):
        summary.timeline_page(conversation, record_kind="account")


# --- SUM-4, SUM-14, SUM-16: changes through the services ----------------------------------------


def test_linking_a_contact_links_their_account_audits_and_tells_the_page(
    agent, workstream, published, django_capture_on_commit_callbacks
):
    # spec: SUM-4, SUM-9
    contact = ContactFactory(account=AccountFactory())
    conversation = chat_given_to(agent, workstream=workstream)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        customer_links.conversation_record_link(
            conversation_id=conversation.pk, kind="contact", record_id=contact.pk, by=agent.user
        )
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.account_id) == (contact.pk, contact.account_id)
    assert published == [
        (
            f"conversation.{conversation.pk}",
            {"type": "summary.changed", "conversation": conversation.pk, "changed": ["account", "contact", "timeline"]},
        )
    ]
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        customer_links.conversation_record_link(
            conversation_id=conversation.pk, kind="contact", record_id=contact.pk, by=agent.user
        )
    assert published == []  # linking it again changes nothing
    assert conversation.events.filter(kind="linked").count() == 1


def test_summary_changes_are_refused_when_closed_or_not_held_and_change_nothing(agent, workstream):
    # spec: SUM-1 (closed is read-only), SEC-1
    contact = ContactFactory()
    closed = closed_chat_of(agent, workstream=workstream)
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    held = chat_given_to(colleague, workstream=workstream)
    before = snapshot()
    with pytest.raises(DomainError, match="read-only"):
        customer_links.conversation_record_link(
            conversation_id=closed.pk, kind="contact", record_id=contact.pk, by=agent.user
        )
    with pytest.raises(Forbidden):
        customer_links.conversation_quick_note(conversation_id=held.pk, record_kind="contact", text="hi", by=agent.user)
    assert snapshot() == before


def test_a_quick_note_goes_on_the_linked_record_and_keeps_the_conversation(agent, workstream, published):
    # spec: SUM-16
    contact = ContactFactory()
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    note = customer_links.conversation_quick_note(
        conversation_id=conversation.pk, record_kind="contact", text="Wants a call back", by=agent.user
    )
    assert (note.contact_id, note.conversation_id, note.author_id) == (contact.pk, conversation.pk, agent.user_id)
    assert summary.timeline_page(conversation, record_kind="contact").items[0].text == "Wants a call back"
    with pytest.raises(DomainError, match="No case"):
        customer_links.conversation_quick_note(
            conversation_id=conversation.pk, record_kind="case", text="x", by=agent.user
        )


def test_skills_are_edited_only_when_the_admin_allows(agent, workstream, published, django_capture_on_commit_callbacks):
    # spec: SUM-7, SUM-9
    billing, french = SkillFactory(name="Billing"), SkillFactory(name="French")
    conversation = chat_given_to(agent, workstream=workstream)
    with pytest.raises(Forbidden, match="admin"):
        customer_links.conversation_skills_set(conversation_id=conversation.pk, skill_ids=[billing.pk], by=agent.user)
    assert read(conversation, agent.user).may_edit_skills is False
    ChatSettings.objects.filter(workstream=workstream).update(agents_may_edit_skills=True)
    view = read(conversation, agent.user)
    assert view.may_edit_skills and {s.name for s in view.skill_choices} >= {"Billing", "French"}
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        customer_links.conversation_skills_set(
            conversation_id=conversation.pk, skill_ids=[billing.pk, french.pk], by=agent.user
        )
    assert [s.name for s in read(conversation, agent.user).skills] == ["Billing", "French"]
    assert published[-1][1]["changed"] == ["skills"]
    assert conversation.events.get(kind="skills_changed").data == {
        "before": [],
        "after": sorted([billing.pk, french.pk]),
    }


# --- The workspace endpoints ---------------------------------------------------------------------


def test_the_agent_searches_links_and_unlinks_a_contact_from_the_page(client, agent, workstream):
    # spec: SUM-4
    contact = ContactFactory(first_name="Linus", last_name="Torvalds", email="linus@example.com")
    ContactFactory(first_name="Other", last_name="Person")
    conversation = chat_given_to(agent, workstream=workstream)
    client.force_login(agent.user)
    found = client.get(summary_url(conversation.pk, "search/"), {"kind": "contact", "q": "linus torv"}).json()
    assert found == {
        "results": [
            {
                "kind": "contact",
                "id": contact.pk,
                "label": "Linus Torvalds · linus@example.com · " + contact.mobile_phone,
            }
        ]
    }
    status, data = post(client, summary_url(conversation.pk, "links/"), {"kind": "contact", "id": contact.pk})
    assert status == 200 and data["contact"]["name"] == "Linus Torvalds"
    response = client.post(summary_url(conversation.pk, "links/contact/unlink/"))
    assert response.status_code == 200 and response.json()["contact"] is None


def test_the_agent_creates_a_contact_and_adds_a_case_in_place(client, agent, workstream):
    # spec: SUM-4, SUM-14
    conversation = chat_given_to(agent, workstream=workstream)
    client.force_login(agent.user)
    status, data = post(
        client,
        summary_url(conversation.pk, "new/contact/"),
        {"first_name": "Ada", "last_name": "<b>Lovelace</b>", "mobile_phone": "(415) 555-0199"},
    )
    assert status == 200, data
    contact = Contact.objects.get(last_name="<b>Lovelace</b>")
    assert contact.mobile_phone == "+14155550199"
    assert data["contact"]["id"] == contact.pk
    status, data = post(client, summary_url(conversation.pk, "new/case/"), {"title": "Refund", "priority": "high"})
    assert status == 200, data
    case = Case.objects.get(title="Refund")
    assert (case.contact_id, case.origin, case.priority, case.owner_id) == (contact.pk, "chat", "high", agent.user_id)
    assert data["case"]["number"] == case.number
    assert [r["kind"] for r in data["linked_records"]] == ["contact", "case"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("new/contact/", {"first_name": "No last name"}, 400),
        ("new/contact/", {"last_name": "X", "mobile_phone": "12"}, 400),
        ("new/contact/", {"last_name": "X", "unknown": 1}, 400),
        ("new/planet/", {"name": "Mars"}, 404),
        ("new/case/", {"title": ""}, 400),
        ("new/case/", {"title": "Lost parcel"}, 400),  # no contact or account to own it
        ("links/", {"kind": "contact", "id": 999999}, 404),
        ("links/", {"kind": "contact", "id": "abc"}, 400),
        ("links/", {"kind": "visitor", "id": 1}, 400),
        ("links/", [], 400),
        ("notes/", {"record": "contact", "text": "x"}, 409),
        ("notes/", {"record": "contact", "text": "x" * 10_001}, 400),
        ("skills/", {"skills": [1]}, 403),
        ("links/case/unlink/", {}, 200),
        ("links/visitor/unlink/", {}, 404),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(client, agent, workstream, path, body, status):
    # spec: SUM-4, SUM-14, SUM-16 — never a 500, nothing half-done
    conversation = chat_given_to(agent, workstream=workstream)
    client.force_login(agent.user)
    before = snapshot()
    response = client.post(summary_url(conversation.pk, path), data=json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.content
    if status != 200:
        assert response.json()["message"]
    assert snapshot() == before


def test_a_broken_body_or_search_is_a_400(client, agent, workstream):
    # spec: SUM-4
    conversation = chat_given_to(agent, workstream=workstream)
    client.force_login(agent.user)
    response = client.post(summary_url(conversation.pk, "links/"), data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert client.get(summary_url(conversation.pk, "search/"), {"kind": "contact", "q": "a"}).status_code == 400
    assert client.get(summary_url(conversation.pk, "search/"), {"kind": "planet", "q": "abc"}).status_code == 400
    response = client.get(summary_url(conversation.pk, "timeline/"), {"record": "contact", "cursor": "garbage"})
    assert response.status_code == 400


def test_search_finds_cases_by_number_and_accounts_by_phone(client, agent, workstream):
    # spec: SUM-4, SUM-14
    case = CaseFactory(title="Leaking kettle")
    account = AccountFactory(name="Initech", main_phone="+33472000042")
    conversation = chat_given_to(agent, workstream=workstream)
    client.force_login(agent.user)
    by_number = client.get(summary_url(conversation.pk, "search/"), {"kind": "case", "q": case.number}).json()
    assert [r["id"] for r in by_number["results"]] == [case.pk]
    by_phone = client.get(summary_url(conversation.pk, "search/"), {"kind": "account", "q": "04 72 00 00 42"}).json()
    assert by_phone["results"] == []  # a French number without +33 is read in the default region…
    by_phone = client.get(summary_url(conversation.pk, "search/"), {"kind": "account", "q": "+33 4 72 00 00 42"}).json()
    assert [r["id"] for r in by_phone["results"]] == [account.pk]


def test_the_page_and_its_endpoints_are_404_for_an_agent_of_another_queue(client, agent, workstream):
    # spec: SEC-1
    contact = ContactFactory()
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    stranger = AgentProfileFactory(queues=[QueueFactory(name="Elsewhere")])
    client.force_login(stranger.user)
    before = snapshot()
    assert client.get(f"/workspace/conversations/{conversation.pk}/").status_code == 404
    for path in ("", "timeline/?record=contact", "search/?kind=contact&q=ab"):
        assert client.get(summary_url(conversation.pk, path)).status_code == 404
    status, _data = post(client, summary_url(conversation.pk, "notes/"), {"record": "contact", "text": "hi"})
    assert status == 404
    assert snapshot() == before


def test_a_closed_conversation_opens_read_only_from_closed_work_items(client, agent, workstream):
    # spec: SUM-1
    conversation = closed_chat_of(agent, workstream=workstream, contact=ContactFactory())
    client.force_login(agent.user)
    dashboard = client.get("/workspace/", {"tab": "closed"}).content.decode()  # the inbox's Closed recently
    assert f'href="/workspace/conversations/{conversation.pk}/"' in dashboard
    html = client.get(f"/workspace/conversations/{conversation.pk}/").content.decode()
    assert 'data-read-only="true"' in html
    assert 'data-testid="quick-note-save"' in html
    assert "data-quick-note data-editable hidden" in html
    assert client.get(summary_url(conversation.pk)).json()["read_only"] is True


def test_the_page_shows_the_summary_escaped(client, agent, workstream):
    # spec: SUM-2, SEC-2
    contact = ContactFactory(first_name="<script>x</script>", last_name="Doe")
    NoteFactory(contact=contact, text="<img src=x onerror=alert(1)>")
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    client.force_login(agent.user)
    html = client.get(f"/workspace/conversations/{conversation.pk}/").content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt; Doe" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    for section in ("customer-heading", "summary-heading", "case-heading", "recent-cases-heading", "timeline-heading"):
        assert f'id="{section}"' in html


def test_the_demo_has_a_customer_whose_email_suggests_her_and_the_confirmed_match_shows_her_history(agent):
    # spec: SUM-5, SUM-15, SUM-16 — the demo summary looks real once the agent confirms the match
    from django.core.management import call_command

    call_command("demo_data", verbosity=0)
    workstream = WorkstreamFactory()
    conversation = chat_given_to(
        agent, workstream=workstream, prechat_answers={"email": "emma.johnson@northwind.example"}
    )
    customer_links.conversation_customer_match(conversation_id=conversation.pk)
    view = read(Conversation.objects.get(pk=conversation.pk), agent.user)
    assert view.contact is None and view.suggestion.label == "Possible match: Emma Johnson — unverified"
    customer_links.conversation_match_confirm(
        conversation_id=conversation.pk, contact_id=view.suggestion.contact_id, by=agent.user
    )
    view = read(Conversation.objects.get(pk=conversation.pk), agent.user)
    assert view.contact.name == "Emma Johnson" and view.account is not None
    assert view.recent_cases
    kinds = {item.kind for item in view.timeline.items}
    assert kinds == {"note", "case", "conversation"}
