"""People in one place: create, import and deactivate agents (issue 14).

New module on purpose: the agent models are moving to an ``agents`` app, and this file moves
with them as a whole. ``agent_create`` writes the sign-in account (Django's auth user), the
agent profile, its queue memberships and skills in one transaction, so an agent is never half
made.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from agents.models import AgentProfile, AgentSkill, Presence, Skill
from agents.services import agent_presence_set
from core.errors import DomainError
from routing.models import Queue, QueueMembership

#: The columns of an agent import file, in the order the template shows them.
CSV_COLUMNS = ("username", "email", "display_name", "capacity", "queues", "skills", "supervisor")
MAX_IMPORT_ROWS = 1000
MAX_IMPORT_BYTES = 1024 * 1024
TRUE_WORDS = {"yes", "true", "1", "y", "x"}
FALSE_WORDS = {"no", "false", "0", "n", ""}


class PeopleError(DomainError):
    """An agent that cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class AgentDraft:
    username: str
    email: str
    display_name: str
    capacity: int
    queues: tuple[Queue, ...]
    skills: tuple[tuple[Skill, int], ...]  # (skill, proficiency 1–10)
    supervisor: bool
    password: str = ""


@transaction.atomic
def agent_create(*, draft: AgentDraft) -> AgentProfile:
    """A new agent who can sign in to the workspace: account, profile, queues and skills at once.

    Refuses a username already taken (case-insensitively) with :class:`PeopleError`; the new
    agent starts Offline until they open the workspace. Without a password the account cannot
    sign in until an admin sets one (``set_unusable_password``).
    """
    users = get_user_model()
    if users.objects.filter(username__iexact=draft.username).exists():
        raise PeopleError(_("The username “%(username)s” is taken.") % {"username": draft.username})
    if not 1 <= draft.capacity <= 10_000:
        raise PeopleError(_("Capacity is a whole number from 1 to 10000."))
    for _skill, proficiency in draft.skills:
        if not 1 <= proficiency <= 10:
            raise PeopleError(_("A proficiency is from 1 (novice) to 10 (expert)."))
    user = users(username=draft.username, email=draft.email)
    if draft.password:
        user.set_password(draft.password)
    else:
        user.set_unusable_password()
    user.save()
    offline = Presence.objects.filter(base=Presence.Base.OFFLINE).order_by("-is_system", "order", "pk").first()
    if offline is None:
        raise PeopleError(_("There is no Offline presence for a new agent to start in."))
    agent = AgentProfile.objects.create(
        user=user,
        display_name=draft.display_name,
        capacity=draft.capacity,
        role=AgentProfile.Role.SUPERVISOR if draft.supervisor else AgentProfile.Role.AGENT,
        presence=offline,
    )
    QueueMembership.objects.bulk_create([QueueMembership(agent=agent, queue=queue) for queue in draft.queues])
    AgentSkill.objects.bulk_create(
        [AgentSkill(agent=agent, skill=skill, proficiency=proficiency) for skill, proficiency in draft.skills]
    )
    return agent


@transaction.atomic
def agent_deactivate(*, agent_id: int, by: AbstractBaseUser) -> AgentProfile:
    """The agent can no longer sign in or get work; their conversations, sessions, notes and
    queue memberships stay, so their history reads as before and reactivating restores them.
    Idempotent."""
    agent = AgentProfile.objects.select_related("user").get(pk=agent_id)
    if agent.user_id == by.pk:
        raise PeopleError(_("You cannot deactivate yourself."))
    offline = Presence.objects.filter(base=Presence.Base.OFFLINE, is_system=True).first()
    if offline is not None and agent.presence_id != offline.pk:
        agent = agent_presence_set(agent_id=agent.pk, presence=offline, by=by)
    if agent.user.is_active:
        agent.user.is_active = False
        agent.user.save(update_fields=["is_active"])
    return agent


@transaction.atomic
def agent_reactivate(*, agent_id: int) -> AgentProfile:
    """The agent may sign in again (and is offered work once they open the workspace). Idempotent."""
    agent = AgentProfile.objects.select_related("user").get(pk=agent_id)
    if not agent.user.is_active:
        agent.user.is_active = True
        agent.user.save(update_fields=["is_active"])
    return agent


# --- Import from CSV ----------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: list[tuple[int, AgentProfile]] = field(default_factory=list)  # (line, agent)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _cell(row: dict, name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _draft_from_row(row: dict, *, queues: dict[str, Queue], skills: dict[str, Skill]) -> AgentDraft:
    """Raises ValueError with the reason a person reads."""
    username = _cell(row, "username")
    if not username:
        raise ValueError(_("The username is empty."))
    if len(username) > 150:
        raise ValueError(_("The username is longer than 150 characters."))
    email = _cell(row, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(_("“%(email)s” is not an email address.") % {"email": email}) from None
    display_name = _cell(row, "display_name") or username
    if len(display_name) > 100:
        raise ValueError(_("The display name is longer than 100 characters."))
    capacity_text = _cell(row, "capacity") or "100"
    if not capacity_text.isdigit() or not 1 <= int(capacity_text) <= 10_000:
        raise ValueError(_("Capacity “%(value)s” is not a whole number from 1 to 10000.") % {"value": capacity_text})
    chosen_queues = []
    for name in filter(None, (part.strip() for part in _cell(row, "queues").split(";"))):
        if name.casefold() not in queues:
            raise ValueError(_("There is no queue named “%(name)s”.") % {"name": name})
        chosen_queues.append(queues[name.casefold()])
    chosen_skills = []
    for part in filter(None, (part.strip() for part in _cell(row, "skills").split(";"))):
        name, _colon, level = part.partition(":")
        name, level = name.strip(), level.strip() or "5"
        if name.casefold() not in skills:
            raise ValueError(_("There is no skill named “%(name)s”.") % {"name": name})
        if not level.isdigit() or not 1 <= int(level) <= 10:
            raise ValueError(
                _("The proficiency of %(skill)s, “%(level)s”, is not from 1 to 10.") % {"skill": name, "level": level}
            )
        chosen_skills.append((skills[name.casefold()], int(level)))
    supervisor = _cell(row, "supervisor").casefold()
    if supervisor not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(_("Supervisor is yes or no, not “%(value)s”.") % {"value": supervisor})
    return AgentDraft(
        username=username,
        email=email,
        display_name=display_name,
        capacity=int(capacity_text),
        queues=tuple(dict.fromkeys(chosen_queues)),
        skills=tuple(dict(chosen_skills).items()),
        supervisor=supervisor in TRUE_WORDS,
    )


def agents_import_csv(*, data: bytes) -> ImportReport:
    """Create one agent per row of a CSV file (:data:`CSV_COLUMNS`, a header line first).

    One transaction per row: a good row is created whole, a bad row creates nothing and is
    reported with its line number and the reason, and the other rows go on. Queues and skills
    are named (``Billing;Orders``, ``French:8;Billing``, proficiency 5 when left out).
    Raises :class:`PeopleError` when the file as a whole cannot be read.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise PeopleError(_("The file is larger than 1 MB; split it."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PeopleError(_("The file is not UTF-8 text; save it as “CSV UTF-8”.")) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().casefold() for name in reader.fieldnames or []]
    if "username" not in header:
        raise PeopleError(
            _("The first line must name the columns, at least “username”: %(columns)s.")
            % {"columns": ",".join(CSV_COLUMNS)}
        )
    unknown = [name for name in header if name and name not in CSV_COLUMNS]
    if unknown:
        raise PeopleError(_("Unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
    reader.fieldnames = header
    queues = {queue.name.casefold(): queue for queue in Queue.objects.all()}
    skills = {skill.name.casefold(): skill for skill in Skill.objects.all()}
    report = ImportReport()
    rows = 0
    for row in reader:
        line = reader.line_num
        if not any(_cell(row, name) for name in CSV_COLUMNS):
            continue  # a blank line
        rows += 1
        if rows > MAX_IMPORT_ROWS:
            report.refused.append(
                (line, _("More than %(max)d rows; import the rest in another file.") % {"max": MAX_IMPORT_ROWS})
            )
            break
        if None in row:  # more cells than columns
            report.refused.append((line, _("This line has more cells than the header names.")))
            continue
        try:
            draft = _draft_from_row(row, queues=queues, skills=skills)
            report.created.append((line, agent_create(draft=draft)))
        except (ValueError, PeopleError) as error:
            report.refused.append((line, str(error)))
    return report
