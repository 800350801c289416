"""The one order in which the product takes row locks (issue 11).

Two transactions that lock the same rows in opposite orders deadlock: each holds what the other
waits for, and PostgreSQL throws one of them away. Measured before this module existed: an agent
accepting an offer (offer → work item → agent → conversation) against the customer ending the
chat (conversation → work item → offer) deadlocked in nearly every trial of
``tests/routing/test_lock_order_races.py``. So every workflow that locks more than one row takes
its locks in the order of :data:`LOCK_ORDER`, and the rows of one model in primary-key order:

1. the work item (``routing.WorkItem``) — a conversation-side workflow (the customer ends the
   chat, the grace period runs out, a transfer, a park) locks its work item before the
   conversation, so it queues behind an accept instead of crossing it;
2. its offers (``routing.Offer``);
3. the agents (their profiles), by primary key;
4. the conversation (``conversations.Conversation``);
5. what hangs off the conversation: its sessions and participants.

A workflow may skip any step, never go back to an earlier one for a row it does not already
hold.

Every row lock in the product is ``FOR NO KEY UPDATE`` (``select_for_update(no_key=True)``):
no workflow changes a primary key, two such locks exclude each other as ``FOR UPDATE`` would,
and a row that points at a locked one can still be stored. PostgreSQL checks a new row's
foreign key with ``FOR KEY SHARE`` on its target, which ``FOR UPDATE`` blocks; that wait is a
lock taken outside this order (storing a session under the conversation's lock waited for the
work item), and it deadlocked (``tests/core/test_row_locks.py``).

This module is low (``core``) so every app that locks rows can import it; it names models by
label only, so it depends on none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

#: Model labels in the order their rows are locked.
LOCK_ORDER: tuple[str, ...] = (
    "routing.WorkItem",
    "routing.Offer",
    "routing.AgentProfile",
    "agents.AgentProfile",  # the same table once the agents app owns the profiles
    "conversations.Conversation",
    "conversations.Session",
    "conversations.ConversationParticipant",
)

M = TypeVar("M", bound=models.Model)


def lock_rank(model: type[models.Model]) -> int:
    """The model's place in :data:`LOCK_ORDER`; a model that is not in it is a programming error."""
    try:
        return LOCK_ORDER.index(model._meta.label)
    except ValueError:
        raise LookupError(f"{model._meta.label} is not in core.locks.LOCK_ORDER; add it where it belongs.") from None


def lock_rows(queryset: models.QuerySet[M], pks: Iterable[int]) -> dict[int, M]:
    """Lock the rows of ``queryset``'s model with these primary keys, in primary-key order, and
    return them by primary key (missing rows are left out).

    Called inside the caller's transaction, after it locked any rows of models earlier in
    :data:`LOCK_ORDER` that it needs and before any later ones. ``queryset`` may narrow the
    columns (``.only()``) or filter further; its ordering is replaced (a default ``Meta.ordering``
    with a join must not decide the lock order).
    """
    lock_rank(queryset.model)
    wanted = sorted(set(pks))
    if not wanted:
        return {}
    rows = queryset.select_for_update(no_key=True, of=("self",)).filter(pk__in=wanted).order_by("pk")
    return {row.pk: row for row in rows}


def lock_row(queryset: models.QuerySet[M], pk: int | None) -> M | None:
    """Lock one row (see :func:`lock_rows`); ``None`` when it does not exist or ``pk`` is None."""
    if pk is None:
        return None
    return lock_rows(queryset, [pk]).get(pk)
