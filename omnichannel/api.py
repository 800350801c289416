"""Shared API plumbing: domain errors become clear 4xx answers, never 500s."""

from collections.abc import Mapping

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from omnichannel.errors import DomainError, Forbidden, NotFound


def exception_handler(exc, context):
    if isinstance(exc, NotFound):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Forbidden):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)


def only_developer_api(endpoints):
    """drf-spectacular hook: the OpenAPI document describes /api/v1/ only, not the widget's
    public endpoints (they belong to the script tag, not to integrators)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


MAX_ID = 2**63 - 1  # BigAutoField


class InputSerializer(serializers.Serializer):
    """Refuses unknown fields: a misspelt field is an error, not silently ignored (REL-3)."""

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
