"""The bot API (ROU-15): any API client with a token may act as a bot. It takes a conversation
first, writes in it (and relays what the customer writes), then hands it to a human through
normal routing, its transcript and context carried along in the conversation.

A bot sees only the conversations it took (anyone else's look missing, 404). Each view parses,
calls one service and renders.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.serializers import ConversationSerializer, MessageListParamsSerializer, MessageSerializer
from conversations.handover import access_bot_conversation, bot_conversation_start, bot_message_post
from conversations.models import Conversation, Message
from conversations.selectors import conversation_messages
from omnichannel.api import InputSerializer
from omnichannel.errors import NotFound
from routing.models import Workstream
from routing.services.transfer import MAX_NOTE, bot_escalate

NOT_YOURS = OpenApiResponse(description="No such conversation, or one this bot did not take.")


class BotConversationInputSerializer(InputSerializer):
    workstream = serializers.PrimaryKeyRelatedField(queryset=Workstream.objects.filter(is_active=True))
    context = serializers.DictField(
        required=False, help_text="Context variables: {name: value or {value, isDisplayable}}."
    )
    language = serializers.CharField(required=False, allow_blank=True, max_length=16, default="")


class BotMessageInputSerializer(InputSerializer):
    sender = serializers.ChoiceField(choices=[Message.Sender.BOT, Message.Sender.CUSTOMER], default="bot")
    text = serializers.CharField(trim_whitespace=False)
    client_id = serializers.CharField(required=False, max_length=64)


class BotEscalateInputSerializer(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE, default="")


def _conversation(request, conversation_id: int) -> Conversation:
    return access_bot_conversation(bot_user=request.user, conversation_id=conversation_id)


class BotConversationStartApi(APIView):
    """Take a new conversation as a bot: it waits for no agent until the bot escalates it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=BotConversationInputSerializer,
        responses={201: ConversationSerializer, 400: OpenApiResponse(description="Malformed input.")},
        operation_id="bot_conversations_create",
    )
    def post(self, request):
        params = BotConversationInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        conversation = bot_conversation_start(
            bot_user=request.user,
            workstream=params.validated_data["workstream"],
            context_variables=params.validated_data.get("context"),
            language=params.validated_data["language"],
        )
        return Response(ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)


class BotMessageApi(APIView):
    """The bot's conversation's messages: read them after a sequence number, or write one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[MessageListParamsSerializer],
        responses={200: MessageSerializer(many=True), 404: NOT_YOURS},
        operation_id="bot_conversation_messages_list",
    )
    def get(self, request, conversation_id: int):
        conversation = _conversation(request, conversation_id)
        params = MessageListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = conversation_messages(conversation=conversation, after=params.validated_data.get("after"))
        return Response(MessageSerializer(messages[:500], many=True).data)

    @extend_schema(
        request=BotMessageInputSerializer,
        responses={
            201: MessageSerializer,
            200: OpenApiResponse(MessageSerializer, description="The same client_id again: the stored message."),
            404: NOT_YOURS,
            409: OpenApiResponse(description="Ended, handed to a human (bot messages), or too large."),
        },
        operation_id="bot_conversation_messages_create",
    )
    def post(self, request, conversation_id: int):
        params = BotMessageInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        message, created = bot_message_post(
            bot_user=request.user,
            conversation_id=conversation_id,
            sender=params.validated_data["sender"],
            text=params.validated_data["text"],
            client_id=params.validated_data.get("client_id"),
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED if created else 200)


class BotEscalateApi(APIView):
    """Hand the conversation to a human: routed like a new one, offered as an escalation from a bot."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=BotEscalateInputSerializer,
        responses={
            200: ConversationSerializer,
            404: NOT_YOURS,
            409: OpenApiResponse(description="Already handed over."),
        },
        operation_id="bot_conversation_escalate",
    )
    def post(self, request, conversation_id: int):
        params = BotEscalateInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        work_item = bot_escalate(
            bot_user=request.user, conversation_id=conversation_id, note=params.validated_data["note"]
        )
        conversation = Conversation.objects.filter(pk=work_item.conversation_id).first()
        if conversation is None:
            raise NotFound("No such conversation.")
        return Response(ConversationSerializer(conversation).data)
