"""Wrap-up (disposition) codes (issue 15): per workstream, the codes an agent picks when ending a
conversation, optionally required before it can close (checked in
``conversations.services.conversation_wrap_up_close``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agents.models import AgentProfile
from conversations.errors import ConversationError
from conversations.models import Conversation, WrapUpCode
from conversations.services import conversation_lock, wrap_up_code_apply


def wrap_up_codes_of(workstream_id: int) -> tuple[list[WrapUpCode], bool]:
    """The codes an agent may choose in a workstream's conversations, in their order, and whether
    closing needs one (only where there is one to choose; ``services.wrap_up_code_missing``). One query."""
    codes = list(
        WrapUpCode.objects.filter(settings__workstream_id=workstream_id, is_active=True).select_related("settings")
    )
    return codes, any(code.settings.code_required for code in codes)


def conversations_with_wrap_up_code(
    conversations: QuerySet[Conversation], *, code_ids: Iterable[int]
) -> QuerySet[Conversation]:
    """Narrow already-visible conversations (``selectors.conversations_visible_to``) to those
    closed with one of ``code_ids``: the filter the API, the inbox and the search share."""
    return conversations.filter(wrap_up_code_id__in=list(code_ids))


@transaction.atomic
def conversation_wrap_up_code_set(*, conversation_id: int, agent: AgentProfile, code_id: int) -> Conversation:
    """The agent who holds the conversation chooses its wrap-up code, while it is active, waiting
    or in wrap-up. Choosing the same code again changes nothing; a refusal changes nothing."""
    conversation = conversation_lock(conversation_id)
    if conversation.agent_id != agent.pk:
        raise ConversationError(
            _("Only the agent who holds this conversation can choose its wrap-up code."), code="not_yours"
        )
    if conversation.status in (Conversation.Status.OPEN, Conversation.Status.CLOSED):
        raise ConversationError(_("A wrap-up code is chosen while the conversation is handled."), code="not_active")
    if conversation.wrap_up_code_id == code_id:
        return conversation
    wrap_up_code_apply(conversation, code_id=code_id, actor_user=agent.user)
    return conversation
