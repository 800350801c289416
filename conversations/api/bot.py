"""The bot API (ROU-15): a bot client, with its own key (``Authorization: Bot <key>``, issued in
the admin center), takes a conversation first, writes in it (and relays what the customer
writes), then hands it to a human through normal routing, its transcript and context carried
along in the conversation.

A bot is not an agent: a user's token gets 403 here, and a bot's key works nowhere else. A bot
acts only in the workstreams it was granted (403 otherwise) and sees only the conversations it
took (anyone else's look missing, 404), within its own rate (429). Each view parses, checks
access, calls one service and renders.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.authentication import BotKeyAuthentication
from conversations.api.serializers import ConversationSerializer, MessageListParamsSerializer, MessageSerializer
from conversations.bots import access_bot_client_conversation, access_bot_workstream
from conversations.handover import bot_conversation_start, bot_message_post
from conversations.models import BotClient, Conversation, Message
from conversations.selectors import conversation_messages
from conversations.transfer import MAX_NOTE, bot_escalate
from core.api import InputSerializer
from core.errors import NotFound
from routing.models import Workstream

NOT_YOURS = OpenApiResponse(description="No such conversation, or one this bot did not take.")
NOT_GRANTED = OpenApiResponse(description="Not a bot key, or a workstream this bot is not granted.")


class IsBotClient(BasePermission):
    """Only a bot client's key; a user's token (an agent's or an admin's) gets 403."""

    message = _("Only a bot client's key may use the bot API.")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, BotClient)


class BotApiSchema(AutoSchema):
    """The document names the bot key as the bot API's only credential."""

    def get_auth(self):
        return [requirement for requirement in super().get_auth() if "tokenAuth" not in requirement]


class BotApiView(APIView):
    # A user's token is recognised only to be told (403) that it is not a bot's key.
    authentication_classes = [BotKeyAuthentication, TokenAuthentication]
    permission_classes = [IsBotClient]
    schema = BotApiSchema()


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
    return access_bot_client_conversation(client=request.auth, conversation_id=conversation_id)


class BotConversationStartApi(BotApiView):
    """Take a new conversation as a bot: it waits for no agent until the bot escalates it."""

    @extend_schema(
        request=BotConversationInputSerializer,
        responses={201: ConversationSerializer, 400: OpenApiResponse(description="Malformed input."), 403: NOT_GRANTED},
        operation_id="bot_conversations_create",
    )
    def post(self, request):
        params = BotConversationInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        access_bot_workstream(client=request.auth, workstream_id=params.validated_data["workstream"].pk)
        conversation = bot_conversation_start(
            bot_user=request.user,
            workstream=params.validated_data["workstream"],
            context_variables=params.validated_data.get("context"),
            language=params.validated_data["language"],
        )
        return Response(ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)


class BotMessageApi(BotApiView):
    """The bot's conversation's messages: read them after a sequence number, or write one."""

    @extend_schema(
        parameters=[MessageListParamsSerializer],
        responses={200: MessageSerializer(many=True), 403: NOT_GRANTED, 404: NOT_YOURS},
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
            403: NOT_GRANTED,
            404: NOT_YOURS,
            409: OpenApiResponse(description="Ended, handed to a human (bot messages), or too large."),
        },
        operation_id="bot_conversation_messages_create",
    )
    def post(self, request, conversation_id: int):
        _conversation(request, conversation_id)
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


class BotEscalateApi(BotApiView):
    """Hand the conversation to a human: routed like a new one, offered as an escalation from a bot."""

    @extend_schema(
        request=BotEscalateInputSerializer,
        responses={
            200: ConversationSerializer,
            403: NOT_GRANTED,
            404: NOT_YOURS,
            409: OpenApiResponse(description="Already handed over."),
        },
        operation_id="bot_conversation_escalate",
    )
    def post(self, request, conversation_id: int):
        _conversation(request, conversation_id)
        params = BotEscalateInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        work_item = bot_escalate(
            bot_user=request.user, conversation_id=conversation_id, note=params.validated_data["note"]
        )
        conversation = Conversation.objects.filter(work_item=work_item).first()
        if conversation is None:
            raise NotFound("No such conversation.")
        return Response(ConversationSerializer(conversation).data)
