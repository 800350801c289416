"""Client-supplied identity is a claim until verified (SUM-5, SUM-4, AUTH-2, ROU-2, ADM-1, SEC-1).

A pre-chat email or phone from an unauthenticated visitor never links a contact: it may suggest
one to the agent ("Possible match: … — unverified"), who confirms it; until then no surface the
agent sees (the incoming alert, the conversation page, the summary JSON, the API) shows any of
her records. Only a signed token or a channel identity links automatically. Routing rules on
``context`` see only verified values.
"""

import json
import re

import pytest

from conversations import customer_links
from conversations.models import Conversation, ConversationEvent
from conversations.services import conversation_start
from customers.models import Contact
from notifications.models import Notification
from notifications.selectors import notification_payload
from routing.models import Offer, RoutingRule
from routing.services import offer_accept
from tests.api_helpers import token_client
from tests.customers.factories import AccountFactory, CaseFactory, ContactFactory, NoteFactory
from tests.customers.summary_helpers import summary_url
from tests.routing.factories import AgentProfileFactory, QueueFactory
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory, PreChatQuestionFactory
from tests.widgets.signing import SigningKey

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
KEY = SigningKey("RS256")


@pytest.fixture
def agent(workstream):
    """An agent with a workspace page open (only reachable agents are offered work: ROU-8)."""
    return AgentProfileFactory(queues=[workstream.default_queue], display_name="Ada", reachable=True)


@pytest.fixture
def emma():
    """A known customer with records an impostor must not see: phone, account, a case, a note."""
    account = AccountFactory(name="Northwind Traders", main_phone="+14155550199")
    contact = ContactFactory(
        first_name="Emma",
        last_name="Johnson",
        email="emma.johnson@northwind.example",
        mobile_phone="+14155550132",
        account=account,
    )
    CaseFactory(title="Invoice charged twice in March", contact=contact)
    NoteFactory(text="Prefers to be called after 5 pm", contact=contact)
    return contact


SECRETS = ("+14155550132", "+14155550199", "Northwind Traders", "Invoice charged twice", "called after 5 pm")


def widget_with_email_question(workstream, **fields):
    widget = ChatWidgetFactory(workstream=workstream, origins=[ORIGIN], **fields)
    PreChatQuestionFactory(widget=widget, name="email", label="Email", required=False)
    return widget


def post_json(client, url, body):
    response = client.post(url, data=json.dumps(body), content_type="application/json", HTTP_ORIGIN=ORIGIN)
    return response.status_code, response.json()


def visitor_token(client, widget) -> str:
    status, data = post_json(client, f"/widget/{widget.public_key}/session/", {})
    assert status == 200
    return data["visitor_token"]


def start_from_the_page(client, widget, body) -> Conversation:
    """The visitor's browser starts the chat through the public widget endpoint."""
    status, data = post_json(
        client, f"/widget/{widget.public_key}/chats/", {"visitor_token": visitor_token(client, widget), **body}
    )
    assert status == 201, data
    return Conversation.objects.order_by("-pk").first()


def accept(agent, conversation) -> Notification:
    offer = Offer.objects.get(work_item__conversation=conversation, agent=agent, status="pending")
    notification = Notification.objects.get(offer_id=offer.pk)
    offer_accept(offer_id=offer.pk, agent=agent)
    return notification


# --- defect 7: an anonymous pre-chat email is a claim ---------------------------------------------


def test_an_anonymous_prechat_email_links_nobody_and_the_agent_sees_only_a_possible_match(
    client, agent, workstream, emma, django_capture_on_commit_callbacks
):
    # spec: SUM-5, SEC-1 — a claim suggests, never links, never shows her records
    widget = widget_with_email_question(workstream)
    with django_capture_on_commit_callbacks(execute=True):
        conversation = start_from_the_page(
            client, widget, {"prechat": {"email": "Emma.Johnson@northwind.example"}, "context": {}}
        )
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.account_id) == (None, None)
    assert (conversation.suggested_contact_id, conversation.suggested_by) == (emma.pk, "email")
    assert not conversation.events.filter(kind=ConversationEvent.Kind.LINKED).exists()

    # the incoming-chat alert
    notification = accept(agent, conversation)
    payload = json.dumps(notification_payload(notification))
    assert {"header": "Possible match", "value": "Emma Johnson — unverified"} in notification.fields
    assert not any(secret in payload for secret in SECRETS)

    # the conversation page (header and summary panel) and the summary's JSON
    client.force_login(agent.user)
    page = client.get(f"/workspace/conversations/{conversation.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<h1 id="chat-heading">Emma Johnson</h1>' not in html
    assert "Possible match: Emma Johnson — unverified" in html
    # a native <button>: focusable and pressed with Enter or Space (keyboard-usable)
    button = r'<button type="button" class="ws-button" data-confirm-match="(\d+)" data-testid="confirm-match"'
    assert re.search(button, html).group(1) == str(emma.pk)
    assert not any(secret in html for secret in SECRETS)
    data = client.get(summary_url(conversation.pk)).json()
    assert (data["contact"], data["account"], data["recent_cases"], data["linked_records"]) == (None, None, [], [])
    assert data["suggestion"] == {
        "contact_id": emma.pk,
        "name": "Emma Johnson",
        "matched_by": "the email the customer typed",
        "label": "Possible match: Emma Johnson — unverified",
    }
    assert data["timeline"]["items"] == []
    assert not any(secret in json.dumps(data) for secret in SECRETS)
    timeline = client.get(summary_url(conversation.pk, "timeline/"), {"record": "contact"})
    assert (timeline.status_code, timeline.json()["code"]) == (400, "not_linked")

    # the developer API's summary
    api = token_client(agent.user).get(f"/api/v1/conversations/{conversation.pk}/summary/").json()
    assert api["contact"] is None and api["suggestion"]["label"] == "Possible match: Emma Johnson — unverified"
    assert not any(secret in json.dumps(api) for secret in SECRETS)


def test_an_anonymous_prechat_phone_is_a_claim_too(workstream, emma):
    # spec: SUM-5 — phones typed in the survey suggest; they never link
    widget = ChatWidgetFactory(workstream=workstream)
    PreChatQuestionFactory(widget=widget, name="phone", label="Phone", required=False)
    from tests.widgets.factories import VisitorFactory

    conversation = conversation_start(
        widget=widget, visitor=VisitorFactory(widget=widget), prechat_answers={"phone": "(415) 555-0132"}
    )
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.suggested_contact_id) == (None, emma.pk)
    assert conversation.suggested_by == "mobile phone"


def test_the_agent_confirms_the_possible_match_with_one_action_and_then_her_records_show(
    client, agent, workstream, emma, published, django_capture_on_commit_callbacks
):
    # spec: SUM-4, SUM-5, SUM-9
    widget = widget_with_email_question(workstream)
    with django_capture_on_commit_callbacks(execute=True):
        conversation = start_from_the_page(client, widget, {"prechat": {"email": emma.email}, "context": {}})
    accept(agent, conversation)
    client.force_login(agent.user)
    url = summary_url(conversation.pk, "match/confirm/")

    def state():
        row = Conversation.objects.get(pk=conversation.pk)
        return row.contact_id, row.account_id, row.suggested_contact_id, row.events.count()

    before = state()
    other = ContactFactory(first_name="Liam", last_name="Smith")
    refused = [
        (url, {"contact": str(emma.pk)}, 400),  # exact types: no coercion
        (url, {"contact": True}, 400),
        (url, {"contact": float(emma.pk)}, 400),
        (url, {}, 400),
        (url, {"contact": emma.pk, "extra": 1}, 400),
        (url, {"contact": other.pk}, 409),  # not the contact suggested
    ]
    for target, body, status in refused:
        code, answer = post_json(client, target, body)
        assert code == status, (body, answer)
        assert answer["message"]
    assert post_json(client, url, {"contact": other.pk})[1]["code"] == "stale"
    assert state() == before
    response = client.post(url, data="not json", content_type="application/json")
    assert response.status_code == 400 and state() == before

    with django_capture_on_commit_callbacks(execute=True):
        code, data = post_json(client, url, {"contact": emma.pk})
    assert code == 200, data
    assert data["suggestion"] is None
    assert data["contact"]["name"] == "Emma Johnson"
    assert {f["name"]: f["value"] for f in data["contact"]["fields"]}["mobile_phone"] == "+14155550132"
    assert data["account"]["name"] == "Northwind Traders"
    assert [c["title"] for c in data["recent_cases"]] == ["Invoice charged twice in March"]
    assert "Prefers to be called after 5 pm" in [item["text"] for item in data["timeline"]["items"]]
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.account_id, conversation.suggested_contact_id) == (
        emma.pk,
        emma.account_id,
        None,
    )
    event = conversation.events.get(kind=ConversationEvent.Kind.LINKED)
    assert (event.actor, event.actor_user) == ("agent", agent.user)
    assert event.note == "possible match (email) confirmed by the agent"
    assert any(e["type"] == "summary.changed" and e["conversation"] == conversation.pk for _g, e in published)
    # confirming again is a no-op
    assert post_json(client, url, {"contact": emma.pk})[0] == 200
    assert conversation.events.filter(kind=ConversationEvent.Kind.LINKED).count() == 1


def test_only_the_agent_holding_the_chat_confirms_and_the_button_text_is_translated(client, agent, workstream, emma):
    # spec: SUM-5, SEC-1, I18N-1 — refused for another agent; the button's words go through gettext
    widget = widget_with_email_question(workstream)
    conversation = start_from_the_page(client, widget, {"prechat": {"email": emma.email}, "context": {}})
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    client.force_login(colleague.user)
    code, _answer = post_json(client, summary_url(conversation.pk, "match/confirm/"), {"contact": emma.pk})
    assert code in (403, 404)
    assert Conversation.objects.get(pk=conversation.pk).contact_id is None
    # The button's word comes from the scripts' catalog (djangojs), through gettext (I18N-1).
    assert '"Confirm match": "Confirmer la correspondance"' in client.get("/jsi18n/fr/").content.decode()


def test_linking_another_contact_answers_the_question_and_clears_the_suggestion(
    client, agent, workstream, emma, django_capture_on_commit_callbacks
):
    # spec: SUM-4, SUM-5
    widget = widget_with_email_question(workstream)
    with django_capture_on_commit_callbacks(execute=True):
        conversation = start_from_the_page(client, widget, {"prechat": {"email": emma.email}, "context": {}})
    accept(agent, conversation)
    real = ContactFactory(first_name="Real", last_name="Person")
    customer_links.conversation_record_link(
        conversation_id=conversation.pk, kind="contact", record_id=real.pk, by=agent.user
    )
    conversation.refresh_from_db()
    assert (conversation.contact_id, conversation.suggested_contact_id) == (real.pk, None)
    assert conversation.suggested_by == ""


# --- verified identities still link automatically --------------------------------------------------


@pytest.fixture
def signed_widget(workstream):
    setting = AuthenticationSettingFactory(
        public_key_pem=KEY.public_pem,
        key_set_url="",
        algorithms=["RS256"],
        create_contact=False,
        context_claims=["tier"],
    )
    return widget_with_email_question(workstream, authentication=setting)


def test_an_authenticated_chat_links_by_its_verified_subject_or_email_and_a_typed_email_stays_a_claim(
    client, signed_widget, emma
):
    # spec: SUM-5, AUTH-2 — the signed token's sub and email are verified; the survey's email is not
    by_email = start_from_the_page(
        client, signed_widget, {"auth_token": KEY.token(sub="portal-77", email=emma.email), "context": {}}
    )
    assert (by_email.authenticated, by_email.contact_id, by_email.account_id) == (True, emma.pk, emma.account_id)
    assert by_email.events.get(kind="linked").note == "matched by token email"

    Contact.objects.filter(pk=emma.pk).update(auth_subject="portal-1001")
    by_subject = start_from_the_page(client, signed_widget, {"auth_token": KEY.token(sub="portal-1001"), "context": {}})
    assert (by_subject.contact_id, by_subject.suggested_contact_id) == (emma.pk, None)  # the sign-in's contact

    typed = start_from_the_page(
        client,
        signed_widget,
        {"auth_token": KEY.token(sub="someone-else"), "prechat": {"email": emma.email}, "context": {}},
    )
    assert typed.authenticated and typed.contact_id is None and typed.suggested_contact_id == emma.pk


def test_an_sms_number_is_a_channel_identity_and_links(workstream, emma):
    # spec: SUM-5, SMS-2
    from tests.conversations.factories import ConversationFactory

    sms = ConversationFactory(workstream=workstream, channel="sms", customer_phone="+1 415 555 0132")
    linked = customer_links.conversation_customer_match(conversation_id=sms.pk)
    assert (linked.contact_id, linked.suggested_contact_id) == (emma.pk, None)


def test_a_browser_that_signed_in_before_does_not_link_an_unsigned_chat(client, signed_widget, emma):
    # spec: SUM-5, AUTH-3 — the visitor's contact belongs to a chat only when this chat is signed in
    from tests.widgets.factories import VisitorFactory

    visitor = VisitorFactory(widget=signed_widget, contact=emma, auth_subject="portal-1001")
    conversation = conversation_start(widget=signed_widget, visitor=visitor)
    assert conversation.contact_id is None


# --- routing on verified facts (ROU-2) ------------------------------------------------------------


@pytest.fixture
def vip_rule(workstream):
    vip = QueueFactory(name="VIP")
    return RoutingRule.objects.create(
        workstream=workstream,
        name="Gold customers to VIP",
        queue=vip,
        conditions=[{"source": "context", "name": "tier", "operator": "equals", "value": "gold"}],
    )


def test_an_anonymous_page_saying_tier_gold_is_not_routed_to_vip_but_a_signed_token_saying_it_is(
    client, signed_widget, vip_rule
):
    # spec: ROU-2, AUTH-2 — context conditions see only verified values
    anonymous = start_from_the_page(client, signed_widget, {"context": {"tier": "gold"}})
    assert anonymous.queue.name == "Support"
    assert anonymous.context_variables["tier"] == {"value": "gold", "isDisplayable": False}
    forged = start_from_the_page(
        client, signed_widget, {"context": {"tier": {"value": "gold", "isDisplayable": True, "verified": True}}}
    )
    assert forged.queue.name == "Support"
    assert "verified" not in forged.context_variables["tier"]

    signed = start_from_the_page(
        client, signed_widget, {"auth_token": KEY.token(sub="c-1", tier="gold"), "context": {"tier": "bronze"}}
    )
    assert signed.queue.name == "VIP"
    assert signed.context_variables["tier"] == {"value": "gold", "isDisplayable": True, "verified": True}


def test_a_context_claim_rule_routes_on_what_the_page_says(client, signed_widget, vip_rule, workstream):
    # spec: ROU-2 — an admin may still sort work on an unverified value, knowingly (the admin marks it)
    returns = QueueFactory(name="Returns")
    RoutingRule.objects.create(
        workstream=workstream,
        order=5,
        name="Returns page",
        queue=returns,
        conditions=[{"source": "context_claim", "name": "page", "operator": "equals", "value": "returns"}],
    )
    assert start_from_the_page(client, signed_widget, {"context": {"page": "returns"}}).queue == returns


# --- the admin center marks rules on unverified values ---------------------------------------------


def test_the_admin_marks_a_rule_on_unverified_values_in_the_form_and_in_the_list(admin_client, workstream, vip_rule):
    # spec: ADM-1, ROU-2
    RoutingRule.objects.create(
        workstream=workstream,
        order=2,
        name="Billing topic",
        queue=workstream.default_queue,
        conditions=[{"source": "prechat", "name": "topic", "operator": "equals", "value": "Billing"}],
    )
    listing = admin_client.get("/admin/routing/workstream/").content.decode()
    assert "⚠ Unverified: Billing topic" in listing
    assert "Gold customers to VIP" not in listing  # a verified-only rule carries no mark
    form = admin_client.get(f"/admin/routing/workstream/{workstream.pk}/change/").content.decode()
    assert "Unverified: this rule routes on a pre-chat answer, which anyone can type or send." in form
    assert "Verified facts only." in form
    # The rule editor's help says which values the customer chooses (the JSON help text is gone).
    assert "the page address and the language are what the customer chooses" in form
