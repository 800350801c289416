"""Request and response shapes of the widget's public endpoints (docs/live-chat-protocol.md).

Input serializers check the shape of what a browser sends; the rules about pre-chat answers
and context variables belong to ``conversations.services.conversation_start``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from conversations.errors import ConversationError
from conversations.models import Conversation
from conversations.services import message_validate_text
from widgets.models import SelfServiceAction

MAX_TOKEN_LENGTH = 500
#: The customer's sign-in JWT (AUTH-2): RSA signatures make these long.
MAX_AUTH_TOKEN_LENGTH = 8192


class SessionRequest(serializers.Serializer):
    visitor_token = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TOKEN_LENGTH)
    url = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    language = serializers.CharField(required=False, allow_blank=True, max_length=35)
    auth_token = serializers.CharField(required=False, allow_blank=True, max_length=MAX_AUTH_TOKEN_LENGTH)


class ChatStartRequest(serializers.Serializer):
    visitor_token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)
    # The answers and variables themselves are checked by conversation_start (WID-6, WID-11).
    prechat = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    context = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    url = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    language = serializers.CharField(required=False, allow_blank=True, max_length=35)
    auth_token = serializers.CharField(required=False, allow_blank=True, max_length=MAX_AUTH_TOKEN_LENGTH)


class ChatEndRequest(serializers.Serializer):
    token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)
    auth_token = serializers.CharField(required=False, allow_blank=True, max_length=MAX_AUTH_TOKEN_LENGTH)


class AttachmentRequest(serializers.Serializer):
    """A file the customer sends (multipart, issue 16): its type and size are checked from the content."""

    token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)
    auth_token = serializers.CharField(required=False, allow_blank=True, max_length=MAX_AUTH_TOKEN_LENGTH)
    client_id = serializers.CharField(required=False, min_length=1, max_length=64)
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class AvailabilityRequest(serializers.Serializer):
    visitor_token = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TOKEN_LENGTH)


class ActionRequest(serializers.Serializer):
    visitor_token = serializers.CharField(max_length=MAX_TOKEN_LENGTH)
    kind = serializers.ChoiceField(choices=SelfServiceAction.Kind.choices)
    title = serializers.CharField(max_length=300)
    url = serializers.URLField(required=False, allow_blank=True, max_length=2000)


class TextField(serializers.CharField):
    """A string and nothing else: a number or a list is refused, not turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class OfflineMessageRequest(serializers.Serializer):
    """The offline form (LIVE-4): who to answer, by email, and what they asked."""

    visitor_token = TextField(max_length=MAX_TOKEN_LENGTH)
    name = TextField(max_length=100)
    email = serializers.EmailField(max_length=254)
    message = TextField(trim_whitespace=False)
    url = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    language = serializers.CharField(required=False, allow_blank=True, max_length=35)

    def validate_message(self, value: str) -> str:
        try:
            return message_validate_text(value)  # the message rules (CONV-2a)
        except ConversationError as error:
            raise serializers.ValidationError(error.message, code=error.code) from None


class SurveyRequest(serializers.Serializer):
    """The post-chat survey's answers; the rules (ended, once, on the scale) are the service's."""

    token = TextField(max_length=MAX_TOKEN_LENGTH)
    auth_token = TextField(required=False, allow_blank=True, max_length=MAX_AUTH_TOKEN_LENGTH)
    rating = serializers.JSONField()
    comment = TextField(required=False, allow_blank=True, max_length=2000, default="")
    answers = serializers.ListField(child=TextField(allow_blank=True, max_length=500), required=False, default=list)

    def validate_rating(self, value):
        if type(value) is not int:  # exact types: not "5", not 5.0, not true
            raise serializers.ValidationError("A whole number.", code="invalid")
        return value


class TranscriptRequest(serializers.Serializer):
    token = TextField(max_length=MAX_TOKEN_LENGTH)
    auth_token = TextField(required=False, allow_blank=True, max_length=MAX_AUTH_TOKEN_LENGTH)


class TranscriptEmailRequest(TranscriptRequest):
    email = serializers.EmailField(max_length=254)


def conversation_answer(conversation: Conversation, *, token: str) -> dict[str, Any]:
    """How a conversation is named to its customer: public id, token, status, last sequence number."""
    return {
        "id": str(conversation.public_id),
        "token": token,
        "status": conversation.status,
        "last_seq": conversation.last_message_seq,
    }


#: Operating systems that only run on desktops and laptops, so a UA with no device is a computer.
DESKTOP_SYSTEMS = frozenset({"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD", "Debian"})


def describe_user_agent(user_agent: str) -> dict[str, str]:
    """Browser, operating system and device of a User-Agent string, for visitor details (WID-13)."""
    from ua_parser import parse  # loads its rules on first use; only chat starts need it

    result = parse(user_agent[:1000]) if user_agent else None
    if result is None:
        return {"browser": "", "operating_system": "", "device": ""}

    def named(part) -> str:
        if part is None or not part.family or part.family == "Other":
            return ""
        version = ".".join(v for v in (part.major, part.minor) if v)
        return f"{part.family} {version}".strip()

    os_name = result.os.family if result.os else ""
    if result.device and result.device.family and result.device.family != "Other":
        device = result.device.family
    else:
        device = "Desktop" if os_name in DESKTOP_SYSTEMS else ""
    return {"browser": named(result.user_agent), "operating_system": named(result.os), "device": device}
