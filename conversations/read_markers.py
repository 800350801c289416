"""How far each agent has read each conversation (issue 15: the inbox's unread counts)."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from agents.models import AgentProfile
from conversations.models import ConversationRead
from core.realtime import agent_group, publish_on_commit


def inbox_changed_on_commit(*, agent_id: int, reason: str, conversation_id: int | None = None) -> None:
    """Tell the agent's workspace pages that their inbox changed; each answers with fresh counts
    (``inbox.counts``). ``reason``: ``customer_message``, ``read``, ``tags``."""
    publish_on_commit(
        agent_group(agent_id), {"type": "inbox.changed", "reason": reason, "conversation": conversation_id}
    )


def conversation_mark_read(*, agent: AgentProfile, conversation_id: int, seq: int) -> bool:
    """The agent has read the conversation up to message ``seq``; True when the marker moved.

    Call with a conversation the agent may open (the caller checks). One statement, an upsert
    that only moves the marker forward, so a late frame of an older page never brings unread
    messages back, and two pages marking at once both end at the later number. Publishes
    ``inbox.changed`` (on commit) only when the marker moved.
    """
    table = connection.ops.quote_name(ConversationRead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (agent_id, conversation_id, last_read_seq, read_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (agent_id, conversation_id) DO UPDATE "
            "SET last_read_seq = excluded.last_read_seq, read_at = excluded.read_at "
            f"WHERE {table}.last_read_seq < excluded.last_read_seq",
            [agent.pk, conversation_id, seq, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        moved = cursor.rowcount > 0
    if moved:
        inbox_changed_on_commit(agent_id=agent.pk, reason="read", conversation_id=conversation_id)
    return moved
