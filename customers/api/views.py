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
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from agents.permissions import IsAgentOrAdmin
from customers import selectors, services
from customers.api import filters
from customers.api.serializers import (
    AccountInputSerializer,
    AccountSerializer,
    CaseInputSerializer,
    CaseSerializer,
    ContactInputSerializer,
    ContactSerializer,
    NoteInputSerializer,
    NoteSerializer,
    NoteUpdateInputSerializer,
)

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
