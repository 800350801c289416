"""Tags on conversations (issue 15): any agent who may see a conversation (SEC-1) adds or removes
an admin-defined tag; each change is one audit row (CONV-1) and is pushed to the open pages."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from conversations.models import Conversation, ConversationEvent, Tag
from conversations.read_markers import inbox_changed_on_commit
from conversations.selectors import access_conversation
from core.errors import NotFound
from core.locks import lock_row
from core.realtime import conversation_group, publish_on_commit
from routing.selectors import queue_member_ids


def conversation_tags_of(conversation: Conversation) -> dict:
    """The conversation's tags and the ones that may be added, for its page. Two queries."""
    on = list(conversation.tags.order_by("name"))
    present = {tag.pk for tag in on}
    return {"on": on, "addable": [tag for tag in Tag.objects.order_by("name") if tag.pk not in present]}


def tag_get(tag_id: int) -> Tag:
    try:
        return Tag.objects.get(pk=tag_id)
    except Tag.DoesNotExist:
        raise NotFound(_("No such tag."), code="no_such_tag") from None


@transaction.atomic
def conversation_tag_add(*, conversation_id: int, tag_id: int, by: AbstractBaseUser) -> Conversation:
    """Put the tag on the conversation. Idempotent: a tag already there changes nothing.

    Raises :class:`NotFound` for a conversation ``by`` may not see (SEC-1) or a missing tag.
    Locks the conversation row, so concurrent changes of its tags are audited in order."""
    return _tags_change(conversation_id=conversation_id, tag_id=tag_id, by=by, add=True)


@transaction.atomic
def conversation_tag_remove(*, conversation_id: int, tag_id: int, by: AbstractBaseUser) -> Conversation:
    """Take the tag off the conversation. Idempotent: a tag not there changes nothing."""
    return _tags_change(conversation_id=conversation_id, tag_id=tag_id, by=by, add=False)


def _tags_change(*, conversation_id: int, tag_id: int, by: AbstractBaseUser, add: bool) -> Conversation:
    access_conversation(by, conversation_id)  # SEC-1, before anything is locked
    tag = tag_get(tag_id)
    conversation = lock_row(Conversation.objects.only("pk", "agent_id", "queue_id", "status"), conversation_id)
    present = conversation.tags.filter(pk=tag.pk).exists()
    if present == add:
        return conversation
    if add:
        conversation.tags.add(tag)
    else:
        conversation.tags.remove(tag)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.TAGS_CHANGED,
        actor=ConversationEvent.Actor.AGENT,
        actor_user=by,
        data={"added" if add else "removed": tag.name},
    )
    tags_changed_publish(conversation)
    return conversation


def tag_payload(tag: Tag) -> dict:
    return {"id": tag.pk, "name": tag.name, "colour": tag.colour, "text_colour": tag.text_colour}


def tags_changed_publish(conversation: Conversation) -> None:
    """Tell the open pages, on commit: the conversation's pages (``conversation.tags``, with its tags
    and the ones that may be added, to redraw the controls) and the inboxes showing its row — the
    holder's, and while it waits in a queue, that queue's agents' (``inbox.changed``). Two queries,
    three with a queue."""
    tags = conversation_tags_of(conversation)
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "conversation.tags",
            "conversation": conversation.pk,
            "tags": [tag_payload(tag) for tag in tags["on"]],
            "addable": [{"id": tag.pk, "name": tag.name} for tag in tags["addable"]],
        },
    )
    agents = set(queue_member_ids(conversation.queue_id)) if conversation.status == Conversation.Status.OPEN else set()
    if conversation.agent_id:
        agents.add(conversation.agent_id)
    for agent_id in sorted(agents):
        inbox_changed_on_commit(agent_id=agent_id, reason="tags", conversation_id=conversation.pk)
