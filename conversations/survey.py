"""The post-chat survey's answers (issue 16): stored on the conversation once it has ended,
published to the conversation's group on commit (the agent's page, and the outbound webhooks'
``conversation.survey_answered``, API-2)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from conversations.errors import ConversationError
from conversations.models import Conversation, SurveyResponse
from conversations.services import conversation_lock
from core.realtime import conversation_group, publish_on_commit

MAX_COMMENT_LENGTH = 2000
MAX_ANSWER_LENGTH = 500
ENDED = (Conversation.Status.WRAP_UP, Conversation.Status.CLOSED)


def conversation_survey(conversation: Conversation) -> SurveyResponse | None:
    """The conversation's survey answers, if the customer gave them: no query when the
    conversation was read with ``select_related("survey")``, else one. Callers have checked that
    the reader may see the conversation (its page, the API)."""
    try:
        return conversation.survey
    except SurveyResponse.DoesNotExist:
        return None


RECENT_SURVEYS = 10


def recent_surveys(limit: int = RECENT_SURVEYS) -> list[SurveyResponse]:
    """The latest survey answers with their conversation's agent and queue, for the supervisor
    view (supervisors oversee every queue). One query."""
    return list(
        SurveyResponse.objects.select_related("conversation__agent", "conversation__queue").order_by(
            "-answered_at", "-pk"
        )[:limit]
    )


def survey_event(survey: SurveyResponse) -> dict:
    return {
        "type": "conversation.survey",
        "conversation": survey.conversation_id,
        "scale": survey.scale,
        "rating": survey.rating,
        "comment": survey.comment,
        "answers": survey.answers,
        "answered_at": survey.answered_at.isoformat(),
    }


@transaction.atomic
def conversation_survey_answer(
    *,
    conversation_id: int,
    scale: str,
    rating: int,
    comment: str = "",
    questions: Sequence[str] = (),
    answers: Sequence[str] = (),
) -> SurveyResponse:
    """The customer answers the survey of their ended conversation, once; under its row lock.

    ``questions`` are the widget's extra questions as asked, ``answers`` the texts in the same
    order (a blank answer is left out). Refused, changing nothing: a conversation not ended yet,
    a second answer, a rating off the scale, an over-long text.
    """
    conversation = conversation_lock(conversation_id)
    if conversation.status not in ENDED:
        raise ConversationError(_("The survey opens when the chat has ended."), code="chat_not_ended")
    if SurveyResponse.objects.filter(conversation=conversation).exists():
        raise ConversationError(_("This survey was answered already."), code="survey_answered")
    if scale not in SurveyResponse.Scale.values:
        raise ConversationError(_("This widget asks for no rating."), code="survey_off")
    allowed = range(1, 6) if scale == SurveyResponse.Scale.STARS else range(0, 2)
    if type(rating) is not int or rating not in allowed:
        raise ConversationError(
            _("The rating is one of %(low)d–%(high)d.") % {"low": allowed.start, "high": allowed.stop - 1},
            code="invalid_rating",
        )
    if len(comment) > MAX_COMMENT_LENGTH or any(len(answer) > MAX_ANSWER_LENGTH for answer in answers):
        raise ConversationError(_("An answer is too long."), code="too_long")
    if len(answers) > len(questions):
        raise ConversationError(_("More answers than questions."), code="invalid")
    survey = SurveyResponse.objects.create(
        conversation=conversation,
        scale=scale,
        rating=rating,
        comment=comment.strip(),
        answers=[
            {"question": question, "answer": answer.strip()}
            for question, answer in zip(questions, answers, strict=False)
            if answer.strip()
        ],
    )
    publish_on_commit(conversation_group(conversation.pk), survey_event(survey))
    return survey
