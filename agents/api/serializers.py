"""Presences, agents and an agent's own presence in the developer API (API-1)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from agents.models import AgentProfile, Presence, Skill
from core.api import InputSerializer, reference_serializer

# --- References (also used by the routing and conversation endpoints) -------------------------


SkillReferenceSerializer = reference_serializer(Skill, "name")
AgentReferenceSerializer = reference_serializer(AgentProfile, "display_name", name="Agent")
PresenceReferenceSerializer = reference_serializer(Presence, "name", "base")


# --- Presences and agents ---------------------------------------------------------------------


class PresenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Presence
        fields = ["id", "name", "base", "color", "agent_selectable", "is_system", "order"]
        read_only_fields = fields


class AgentSerializer(serializers.ModelSerializer):
    """An agent's presence and load."""

    # spec: ROU-5, ROU-6, ROU-7

    presence = PresenceReferenceSerializer(read_only=True)

    class Meta:
        model = AgentProfile
        fields = [
            "id",
            "display_name",
            "role",
            "presence",
            "presence_changed_at",
            "capacity",
            "capacity_used",
            "session_count",
        ]
        read_only_fields = fields


class AgentPresenceSerializer(serializers.ModelSerializer):
    agent = serializers.IntegerField(source="pk", read_only=True)
    presence = PresenceReferenceSerializer(read_only=True)
    changed_at = serializers.DateTimeField(source="presence_changed_at", read_only=True)

    class Meta:
        model = AgentProfile
        fields = ["agent", "presence", "changed_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="AgentPresence")  # the request body is AgentPresenceRequest
class AgentPresenceInputSerializer(InputSerializer):
    presence = serializers.PrimaryKeyRelatedField(
        queryset=Presence.objects.all(), help_text="The id of a presence an agent may choose (see /presences/)."
    )
