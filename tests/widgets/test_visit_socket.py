"""The page's visit socket through the real ASGI server, on the in-memory layer and on real Redis:
heartbeats in, the visitor's invitations out (PRO-2, PRO-3, PRO-4, WID-3, WID-12)."""

import json
from datetime import timedelta

import pytest
from websockets.exceptions import InvalidStatus

from tests.widgets.factories import InvitationFactory, PageVisitFactory, ProactiveRuleFactory
from tests.widgets.widget_socket import open_visit_socket, page_visit_of, receive, visit_frame
from widgets.models import Invitation
from widgets.services import invitation_dismiss, invitations_expire_overdue

pytestmark = pytest.mark.embedded


def test_a_rule_invites_over_the_socket_and_the_close_is_pushed(layer, asgi_server):
    # spec: PRO-2, PRO-3, PRO-4 — the server decides and pushes; the page shows it and hides it
    rule = ProactiveRuleFactory(time_on_page_seconds=10, trigger_message="<b>Need help?</b>")
    page_visit = page_visit_of(rule, seconds_ago=3)
    with open_visit_socket(asgi_server, rule.widget) as ws:
        ws.send(json.dumps({**visit_frame(page_visit), "ref": "v1"}))
        visiting = receive(ws)
        assert visiting["type"] == "visiting" and visiting["invitation"] is None and visiting["ref"] == "v1"
        assert 6 <= visiting["next_heartbeat"] <= 7  # asked back when the rule can match
        # Seven seconds later by the server's clock (moved in the database, not claimed by the page).
        page_visit.started_at -= timedelta(seconds=7)
        page_visit.save(update_fields=["started_at"])
        ws.send(json.dumps({"type": "heartbeat"}))
        frames = [receive(ws), receive(ws)]
        invitation = Invitation.objects.get()
        assert frames[0]["type"] == "heartbeat.ack"
        assert frames[1] == {
            "type": "invitation.shown",
            "invitation": {
                "id": str(invitation.public_id),
                "message": "<b>Need help?</b>",
                "show_prechat": True,
                "shown_at": invitation.shown_at.isoformat(),
                "expires_at": invitation.expires_at.isoformat(),
            },
        }
        invitation_dismiss(visitor=page_visit.visitor, invitation_public_id=invitation.public_id)
        assert receive(ws) == {
            "type": "invitation.closed",
            "invitation": str(invitation.public_id),
            "status": "dismissed",
        }


def test_a_reloaded_page_finds_the_open_invitation_and_then_finds_it_closed(layer, asgi_server, time_machine):
    # spec: PRO-4 — a reload or a lost network still ends with the invitation closed
    rule = ProactiveRuleFactory(time_on_page_seconds=3600)
    page_visit = page_visit_of(rule)
    invitation = InvitationFactory(visitor=page_visit.visitor, rule=rule, page_visit=page_visit)
    with open_visit_socket(asgi_server, rule.widget) as ws:
        ws.send(json.dumps(visit_frame(page_visit)))
        assert receive(ws)["invitation"]["id"] == str(invitation.public_id)
    # The page was gone when the minute ran out: the expiry was not pushed to it.
    Invitation.objects.filter(pk=invitation.pk).update(
        shown_at=invitation.shown_at - timedelta(minutes=1), expires_at=invitation.expires_at - timedelta(minutes=1)
    )
    assert invitations_expire_overdue() == 1
    reloaded = PageVisitFactory(visitor=page_visit.visitor, url=page_visit.url)
    with open_visit_socket(asgi_server, rule.widget) as ws:
        ws.send(json.dumps(visit_frame(reloaded)))
        answer = receive(ws)
        assert answer["type"] == "visiting" and answer["invitation"] is None
        assert Invitation.objects.get(pk=invitation.pk).status == "expired"


def test_a_visitor_hears_only_their_own_invitations(in_memory_layer, asgi_server):
    # spec: PRO-3, SEC-1
    rule = ProactiveRuleFactory(time_on_page_seconds=3600)
    mine, theirs = page_visit_of(rule), page_visit_of(rule)
    with open_visit_socket(asgi_server, rule.widget) as ws:
        ws.send(json.dumps(visit_frame(mine)))
        assert receive(ws)["type"] == "visiting"
        other = InvitationFactory(visitor=theirs.visitor)
        invitation_dismiss(visitor=theirs.visitor, invitation_public_id=other.public_id)
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "heartbeat"}, "not_visiting"),
        ({"type": "visit"}, "invalid"),
        ({"type": "visit", "visitor_token": "forged", "page_visit": "forged"}, "invalid_token"),
        ("VISITOR_WITH_FORGED_PAGE", "invalid_token"),
        ("ANOTHER_VISITORS_PAGE", "not_found"),
        ({"type": "visit.forge", "seconds_on_page": 999}, "unknown_type"),
        ("not json", "bad_json"),
    ],
)
def test_bad_frames_get_an_error_frame_and_the_socket_stays_open(in_memory_layer, asgi_server, frame, code):
    # spec: PRO-2 — nothing the page sends can make a rule match; bad input is answered, not dropped
    rule = ProactiveRuleFactory(time_on_page_seconds=3600)
    page_visit = page_visit_of(rule)
    if frame == "VISITOR_WITH_FORGED_PAGE":
        frame = {**visit_frame(page_visit), "page_visit": "forged"}
    elif frame == "ANOTHER_VISITORS_PAGE":
        frame = {**visit_frame(page_visit), "page_visit": visit_frame(page_visit_of(rule))["page_visit"]}
    with open_visit_socket(asgi_server, rule.widget) as ws:
        ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", code)
        assert not Invitation.objects.exists()
        ws.send(json.dumps(visit_frame(page_visit)))  # still usable
        assert receive(ws)["type"] == "visiting"
        ws.send(json.dumps(visit_frame(page_visit)))
        assert receive(ws)["code"] == "already_visiting"


def test_a_page_of_an_origin_not_allowed_cannot_open_the_visit_socket(in_memory_layer, asgi_server):
    # spec: WID-3
    rule = ProactiveRuleFactory()
    with pytest.raises(InvalidStatus) as refused:
        open_visit_socket(asgi_server, rule.widget, origin="https://evil.example.com")
    assert refused.value.response.status_code == 403
    with open_visit_socket(asgi_server, rule.widget) as ws:  # while the allowed origin gets in
        ws.send(json.dumps({"type": "heartbeat"}))
        assert receive(ws)["code"] == "not_visiting"
