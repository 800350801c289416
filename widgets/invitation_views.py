"""The widget's invitation endpoints (PRO-4, PRO-5, PRO-7; docs/live-chat-protocol.md).

Same edge as every widget call (:class:`widgets.views.WidgetApi`): origin checked, CORS, throttle,
errors as ``{"code", "message", "errors"?}``. A visitor acts only on their own invitations: the
visitor token says who they are, and another visitor's invitation is "not found".
"""

from __future__ import annotations

import uuid

from rest_framework import serializers, status
from rest_framework.response import Response

from core.errors import NotFound
from widgets.api import MAX_TOKEN_LENGTH, describe_user_agent
from widgets.models import PageVisit
from widgets.services import invitation_accept, invitation_dismiss, invitation_event, invitation_offer
from widgets.tokens import TokenError, read_page_visit_token
from widgets.views import WidgetApi, WidgetSessionApi


class InvitationCreateRequest(serializers.Serializer):
    visitor_token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)
    page_visit = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TOKEN_LENGTH)
    message = serializers.CharField(max_length=500)
    show_prechat = serializers.BooleanField(required=False, default=True)


class ChatRequest(serializers.Serializer):
    # The answers and variables themselves are checked by conversation_start (WID-6, WID-11).
    prechat = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    context = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)


class InvitationAcceptRequest(serializers.Serializer):
    visitor_token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)
    chat = ChatRequest(required=False)
    language = serializers.CharField(required=False, allow_blank=True, max_length=35)


class InvitationDismissRequest(serializers.Serializer):
    visitor_token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)


def invitation_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such invitation.") from None


def invitation_answer(invitation) -> dict:
    return {**invitation_event(invitation), "status": invitation.status}


class WidgetInvitationCreateApi(WidgetApi):
    """``POST invitations``: the host page invites the visitor through the SDK (PRO-7)."""

    def post(self, request, key):
        data = self.parse(InvitationCreateRequest, request.data)
        visitor = self.visitor_from(data["visitor_token"])
        page_visit = None
        if data.get("page_visit"):
            claim = read_page_visit_token(data["page_visit"])
            page_visit = PageVisit.objects.filter(public_id=claim.page_visit, visitor=visitor).first()
            if claim.visitor != visitor.public_id or page_visit is None:
                raise TokenError("The page visit token names no visit of this visitor.")
        invitation = invitation_offer(
            visitor=visitor, message=data["message"], page_visit=page_visit, show_prechat=data["show_prechat"]
        )
        return Response({"invitation": invitation_answer(invitation)}, status=status.HTTP_201_CREATED)


class WidgetInvitationAcceptApi(WidgetApi):
    """``POST invitations/<id>/accept``: the visitor accepts; with ``chat`` the chat starts (PRO-5)."""

    def post(self, request, key, invitation):
        data = self.parse(InvitationAcceptRequest, request.data)
        visitor = self.visitor_from(data["visitor_token"])
        _display, language = self.languages(data)
        user_agent = self.user_agent()
        accepted, conversation = invitation_accept(
            visitor=visitor,
            invitation_public_id=invitation_id(invitation),
            chat=data.get("chat"),
            language=language,
            user_agent=user_agent,
            **describe_user_agent(user_agent),
        )
        answer = {"invitation": invitation_answer(accepted)}
        if conversation is not None:
            conversation.refresh_from_db(fields=["status", "last_message_seq"])
            answer["conversation"] = WidgetSessionApi.conversation_answer(conversation, visitor)
        return Response(answer)


class WidgetInvitationDismissApi(WidgetApi):
    """``POST invitations/<id>/dismiss``: the visitor closed the invitation (PRO-4)."""

    def post(self, request, key, invitation):
        data = self.parse(InvitationDismissRequest, request.data)
        visitor = self.visitor_from(data["visitor_token"])
        dismissed = invitation_dismiss(visitor=visitor, invitation_public_id=invitation_id(invitation))
        return Response({"invitation": invitation_answer(dismissed)})
