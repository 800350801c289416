"""Queues, workstreams, work items and open items in the developer API (API-1)."""

from rest_framework import serializers

from agents.api.serializers import AgentReferenceSerializer, PresenceReferenceSerializer, SkillReferenceSerializer
from core.api import LocalTimeField, reference_serializer
from routing.contributions import workstream_api_fields
from routing.models import Holiday, OperatingHours, OperatingWindow, Queue, RoutingRule, WorkItem, Workstream

# --- References (also used by the conversation endpoints) -------------------------------------


QueueReferenceSerializer = reference_serializer(Queue, "name")
WorkstreamReferenceSerializer = reference_serializer(Workstream, "name")


# --- Queues -----------------------------------------------------------------------------------


class OperatingWindowSerializer(serializers.ModelSerializer):
    opens_at = LocalTimeField(read_only=True)
    closes_at = LocalTimeField(read_only=True, help_text="00:00 means midnight at the end of the day.")

    class Meta:
        model = OperatingWindow
        fields = ["weekday", "opens_at", "closes_at"]
        read_only_fields = fields


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        read_only_fields = fields


class OperatingHoursSerializer(serializers.ModelSerializer):
    """A weekly schedule in a time zone, minus holidays."""

    # spec: ROU-3

    windows = OperatingWindowSerializer(many=True, read_only=True)
    holidays = HolidaySerializer(many=True, read_only=True)

    class Meta:
        model = OperatingHours
        fields = ["id", "name", "time_zone", "windows", "holidays"]
        read_only_fields = fields


class QueueSerializer(serializers.ModelSerializer):
    operating_hours = OperatingHoursSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Queue
        fields = [
            "id",
            "name",
            "priority",
            "assignment_method",
            "operating_hours",
            "out_of_hours_message",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


# --- Workstreams ------------------------------------------------------------------------------


class RoutingRuleSerializer(serializers.ModelSerializer):
    """An ordered rule: when every condition holds, route to ``queue`` with ``skills``."""

    # spec: ROU-2

    conditions = serializers.ListField(
        child=serializers.DictField(), read_only=True, help_text="Each {source, name, operator, value}."
    )
    skills = SkillReferenceSerializer(many=True, read_only=True)

    class Meta:
        model = RoutingRule
        fields = ["id", "order", "name", "conditions", "queue", "skills", "is_active"]
        read_only_fields = fields


class WorkstreamSerializer(serializers.ModelSerializer):
    """A workstream's routing and work-distribution settings."""

    # spec: ROU-1

    allowed_presences = PresenceReferenceSerializer(many=True, read_only=True)
    routing_rules = RoutingRuleSerializer(many=True, read_only=True)
    chat_mode = serializers.ChoiceField(
        choices=Workstream.ChatMode.choices,
        allow_blank=True,
        read_only=True,
        help_text="Chat workstreams only: live or persistent; empty for other channels.",
    )

    class Meta:
        model = Workstream
        fields = [
            "id",
            "name",
            "channel",
            "chat_mode",
            "distribution",
            "capacity_units",
            "allowed_presences",
            "default_queue",
            "fallback_queue",
            "routing_rules",
            "auto_accept",
            "agents_may_reject",
            "keep_same_agent",
            "automatic_presence",
            "wrap_up_capacity",
            "wrap_up_capacity_seconds",
            "skill_matching",
            "closest_match_after_seconds",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields

    def get_fields(self):
        # The apps above routing add the settings they keep per workstream (routing.contributions),
        # before is_active, where they stood when the workstream held them.
        fields = super().get_fields()
        tail = {name: fields.pop(name) for name in ("is_active", "created_at")}
        return {**fields, **workstream_api_fields(), **tail}


# --- Pick mode (ROU-13) -----------------------------------------------------------------------


class OpenItemSerializer(serializers.ModelSerializer):
    """A queued work item of one of the caller's pick-mode queues."""

    queue = QueueReferenceSerializer(read_only=True)
    workstream = WorkstreamReferenceSerializer(read_only=True)
    channel = serializers.SerializerMethodField()
    conversation = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField()

    class Meta:
        model = WorkItem
        fields = ["id", "queue", "workstream", "channel", "conversation", "case", "capacity_units", "enqueued_at"]
        read_only_fields = fields

    def get_channel(self, item) -> str:
        return item.workstream.channel

    def get_conversation(self, item) -> int | None:
        return item.references.get("conversation")

    def get_case(self, item) -> int | None:
        return item.references.get("case")


class WorkItemPickedSerializer(serializers.ModelSerializer):
    """The work item the caller just picked."""

    agent = AgentReferenceSerializer(read_only=True)
    conversation = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField()

    class Meta:
        model = WorkItem
        fields = ["id", "status", "agent", "conversation", "case", "assigned_at"]
        read_only_fields = fields

    def get_conversation(self, item) -> int | None:
        return item.references.get("conversation")

    def get_case(self, item) -> int | None:
        return item.references.get("case")
