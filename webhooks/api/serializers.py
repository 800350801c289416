"""Webhook endpoints in the developer API (API-2): input and output apart."""

from rest_framework import serializers

from core.api import InputSerializer
from webhooks.models import Event, WebhookEndpoint


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint as the API shows it: never its secret (that is shown once, on create or rotate)."""

    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "enabled",
            "failing_since",
            "disabled_reason",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (Standard Webhooks, `whsec_…`): shown only in this answer."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(InputSerializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), min_length=1)
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateInputSerializer(InputSerializer):
    url = serializers.URLField(max_length=2000, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), min_length=1, required=False)
    enabled = serializers.BooleanField(required=False)
