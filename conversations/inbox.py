"""The agent's inbox: the dashboard's tabs, their counts and rows, and the per-agent unread counts
(issue 15; ROU-13 for "My queues' waiting work", PER-6 for "Waiting for the customer", SEC-1).

Counts are one query whatever the number of items; a tab's rows are one query (with the tags
prefetched: two), limited to :data:`INBOX_ROWS`. An item's unread count is the customer's
messages after the agent's read marker (``ConversationRead``), which opening the conversation
page moves (``conversations.read_markers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile
from conversations.models import Conversation, ConversationRead, Message, Tag
from conversations.search import ConversationFilters, filter_conversations
from conversations.workspace import customer_label, format_wait
from routing.selectors import open_work_items

INBOX_ROWS = 100
PREVIEW_CHARS = 120
#: "Closed recently": the conversations the agent closed within this time.
CLOSED_RECENTLY = timedelta(days=7)


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    empty: str


TABS = (
    Tab("mine", _("Mine"), _("Nothing of yours is open.")),
    Tab("queues", _("My queues' waiting work"), _("Nothing is waiting in your queues.")),
    Tab("waiting", _("Waiting for the customer"), _("No conversation is waiting for a customer.")),
    Tab("closed", _("Closed recently"), _("Nothing closed in the last seven days.")),
)
TAB_KEYS = tuple(tab.key for tab in TABS)
OPEN_STATUSES = (Conversation.Status.OPEN, Conversation.Status.ACTIVE, Conversation.Status.WRAP_UP)


def tab_conditions(agent: AgentProfile) -> dict[str, Q]:
    """Each tab as a condition on conversations (no query of its own)."""
    pickable = open_work_items(agent).filter(conversation=OuterRef("pk"))
    return {
        "mine": Q(agent=agent, status__in=OPEN_STATUSES),
        # ROU-13: what the agent may pick; only their own queues' items (SEC-1).
        "queues": Q(Exists(pickable)),
        "waiting": Q(agent=agent, status=Conversation.Status.WAITING),
        "closed": Q(agent=agent, status=Conversation.Status.CLOSED, closed_at__gte=timezone.now() - CLOSED_RECENTLY),
    }


def inbox_conversations(agent: AgentProfile) -> QuerySet[Conversation]:
    """Every conversation in one of the agent's tabs."""
    return Conversation.objects.filter(any_tab(tab_conditions(agent)))


def any_tab(conditions: dict[str, Q]) -> Q:
    return conditions["mine"] | conditions["queues"] | conditions["waiting"] | conditions["closed"]


def unread_subquery(agent: AgentProfile) -> Subquery:
    """The customer's messages after the agent's read marker, for the outer conversation."""
    read_seq = ConversationRead.objects.filter(agent=agent, conversation=OuterRef(OuterRef("pk"))).values(
        "last_read_seq"
    )[:1]
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            sender=Message.Sender.CUSTOMER,
            seq__gt=Coalesce(Subquery(read_seq), Value(0)),
        )
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))


def inbox_counts(agent: AgentProfile) -> dict[str, int]:
    """How many conversations each tab holds, and ``unread``: the customer's unread messages in
    the agent's open and waiting conversations. Two queries."""
    conditions = tab_conditions(agent)
    per_tab = {key: Count("pk", filter=condition) for key, condition in conditions.items()}
    counts = Conversation.objects.filter(any_tab(conditions)).aggregate(**per_tab)
    unread = (
        Conversation.objects.filter(conditions["mine"] | conditions["waiting"])
        .annotate(unread=unread_subquery(agent))
        .aggregate(total=Coalesce(Sum("unread"), Value(0)))
    )
    return {**{key: counts[key] or 0 for key in TAB_KEYS}, "unread": unread["total"]}


@dataclass(frozen=True)
class InboxRow:
    conversation_id: int
    customer: str
    channel: str
    queue: str
    status: str
    status_label: str
    preview: str
    preview_sender: str
    waiting_since: datetime
    waiting: str
    unread: int
    tags: list[Tag]
    #: the agent may open the conversation page (they hold or held it); queue items are picked first
    openable: bool


def inbox_rows(agent: AgentProfile, tab: str, *, filters: ConversationFilters | None = None) -> list[InboxRow]:
    """One tab's rows, the latest activity first (at most :data:`INBOX_ROWS`). Two queries."""
    last_message = Message.objects.filter(conversation=OuterRef("pk")).order_by("-seq")
    conversations = Conversation.objects.filter(tab_conditions(agent)[tab])
    if filters is not None:
        conversations = filter_conversations(conversations, filters)
    conversations = (
        conversations.select_related("queue", "contact")
        .prefetch_related("tags")
        .annotate(
            preview=Substr(Subquery(last_message.values("text")[:1]), 1, PREVIEW_CHARS),
            preview_sender=Subquery(last_message.values("sender")[:1]),
            unread=unread_subquery(agent),
            since=Coalesce("last_customer_activity_at", "created_at"),
        )
        .order_by("-since", "-pk")[:INBOX_ROWS]
    )
    now = timezone.now()
    return [
        InboxRow(
            conversation_id=conversation.pk,
            customer=customer_label(conversation),
            channel=conversation.get_channel_display(),
            queue=conversation.queue.name if conversation.queue_id else "",
            status=conversation.status,
            status_label=conversation.get_status_display(),
            preview=conversation.preview or "",
            preview_sender=conversation.preview_sender or "",
            waiting_since=conversation.since,
            waiting=format_wait((now - conversation.since).total_seconds()),
            unread=conversation.unread,
            tags=list(conversation.tags.all()),
            openable=tab != "queues",
        )
        for conversation in conversations
    ]


@dataclass(frozen=True)
class Inbox:
    tab: str
    tabs: list[tuple[Tab, int]]
    rows: list[InboxRow]
    counts: dict[str, int]
    filters: ConversationFilters


def inbox(agent: AgentProfile, *, tab: str = "mine", filters: ConversationFilters | None = None) -> Inbox:
    """The inbox as the dashboard shows it: every tab's count, the chosen tab's rows. Four queries."""
    if tab not in TAB_KEYS:
        tab = "mine"
    counts = inbox_counts(agent)
    return Inbox(
        tab=tab,
        tabs=[(item, counts[item.key]) for item in TABS],
        rows=inbox_rows(agent, tab, filters=filters),
        counts=counts,
        filters=filters or ConversationFilters(),
    )
