"""Shared API plumbing: domain errors become clear 4xx answers, never 500s."""

from collections.abc import Mapping
from datetime import UTC, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, Forbidden, NotFound


def exception_handler(exc, context):
    """Every error is a JSON object of the one ``Error`` schema (see :func:`document_errors`)."""
    if isinstance(exc, NotFound):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Forbidden):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):  # ValidationError("…"): about the whole input
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response


ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong. A 400 names each field with its errors (`non_field_errors` for the "
    "input as a whole; nested fields nest); other errors say it in `detail`, with a stable `code` when "
    "a rule of the product refused it.",
    "properties": {
        "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "code": {"type": "string"},
    },
    "additionalProperties": {"anyOf": [{"type": "array", "items": {}}, {"type": "object"}]},
}
ERRORS = {
    "400": "Invalid input: field errors, nothing changed.",
    "401": "No credentials, or a wrong token or key.",
    "403": "This caller may not do this.",
    "404": "No such record, or not one this caller may see.",
    "409": "Not possible in the current state; nothing changed.",
    "415": "A body that is neither JSON nor a form.",
    "429": "Too many requests for this token: retry after `Retry-After` seconds.",
}
WRITES = {"post", "put", "patch", "delete"}


def document_errors(result, generator, request, public):
    """drf-spectacular hook: every operation documents each 4xx it can answer, all with ``Error``.

    401, 403, 404 (a missing record, or a page past the last) and 429 (the per-token throttle)
    can come from any operation; 400 from any that takes parameters or a body; 409 (a domain
    rule) from writes; 415 from any with a body.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = {"401", "403", "404", "429"}
            if operation.get("parameters") or operation.get("requestBody"):
                codes.add("400")
            if method in WRITES:
                codes.add("409")
            if operation.get("requestBody"):
                codes.add("415")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, {"description": ERRORS[code]})
            for code, response in responses.items():
                if code.startswith("4"):
                    response.setdefault("content", error)
            responses["429"].setdefault(
                "headers",
                {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}},
            )
    return result


@csrf_exempt
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any path under /api/v1/ that names no endpoint (``/queues/0.5/``): a JSON 404 like every other
    API error, in every method, rather than the site's HTML page."""
    return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)


def only_developer_api(endpoints):
    """drf-spectacular hook: the OpenAPI document describes /api/v1/ only, not the widget's
    public endpoints (they belong to the script tag, not to integrators)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


MAX_ID = 2**63 - 1  # BigAutoField


def reference_serializer(model, *fields: str, name: str = "") -> type[serializers.ModelSerializer]:
    """A row as other answers point at it: its id and ``fields`` (``{"id": 3, "name": "Billing"}``).

    Named ``<name or Model>ReferenceSerializer``, so the OpenAPI document calls it ``<…>Reference``.
    """
    meta = type("Meta", (), {"model": model, "fields": ["id", *fields]})
    return type(f"{name or model.__name__}ReferenceSerializer", (serializers.ModelSerializer,), {"Meta": meta})


class InputSerializer(serializers.Serializer):
    """Refuses unknown fields: a misspelt field is an error, not silently ignored."""

    # spec: REL-3

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {name: [serializers.ErrorDetail("Unknown field.", code="unknown")] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, Mapping):
                errors = {**exc.detail, **errors}
            raise serializers.ValidationError(errors or exc.detail) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A record's id: a whole number in the database's id range, documented as an integer.

    (``NumberFilter`` takes decimals, and a number past the range would crash SQLite: REL-3.)
    """

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time, converted to UTC before any query sees it (REL-3).

    Python parses offsets up to ±23:59 and PostgreSQL stores only up to ±15:59, so an offset
    beyond the ±14:00 real time zones use is refused, and the value reaches the database in UTC.
    A time whose UTC equivalent falls outside the years 1-9999 is refused too, not overflowed.
    """

    MAX_OFFSET = timedelta(hours=14)
    default_error_messages = {
        "offset": _("Enter a UTC offset between -14:00 and +14:00."),
        "out_of_range": _("Enter a date and time between the years 1 and 9999 (UTC)."),
    }

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
        except OverflowError:
            raise DjangoValidationError(self.error_messages["out_of_range"], code="out_of_range") from None
        if parsed is None:
            return None
        if abs(parsed.utcoffset()) > self.MAX_OFFSET:
            raise DjangoValidationError(self.error_messages["offset"], code="offset")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise DjangoValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class DateTimeRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """``<name>_after`` / ``<name>_before`` in ISO 8601, any offset, compared in UTC."""

    field_class = UtcIsoDateTimeRangeField


# --- Output fields whose OpenAPI schema says exactly what they hold -------------------------------


@extend_schema_field({"type": "string", "anyOf": [{"format": "email"}, {"maxLength": 0}]})
class OptionalEmailField(serializers.CharField):
    """Output only: an email address, or "" when none is known (``format: email`` alone refuses "")."""


@extend_schema_field({"type": "string", "anyOf": [{"format": "uri"}, {"maxLength": 0}]})
class OptionalURLField(serializers.CharField):
    """Output only: a URL, or "" when none is known."""


@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$", "example": "08:00:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time (HH:MM:SS) in a schedule's own time zone: OpenAPI's ``format: time``
    (RFC 3339) would demand a UTC offset, which a weekly schedule does not have."""
