"""Canned responses, wrap-up codes and closing in the developer API (issue 15).

``/canned-responses/``: the canned responses the calling agent may use (shared, their queues',
their own), with ``?conversation=<id>`` their text filled from that conversation; the agent's own
personal ones are created, changed and deleted here too. Visibility is decided by
``conversations.canned``: another agent's personal ones, or another queue's, are 404.

``/conversations/<id>/wrap-up-code/`` chooses the conversation's code; ``/conversations/<id>/close/``
closes it after wrap-up, refused (409, ``wrap_up_code_required``) without a code where required.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsAgent
from agents.selectors import agent_for_user
from conversations import canned
from conversations.errors import ConversationValidationError
from conversations.models import CannedResponse
from conversations.placeholders import placeholders_fill
from conversations.selectors import access_conversation
from conversations.services import conversation_wrap_up_close
from conversations.wrap_up import conversation_wrap_up_code_set
from core.api import MAX_ID, InputSerializer
from core.errors import NotFound

NOT_VISIBLE = OpenApiResponse(description="No such canned response, or not one you may use or change.")
CONVERSATION_NOT_VISIBLE = OpenApiResponse(description="No such conversation, or not one of your queues'.")
CONFLICT = OpenApiResponse(description="Not possible now: not yours, not in wrap-up, or a wrap-up code is required.")


class CannedResponseSerializer(serializers.ModelSerializer):
    personal = serializers.SerializerMethodField(help_text="The calling agent's own: they may change it.")

    class Meta:
        model = CannedResponse
        fields = ["id", "title", "shortcut", "text", "language", "visibility", "personal"]
        read_only_fields = fields

    def get_personal(self, response: CannedResponse) -> bool:
        return response.visibility == CannedResponse.Visibility.PERSONAL


class FilledCannedResponseSerializer(CannedResponseSerializer):
    filled_text = serializers.SerializerMethodField(
        help_text="With ?conversation=: the text with its placeholders filled from that conversation."
    )

    class Meta(CannedResponseSerializer.Meta):
        fields = [*CannedResponseSerializer.Meta.fields, "filled_text"]
        read_only_fields = fields

    def get_filled_text(self, response: CannedResponse) -> str | None:
        values = self.context.get("placeholder_values")
        return placeholders_fill(response.text, values) if values is not None else None


class CannedResponseInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=100)
    shortcut = serializers.SlugField(max_length=40)
    text = serializers.CharField(trim_whitespace=False)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")


class CannedResponseChangeSerializer(CannedResponseInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class CannedListParamsSerializer(serializers.Serializer):
    conversation = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Fill the placeholders from this conversation."
    )


def _invalid(error: ConversationValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(error.errors)


class CannedApiView(APIView):
    permission_classes = [IsAuthenticated, IsAgent]

    @property
    def agent(self):
        return agent_for_user(self.request.user)


@extend_schema(parameters=[CannedListParamsSerializer], responses={200: FilledCannedResponseSerializer(many=True)})
class CannedResponseListApi(CannedApiView):
    """The canned responses you may use; with ``?conversation=``, only that conversation's language's,
    filled from it."""

    def get(self, request):
        params = CannedListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        agent = self.agent
        context = {}
        responses = canned.canned_responses_for(agent)
        if "conversation" in params.validated_data:
            conversation = access_conversation(request.user, params.validated_data["conversation"])
            responses = canned.canned_responses_for(agent, language=conversation.language)
            context["placeholder_values"] = canned.placeholder_values(conversation, agent)
        return Response(FilledCannedResponseSerializer(responses, many=True, context=context).data)

    @extend_schema(request=CannedResponseInputSerializer, responses={201: CannedResponseSerializer})
    def post(self, request):
        """Create a personal canned response of yours (an unknown placeholder is a 400)."""
        parser = CannedResponseInputSerializer(data=request.data)
        parser.is_valid(raise_exception=True)
        try:
            response = canned.canned_response_create(agent=self.agent, **parser.validated_data)
        except ConversationValidationError as error:
            raise _invalid(error) from None
        return Response(CannedResponseSerializer(response).data, status=status.HTTP_201_CREATED)


CANNED_ID = OpenApiParameter("canned_id", int, OpenApiParameter.PATH, description="Canned response id.")


@extend_schema(parameters=[CANNED_ID])
class CannedResponseDetailApi(CannedApiView):
    """One canned response you may use; only your personal ones change."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("canned_id", 0) > MAX_ID:
            raise NotFound("No such canned response.")

    @extend_schema(responses={200: CannedResponseSerializer, 404: NOT_VISIBLE})
    def get(self, request, canned_id: int):
        response = canned.canned_responses_for(self.agent).filter(pk=canned_id).first()
        if response is None:
            raise NotFound("No such canned response.")
        return Response(CannedResponseSerializer(response).data)

    @extend_schema(request=CannedResponseChangeSerializer, responses={200: CannedResponseSerializer, 404: NOT_VISIBLE})
    def patch(self, request, canned_id: int):
        parser = CannedResponseChangeSerializer(data=request.data)
        parser.is_valid(raise_exception=True)
        changes = {name: parser.validated_data[name] for name in parser.initial_data if name in parser.validated_data}
        try:
            response = canned.canned_response_update(agent=self.agent, canned_id=canned_id, changes=changes)
        except ConversationValidationError as error:
            raise _invalid(error) from None
        return Response(CannedResponseSerializer(response).data)

    @extend_schema(responses={204: None, 404: NOT_VISIBLE})
    def delete(self, request, canned_id: int):
        canned.canned_response_delete(agent=self.agent, canned_id=canned_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WrapUpCodeInputSerializer(InputSerializer):
    wrap_up_code = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="One of the workstream's codes.")


class CloseInputSerializer(InputSerializer):
    wrap_up_code = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Choose the wrap-up code while closing."
    )


class ConversationCloseResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    wrap_up_code = serializers.IntegerField(allow_null=True)


CONVERSATION_ID = OpenApiParameter("conversation_id", int, OpenApiParameter.PATH, description="Conversation id.")


def _visible_and_valid(request, conversation_id: int, serializer_class) -> dict:
    """The caller may see the conversation (404 otherwise) and the body is valid (400 otherwise)."""
    access_conversation(request.user, conversation_id)
    parser = serializer_class(data=request.data)
    parser.is_valid(raise_exception=True)
    return parser.validated_data


def _result(conversation) -> Response:
    return Response(
        {"id": conversation.pk, "status": conversation.status, "wrap_up_code": conversation.wrap_up_code_id}
    )


@extend_schema(
    parameters=[CONVERSATION_ID],
    request=WrapUpCodeInputSerializer,
    responses={200: ConversationCloseResultSerializer, 404: CONVERSATION_NOT_VISIBLE, 409: CONFLICT},
)
class ConversationWrapUpCodeApi(CannedApiView):
    """Choose the wrap-up code of a conversation you hold."""

    def put(self, request, conversation_id: int):
        data = _visible_and_valid(request, conversation_id, WrapUpCodeInputSerializer)
        conversation = conversation_wrap_up_code_set(
            conversation_id=conversation_id, agent=self.agent, code_id=data["wrap_up_code"]
        )
        return _result(conversation)


@extend_schema(
    parameters=[CONVERSATION_ID],
    request=CloseInputSerializer,
    responses={200: ConversationCloseResultSerializer, 404: CONVERSATION_NOT_VISIBLE, 409: CONFLICT},
)
class ConversationCloseApi(CannedApiView):
    """Close a conversation you hold after wrap-up; refused without a wrap-up code where one is required."""

    def post(self, request, conversation_id: int):
        data = _visible_and_valid(request, conversation_id, CloseInputSerializer)
        conversation = conversation_wrap_up_close(
            conversation_id=conversation_id, agent=self.agent, wrap_up_code_id=data.get("wrap_up_code")
        )
        return _result(conversation)
