"""API clients of the bot API (ROU-15): their keys, and the workstreams they may act in (SEC-1).

A bot is not an agent: it authenticates with a key of its own (``Authorization: Bot <key>``),
acts as its own user, and only in the workstreams an admin granted it. Only a SHA-256 hash of
the key is stored, so a leaked database does not leak working keys.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from conversations.models import BotClient, Conversation
from core.errors import Forbidden, NotFound

KEY_BYTES = 32


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str, str]:
    key = secrets.token_urlsafe(KEY_BYTES)
    return key, key[:8], _hash(key)


@transaction.atomic
def bot_client_create(
    *, name: str, workstreams=(), throttle_rate: str = "", is_active: bool = True
) -> tuple[BotClient, str]:
    """A new bot client with its own user (no password, no agent profile) and a fresh key.

    Returns the client and its key: the only time the key exists in clear.
    """
    user = get_user_model().objects.create(username=f"bot-{secrets.token_hex(6)}", first_name=name[:150])
    user.set_unusable_password()
    user.save(update_fields=["password"])
    key, prefix, digest = _new_key()
    client = BotClient(
        name=name, user=user, key_prefix=prefix, key_hash=digest, throttle_rate=throttle_rate, is_active=is_active
    )
    client.full_clean(exclude=["user"])
    client.save()
    client.workstreams.set(workstreams)
    return client, key


@transaction.atomic
def bot_client_key_rotate(*, client_id: int) -> str:
    """Issue a new key; the old one stops working at once. Returns the new key."""
    client = BotClient.objects.select_for_update(no_key=True).get(pk=client_id)
    key, client.key_prefix, client.key_hash = _new_key()
    client.save(update_fields=["key_prefix", "key_hash"])
    return key


def bot_client_for_key(key: str) -> BotClient | None:
    """The active client whose key this is, with its user, or None."""
    if not key or len(key) > 128:
        return None
    return BotClient.objects.select_related("user").filter(key_hash=_hash(key), is_active=True).first()


def access_bot_workstream(*, client: BotClient, workstream_id: int) -> None:
    """Raises :class:`Forbidden` unless ``client`` was granted the workstream."""
    if not client.workstreams.filter(pk=workstream_id).exists():
        raise Forbidden(_("This bot may not act in that workstream."), code="workstream_not_granted")


def access_bot_client_conversation(*, client: BotClient, conversation_id: int) -> Conversation:
    """The conversation this bot took, in a workstream it is still granted.

    Anyone else's conversation is :class:`NotFound` (its existence does not leak); the bot's own
    in a workstream no longer granted is :class:`Forbidden`.
    """
    conversation = None
    if 0 < conversation_id < 2**63:  # an id past the database's range is no row, not an error
        conversation = Conversation.objects.filter(pk=conversation_id, bot_user_id=client.user_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    access_bot_workstream(client=client, workstream_id=conversation.workstream_id)
    return conversation
