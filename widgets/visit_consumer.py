"""The page's visit socket, ``/ws/widget/<widget key>/visit/`` (PRO-2..4, WID-12).

While a page with the widget is open and proactive chat is on, the widget keeps this socket:
it names its visit once (``visit``, with the signed visitor and page-visit tokens), then sends a
``heartbeat`` when the server asks for one. The server measures the time on the page itself,
decides whether a rule invites (:func:`widgets.services.page_visit_heartbeat`) and pushes the
visitor's invitations as they open and close, to every page of that visitor. Nothing the page
sends can make a rule match. Frames as in docs/live-chat-protocol.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.utils import timezone
from pydantic import Field

from core.consumers import FrameConsumer, FrameError
from core.errors import NotFound
from core.frames import Frame, Text
from core.realtime import visitor_group
from core.security import scope_origin
from widgets import selectors
from widgets.api import MAX_TOKEN_LENGTH
from widgets.models import Invitation, PageVisit
from widgets.services import invitation_event, page_visit_heartbeat
from widgets.tokens import read_page_visit_token


class VisitFrame(Frame):
    visitor_token: Annotated[Text, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
    page_visit: Annotated[Text, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]


def open_invitation(visitor_id: int) -> Invitation | None:
    """The visitor's invitation still inside its minute, if any: what a (re)loaded page shows."""
    return (
        Invitation.objects.filter(visitor_id=visitor_id, status=Invitation.Status.SHOWN, expires_at__gt=timezone.now())
        .order_by("-shown_at")
        .first()
    )


class VisitConsumer(FrameConsumer):
    """Heartbeats in → :func:`page_visit_heartbeat`; the visitor's invitation events → frames out.

    Only a page of one of the widget's allowed origins may connect (WID-3, 4403 otherwise).
    """

    frames = {"visit": VisitFrame, "heartbeat": Frame}

    widget = None
    page_visit_id: int | None = None

    def connect(self):
        self.widget = selectors.widget_for_key(self.scope["url_route"]["kwargs"]["key"])
        if self.widget is None or not selectors.widget_allows_origin(self.widget, scope_origin(self.scope)):
            self.close(code=4403)
            return
        self.accept()

    @database_sync_to_async
    def dispatch(self, message):
        # Only the invitation events are for this socket; anything else sent to the group is not.
        handler = getattr(self, get_handler_name(message), None)
        if handler is not None:
            handler(message)

    def reply(self, frame: dict[str, Any], answer: dict[str, Any]) -> None:
        if "ref" in frame:
            answer["ref"] = frame["ref"]
        self.send_json(answer)

    # --- frames in ------------------------------------------------------------------------
    def frame_visit(self, frame):
        if self.page_visit_id is not None:
            raise FrameError("already_visiting", "This socket already reports a page visit.")
        visitor = selectors.visitor_for_token(self.widget, frame["visitor_token"])
        claim = read_page_visit_token(frame["page_visit"])
        page_visit = PageVisit.objects.filter(public_id=claim.page_visit, visitor=visitor).first()
        if claim.visitor != visitor.public_id or page_visit is None:
            raise NotFound("No such page visit.")  # another visitor's visit looks the same as none
        self.hold_visitor_socket(kind="visit", visitor_id=visitor.pk)
        self.join(visitor_group(visitor.pk))
        self.page_visit_id = page_visit.pk
        beat = page_visit_heartbeat(page_visit_id=page_visit.pk)
        invitation = open_invitation(visitor.pk)
        self.reply(
            frame,
            {
                "type": "visiting",
                "invitation": invitation_event(invitation) if invitation else None,
                "next_heartbeat": round(beat.next_heartbeat_seconds, 2),
            },
        )

    def frame_heartbeat(self, frame):
        if self.page_visit_id is None:
            raise FrameError("not_visiting", "Send a visit frame first.")
        beat = page_visit_heartbeat(page_visit_id=self.page_visit_id)
        self.reply(frame, {"type": "heartbeat.ack", "next_heartbeat": round(beat.next_heartbeat_seconds, 2)})

    # --- events out -----------------------------------------------------------------------
    def invitation_shown(self, event):
        self.send_json({"type": "invitation.shown", "invitation": event["invitation"]})

    def invitation_closed(self, event):
        self.send_json({"type": "invitation.closed", "invitation": event["id"], "status": event["status"]})
