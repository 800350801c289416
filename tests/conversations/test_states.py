"""Every conversation move, allowed and refused (CONV-1)."""

import itertools

import pytest

from conversations.models import Conversation, ConversationEvent
from conversations.services import conversation_transition
from conversations.states import CONVERSATION
from core.errors import IllegalTransition
from core.realtime import conversation_group
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import UserFactory

pytestmark = pytest.mark.django_db

ALLOWED = {
    ("open", "active"),
    ("open", "closed"),
    ("active", "open"),
    ("active", "waiting"),
    ("active", "wrap_up"),
    ("active", "closed"),
    ("waiting", "active"),
    ("waiting", "open"),
    ("waiting", "wrap_up"),
    ("waiting", "closed"),
    ("wrap_up", "closed"),
}
ALL_PAIRS = list(itertools.product(CONVERSATION.states, repeat=2))


def test_the_table_is_exactly_the_documented_lifecycle():
    # spec: CONV-1
    assert CONVERSATION.moves == ALLOWED
    assert set(CONVERSATION.states) == set(Conversation.Status.values)
    assert CONVERSATION.is_final("closed")


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_move_is_applied_and_recorded_with_who_and_when(
    source, target, published, django_capture_on_commit_callbacks
):
    # spec: CONV-1
    user = UserFactory()
    conversation = ConversationFactory()
    Conversation.objects.filter(pk=conversation.pk).update(status=source)

    with django_capture_on_commit_callbacks(execute=True):
        conversation_transition(
            conversation_id=conversation.pk, to=target, actor=ConversationEvent.Actor.AGENT, actor_user=user, note="why"
        )

    conversation.refresh_from_db()
    assert conversation.status == target
    assert (conversation.closed_at is not None) == (target == "closed")
    event = ConversationEvent.objects.get(conversation=conversation)
    assert (event.from_status, event.to_status, event.actor, event.actor_user, event.note) == (
        source,
        target,
        "agent",
        user,
        "why",
    )
    assert event.created_at is not None
    assert published == [
        (
            conversation_group(conversation.pk),
            {
                "type": "conversation.status",
                "conversation": conversation.pk,
                "status": target,
                "previous": source,
                "actor": "agent",
            },
        )
    ]


@pytest.mark.parametrize(("source", "target"), sorted(set(ALL_PAIRS) - ALLOWED))
def test_refused_move_raises_a_clear_error_and_changes_nothing(
    source, target, published, django_capture_on_commit_callbacks
):
    # spec: CONV-1
    conversation = ConversationFactory()
    Conversation.objects.filter(pk=conversation.pk).update(status=source)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(IllegalTransition) as refused:
        conversation_transition(conversation_id=conversation.pk, to=target, actor=ConversationEvent.Actor.SYSTEM)

    assert str(refused.value) == (
        f"A conversation that is {source.replace('_', ' ')} cannot become {target.replace('_', ' ')}."
    )
    conversation.refresh_from_db()
    assert conversation.status == source
    assert conversation.closed_at is None
    assert not ConversationEvent.objects.filter(conversation=conversation).exists()
    assert published == []
