"""Tags and search of conversations in the developer API (issue 15, API-1).

Who sees which conversation is decided inside the selectors (SEC-1): a search never returns a
conversation of a queue the caller is not in, and tagging another queue's conversation is a 404.
"""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsAgentOrAdmin
from conversations.api.serializers import ConversationSerializer, TagSerializer
from conversations.models import Conversation, Tag
from conversations.search import ConversationFilters, conversation_search, extra_filters, snippet_markup
from conversations.selectors import access_conversation
from conversations.tagging import conversation_tag_add, conversation_tag_remove
from core.api import MAX_ID

NOT_VISIBLE = OpenApiResponse(description="No such conversation, or not one of your queues'.")


class TagListApi(generics.ListAPIView):
    """The tags an admin defined, by name."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = TagSerializer
    queryset = Tag.objects.order_by("name")
    filter_backends = []


class TagInputSerializer(serializers.Serializer):
    tag = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all(), help_text="The tag's id.")


class ConversationTagsSerializer(serializers.Serializer):
    tags = TagSerializer(many=True, read_only=True)


def _tags_response(conversation_id: int) -> Response:
    tags = Tag.objects.filter(conversations=conversation_id).order_by("name")
    return Response({"tags": TagSerializer(tags, many=True).data})


class ConversationTagAddApi(APIView):
    """Put a tag on a conversation you may see (idempotent); answers the conversation's tags."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(request=TagInputSerializer, responses={200: ConversationTagsSerializer, 404: NOT_VISIBLE})
    def post(self, request, conversation_id: int):
        access_conversation(request.user, conversation_id)  # 404 before the body is even read (SEC-1)
        parser = TagInputSerializer(data=request.data)
        parser.is_valid(raise_exception=True)
        conversation_tag_add(conversation_id=conversation_id, tag_id=parser.validated_data["tag"].pk, by=request.user)
        return _tags_response(conversation_id)


class ConversationTagRemoveApi(APIView):
    """Take a tag off a conversation you may see (idempotent); answers the conversation's tags."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(responses={200: ConversationTagsSerializer, 404: NOT_VISIBLE})
    def delete(self, request, conversation_id: int, tag_id: int):
        conversation_tag_remove(conversation_id=conversation_id, tag_id=tag_id, by=request.user)
        return _tags_response(conversation_id)


class SearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Words of a message (full-text search on PostgreSQL), or part of the customer's name, "
        "email or phone.",
    )
    tag = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=10,
        help_text="Tag ids; a conversation must carry every one. Repeat the parameter: ?tag=1&tag=2.",
    )
    queue = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Queue id.")
    agent = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Agent id.")
    channel = serializers.ChoiceField(required=False, choices=Conversation.Channel.choices)
    status = serializers.ChoiceField(required=False, choices=Conversation.Status.choices)
    since = serializers.DateField(required=False, help_text="Started on or after this day (YYYY-MM-DD).")
    until = serializers.DateField(required=False, help_text="Started on or before this day (YYYY-MM-DD).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Registered filters (``register_conversation_filter``) take the id of one of the caller's
        # choices: not a number, unknown, or another workstream's is a 400 that says so.
        user = self.context.get("user") or AnonymousUser()
        for extra in extra_filters():
            label = str(extra.label)
            self.fields[extra.name] = serializers.PrimaryKeyRelatedField(
                queryset=extra.choices(user),
                required=False,
                help_text=str(extra.help_text),
                error_messages={
                    "incorrect_type": _("%(label)s: give its id, a whole number.") % {"label": label},
                    "does_not_exist": _("%(label)s: no such choice among yours.") % {"label": label},
                },
            )

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):  # query parameters: the tag may repeat
            tags = data.getlist("tag")
            data = {key: data.get(key) for key in data if key != "tag"}
            if tags:
                data["tag"] = tags
        return super().to_internal_value(data)

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": ["The end of the range is before its start."]})
        return attrs


class ConversationSearchResultSerializer(ConversationSerializer):
    snippet = serializers.SerializerMethodField(
        help_text="The first matching message as HTML: its text escaped, the matched words in <mark>. "
        "Empty without q, or when only the customer's details matched."
    )

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "snippet"]
        read_only_fields = fields

    def get_snippet(self, conversation) -> str:
        return str(snippet_markup(getattr(conversation, "snippet_source", None)))


@extend_schema(parameters=[SearchParamsSerializer])
class ConversationSearchApi(generics.ListAPIView):
    """Search the conversations you may see, newest first, paginated."""

    # spec: SEC-1

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = ConversationSearchResultSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Conversation.objects.none()
        query = self.request.query_params
        params = SearchParamsSerializer(data=query, context={"user": self.request.user})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        filters = ConversationFilters(
            text=data.get("q", ""),
            tags=tuple(sorted(set(data.get("tag", [])))),
            queue=data.get("queue"),
            agent=data.get("agent"),
            channel=data.get("channel", ""),
            status=data.get("status", ""),
            since=data.get("since"),
            until=data.get("until"),
            extra={extra.name: data[extra.name] for extra in extra_filters() if data.get(extra.name)},
        )
        return (
            conversation_search(self.request.user, filters)
            .select_related("workstream", "wrap_up_code", "survey")
            .prefetch_related("skills")
        )
