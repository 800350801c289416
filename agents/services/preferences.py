"""Agents' own workspace preferences: desktop notifications (NOT-9), the inbox sound (issue 15),
the workspace's language (issue 17, I18N-1)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from agents.errors import AgentError
from agents.models import AgentProfile
from agents.services.presence import may_manage_agents
from core.errors import NotFound

#: "template" follows the notification template's desktop mode; the others override it.
DESKTOP_MODES = tuple(value for value, _label in AgentProfile._meta.get_field("desktop_notifications").choices)


@transaction.atomic
def agent_desktop_notifications_set(*, agent_id: int, mode: str, by: AbstractBaseUser) -> AgentProfile:
    """Choose when the agent gets operating-system notifications (NOT-9).

    ``mode`` is one of :data:`DESKTOP_MODES`. An agent sets their own; supervisors and admins may
    set anyone's. Idempotent: the current mode again writes nothing.
    """
    if mode not in DESKTOP_MODES:
        raise AgentError(_("Choose one of: %(modes)s.") % {"modes": ", ".join(DESKTOP_MODES)}, code="invalid")
    return _preference_set(agent_id=agent_id, by=by, field="desktop_notifications", value=mode)


@transaction.atomic
def agent_inbox_sound_set(*, agent_id: int, on: bool, by: AbstractBaseUser) -> AgentProfile:
    """Switch the sound on new work and on new customer messages (issue 15; off by default).

    An agent sets their own; supervisors and admins may set anyone's. Idempotent."""
    if not isinstance(on, bool):
        raise AgentError(_("Say on or off."), code="invalid")
    return _preference_set(agent_id=agent_id, by=by, field="inbox_sound", value=on)


#: The workspace's languages an agent may choose: "" follows their browser (I18N-1).
LANGUAGE_CODES = ("", *(code for code, _name in settings.LANGUAGES))


@transaction.atomic
def agent_language_set(*, agent_id: int, language: str, by: AbstractBaseUser) -> AgentProfile:
    """Choose the language of the agent's workspace and admin center (issue 17, I18N-1).

    ``language`` is "" (the browser's) or exactly one of ``settings.LANGUAGES``' codes ("fr", not
    "FR" nor "fr-FR"). An agent sets their own; supervisors and admins may set anyone's.
    Idempotent: the current language again writes nothing."""
    if not isinstance(language, str) or language not in LANGUAGE_CODES:
        raise AgentError(_("Choose one of the listed languages."), code="invalid")
    return _preference_set(agent_id=agent_id, by=by, field="language", value=language)


def _preference_set(*, agent_id: int, by: AbstractBaseUser, field: str, value) -> AgentProfile:
    """Lock the agent, check ``by`` may change their settings, and write ``field`` if it changes.
    The caller holds the transaction and validated ``value``."""
    try:
        agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=agent_id)
    except AgentProfile.DoesNotExist:
        raise NotFound(_("No such agent.")) from None
    if agent.user_id != by.pk and not may_manage_agents(by):
        raise AgentError(_("Only a supervisor or an admin can change another agent's settings."), code="forbidden")
    if getattr(agent, field) != value:
        setattr(agent, field, value)
        agent.save(update_fields=[field])
    return agent
