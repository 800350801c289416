"""Wrap-up (disposition) codes (issue 15): per workstream, the codes an agent picks when ending a
conversation, optionally required before it can close (checked in
``conversations.services.conversation_wrap_up_close``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agents.models import AgentProfile
from conversations.errors import ConversationError
from conversations.models import Conversation, WrapUpCode
from conversations.services import conversation_lock, wrap_up_code_apply
from routing.selectors import workstreams_visible_to


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


def wrap_up_codes_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[WrapUpCode]:
    """The codes ``user`` may filter by: those of the workstreams they see (``workstreams_visible_to``),
    retired ones included (they stay on past conversations), with their workstream for the label.
    A code of another workstream is not among them, so filtering by it is refused, not empty."""
    visible = workstreams_visible_to(user).values("pk")
    return (
        WrapUpCode.objects.filter(settings__workstream__in=visible)
        .select_related("settings__workstream")
        .order_by("settings__workstream__name", "order", "name", "pk")
    )


def wrap_up_code_label(code: WrapUpCode) -> str:
    """A code as a filter lists it: names repeat across workstreams, so the workstream says which."""
    return f"{code.name} · {code.settings.workstream.name}"


def conversations_with_chosen_wrap_up_code(
    conversations: QuerySet[Conversation], code: WrapUpCode
) -> QuerySet[Conversation]:
    """The ``wrap_up_code`` filter of the inbox, the search page and the search API (registered in
    ``ConversationsConfig.ready``)."""
    return conversations_with_wrap_up_code(conversations, code_ids=[code.pk])


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
