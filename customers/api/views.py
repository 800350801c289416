"""Contacts, accounts, cases and notes in the developer API (API-1).

An agent reads and writes the records they reach through the conversations they may see;
supervisors and admins all (``records_visible_to``, SEC-1). Any other record is a 404, as if it
did not exist, and naming one in a body is a 400. Notes are changed or deleted only by their
author or an admin.
Each write parses the input, calls one service and renders the saved record; a rule the
record breaks comes back as 400 with field errors and nothing saved (REL-3).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from agents.permissions import IsAgentOrAdmin
from conversations.selectors import access_conversation, conversations_visible_to
from core.api import MAX_ID
from core.errors import NotFound
from customers import selectors, services, summary
from customers.api import filters
from customers.api.serializers import (
    AccountInputSerializer,
    AccountSerializer,
    CaseInputSerializer,
    CaseSerializer,
    ContactInputSerializer,
    ContactSerializer,
    CustomerSummarySerializer,
    LinkInputSerializer,
    NoteInputSerializer,
    NoteSerializer,
    NoteUpdateInputSerializer,
    QuickNoteInputSerializer,
    SkillsInputSerializer,
    TimelinePageSerializer,
    TimelineParamsSerializer,
)
from customers.summary import SummaryError

INVALID = OpenApiResponse(description="Invalid input: field errors, nothing changed.")


@contextmanager
def rules_as_field_errors() -> Iterator[None]:
    """Turn a model rule broken in a service (Django's ValidationError) into a 400 with field errors."""
    try:
        yield
    except DjangoValidationError as exc:
        detail = serializers.as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        raise serializers.ValidationError(detail) from None


def write_schema(*, input_serializer, output_serializer):
    """OpenAPI for create, update and partial update: input and output serializers differ."""
    return {
        "create": extend_schema(request=input_serializer, responses={201: output_serializer, 400: INVALID}),
        "update": extend_schema(request=input_serializer, responses={200: output_serializer, 400: INVALID}),
        "partial_update": extend_schema(request=input_serializer, responses={200: output_serializer, 400: INVALID}),
    }


class CustomerRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List, read, create and update a kind of customer record; subclasses name the services."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    input_serializer_class: type[serializers.Serializer]

    def get_input_serializer_class(self) -> type[serializers.Serializer]:
        return self.input_serializer_class

    def parse(self, *, partial: bool = False) -> dict:
        parser = self.get_input_serializer_class()(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        parser.is_valid(raise_exception=True)
        return parser.validated_data

    def render(self, record, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(record).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        with rules_as_field_errors():
            record = self.create_record(data)
        return self.render(record, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs):
        record = self.get_object()
        data = self.parse(partial=partial)
        with rules_as_field_errors():
            record = self.update_record(record, data)
        return self.render(record)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def create_record(self, data: dict):
        raise NotImplementedError

    def update_record(self, record, data: dict):
        raise NotImplementedError


@extend_schema_view(**write_schema(input_serializer=ContactInputSerializer, output_serializer=ContactSerializer))
class ContactViewSet(CustomerRecordViewSet):
    """Contacts: people the organisation serves. Phone numbers are stored in E.164."""

    serializer_class = ContactSerializer
    input_serializer_class = ContactInputSerializer
    filterset_class = filters.ContactFilter
    search_fields = ["first_name", "last_name", "email", "mobile_phone"]
    ordering_fields = ["last_name", "first_name", "email", "created_at", "updated_at"]

    def get_queryset(self):
        return selectors.contact_list(self.request.user)

    def create_record(self, data):
        return services.contact_create(**data)

    def update_record(self, record, data):
        return services.contact_update(contact_id=record.pk, changes=data)


@extend_schema_view(**write_schema(input_serializer=AccountInputSerializer, output_serializer=AccountSerializer))
class AccountViewSet(CustomerRecordViewSet):
    """Accounts: organisations customers belong to."""

    serializer_class = AccountSerializer
    input_serializer_class = AccountInputSerializer
    filterset_class = filters.AccountFilter
    search_fields = ["name", "email", "city", "country"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self):
        return selectors.account_list(self.request.user)

    def create_record(self, data):
        return services.account_create(**data)

    def update_record(self, record, data):
        return services.account_update(account_id=record.pk, changes=data)


@extend_schema_view(**write_schema(input_serializer=CaseInputSerializer, output_serializer=CaseSerializer))
class CaseViewSet(CustomerRecordViewSet):
    """Cases: customer issues tracked over time; each belongs to a contact or an account."""

    serializer_class = CaseSerializer
    input_serializer_class = CaseInputSerializer
    filterset_class = filters.CaseFilter
    search_fields = ["title", "description"]
    ordering_fields = ["created_at", "updated_at", "status", "priority"]

    def get_queryset(self):
        return selectors.case_list(self.request.user)

    def create_record(self, data):
        return services.case_create(**data)

    def update_record(self, record, data):
        return services.case_update(case_id=record.pk, changes=data)


class NoteAuthorOrAdmin(BasePermission):
    """Whoever reaches a note reads it; only its author or an admin changes or deletes it."""

    message = "Only the note's author or an admin can change or delete it."

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or services.may_change_note(request.user, obj)


@extend_schema_view(
    create=extend_schema(request=NoteInputSerializer, responses={201: NoteSerializer, 400: INVALID}),
    update=extend_schema(request=NoteUpdateInputSerializer, responses={200: NoteSerializer, 400: INVALID}),
    partial_update=extend_schema(request=NoteUpdateInputSerializer, responses={200: NoteSerializer, 400: INVALID}),
    destroy=extend_schema(responses={204: None, 403: OpenApiResponse(description="Not the author or an admin.")}),
)
class NoteViewSet(CustomerRecordViewSet):
    """Notes on exactly one contact, account or case. Only the author or an admin edits or deletes one."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin, NoteAuthorOrAdmin]
    serializer_class = NoteSerializer
    input_serializer_class = NoteInputSerializer
    filterset_class = filters.NoteFilter
    search_fields = ["text"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.note_list(self.request.user)

    def get_input_serializer_class(self):
        return NoteUpdateInputSerializer if self.action in {"update", "partial_update"} else NoteInputSerializer

    def create_record(self, data):
        return services.note_create(author=self.request.user, **data)

    def update_record(self, record, data):
        if "text" not in data:  # a PATCH without text changes nothing
            return record
        return services.note_update(note_id=record.pk, text=data["text"], by=self.request.user)

    def destroy(self, request, *args, **kwargs):
        note = self.get_object()
        services.note_delete(note_id=note.pk, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The customer summary of a conversation (SUM-2..17) ----------------------------------------
#
# Whose summary: the conversations the caller may see (SEC-1: an agent's queues' and those they
# hold; supervisors and admins all), else 404. Changing it: the agent who holds it, a
# supervisor or an admin (else 403), and never once it is closed (409).

SUMMARY_NOT_VISIBLE = OpenApiResponse(description="No such conversation, or not one of your queues'.")
SUMMARY_FORBIDDEN = OpenApiResponse(description="You do not hold this conversation (nor supervise).")
SUMMARY_CONFLICT = OpenApiResponse(
    description="The conversation is closed (read-only), or nothing of that kind is linked."
)
SUMMARY_ID = OpenApiParameter("conversation_id", int, OpenApiParameter.PATH, description="Conversation id.")


def _conversation(user, conversation_id: int):
    return access_conversation(user, conversation_id)


@contextmanager
def summary_input_errors() -> Iterator[None]:
    """A broken cursor or search becomes a 400 with a message, like any bad input."""
    try:
        yield
    except SummaryError as exc:
        raise serializers.ValidationError({"detail": [exc.message]}) from None


class SummaryApiView(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("conversation_id", 0) > MAX_ID:  # past the id range: no such row (and no DB error)
            raise NotFound("No such conversation.")

    def summary_response(self, conversation_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
        data = summary.customer_summary(
            conversations_visible_to(self.request.user), conversation_id, user=self.request.user
        )
        return Response(CustomerSummarySerializer(data).data, status=status_code)


@extend_schema(parameters=[SUMMARY_ID], responses={200: CustomerSummarySerializer, 404: SUMMARY_NOT_VISIBLE})
class ConversationSummaryApi(SummaryApiView):
    """The customer summary of a conversation: customer, conversation summary, tabs, case,
    recent cases and the first page of the timeline (SUM-2..16), in a fixed number of queries."""

    def get(self, request, conversation_id: int):
        return self.summary_response(conversation_id)


@extend_schema(
    parameters=[SUMMARY_ID, TimelineParamsSerializer],
    responses={200: TimelinePageSerializer, 400: INVALID, 404: SUMMARY_NOT_VISIBLE},
)
class ConversationTimelineApi(SummaryApiView):
    """A page of the timeline of a record linked to the conversation, newest first (SUM-16, SUM-17).

    Keyset pagination: pass the ``next_cursor`` of a page as ``?cursor=`` for the next one.
    """

    def get(self, request, conversation_id: int):
        conversation = summary.summary_conversation(conversations_visible_to(request.user), conversation_id)
        params = TimelineParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        with summary_input_errors():
            page = summary.timeline_page(
                conversation,
                record_kind=params.validated_data["record"],
                cursor=params.validated_data.get("cursor"),
                limit=params.validated_data["limit"],
            )
        return Response(TimelinePageSerializer(page).data)


@extend_schema(
    parameters=[SUMMARY_ID],
    request=LinkInputSerializer,
    responses={
        200: CustomerSummarySerializer,
        400: INVALID,
        403: SUMMARY_FORBIDDEN,
        404: SUMMARY_NOT_VISIBLE,
        409: SUMMARY_CONFLICT,
    },
)
class ConversationLinkApi(SummaryApiView):
    """Link an existing contact, account or case to the conversation (SUM-4, SUM-14); answers the summary."""

    def post(self, request, conversation_id: int):
        _conversation(request.user, conversation_id)
        parser = LinkInputSerializer(data=request.data)
        parser.is_valid(raise_exception=True)
        services.conversation_record_link(
            conversation_id=conversation_id,
            kind=parser.validated_data["kind"],
            record_id=parser.validated_data["id"],
            by=request.user,
        )
        return self.summary_response(conversation_id)


@extend_schema(
    parameters=[
        SUMMARY_ID,
        OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=["contact", "account", "case"]),
    ],
    responses={200: CustomerSummarySerializer, 403: SUMMARY_FORBIDDEN, 404: SUMMARY_NOT_VISIBLE, 409: SUMMARY_CONFLICT},
)
class ConversationUnlinkApi(SummaryApiView):
    """Unlink the conversation's contact, account or case; answers the summary."""

    def delete(self, request, conversation_id: int, kind: str):
        _conversation(request.user, conversation_id)
        if kind not in summary.RECORD_KINDS:
            raise NotFound("Unlink the contact, the account or the case.")
        services.conversation_record_unlink(conversation_id=conversation_id, kind=kind, by=request.user)
        return self.summary_response(conversation_id)


@extend_schema(
    parameters=[SUMMARY_ID],
    request=QuickNoteInputSerializer,
    responses={
        201: NoteSerializer,
        400: INVALID,
        403: SUMMARY_FORBIDDEN,
        404: SUMMARY_NOT_VISIBLE,
        409: SUMMARY_CONFLICT,
    },
)
class ConversationQuickNoteApi(SummaryApiView):
    """A quick note on a record linked to the conversation; it keeps the conversation (SUM-16)."""

    def post(self, request, conversation_id: int):
        _conversation(request.user, conversation_id)
        parser = QuickNoteInputSerializer(data=request.data)
        parser.is_valid(raise_exception=True)
        with rules_as_field_errors():
            note = services.conversation_quick_note(
                conversation_id=conversation_id,
                record_kind=parser.validated_data["record"],
                text=parser.validated_data["text"],
                by=request.user,
            )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[SUMMARY_ID],
    request=SkillsInputSerializer,
    responses={
        200: CustomerSummarySerializer,
        400: INVALID,
        403: OpenApiResponse(description="Not yours to change, or the admin does not let agents edit skills."),
        404: OpenApiResponse(description="No such conversation or skill."),
        409: SUMMARY_CONFLICT,
    },
)
class ConversationSkillsApi(SummaryApiView):
    """Set the conversation's skills, when its workstream lets agents (SUM-7); answers the summary."""

    def put(self, request, conversation_id: int):
        _conversation(request.user, conversation_id)
        parser = SkillsInputSerializer(data=request.data)
        parser.is_valid(raise_exception=True)
        services.conversation_skills_set(
            conversation_id=conversation_id, skill_ids=parser.validated_data["skills"], by=request.user
        )
        return self.summary_response(conversation_id)
