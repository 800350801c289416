"""Invitations answered: accepted into a routed chat, dismissed, offered by the host page
(PRO-4, PRO-5, PRO-6, PRO-7), through the services and the widget's HTTP endpoints."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation
from core.errors import NotFound
from notifications.models import Notification
from tests.routing.factories import AgentProfileFactory
from tests.widgets.factories import (
    ChatWidgetFactory,
    InvitationFactory,
    PageVisitFactory,
    PreChatQuestionFactory,
    ProactiveRuleFactory,
    VisitorFactory,
)
from widgets.models import INVITATION_LIFETIME, Invitation
from widgets.services import InvitationError, invitation_accept, invitation_dismiss, invitation_offer
from widgets.tokens import page_visit_token, visitor_token

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"


@pytest.fixture
def invitation(clock):
    """A rule's open invitation, 42 s into a page visit, with an agent ready in the widget's queue."""
    rule = ProactiveRuleFactory(name="Checkout help")
    page_visit = PageVisitFactory(
        visitor=VisitorFactory(widget=rule.widget),
        url="https://shop.example.com/checkout",
        started_at=timezone.now() - timedelta(seconds=42),
    )
    AgentProfileFactory(queues=[rule.widget.workstream.default_queue], reachable=True)
    return InvitationFactory(
        visitor=page_visit.visitor, rule=rule, page_visit=page_visit, page_url=page_visit.url, message=rule.name
    )


def test_accepting_starts_a_routed_proactive_chat_with_the_context_the_agent_sees(
    invitation, django_capture_on_commit_callbacks
):
    # spec: PRO-5, PRO-6 — the agent's notification names the source; context: time on page, URL, rule
    host_context = {
        "cart_total": {"value": 129.9, "isDisplayable": True},
        "pageUrl": {"value": "https://forged.example.com", "isDisplayable": True},
    }
    with django_capture_on_commit_callbacks(execute=True):
        accepted, conversation = invitation_accept(
            visitor=invitation.visitor,
            invitation_public_id=invitation.public_id,
            chat={"prechat": {}, "context": host_context},
            language="en",
        )
    invitation.refresh_from_db()
    assert (invitation.status, invitation.closed_at, invitation.conversation) == (
        "accepted",
        timezone.now(),
        conversation,
    )
    assert conversation.origin == Conversation.Origin.PROACTIVE
    assert conversation.page_url == "https://shop.example.com/checkout"
    assert conversation.context_variables == {
        "cart_total": {"value": 129.9, "isDisplayable": True},
        "pageUrl": {"value": "https://shop.example.com/checkout", "isDisplayable": True},  # the server's wins
        "proactiveRule": {"value": "Checkout help", "isDisplayable": True},
        "timeOnPageSeconds": {"value": 42, "isDisplayable": True},
    }
    notification = Notification.objects.get(work_item_id=Conversation.objects.get(pk=conversation.pk).work_item_id)
    assert {"header": "Source", "value": "Proactive invitation"} in notification.fields

    from conversations.workspace import additional_details

    shown = {detail.name: detail.value for detail in additional_details(conversation)}
    assert shown["timeOnPageSeconds"] == "42" and shown["pageUrl"] == "https://shop.example.com/checkout"


def test_accepting_first_then_answering_the_survey_starts_the_chat(invitation):
    # spec: PRO-4, PRO-5 — the acceptance counts at the click; the chat starts when the survey is sent
    PreChatQuestionFactory(widget=invitation.widget, name="name", required=True)
    accepted, conversation = invitation_accept(visitor=invitation.visitor, invitation_public_id=invitation.public_id)
    assert (accepted.status, conversation) == ("accepted", None)
    from conversations.errors import ConversationValidationError

    with pytest.raises(ConversationValidationError):
        invitation_accept(
            visitor=invitation.visitor, invitation_public_id=invitation.public_id, chat={"prechat": {}, "context": {}}
        )
    assert not Conversation.objects.exists()
    _accepted, conversation = invitation_accept(
        visitor=invitation.visitor,
        invitation_public_id=invitation.public_id,
        chat={"prechat": {"name": "Grace"}, "context": {}},
    )
    assert conversation.prechat_answers == {"name": "Grace"}
    assert Invitation.objects.get(pk=invitation.pk).conversation == conversation
    with pytest.raises(InvitationError):  # one chat per invitation
        invitation_accept(
            visitor=invitation.visitor,
            invitation_public_id=invitation.public_id,
            chat={"prechat": {"name": "Grace"}, "context": {}},
        )


def test_a_refused_chat_changes_nothing_not_even_the_acceptance(invitation):
    # spec: PRO-4, WID-11
    from conversations.errors import ConversationValidationError

    PreChatQuestionFactory(widget=invitation.widget, name="name", required=True)
    with pytest.raises(ConversationValidationError):
        invitation_accept(
            visitor=invitation.visitor, invitation_public_id=invitation.public_id, chat={"prechat": {}, "context": {}}
        )
    invitation.refresh_from_db()
    assert (invitation.status, invitation.closed_at) == ("shown", None)


def test_after_the_minute_an_invitation_can_no_longer_be_answered(invitation, clock):
    # spec: PRO-4
    clock.shift(INVITATION_LIFETIME)
    with pytest.raises(InvitationError):
        invitation_accept(visitor=invitation.visitor, invitation_public_id=invitation.public_id, chat={})
    with pytest.raises(InvitationError):
        invitation_dismiss(visitor=invitation.visitor, invitation_public_id=invitation.public_id)
    assert Invitation.objects.get(pk=invitation.pk).status == "shown"  # the deadline task closes it
    assert not Conversation.objects.exists()


def test_a_visitor_answers_only_their_own_invitations(invitation):
    # spec: PRO-4, SEC-1
    stranger = VisitorFactory(widget=invitation.widget)
    with pytest.raises(NotFound):
        invitation_accept(visitor=stranger, invitation_public_id=invitation.public_id, chat={})
    with pytest.raises(NotFound):
        invitation_dismiss(visitor=stranger, invitation_public_id=invitation.public_id)
    assert Invitation.objects.get(pk=invitation.pk).status == "shown"


def test_dismissing_closes_it_once(invitation, published, django_capture_on_commit_callbacks):
    # spec: PRO-4, PRO-8
    with django_capture_on_commit_callbacks(execute=True):
        invitation_dismiss(visitor=invitation.visitor, invitation_public_id=invitation.public_id)
        invitation_dismiss(visitor=invitation.visitor, invitation_public_id=invitation.public_id)
    invitation.refresh_from_db()
    assert invitation.status == "dismissed" and invitation.closed_at is not None
    assert [event["status"] for _group, event in published] == ["dismissed"]
    with pytest.raises(InvitationError):
        invitation_accept(visitor=invitation.visitor, invitation_public_id=invitation.public_id)


def test_the_host_page_invites_through_the_sdk_under_the_same_minute(clock, django_capture_on_commit_callbacks):
    # spec: PRO-7
    from widgets import tasks

    page_visit = PageVisitFactory(visitor=VisitorFactory(widget=ChatWidgetFactory(proactive_enabled=True)))
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = invitation_offer(
            visitor=page_visit.visitor, message="  Questions about sizes?  ", page_visit=page_visit, show_prechat=False
        )
    assert (invitation.rule, invitation.message, invitation.show_prechat, invitation.page_url) == (
        None,
        "Questions about sizes?",
        False,
        page_visit.url,
    )
    assert invitation.expires_at == timezone.now() + timedelta(minutes=1)
    sent = []
    tasks.expire_invitation.apply_async = lambda args, eta: sent.append((args, eta))
    try:
        for callback in callbacks:
            callback()
    finally:
        del tasks.expire_invitation.apply_async
    assert sent == [((invitation.pk,), invitation.expires_at)]  # the close is scheduled for the deadline


@pytest.mark.parametrize("case", ["disabled", "already_invited", "empty", "foreign_visit"])
def test_the_sdk_invitation_is_refused_with_a_reason_and_creates_nothing(clock, case):
    # spec: PRO-1, PRO-3, PRO-7
    visitor = VisitorFactory(widget=ChatWidgetFactory(proactive_enabled=case != "disabled"))
    page_visit = None
    if case == "already_invited":
        InvitationFactory(visitor=visitor)
    if case == "foreign_visit":
        page_visit = PageVisitFactory()
    before = Invitation.objects.count()
    with pytest.raises((InvitationError, NotFound)):
        invitation_offer(visitor=visitor, message="" if case == "empty" else "Hi", page_visit=page_visit)
    assert Invitation.objects.count() == before


# --- over HTTP ------------------------------------------------------------------------------------


def url(widget, path: str) -> str:
    return f"/widget/{widget.public_key}/{path}/"


def post(client, widget, path, body, origin=ORIGIN):
    return client.post(url(widget, path), body, content_type="application/json", headers={"Origin": origin})


def token(visitor) -> str:
    return visitor_token(visitor_public_id=visitor.public_id, widget_key=visitor.widget.public_key)


def test_http_accept_returns_the_chat_to_follow(client, invitation):
    # spec: PRO-5
    response = post(
        client,
        invitation.widget,
        f"invitations/{invitation.public_id}/accept",
        {"visitor_token": token(invitation.visitor), "chat": {"prechat": {}, "context": {}}},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    conversation = Conversation.objects.get()
    assert body["invitation"]["status"] == "accepted" and body["invitation"]["id"] == str(invitation.public_id)
    assert body["conversation"]["id"] == str(conversation.public_id) and body["conversation"]["token"]


def test_http_dismiss_and_sdk_invitation(client, clock):
    # spec: PRO-4, PRO-7
    page_visit = PageVisitFactory(visitor=VisitorFactory(widget=ChatWidgetFactory(proactive_enabled=True)))
    visitor = page_visit.visitor
    visit = page_visit_token(page_visit_public_id=page_visit.public_id, visitor_public_id=visitor.public_id)
    response = post(
        client, visitor.widget, "invitations", {"visitor_token": token(visitor), "page_visit": visit, "message": "Hi!"}
    )
    assert response.status_code == 201, response.json()
    created = response.json()["invitation"]
    assert (created["message"], created["status"], created["show_prechat"]) == ("Hi!", "shown", True)
    assert "pk" not in created and str(Invitation.objects.get().pk) != created["id"]
    response = post(client, visitor.widget, f"invitations/{created['id']}/dismiss", {"visitor_token": token(visitor)})
    assert response.status_code == 200 and response.json()["invitation"]["status"] == "dismissed"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("invitations", {"message": "Hi"}, 400, "invalid"),
        ("invitations", {"visitor_token": "forged", "message": "Hi"}, 403, "invalid_token"),
        ("invitations", "VISITOR|", 400, "invalid"),
        ("invitations", "VISITOR|page_visit=forged", 403, "invalid_token"),
        ("invitations/abcdefabcdefabcdefabcdefabcdef-abc/accept", "VISITOR|", 404, "not_found"),
        ("invitations/00000000-0000-0000-0000-000000000000/accept", "VISITOR|", 404, "not_found"),
        ("invitations/INVITATION/accept", "VISITOR|chat=[]", 400, "invalid"),
        ("invitations/INVITATION/accept", "STRANGER|", 404, "not_found"),
        ("invitations/INVITATION/dismiss", "STRANGER|", 404, "not_found"),
        ("invitations/INVITATION/accept", "VISITOR|late", 409, "invitation_closed"),
    ],
)
def test_bad_invitation_calls_get_a_clear_error_and_change_nothing(client, invitation, clock, path, body, status, code):
    # spec: PRO-4, PRO-7, WID-3
    if isinstance(body, str):
        who, extra = body.split("|")
        visitor = invitation.visitor if who == "VISITOR" else VisitorFactory(widget=invitation.widget)
        body = {"visitor_token": token(visitor)}
        if extra == "late":
            clock.shift(INVITATION_LIFETIME)
        elif extra == "chat=[]":
            body["chat"] = []
        elif extra == "page_visit=forged":
            body.update(message="Hi", page_visit="forged")
    path = path.replace("INVITATION", str(invitation.public_id))
    response = post(client, invitation.widget, path, body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert list(Invitation.objects.values_list("status", flat=True)) == ["shown"]
    assert not Conversation.objects.exists()


def test_invitation_calls_from_an_origin_not_allowed_are_refused(client, invitation):
    # spec: WID-3
    response = post(
        client,
        invitation.widget,
        f"invitations/{invitation.public_id}/accept",
        {"visitor_token": token(invitation.visitor)},
        origin="https://evil.example.com",
    )
    assert (response.status_code, response.json()["code"]) == (403, "origin_not_allowed")
    assert Invitation.objects.get().status == "shown"


def test_the_session_names_the_page_visit_for_the_visit_socket(client):
    # spec: WID-12, PRO-2
    widget = ChatWidgetFactory(proactive_enabled=True)
    response = post(client, widget, "session", {"url": "https://shop.example.com/checkout", "title": "Checkout"})
    body = response.json()
    from widgets.models import PageVisit
    from widgets.tokens import read_page_visit_token

    page_visit = PageVisit.objects.get()
    claim = read_page_visit_token(body["page_visit"])
    assert (claim.page_visit, claim.visitor) == (page_visit.public_id, page_visit.visitor.public_id)
    assert body["config"]["proactive_enabled"] is True
    assert "page_visit" not in post(client, widget, "session", {}).json()  # no URL, no visit
