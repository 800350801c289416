"""Conversations and their messages in the developer API (API-1), read only.

The workstream, queue, agent and skills appear as short references ({id, name}); the linked
contact, account and case as ids, each one request away at its own endpoint.
"""

from rest_framework import serializers

from agents.api.serializers import AgentReferenceSerializer, SkillReferenceSerializer
from conversations.attachments import attachment_url
from conversations.models import Attachment, Conversation, Message, SurveyResponse, Tag, WrapUpCode
from routing.api.serializers import QueueReferenceSerializer, WorkstreamReferenceSerializer


class WrapUpCodeReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = WrapUpCode
        fields = ["id", "name"]


class SurveyResponseSerializer(serializers.ModelSerializer):
    """The customer's post-chat survey (issue 16): ``rating`` 1–5 on ``stars``, 1 up / 0 down on ``thumbs``."""

    class Meta:
        model = SurveyResponse
        fields = ["scale", "rating", "comment", "answers", "answered_at"]
        read_only_fields = fields


class TagSerializer(serializers.ModelSerializer):
    """A tag: its name and its chip's colours (the text colour reads at least 4.5:1 on the background)."""

    text_colour = serializers.CharField(read_only=True)

    class Meta:
        model = Tag
        fields = ["id", "name", "colour", "text_colour"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    """What the customer summary shows of a conversation."""

    # spec: SUM-6, SUM-10, SUM-11, SUM-13

    workstream = WorkstreamReferenceSerializer(read_only=True)
    queue = QueueReferenceSerializer(read_only=True, allow_null=True)
    skills = SkillReferenceSerializer(many=True, read_only=True)
    agent = AgentReferenceSerializer(read_only=True, allow_null=True)
    tags = TagSerializer(many=True, read_only=True)
    wait_seconds = serializers.FloatField(
        read_only=True, allow_null=True, help_text="From start until first assigned to an agent; null until then."
    )
    prechat_answers = serializers.DictField(read_only=True, help_text="The customer's pre-chat survey answers.")
    context_variables = serializers.DictField(read_only=True, help_text="Variables the host page sent.")
    wrap_up_code = WrapUpCodeReferenceSerializer(
        read_only=True, allow_null=True, help_text="The disposition the agent chose when ending it (issue 15)."
    )
    survey = SurveyResponseSerializer(read_only=True, allow_null=True, help_text="Null until the customer answers.")

    class Meta:
        model = Conversation
        fields = [
            "id",
            "public_id",
            "channel",
            "origin",
            "status",
            "workstream",
            "queue",
            "skills",
            "tags",
            "agent",
            "created_at",
            "first_assigned_at",
            "closed_at",
            "wait_seconds",
            "contact",
            "account",
            "case",
            "prechat_answers",
            "context_variables",
            "language",
            "authenticated",
            "browser",
            "operating_system",
            "device",
            "location",
            "last_message_seq",
            "wrap_up_code",
            "survey",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    """The file a message carries (issue 16); ``url`` is a signed link that expires."""

    content_type = serializers.CharField(read_only=True, help_text="What the content is, read from the file itself.")
    url = serializers.SerializerMethodField(help_text="A signed download link; it expires (ATTACHMENT_LINK_MAX_AGE).")

    class Meta:
        model = Attachment
        fields = ["name", "size", "content_type", "is_image", "url"]
        read_only_fields = fields

    def get_url(self, attachment: Attachment) -> str:
        path = attachment_url(attachment)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class MessageSerializer(serializers.ModelSerializer):
    """A message; ``text`` is plain text and ``seq`` its place in the conversation.
    ``attachment`` is its file, if it carries one (its ``text`` is then the file's name)."""

    # spec: SEC-2, CONV-2

    attachment = AttachmentSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = ["id", "seq", "sender", "text", "client_id", "created_at", "attachment"]
        read_only_fields = fields


class MessageListParamsSerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,  # the largest sequence number a message can have
        required=False,
        # spec: CONV-2
        help_text="Only messages with a sequence number above this one: resume after the last one seen.",
    )
