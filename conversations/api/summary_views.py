"""The customer summary of a conversation in the developer API (SUM-2..17, API-1).

The summary is the conversation's view of its customer: these endpoints read it and change the
conversation's links, skills and quick notes through ``conversations.customer_links``. The
serializers are the customers API's, as the summary shows customer records.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsAgentOrAdmin
from conversations import customer_links as services
from conversations import summary
from conversations.selectors import access_conversation, conversations_visible_to
from conversations.summary import SummaryError
from core.api import MAX_ID
from core.errors import NotFound
from customers.api.serializers import (
    CustomerSummarySerializer,
    LinkInputSerializer,
    NoteSerializer,
    QuickNoteInputSerializer,
    SkillsInputSerializer,
    TimelinePageSerializer,
    TimelineParamsSerializer,
)
from customers.api.views import INVALID, rules_as_field_errors

# --- The customer summary of a conversation (SUM-2..17) ----------------------------------------
#
# Whose summary: the conversations the caller may see (SEC-1: an agent's queues' and those they
# hold; supervisors and admins all), else 404. Changing it: the agent who holds it, a
# supervisor or an admin (else 403), and never once it is closed (409).

SUMMARY_NOT_VISIBLE = OpenApiResponse(description="No such conversation, or not one of your queues'.")
SUMMARY_FORBIDDEN = OpenApiResponse(description="You do not hold this conversation (nor supervise).")
SUMMARY_CONFLICT = OpenApiResponse(
    description="The conversation is closed (read-only), or nothing of that kind is linked."
)
SUMMARY_ID = OpenApiParameter("conversation_id", int, OpenApiParameter.PATH, description="Conversation id.")


def _conversation(user, conversation_id: int):
    return access_conversation(user, conversation_id)


def summary_change_responses(answers: dict) -> dict:
    """The answers of a call that changes the summary: ``answers``, then the refusals every change shares."""
    return {400: INVALID, 403: SUMMARY_FORBIDDEN, 404: SUMMARY_NOT_VISIBLE, 409: SUMMARY_CONFLICT, **answers}


@contextmanager
def summary_input_errors() -> Iterator[None]:
    """A broken cursor or search becomes a 400 with a message, like any bad input."""
    try:
        yield
    except SummaryError as exc:
        raise serializers.ValidationError({"detail": [exc.message]}) from None


class SummaryApiView(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("conversation_id", 0) > MAX_ID:  # past the id range: no such row (and no DB error)
            raise NotFound("No such conversation.")

    def summary_response(self, conversation_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
        data = summary.customer_summary(
            conversations_visible_to(self.request.user), conversation_id, user=self.request.user
        )
        return Response(CustomerSummarySerializer(data).data, status=status_code)

    def change_input(self, conversation_id: int, serializer_class: type[serializers.Serializer]) -> dict:
        """The checked body of a change to a conversation the caller may see (else 404, then 400)."""
        _conversation(self.request.user, conversation_id)
        parser = serializer_class(data=self.request.data)
        parser.is_valid(raise_exception=True)
        return parser.validated_data


@extend_schema(parameters=[SUMMARY_ID], responses={200: CustomerSummarySerializer, 404: SUMMARY_NOT_VISIBLE})
class ConversationSummaryApi(SummaryApiView):
    """The customer summary of a conversation: customer, conversation summary, tabs, case,
    recent cases and the first page of the timeline, in a fixed number of queries."""

    # spec: SUM-2..16

    def get(self, request, conversation_id: int):
        return self.summary_response(conversation_id)


@extend_schema(
    parameters=[SUMMARY_ID, TimelineParamsSerializer],
    responses={200: TimelinePageSerializer, 400: INVALID, 404: SUMMARY_NOT_VISIBLE},
)
class ConversationTimelineApi(SummaryApiView):
    """A page of the timeline of a record linked to the conversation, newest first.

    Keyset pagination: pass the ``next_cursor`` of a page as ``?cursor=`` for the next one.
    """

    # spec: SUM-16, SUM-17

    def get(self, request, conversation_id: int):
        conversation = summary.summary_conversation(conversations_visible_to(request.user), conversation_id)
        params = TimelineParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        with summary_input_errors():
            page = summary.timeline_page(
                conversation,
                record_kind=params.validated_data["record"],
                cursor=params.validated_data.get("cursor"),
                limit=params.validated_data["limit"],
            )
        return Response(TimelinePageSerializer(page).data)


@extend_schema(
    parameters=[SUMMARY_ID],
    request=LinkInputSerializer,
    responses=summary_change_responses({200: CustomerSummarySerializer}),
)
class ConversationLinkApi(SummaryApiView):
    """Link an existing contact, account or case to the conversation; answers the summary."""

    # spec: SUM-4, SUM-14

    def post(self, request, conversation_id: int):
        link = self.change_input(conversation_id, LinkInputSerializer)
        services.conversation_record_link(
            conversation_id=conversation_id, kind=link["kind"], record_id=link["id"], by=request.user
        )
        return self.summary_response(conversation_id)


@extend_schema(
    parameters=[
        SUMMARY_ID,
        OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=["contact", "account", "case"]),
    ],
    responses={200: CustomerSummarySerializer, 403: SUMMARY_FORBIDDEN, 404: SUMMARY_NOT_VISIBLE, 409: SUMMARY_CONFLICT},
)
class ConversationUnlinkApi(SummaryApiView):
    """Unlink the conversation's contact, account or case; answers the summary."""

    def delete(self, request, conversation_id: int, kind: str):
        _conversation(request.user, conversation_id)
        if kind not in summary.RECORD_KINDS:
            raise NotFound("Unlink the contact, the account or the case.")
        services.conversation_record_unlink(conversation_id=conversation_id, kind=kind, by=request.user)
        return self.summary_response(conversation_id)


@extend_schema(
    parameters=[SUMMARY_ID],
    request=QuickNoteInputSerializer,
    responses=summary_change_responses({201: NoteSerializer}),
)
class ConversationQuickNoteApi(SummaryApiView):
    """A quick note on a record linked to the conversation; it keeps the conversation."""

    # spec: SUM-16

    def post(self, request, conversation_id: int):
        quick_note = self.change_input(conversation_id, QuickNoteInputSerializer)
        with rules_as_field_errors():
            note = services.conversation_quick_note(
                conversation_id=conversation_id,
                record_kind=quick_note["record"],
                text=quick_note["text"],
                by=request.user,
            )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[SUMMARY_ID],
    request=SkillsInputSerializer,
    responses=summary_change_responses(
        {
            200: CustomerSummarySerializer,
            403: OpenApiResponse(description="Not yours to change, or the admin does not let agents edit skills."),
            404: OpenApiResponse(description="No such conversation or skill."),
        }
    ),
)
class ConversationSkillsApi(SummaryApiView):
    """Set the conversation's skills, when its workstream lets agents; answers the summary."""

    # spec: SUM-7

    def put(self, request, conversation_id: int):
        skills = self.change_input(conversation_id, SkillsInputSerializer)
        services.conversation_skills_set(conversation_id=conversation_id, skill_ids=skills["skills"], by=request.user)
        return self.summary_response(conversation_id)
