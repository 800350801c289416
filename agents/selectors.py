"""Reads of the agents app that pages, consumers and the API share: who is an agent, who
oversees everyone (SEC-1), and the presences.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from agents.models import AgentProfile, Presence


def agent_for_user(user: AbstractBaseUser | AnonymousUser) -> AgentProfile | None:
    """The user's agent profile, or None. Django caches the answer on the user, even a miss."""
    if not user.is_authenticated:
        return None
    return getattr(user, "agent", None)


def oversees_all(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and supervisors see every queue, agent and conversation (SEC-1)."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    agent = agent_for_user(user)
    return agent is not None and agent.role == AgentProfile.Role.SUPERVISOR


def presence_list() -> QuerySet[Presence]:
    return Presence.objects.order_by("order", "name")


def reset_presence() -> Presence | None:
    """The presence a supervisor's reset puts an agent in: the shipped Available one (ADM-2, NOT-10)."""
    return (
        Presence.objects.filter(base=Presence.Base.AVAILABLE, agent_selectable=True)
        .order_by("-is_system", "order", "pk")
        .first()
    )


def user_language(user: AbstractBaseUser | AnonymousUser) -> str:
    """The language the person chose for their own screens (their agent profile's), or "" to
    follow their browser (I18N-1). No query for the user of a request: the sign-in backend
    (``agents.auth.ModelBackendWithProfile``) loaded their profile with them."""
    if not user.is_authenticated:
        return ""
    try:
        return user.agent.language
    except AgentProfile.DoesNotExist:
        return ""
