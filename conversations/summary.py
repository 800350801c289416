"""The customer summary's read model: everything an agent needs about the customer (SUM-2..17).

The summary is the conversation's view of its customer, so it lives with the conversation; the
customer records it shows are read from the customers app's tables. What the customer did
before the conversation (SUM-12) is the widget app's: it registers how to read it
(:func:`register_self_service_reader`), as the widget app sits above this one.

Pages, the workspace's JSON endpoints and the developer API share these builders. Each one
fetches what it shows in a fixed number of queries whatever the size of the customer's history
(SUM-17): the timeline is read a page at a time with a keyset cursor, recent cases and
self-service actions are capped.

Who may read which conversation is decided by the caller's queryset (the workspace's
``conversations_given_to`` or the API's ``conversations_visible_to``, SEC-1); the builders only
fetch from it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from heapq import merge

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from agents.models import Skill
from conversations.chat_settings import chat_settings_of
from conversations.customer_links import RECORD_KINDS, may_change_summary
from conversations.models import Conversation
from conversations.workspace import Detail, additional_details, format_wait, prechat_details, visitor_details
from core.errors import DomainError, NotFound
from customers.models import Account, Case, Contact, Note, normalise_phone

TIMELINE_PAGE = 20
TIMELINE_MAX_PAGE = 100
RECENT_CASES = 5
SELF_SERVICE_LIMIT = 50
SEARCH_LIMIT = 10
SEARCH_MIN_LENGTH = 2
SKILL_CHOICES_LIMIT = 200

#: The order of timeline items that share a time: notes, then cases, then conversations.
_RANK = {"conversation": 0, "case": 1, "note": 2}


class SummaryError(DomainError):
    """Bad input to a summary read (an unknown record kind, a broken cursor, a short search)."""


# --- The read model ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CustomerCard:
    """A contact's or an account's details as the Customer section shows them (SUM-3)."""

    kind: str
    id: int
    name: str
    fields: list[Detail]


@dataclass(frozen=True)
class CaseCard:
    id: int
    number: str
    title: str
    status: str
    status_label: str
    priority_label: str
    created_at: datetime


@dataclass(frozen=True)
class SelfServiceRow:
    kind: str
    kind_label: str
    title: str
    url: str
    occurred_at: datetime


@dataclass(frozen=True)
class LinkedRecord:
    kind: str
    id: int
    label: str


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # note, case or conversation
    id: int
    at: datetime
    title: str
    text: str
    author: str

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.at, _RANK[self.kind], self.id)


@dataclass(frozen=True)
class TimelinePage:
    record: LinkedRecord | None
    items: list[TimelineItem]
    next_cursor: str | None


@dataclass(frozen=True)
class PossibleMatch:
    """A contact whose details match what an unverified customer typed: only a name, to confirm (SUM-5).

    None of the contact's records (phones, account, cases, notes) is shown until the agent
    confirms the match.
    """

    contact_id: int
    name: str
    matched_by: str
    label: str


@dataclass(frozen=True)
class SkillRef:
    id: int
    name: str


@dataclass(frozen=True)
class CustomerSummary:
    conversation: Conversation
    read_only: bool
    # Customer (SUM-3)
    contact: CustomerCard | None
    account: CustomerCard | None
    suggestion: PossibleMatch | None
    # Conversation summary (SUM-6, SUM-7)
    channel: str
    wait: str
    wait_seconds: float | None
    skills: list[SkillRef]
    may_edit_skills: bool
    skill_choices: list[SkillRef]
    queue: str
    started_at: datetime
    # Tabs (SUM-8, SUM-10..13)
    prechat: list[Detail]
    self_service: list[SelfServiceRow]
    visitor: list[Detail]
    additional: list[Detail]
    show_additional: bool
    # Case, recent cases, timeline (SUM-14..16)
    case: CaseCard | None
    recent_cases: list[CaseCard]
    linked_records: list[LinkedRecord]
    timeline: TimelinePage = field(default_factory=lambda: TimelinePage(None, [], None))


def _details(*pairs: tuple[str, str, str]) -> list[Detail]:
    return [Detail(name, label, value) for name, label, value in pairs if value]


def contact_card(contact: Contact) -> CustomerCard:
    """Name, location, email and phones of a contact, and their account (SUM-3)."""
    return CustomerCard(
        kind="contact",
        id=contact.pk,
        name=contact.full_name,
        fields=_details(
            ("email", _("Email"), contact.email),
            ("mobile_phone", _("Mobile phone"), contact.mobile_phone),
            ("business_phone", _("Business phone"), contact.business_phone),
            ("location", _("Location"), contact.location),
            ("job_title", _("Job title"), contact.job_title),
            ("account", _("Account"), contact.account.name if contact.account_id else ""),
        ),
    )


def account_card(account: Account) -> CustomerCard:
    """Name, location, phones and primary contact of an account (SUM-3)."""
    return CustomerCard(
        kind="account",
        id=account.pk,
        name=account.name,
        fields=_details(
            ("location", _("Location"), account.location),
            ("main_phone", _("Main phone"), account.main_phone),
            ("other_phone", _("Other phone"), account.other_phone),
            ("email", _("Email"), account.email),
            (
                "primary_contact",
                _("Primary contact"),
                account.primary_contact.full_name if account.primary_contact_id else "",
            ),
        ),
    )


def case_card(case: Case) -> CaseCard:
    return CaseCard(
        id=case.pk,
        number=case.number,
        title=case.title,
        status=case.status,
        status_label=case.get_status_display(),
        priority_label=case.get_priority_display(),
        created_at=case.created_at,
    )


def _matched_by(how: str) -> str:
    return {"email": _("the email the customer typed"), "mobile phone": _("the phone number the customer typed")}.get(
        how, _("the customer's unverified details")
    )


def possible_match(conversation: Conversation) -> PossibleMatch | None:
    """The unverified possible match the agent may confirm (SUM-5). No query (joined in)."""
    if conversation.suggested_contact_id is None or conversation.contact_id is not None:
        return None
    name = conversation.suggested_contact.full_name
    return PossibleMatch(
        contact_id=conversation.suggested_contact_id,
        name=name,
        matched_by=_matched_by(conversation.suggested_by),
        label=_("Possible match: %(name)s — unverified") % {"name": name},
    )


def linked_records(conversation: Conversation) -> list[LinkedRecord]:
    """The records linked to the conversation, for the timeline's selector (SUM-16). No query."""
    records = []
    if conversation.contact_id:
        records.append(LinkedRecord("contact", conversation.contact_id, conversation.contact.full_name))
    if conversation.account_id:
        records.append(LinkedRecord("account", conversation.account_id, conversation.account.name))
    if conversation.case_id:
        records.append(LinkedRecord("case", conversation.case_id, str(conversation.case)))
    return records


def summary_conversation(conversations: QuerySet[Conversation], conversation_id: int) -> Conversation:
    """One conversation of ``conversations`` with what the summary shows joined in (one query + skills)."""
    conversation = (
        conversations.select_related(
            "queue",
            "workstream__chat_settings",
            "widget",
            "contact__account",
            "account__primary_contact",
            "case",
            "suggested_contact",
        )
        .prefetch_related("skills")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound(_("No such conversation."))
    return conversation


#: Reads what a customer did before ``conversation``: (conversation, kinds, limit) → rows, newest
#: first, only of ``kinds`` when it names any. Registered by the widget app, which owns the actions.
SelfServiceReader = Callable[[Conversation, Sequence[str], int], list[SelfServiceRow]]
_self_service_reader: list[SelfServiceReader] = []


def register_self_service_reader(reader: SelfServiceReader) -> None:
    """Let the app that records self-service actions show them in the summary (SUM-12).

    Called from that app's ``AppConfig.ready()``; the last reader registered is the one used.
    """
    _self_service_reader[:] = [reader]


def self_service_rows(conversation: Conversation, *, limit: int = SELF_SERVICE_LIMIT) -> list[SelfServiceRow]:
    """What the customer did before the conversation, newest first, of the kinds the admin chose (SUM-12)."""
    if not _self_service_reader:
        return []
    kinds = chat_settings_of(conversation.workstream).summary_self_service_types or []
    return _self_service_reader[0](conversation, kinds, limit)


def recent_cases(conversation: Conversation, *, limit: int = RECENT_CASES) -> list[CaseCard]:
    """The customer's latest cases: the contact's, else the account's (SUM-15). One query at most."""
    if conversation.contact_id:
        cases = Case.objects.filter(contact_id=conversation.contact_id)
    elif conversation.account_id:
        cases = Case.objects.filter(account_id=conversation.account_id)
    else:
        return []
    return [case_card(case) for case in cases.order_by("-created_at", "-pk")[:limit]]


def customer_summary(conversations: QuerySet[Conversation], conversation_id: int, *, user) -> CustomerSummary:
    """The whole summary of one conversation of ``conversations`` (else :class:`NotFound`).

    At most nine queries whatever the number of cases, notes, conversations and actions
    (SUM-17). It is read-only for a reader who may not change it (:func:`may_change_summary`)
    and, for everyone, once the conversation is closed (SUM-1).
    """
    conversation = summary_conversation(conversations, conversation_id)
    chat = chat_settings_of(conversation.workstream)
    read_only = conversation.status == Conversation.Status.CLOSED or not may_change_summary(user, conversation)
    may_edit_skills = chat.agents_may_edit_skills and not read_only
    additional = additional_details(conversation)
    records = linked_records(conversation)
    return CustomerSummary(
        conversation=conversation,
        read_only=read_only,
        contact=contact_card(conversation.contact) if conversation.contact_id else None,
        account=account_card(conversation.account) if conversation.account_id else None,
        suggestion=possible_match(conversation),
        channel=conversation.get_channel_display(),
        wait=format_wait(conversation.wait_seconds),
        wait_seconds=conversation.wait_seconds,
        skills=[SkillRef(skill.pk, skill.name) for skill in conversation.skills.all()],
        may_edit_skills=may_edit_skills,
        skill_choices=(
            [
                SkillRef(pk, name)
                for pk, name in Skill.objects.order_by("name").values_list("pk", "name")[:SKILL_CHOICES_LIMIT]
            ]
            if may_edit_skills
            else []
        ),
        queue=conversation.queue.name if conversation.queue_id else "",
        started_at=conversation.created_at,
        prechat=prechat_details(conversation),
        self_service=self_service_rows(conversation),
        visitor=visitor_details(conversation),
        additional=additional,
        show_additional=chat.summary_show_additional_details and bool(additional),
        case=case_card(conversation.case) if conversation.case_id else None,
        recent_cases=recent_cases(conversation),
        linked_records=records,
        timeline=timeline_page(conversation, record_kind=records[0].kind) if records else TimelinePage(None, [], None),
    )


# --- The timeline (SUM-16, SUM-17) -------------------------------------------------------------
def encode_cursor(item: TimelineItem) -> str:
    raw = json.dumps([item.at.isoformat(), _RANK[item.kind], item.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int, int]:
    """The (time, rank, id) a cursor points after, or :class:`SummaryError` for a broken one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rank, pk = json.loads(raw)
        moment = parse_datetime(at) if isinstance(at, str) else None
        if moment is None or not isinstance(rank, int) or not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError
        if rank not in _RANK.values() or not 0 < pk < 2**63:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise SummaryError(_("This timeline cursor is not valid; start from the first page."), code="invalid") from None
    return moment, rank, pk


def _after(cursor: tuple[datetime, int, int] | None, kind: str, time_field: str = "created_at") -> Q:
    """Rows of one kind that come after the cursor in newest-first order (a keyset condition)."""
    if cursor is None:
        return Q()
    at, rank, pk = cursor
    mine = _RANK[kind]
    if mine < rank:  # on the cursor's time, every row of this kind comes after it
        return Q(**{f"{time_field}__lte": at})
    if mine > rank:
        return Q(**{f"{time_field}__lt": at})
    return Q(**{f"{time_field}__lt": at}) | Q(**{time_field: at, "pk__lt": pk})


def _note_items(conversation: Conversation, kind: str, record_id: int, cursor, limit: int) -> list[TimelineItem]:
    notes = (
        Note.objects.filter(**{f"{kind}_id": record_id})
        .filter(_after(cursor, "note"))
        .select_related("author__agent")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        TimelineItem(
            kind="note",
            id=note.pk,
            at=note.created_at,
            title=_("Note"),
            text=note.text,
            author=_author_name(note.author) if note.author_id else "",
        )
        for note in notes
    ]


def _author_name(user) -> str:
    agent = getattr(user, "agent", None)
    return agent.display_name if agent is not None else user.get_username()


def _case_items(conversation: Conversation, kind: str, record_id: int, cursor, limit: int) -> list[TimelineItem]:
    if kind == "case":  # the case's own timeline holds its notes and conversations
        return []
    cases = (
        Case.objects.filter(**{f"{kind}_id": record_id}).filter(_after(cursor, "case")).order_by("-created_at", "-pk")
    )
    return [
        TimelineItem(
            kind="case",
            id=case.pk,
            at=case.created_at,
            title=_("Case %(number)s opened: %(title)s") % {"number": case.number, "title": case.title},
            text=case.get_status_display(),
            author="",
        )
        for case in cases[:limit]
    ]


def _conversation_items(
    conversation: Conversation, kind: str, record_id: int, cursor, limit: int
) -> list[TimelineItem]:
    past = (
        Conversation.objects.filter(**{f"{kind}_id": record_id})
        .exclude(pk=conversation.pk)
        .filter(_after(cursor, "conversation"))
        .select_related("queue", "agent")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        TimelineItem(
            kind="conversation",
            id=other.pk,
            at=other.created_at,
            title=_("%(channel)s conversation") % {"channel": other.get_channel_display()},
            text=" · ".join(
                part for part in (other.get_status_display(), other.queue.name if other.queue_id else "") if part
            ),
            author=other.agent.display_name if other.agent_id else "",
        )
        for other in past
    ]


def timeline_page(
    conversation: Conversation,
    *,
    record_kind: str,
    cursor: str | None = None,
    limit: int = TIMELINE_PAGE,
) -> TimelinePage:
    """One page of the activities of a record linked to ``conversation``, newest first (SUM-16).

    Three queries whatever the length of the history (SUM-17): each kind of activity (notes,
    cases, past conversations) is read after the cursor with its own index, ``limit + 1`` rows
    at most, and the three are merged. The next page starts after the last item shown.
    """
    if record_kind not in RECORD_KINDS:
        raise SummaryError(_("Choose the contact, the account or the case."), code="invalid")
    if not 1 <= limit <= TIMELINE_MAX_PAGE:
        raise SummaryError(_("A page holds 1 to %(max)d items.") % {"max": TIMELINE_MAX_PAGE}, code="invalid")
    record = next((r for r in linked_records(conversation) if r.kind == record_kind), None)
    if record is None:
        raise SummaryError(_("No %(kind)s is linked to this conversation.") % {"kind": record_kind}, code="not_linked")
    after = decode_cursor(cursor) if cursor else None
    streams = [
        read(conversation, record_kind, record.id, after, limit + 1)
        for read in (_note_items, _case_items, _conversation_items)
    ]
    items = list(merge(*streams, key=lambda item: item.key, reverse=True))[: limit + 1]
    more = len(items) > limit
    items = items[:limit]
    return TimelinePage(record=record, items=items, next_cursor=encode_cursor(items[-1]) if more else None)


# --- Search (SUM-4, SUM-14) ----------------------------------------------------------------------
def _search_terms(query: str) -> list[str]:
    query = (query or "").strip()
    if len(query) < SEARCH_MIN_LENGTH:
        raise SummaryError(_("Type at least %(n)d characters to search.") % {"n": SEARCH_MIN_LENGTH}, code="invalid")
    return query[:100].split()[:5]


def _phone(query: str) -> str:
    try:
        return normalise_phone(query)
    except ValidationError:
        return ""


def contact_search(query: str, *, limit: int = SEARCH_LIMIT) -> list[Contact]:
    """Contacts whose name, email or phone matches every word of ``query`` (one query)."""
    terms = _search_terms(query)
    condition = Q()
    for term in terms:
        condition &= Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
    phone = _phone(query)
    if phone:
        condition |= Q(mobile_phone=phone) | Q(business_phone=phone)
    return list(
        Contact.objects.filter(condition).select_related("account").order_by("last_name", "first_name", "pk")[:limit]
    )


def account_search(query: str, *, limit: int = SEARCH_LIMIT) -> list[Account]:
    """Accounts whose name, email or city matches every word of ``query``, or whose phone is it (one query)."""
    terms = _search_terms(query)
    condition = Q()
    for term in terms:
        condition &= Q(name__icontains=term) | Q(email__icontains=term) | Q(city__icontains=term)
    phone = _phone(query)
    if phone:
        condition |= Q(main_phone=phone) | Q(other_phone=phone)
    return list(Account.objects.filter(condition).select_related("primary_contact").order_by("name", "pk")[:limit])


def case_search(query: str, *, limit: int = SEARCH_LIMIT) -> list[Case]:
    """Cases by number (``CAS-000042`` or ``42``) or by words of their title (one query)."""
    terms = _search_terms(query)
    condition = Q()
    for term in terms:
        condition &= Q(title__icontains=term)
    digits = query.strip().upper().removeprefix("CAS-").lstrip("0")
    if digits.isdigit() and int(digits) < 2**63:
        condition |= Q(pk=int(digits))
    return list(
        Case.objects.filter(condition).select_related("contact", "account").order_by("-created_at", "-pk")[:limit]
    )


def record_search(kind: str, query: str) -> list[LinkedRecord]:
    """Search contacts, accounts or cases for the summary's link boxes (SUM-4, SUM-14)."""
    if kind == "contact":
        return [
            LinkedRecord("contact", c.pk, " · ".join(p for p in (c.full_name, c.email, c.mobile_phone) if p))
            for c in contact_search(query)
        ]
    if kind == "account":
        return [
            LinkedRecord("account", a.pk, " · ".join(p for p in (a.name, a.location) if p))
            for a in account_search(query)
        ]
    if kind == "case":
        return [LinkedRecord("case", c.pk, f"{c.number} {c.title}") for c in case_search(query)]
    raise SummaryError(_("Search contacts, accounts or cases."), code="invalid")
