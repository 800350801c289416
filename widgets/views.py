"""The widget's public HTTP endpoints (docs/live-chat-protocol.md; WID-3, WID-6, WID-8, WID-11..13, SUM-12).

They are called cross-origin by the widget script on customers' sites and carry no cookies:
who the browser is travels in signed tokens (:mod:`widgets.tokens`). Every call, preflight
included, must come from an origin on the widget's allowed domains; allowed origins get CORS
headers. Answers are JSON: ``{"code", "message", "errors"?}`` for every refusal, never a 500
for bad input.
"""

from __future__ import annotations

import logging

import redis
from django.http import Http404, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from kombu.exceptions import OperationalError as BrokerUnavailable
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from conversations.attachment_services import message_attach
from conversations.errors import ConversationError, ConversationValidationError
from conversations.models import Message
from conversations.offline import conversation_offline_message_record
from conversations.services import conversation_customer_end
from conversations.survey import conversation_survey_answer
from conversations.transcript import conversation_transcript_email, conversation_transcript_text
from core.errors import DomainError, Forbidden, NotFound
from core.limits import customer_message_retry_after
from core.security import parse_origin_header
from widgets import selectors
from widgets.api import (
    ActionRequest,
    AttachmentRequest,
    AvailabilityRequest,
    ChatEndRequest,
    ChatStartRequest,
    OfflineMessageRequest,
    SessionRequest,
    SurveyRequest,
    TranscriptEmailRequest,
    TranscriptRequest,
    conversation_answer,
    describe_user_agent,
)
from widgets.models import ChatWidget
from widgets.persistent import customer_chat_start, customer_conversation, session_conversation
from widgets.services import self_service_action_log, visitor_session_open
from widgets.tokens import TokenError, conversation_token, page_visit_token, visitor_token

logger = logging.getLogger(__name__)

PREFLIGHT_MAX_AGE = 600
#: Redis (throttle counts, channel layer, Celery broker) does not answer: the call is refused
#: with 503 before it changes anything when the throttle is the first to find out.
REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerUnavailable)
UNAVAILABLE_RETRY_AFTER = 5


class WidgetRefusal(exceptions.APIException):
    """A refusal with the protocol's stable code (origin not allowed, unknown widget, …)."""

    def __init__(self, status_code: int, code: str, message: str):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.refusal_code = code


class PlainTextJSONParser(JSONParser):
    """JSON sent as ``text/plain``: the widget posts that way so browsers skip the CORS preflight."""

    media_type = "text/plain"


class WidgetThrottle(SimpleRateThrottle):
    """Per client address and widget, at the ``widget`` scope's rate (SEC-3).

    The client address is DRF's ``get_ident`` (:func:`core.security.client_address`):
    ``X-Forwarded-For`` counts only behind the ``NUM_PROXIES`` trusted proxies.

    The rate is read on every request (DRF reads it once at import), so a settings change —
    in tests, or a reloaded configuration — takes effect.
    """

    scope = "widget"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": f"{self.scope}_{view.kwargs.get('key')}", "ident": self.get_ident(request)}


def error_answer(exc, context):
    """Every refusal in the protocol's shape: ``{"code", "message", "errors"?}``."""
    if isinstance(exc, REDIS_UNAVAILABLE):
        logger.warning("Widget call refused with 503, Redis is unavailable: %s", exc)
        response = Response(
            {"code": "unavailable", "message": gettext("The chat is briefly unavailable. Try again in a few seconds.")},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
        return response
    if isinstance(exc, WidgetRefusal):
        return Response({"code": exc.refusal_code, "message": str(exc.detail)}, status=exc.status_code)
    if isinstance(exc, TokenError):
        return Response({"code": exc.code, "message": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ConversationValidationError):
        return Response(
            {"code": "invalid", "message": exc.message, "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, NotFound | Http404):
        return Response({"code": "not_found", "message": str(exc) or "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Forbidden):
        return Response({"code": exc.code, "message": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "message": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            {"code": "invalid", "message": "Some fields are invalid.", "errors": exc.detail},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"code": "invalid", "message": "The body is not valid JSON.", "errors": {"body": [str(exc.detail)]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        response = Response(
            {"code": "throttled", "message": f"Too many requests; try again in {wait} seconds."},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response["Retry-After"] = str(wait)
        return response
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        return Response(
            {"code": codes if isinstance(codes, str) else "error", "message": str(exc.detail)},
            status=exc.status_code,
        )
    return None


class WidgetApi(APIView):
    """The shared edge of the widget endpoints: widget lookup, origin check, CORS, throttle, errors."""

    authentication_classes: list = []  # no cookies, no sessions: so no CSRF either
    permission_classes: list = []
    throttle_classes = [WidgetThrottle]
    parser_classes = [JSONParser, PlainTextJSONParser]
    renderer_classes = [JSONRenderer]

    widget = None
    allowed_origin: str | None = None
    refused_origin: str | None = None

    def get_exception_handler(self):
        return error_answer

    def initial(self, request, *args, **kwargs):
        self.widget = selectors.widget_for_key(kwargs["key"])
        if self.widget is None:
            raise WidgetRefusal(404, "widget_not_found", "This chat widget does not exist or is switched off.")
        origin = request.headers.get("Origin")
        # WID-3: checked before anything is read or written, for preflights too.
        if not selectors.widget_allows_origin(self.widget, origin):
            # The refusal itself may be read by the page, so the host site learns why it has no chat;
            # a header that is no origin at all is not a page's, and is not echoed back.
            if origin == "null" or parse_origin_header(origin) is not None:
                self.refused_origin = origin
            raise WidgetRefusal(403, "origin_not_allowed", "This site is not on the chat widget's allowed domains.")
        self.allowed_origin = origin
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ["Origin"])
        response["Cache-Control"] = "no-store"  # answers carry tokens
        if self.allowed_origin or self.refused_origin:
            response["Access-Control-Allow-Origin"] = self.allowed_origin or self.refused_origin
        return response

    def options(self, request, *args, **kwargs):
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Access-Control-Allow-Methods"] = ", ".join(
            method for method in ("GET", "POST", "OPTIONS") if hasattr(self, method.lower())
        )
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response

    # --- shared parsing ------------------------------------------------------------------------
    def parse(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def visitor_from(self, token: str):
        return selectors.visitor_for_token(self.widget, token)

    def languages(self, data: dict) -> tuple[str, str]:
        """(the widget's display language, the visitor's own language) — I18N-1, WID-13."""
        sent, header = data.get("language"), self.request.headers.get("Accept-Language")
        display = self.widget.language or selectors.supported_language(sent, header)
        return display, selectors.visitor_language(sent, header)

    def user_agent(self) -> str:
        return self.request.headers.get("User-Agent", "")[:500]


class WidgetSessionApi(WidgetApi):
    """``POST session``: who this browser is, how the widget looks, and any chat to resume (WID-12)."""

    def post(self, request, key):
        data = self.parse(SessionRequest, request.data)
        try:
            visitor = self.visitor_from(data["visitor_token"]) if data.get("visitor_token") else None
        except TokenError:
            visitor = None  # a stale or foreign token: this browser starts afresh
        display_language, visitor_language = self.languages(data)
        visitor = visitor_session_open(
            widget=self.widget,
            visitor=visitor,
            language=visitor_language,
            user_agent=self.user_agent(),
            url=data.get("url", ""),
            title=data.get("title", ""),
        )
        questions = selectors.widget_prechat_questions(self.widget)
        answer = {
            "visitor_token": visitor_token(visitor_public_id=visitor.public_id, widget_key=self.widget.public_key),
            "config": selectors.widget_config(self.widget, language=display_language, questions=questions),
        }
        if visitor.page_visit is not None:  # what the page's visit socket names (PRO-2)
            answer["page_visit"] = page_visit_token(
                page_visit_public_id=visitor.page_visit.public_id, visitor_public_id=visitor.public_id
            )
        # Persistent chat: the signed-in customer's conversation, from any browser (PER-3).
        conversation, refusal = session_conversation(
            widget=self.widget, visitor=visitor, auth_token=data.get("auth_token")
        )
        if conversation is not None:
            answer["conversation"] = self.conversation_answer(conversation, visitor)
        if refusal is not None:  # the widget still loads; the host page gets an error event (AUTH-3)
            answer["auth_error"] = {"code": refusal.code, "message": refusal.message}
        return Response(answer)

    @staticmethod
    def conversation_answer(conversation, visitor) -> dict:
        token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
        return conversation_answer(conversation, token=token)


class WidgetChatStartApi(WidgetApi):
    """``POST chats``: the customer answered the pre-chat survey; start and route the chat (LIVE-1)."""

    def post(self, request, key):
        data = self.parse(ChatStartRequest, request.data)
        visitor = self.visitor_from(data["visitor_token"])
        _display, language = self.languages(data)
        user_agent = self.user_agent()
        # A second submit (double click, second tab, another device of a signed-in customer)
        # resumes the chat already under way; a refused sign-in token creates nothing (AUTH-3).
        conversation, created = customer_chat_start(
            widget=self.widget,
            visitor=visitor,
            auth_token=data.get("auth_token"),
            context=data["context"],
            prechat_answers=data["prechat"],
            page_url=data.get("url", ""),
            language=language,
            user_agent=user_agent,
            **describe_user_agent(user_agent),
        )
        if not created:
            return Response({"conversation": WidgetSessionApi.conversation_answer(conversation, visitor)})
        # The service's own messages (LIVE-1) were numbered on another instance of the row.
        conversation.refresh_from_db(fields=["status", "last_message_seq"])
        return Response(
            {"conversation": WidgetSessionApi.conversation_answer(conversation, visitor)},
            status=status.HTTP_201_CREATED,
        )


class WidgetAvailabilityApi(WidgetApi):
    """``GET availability``: may the host page promise a quick answer (WID-8)?"""

    def get(self, request, key):
        data = self.parse(AvailabilityRequest, request.query_params)
        visitor = self.visitor_from(data["visitor_token"]) if data.get("visitor_token") else None
        return Response(selectors.widget_availability(self.widget, visitor=visitor))


class WidgetOfflineMessageApi(WidgetApi):
    """``POST offline``: nobody can answer, and the widget offers the offline form (LIVE-4): the
    message becomes a case an agent of the widget's queue finds. Refused (``409
    offline_form_off``) by a widget that offers no form."""

    def post(self, request, key):
        data = self.parse(OfflineMessageRequest, request.data)
        visitor = self.visitor_from(data["visitor_token"])
        if self.widget.is_persistent or self.widget.when_unavailable != ChatWidget.WhenUnavailable.OFFLINE_FORM:
            raise DomainError(gettext("This chat widget takes no offline messages."), code="offline_form_off")
        _display, language = self.languages(data)
        conversation = conversation_offline_message_record(
            widget=self.widget,
            visitor=visitor,
            name=data["name"],
            email=data["email"],
            text=data["message"],
            language=language,
            page_url=data.get("url", ""),
        )
        return Response({"received": True, "case": conversation.case.pk}, status=status.HTTP_201_CREATED)


class WidgetSurveyApi(WidgetApi):
    """``POST survey``: the customer answers the post-chat survey of their own ended chat."""

    def post(self, request, key):
        data = self.parse(SurveyRequest, request.data)
        conversation = customer_conversation(widget=self.widget, token=data["token"], auth_token=data.get("auth_token"))
        survey = conversation_survey_answer(
            conversation_id=conversation.pk,
            scale=self.widget.survey_rating,
            rating=data["rating"],
            comment=data["comment"] if self.widget.survey_comment else "",
            questions=selectors.widget_postchat_labels(self.widget),
            answers=data["answers"],
        )
        return Response({"rating": survey.rating, "scale": survey.scale}, status=status.HTTP_201_CREATED)


class WidgetTranscriptApi(WidgetApi):
    """``GET transcript``: the customer's own conversation as a plain-text download (issue 16)."""

    def get(self, request, key):
        data = self.parse(TranscriptRequest, request.query_params)
        conversation = customer_conversation(widget=self.widget, token=data["token"], auth_token=data.get("auth_token"))
        display, _language = self.languages({})
        text = conversation_transcript_text(conversation, language=display)
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="chat-transcript.txt"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


class WidgetTranscriptEmailApi(WidgetApi):
    """``POST transcript/email``: the transcript by email, where outbound mail is configured;
    once per conversation in ``TRANSCRIPT_EMAIL_INTERVAL_SECONDS`` (``409 throttled``)."""

    def post(self, request, key):
        data = self.parse(TranscriptEmailRequest, request.data)
        conversation = customer_conversation(widget=self.widget, token=data["token"], auth_token=data.get("auth_token"))
        display, _language = self.languages({})
        conversation_transcript_email(conversation=conversation, to=data["email"], language=display)
        return Response({"sent": True}, status=status.HTTP_202_ACCEPTED)


class WidgetActionApi(WidgetApi):
    """``POST actions``: a self-service action the host page reports (SUM-12)."""

    def post(self, request, key):
        data = self.parse(ActionRequest, request.data)
        visitor = self.visitor_from(data["visitor_token"])
        conversation = selectors.visitor_unfinished_conversation(visitor)
        action = self_service_action_log(
            visitor=visitor,
            kind=data["kind"],
            title=data["title"],
            url=data.get("url", ""),
            conversation_id=conversation.pk if conversation else None,
        )
        return Response(
            {"kind": action.kind, "title": action.title, "occurred_at": action.occurred_at.isoformat()},
            status=status.HTTP_201_CREATED,
        )


class WidgetAttachmentApi(WidgetApi):
    """``POST attachments`` (multipart: ``token``, ``file``, ``client_id``?, ``auth_token``?): the
    customer sends a file in their chat (issue 16). It counts in the customer's message budget; a
    retry with the same ``client_id`` stores it once (``200`` instead of ``201``). The message
    arrives on the socket like any other. A refused file changes nothing: ``413
    attachment_too_large``, ``400 attachment_type_not_allowed`` / ``attachment_empty``."""

    parser_classes = [MultiPartParser]

    def post(self, request, key):
        data = self.parse(AttachmentRequest, request.data)
        conversation = customer_conversation(widget=self.widget, token=data["token"], auth_token=data.get("auth_token"))
        retry_after = customer_message_retry_after(conversation_id=conversation.pk)
        if retry_after is not None:
            raise exceptions.Throttled(wait=retry_after)
        try:
            message, created = message_attach(
                conversation_id=conversation.pk,
                sender=Message.Sender.CUSTOMER,
                upload=data["file"],
                client_id=data.get("client_id"),
            )
        except ConversationError as refused:
            if not refused.code.startswith("attachment_"):
                raise
            too_large = refused.code == "attachment_too_large"
            return Response(
                {"code": refused.code, "message": refused.message},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_large else status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"seq": message.seq, "client_id": message.client_id},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class WidgetChatEndApi(WidgetApi):
    """``POST chats/end``: the customer ends their live chat (LIVE-3) — refused for persistent chat,
    which only an agent ends (PER-4: ``409 end_not_allowed``, nothing changes)."""

    def post(self, request, key):
        data = self.parse(ChatEndRequest, request.data)
        conversation = customer_conversation(widget=self.widget, token=data["token"], auth_token=data.get("auth_token"))
        conversation = conversation_customer_end(conversation_id=conversation.pk)
        return Response({"conversation": {"id": str(conversation.public_id), "status": conversation.status}})
