"""What routing tells the owner of a piece of work (issue 11): routing knows work items, not
conversations or cases.

A work item has a ``kind`` ("conversation", "case"); the app that owns that kind of work — a
higher layer than routing — registers a :class:`WorkSubject` for it in its ``AppConfig.ready()``
(``ConversationsConfig``, ``CustomersConfig``). Routing calls it as a plain function in its own
transaction, never through a signal: the accept, the automatic accept, a pick, a case assignment
at its timeout and a returning chat handed back all end in :meth:`WorkSubject.assigned`.

Workflows that start on the owner's side (a transfer, a consult, a bot's hand-over, the customer
ending the chat) are the owner's: they lock the work item first (``core.locks``) and call
routing's public services (``work_item_reassign``, ``work_item_requeue``, ``work_item_enqueue``…).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agents.models import AgentProfile
    from routing.models import WorkItem


class WorkSubject(Protocol):
    """The owner of one kind of work, as routing sees it."""

    def assigned(self, *, work_item: WorkItem, agent: AgentProfile) -> None:
        """``agent`` now holds the work (ROU-10): e.g. the conversation becomes active with a
        session (CONV-3). Called in routing's transaction, which holds the work item's and then
        the agent's row locks; the owner locks its own rows next (``core.locks`` order)."""


_subjects: dict[str, WorkSubject] = {}


def register_work_subject(kind: str, subject: WorkSubject) -> None:
    """Called once per kind from the owning app's ``AppConfig.ready()``."""
    _subjects[kind] = subject


def work_subject(kind: str) -> WorkSubject:
    """The registered owner of ``kind``; an unregistered kind is a programming error."""
    try:
        return _subjects[kind]
    except KeyError:
        raise LookupError(f"No work subject is registered for work items of kind {kind!r}.") from None
