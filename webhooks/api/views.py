"""Webhook endpoints in the developer API (API-2): admins register, change, rotate and remove them.

Only admins (staff with the webhook endpoint permissions; superusers) may use these: an
endpoint receives conversation and case data. The secret appears once, in the answer to a
create or a rotate-secret, and never again.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from webhooks import services
from webhooks.api.permissions import IsWebhookAdmin
from webhooks.api.serializers import (
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateInputSerializer,
    WebhookEndpointWithSecretSerializer,
)
from webhooks.models import WebhookEndpoint

INVALID = OpenApiResponse(description="Invalid input: field errors, nothing changed.")


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    destroy=extend_schema(summary="Remove a webhook endpoint and its delivery log"),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Outbound webhook endpoints: URL, the events wanted, enabled; signed per Standard Webhooks."""

    permission_classes = [IsAuthenticated, IsWebhookAdmin]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.order_by("pk")
    filterset_fields = ["enabled"]
    search_fields = ["url", "description"]
    ordering_fields = ["url", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        summary="Register a webhook endpoint",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, 400: INVALID},
        description="The answer carries the endpoint's signing secret: the only time it is shown.",
    )
    def create(self, request):
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(**data.validated_data)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a webhook endpoint",
        request=WebhookEndpointUpdateInputSerializer,
        responses={200: WebhookEndpointSerializer, 400: INVALID},
        description="Enabling a disabled endpoint clears its failure record.",
    )
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = WebhookEndpointUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint_id=endpoint.pk, changes=data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def perform_destroy(self, instance):
        services.webhook_endpoint_delete(endpoint_id=instance.pk)

    @extend_schema(
        summary="Rotate a webhook endpoint's secret",
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer},
        description=(
            "A new secret, shown only in this answer. Until `previous_secret_expires_at` every delivery "
            "carries a signature with each secret (`webhook-signature: v1,<new> v1,<old>`)."
        ),
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = services.webhook_endpoint_rotate_secret(endpoint_id=self.get_object().pk)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)
