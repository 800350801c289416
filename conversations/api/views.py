"""Conversations and their messages in the developer API (API-1), read only.

Who sees which conversation is decided by ``conversations_visible_to`` (SEC-1): an agent
reading another queue's conversation, or its messages, gets 404 as if it did not exist.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, viewsets
from rest_framework.permissions import IsAuthenticated

from agents.permissions import IsAgentOrAdmin
from conversations import selectors
from conversations.api.filters import ConversationFilter
from conversations.api.serializers import ConversationSerializer, MessageListParamsSerializer, MessageSerializer
from conversations.models import Message
from core.errors import NotFound

NOT_VISIBLE = OpenApiResponse(description="No such conversation, or not one of your queues'.")


@extend_schema_view(retrieve=extend_schema(responses={200: ConversationSerializer, 404: NOT_VISIBLE}))
class ConversationViewSet(viewsets.ReadOnlyModelViewSet):
    """Conversations of every channel: an agent sees their queues' and those they hold; supervisors all."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilter
    search_fields = ["contact__first_name", "contact__last_name", "contact__email", "customer_phone"]
    ordering_fields = ["created_at", "first_assigned_at", "closed_at", "status"]

    def get_queryset(self):
        return selectors.conversation_list(self.request.user)

    def get_object(self):
        try:
            conversation_id = int(self.kwargs["pk"])
        except ValueError:
            raise NotFound("No such conversation.") from None
        return selectors.access_conversation(self.request.user, conversation_id)


@extend_schema(
    parameters=[MessageListParamsSerializer], responses={200: MessageSerializer(many=True), 404: NOT_VISIBLE}
)
class ConversationMessageListApi(generics.ListAPIView):
    """A conversation's messages in sequence order; ``?after=<seq>`` resumes after the last one seen."""

    # spec: CONV-2

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = MessageSerializer
    filter_backends = []  # the order is the sequence; ``after`` is the only filter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no conversation to check
            return Message.objects.none()
        conversation = selectors.access_conversation(self.request.user, self.kwargs["conversation_id"])
        params = MessageListParamsSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.conversation_messages(conversation=conversation, after=params.validated_data.get("after"))
