"""Finding conversations: the filters the inbox, the search page and the API share, and the
message-text search (issue 15; SEC-1 on every result).

On PostgreSQL a message's text is matched by full-text search: each message's ``search_vector``
holds its lexemes in its conversation's language's configuration (the trigger of migration
``message_search_vector``, the table :data:`SEARCH_CONFIGS`), GIN-indexed. A query is parsed in
every configuration a conversation may have and the parts OR-ed, so one constant ``tsquery``
uses the index whatever the languages mixed in the results. Snippets are ``ts_headline`` in the
conversation's own configuration, with control characters as highlight marks that
:func:`snippet_markup` turns into ``<mark>`` only after escaping the text. On SQLite the text is
matched with ``icontains`` and the snippet is the start of the first matching message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.db import connection
from django.db.models import Exists, F, Func, Model, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from conversations.models import Conversation, Message, Tag
from conversations.selectors import conversations_visible_to

#: A conversation's language (its first part, lower case) → PostgreSQL text-search configuration.
#: Anything else uses ``simple``. Migration ``message_search_vector`` has the same table in SQL.
SEARCH_CONFIGS = {"en": "english", "fr": "french", "id": "indonesian", "ro": "romanian"}
FALLBACK_CONFIG = "simple"
SNIPPET_START, SNIPPET_STOP = "\x02", "\x03"
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class ExtraFilter:
    """A filter another part of the product adds (``register_conversation_filter``).

    ``choices(user)`` is what ``user`` may filter by (the page's select and the API's accepted ids:
    anything else is a form error or a 400, never a silent empty result); ``apply(conversations,
    chosen)`` narrows already-visible conversations to the chosen object's."""

    name: str
    label: str
    help_text: str
    choices: Callable[[AbstractBaseUser | AnonymousUser], QuerySet[Model]]
    apply: Callable[[QuerySet[Conversation], Model], QuerySet[Conversation]]
    #: how a choice reads in the page's select (default: ``str``)
    option_label: Callable[[Model], str] = str


_extra_filters: dict[str, ExtraFilter] = {}


def register_conversation_filter(
    name: str,
    *,
    label: str,
    help_text: str,
    choices: Callable[[AbstractBaseUser | AnonymousUser], QuerySet[Model]],
    apply: Callable[[QuerySet[Conversation], Model], QuerySet[Conversation]],
    option_label: Callable[[Model], str] = str,
) -> None:
    """Let a higher app (or a later part of this one) add a filter the inbox, the search page and
    the search API accept as ``?<name>=<id>``; called from an ``AppConfig.ready()``."""
    _extra_filters[name] = ExtraFilter(
        name=name, label=label, help_text=help_text, choices=choices, apply=apply, option_label=option_label
    )


def extra_filters() -> list[ExtraFilter]:
    return [_extra_filters[name] for name in sorted(_extra_filters)]


@dataclass(frozen=True)
class ConversationFilters:
    """What an agent asks for. Every field is optional; empty means "any"."""

    text: str = ""
    tags: tuple[int, ...] = ()
    queue: int | None = None
    agent: int | None = None
    channel: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    #: registered filters' chosen objects, by name (already checked against their ``choices``)
    extra: dict[str, Model] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (
            self.text
            or self.tags
            or self.queue
            or self.agent
            or self.channel
            or self.status
            or self.since
            or self.until
            or self.extra
        )


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def text_query(text: str) -> SearchQuery:
    """The words as one ``tsquery``: parsed in every configuration a conversation may have, OR-ed."""
    configs = [FALLBACK_CONFIG, *SEARCH_CONFIGS.values()]
    return reduce(
        lambda left, right: left | right,
        (SearchQuery(text, config=config, search_type="websearch") for config in configs),
    )


def conversation_config() -> Func:
    """The text-search configuration of the outer conversation's language (SQL function of the migration)."""
    return Func(F("conversation__language"), function="conversation_search_config", output_field=TextField())


def messages_matching(text: str) -> QuerySet[Message]:
    """Every message whose text matches: on PostgreSQL one bitmap scan of the GIN index."""
    if is_postgresql():
        return Message.objects.filter(search_vector=text_query(text)).order_by()
    return Message.objects.filter(text__icontains=text).order_by()


def matching_messages(text: str) -> QuerySet[Message]:
    """The messages whose text matches, of the outer query's conversation (for its snippet)."""
    return messages_matching(text).filter(conversation=OuterRef("pk"))


def customer_matches(text: str) -> Q:
    """The customer's name, email or phone contains the words (SQL ``ILIKE``, both databases)."""
    return (
        Q(contact__first_name__icontains=text)
        | Q(contact__last_name__icontains=text)
        | Q(contact__email__icontains=text)
        | Q(contact__mobile_phone__icontains=text)
        | Q(customer_phone__icontains=text)
    )


def filter_conversations(conversations: QuerySet[Conversation], filters: ConversationFilters) -> QuerySet[Conversation]:
    """Apply ``filters`` to ``conversations`` (already narrowed to what the reader may see)."""
    if filters.text:
        # ``IN (matching messages' conversations)``, not a correlated EXISTS: the planner hashes the
        # one index scan's result instead of probing the messages of every visible conversation.
        matched = messages_matching(filters.text).values("conversation_id")
        conversations = conversations.filter(Q(pk__in=matched) | customer_matches(filters.text))
    for tag_id in filters.tags:  # every tag asked for (AND), each an EXISTS: no duplicate rows
        conversations = conversations.filter(
            Exists(Conversation.tags.through.objects.filter(conversation=OuterRef("pk"), tag_id=tag_id))
        )
    if filters.queue:
        conversations = conversations.filter(queue_id=filters.queue)
    if filters.agent:
        conversations = conversations.filter(agent_id=filters.agent)
    if filters.channel:
        conversations = conversations.filter(channel=filters.channel)
    if filters.status:
        conversations = conversations.filter(status=filters.status)
    if filters.since:
        conversations = conversations.filter(created_at__gte=day_start(filters.since))
    if filters.until:
        conversations = conversations.filter(created_at__lt=day_start(filters.until + timedelta(days=1)))
    for name, chosen in filters.extra.items():
        conversations = _extra_filters[name].apply(conversations, chosen)
    return conversations


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def conversation_search(user: AbstractBaseUser | AnonymousUser, filters: ConversationFilters) -> QuerySet[Conversation]:
    """The conversations ``user`` may see (SEC-1, inside) that match, newest first, with what a
    result row shows selected and ``snippet_source`` (the first matching message, highlighted on
    PostgreSQL) annotated: one query for a page of results, plus one for their tags."""
    conversations = filter_conversations(conversations_visible_to(user), filters)
    if filters.text:
        first_match = matching_messages(filters.text).order_by("seq")
        if is_postgresql():
            snippet = first_match.annotate(
                snippet=SearchHeadline(
                    "text",
                    text_query(filters.text),
                    config=conversation_config(),
                    start_sel=SNIPPET_START,
                    stop_sel=SNIPPET_STOP,
                    max_words=25,
                    min_words=8,
                    max_fragments=2,
                    fragment_delimiter=" … ",
                )
            ).values("snippet")[:1]
        else:
            snippet = first_match.annotate(snippet=Substr("text", 1, SNIPPET_CHARS)).values("snippet")[:1]
        conversations = conversations.annotate(snippet_source=Subquery(snippet, output_field=TextField()))
    return (
        conversations.select_related("queue", "agent", "contact")
        .prefetch_related("tags")
        .order_by("-created_at", "-pk")
    )


def snippet_markup(source: str | None) -> SafeString:
    """A snippet as HTML: the message text escaped, then the highlight marks made ``<mark>``.

    The marks are control characters the text itself cannot carry into markup: whatever they
    wrap is escaped first, and an unclosed mark is closed, so the only tags are balanced ``<mark>``s."""
    if not source:
        return mark_safe("")
    text = escape(source[: SNIPPET_CHARS * 4])
    html, open_mark = [], False
    for char in text:
        if char == SNIPPET_START and not open_mark:
            html.append("<mark>")
            open_mark = True
        elif char == SNIPPET_STOP and open_mark:
            html.append("</mark>")
            open_mark = False
        elif char not in (SNIPPET_START, SNIPPET_STOP):
            html.append(char)
    if open_mark:
        html.append("</mark>")
    return mark_safe("".join(html))  # noqa: S308 - built from escaped text and our own <mark> tags only


def tags_for_filters() -> list[Tag]:
    return list(Tag.objects.order_by("name"))
