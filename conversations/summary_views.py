"""The customer summary's endpoints in the agent workspace (SUM-2..17).

The conversation page (conversations.views) renders the summary; its script (summary.js) reads
and changes it through these JSON endpoints, under the page's own URL. Each parses its input,
checks that the agent was given the conversation (else 404), calls one service or selector and
answers JSON: the new summary, a timeline page, search results or ``{code, message, errors?}``
with a 4xx. Nothing here holds a business rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from conversations import customer_links as services
from conversations import summary
from conversations.views import agent_required
from conversations.workspace import conversations_readable_by
from core.api import MAX_ID
from core.errors import DomainError, Forbidden, NotFound
from customers.api.serializers import (
    CustomerSummarySerializer,
    LinkInputSerializer,
    MatchConfirmInputSerializer,
    NewAccountInputSerializer,
    NewCaseInputSerializer,
    NewContactInputSerializer,
    QuickNoteInputSerializer,
    SearchParamsSerializer,
    SkillsInputSerializer,
    TimelinePageSerializer,
    TimelineParamsSerializer,
)

NEW_RECORD_INPUT = {
    "contact": NewContactInputSerializer,
    "account": NewAccountInputSerializer,
    "case": NewCaseInputSerializer,
}


class BadInput(Exception):
    def __init__(self, errors):
        super().__init__("invalid input")
        self.errors = errors


def _error(code: str, message: str, status: int, errors=None) -> JsonResponse:
    body = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def summary_endpoint(view: Callable) -> Callable:
    """Signed-in agents only; the conversation must be one they may read (its page opens); changes
    are checked by the services (the holder, a supervisor); errors become JSON 4xx."""

    @agent_required
    @wraps(view)
    def wrapped(request: HttpRequest, conversation_id: int, *args, **kwargs) -> JsonResponse:
        try:
            if conversation_id > MAX_ID:
                raise NotFound("No such conversation.")
            conversations = conversations_readable_by(request.user, request.agent)  # changes check the holder
            return view(request, conversations, conversation_id, *args, **kwargs)
        except BadInput as exc:
            return _error("invalid", "Some fields need attention.", 400, exc.errors)
        except summary.SummaryError as exc:
            return _error(exc.code, exc.message, 400)
        except DjangoValidationError as exc:
            errors = serializers.as_serializer_error(exc)
            errors["non_field_errors"] = errors.pop(NON_FIELD_ERRORS, [])
            return _error("invalid", "Some fields need attention.", 400, errors)
        except NotFound as exc:
            return _error(exc.code, exc.message, 404)
        except Forbidden as exc:
            return _error(exc.code, exc.message, 403)
        except DomainError as exc:
            return _error(exc.code, exc.message, 409)

    return wrapped


def _parse(serializer_class, data) -> dict:
    parser = serializer_class(data=data)
    if not parser.is_valid():
        raise BadInput(parser.errors)
    return parser.validated_data


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadInput({"non_field_errors": ["Send a JSON object."]}) from None
    if not isinstance(data, dict):
        raise BadInput({"non_field_errors": ["Send a JSON object."]})
    return data


def _change_input(request: HttpRequest, conversations, conversation_id: int, serializer_class) -> dict:
    """The checked body of a change to one of ``conversations`` (else a 400, then a 404)."""
    data = _parse(serializer_class, _body(request))
    summary.summary_conversation(conversations, conversation_id)
    return data


def _summary(request: HttpRequest, conversations, conversation_id: int) -> JsonResponse:
    data = summary.customer_summary(conversations, conversation_id, user=request.user)
    return JsonResponse(CustomerSummarySerializer(data).data)


@require_GET
@summary_endpoint
def summary_read(request, conversations, conversation_id):
    """The whole summary, which the page re-reads when ``summary.changed`` arrives (SUM-9)."""
    return _summary(request, conversations, conversation_id)


@require_GET
@summary_endpoint
def timeline(request, conversations, conversation_id):
    """A page of a linked record's timeline (SUM-16, SUM-17)."""
    params = _parse(TimelineParamsSerializer, request.GET)
    conversation = summary.summary_conversation(conversations, conversation_id)
    page = summary.timeline_page(
        conversation, record_kind=params["record"], cursor=params.get("cursor"), limit=params["limit"]
    )
    return JsonResponse(TimelinePageSerializer(page).data)


@require_GET
@summary_endpoint
def search(request, conversations, conversation_id):
    """Contacts, accounts or cases to link (SUM-4, SUM-14): at most ten."""
    params = _parse(SearchParamsSerializer, request.GET)
    summary.summary_conversation(conversations, conversation_id)
    results = summary.record_search(params["kind"], params["q"])
    return JsonResponse({"results": [{"kind": r.kind, "id": r.id, "label": r.label} for r in results]})


@require_POST
@summary_endpoint
def link(request, conversations, conversation_id):
    data = _change_input(request, conversations, conversation_id, LinkInputSerializer)
    services.conversation_record_link(
        conversation_id=conversation_id, kind=data["kind"], record_id=data["id"], by=request.user
    )
    return _summary(request, conversations, conversation_id)


@require_POST
@summary_endpoint
def unlink(request, conversations, conversation_id, kind):
    summary.summary_conversation(conversations, conversation_id)
    if kind not in summary.RECORD_KINDS:
        raise NotFound("Unlink the contact, the account or the case.")
    services.conversation_record_unlink(conversation_id=conversation_id, kind=kind, by=request.user)
    return _summary(request, conversations, conversation_id)


@require_POST
@summary_endpoint
def create(request, conversations, conversation_id, kind):
    """Create a contact, an account or a case in place and link it (SUM-4, SUM-14)."""
    if kind not in NEW_RECORD_INPUT:
        raise NotFound("Create a contact, an account or a case.")
    fields = _change_input(request, conversations, conversation_id, NEW_RECORD_INPUT[kind])
    services.conversation_record_create(conversation_id=conversation_id, kind=kind, fields=fields, by=request.user)
    return _summary(request, conversations, conversation_id)


@require_POST
@summary_endpoint
def quick_note(request, conversations, conversation_id):
    """A quick note on a linked record (SUM-16); answers the first page of that record's timeline."""
    data = _change_input(request, conversations, conversation_id, QuickNoteInputSerializer)
    services.conversation_quick_note(
        conversation_id=conversation_id, record_kind=data["record"], text=data["text"], by=request.user
    )
    conversation = summary.summary_conversation(conversations, conversation_id)
    page = summary.timeline_page(conversation, record_kind=data["record"])
    return JsonResponse(TimelinePageSerializer(page).data, status=201)


@require_POST
@summary_endpoint
def skills(request, conversations, conversation_id):
    """Set the conversation's skills when the admin lets agents (SUM-7)."""
    data = _change_input(request, conversations, conversation_id, SkillsInputSerializer)
    services.conversation_skills_set(conversation_id=conversation_id, skill_ids=data["skills"], by=request.user)
    return _summary(request, conversations, conversation_id)


@require_POST
@summary_endpoint
def match_confirm(request, conversations, conversation_id):
    """The agent confirms the possible match: the suggested contact is linked (SUM-5)."""
    data = _change_input(request, conversations, conversation_id, MatchConfirmInputSerializer)
    services.conversation_match_confirm(conversation_id=conversation_id, contact_id=data["contact"], by=request.user)
    return _summary(request, conversations, conversation_id)
