"""Reads of the widgets app that the admin center, pages and the API share."""

import contextlib
import functools
import json
import re
import uuid
import zoneinfo
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import DjangoTranslation, parse_accept_lang_header

from conversations.attachments import AttachmentPolicy, size_label
from conversations.models import Conversation
from conversations.selectors import queue_average_wait_minutes
from conversations.summary import SelfServiceRow
from core.errors import NotFound
from core.security import origin_matches, parse_origin_header
from routing.models import Channel, OperatingHours, Queue, WorkItem, Workstream
from routing.rule_fields import BOOLEAN, CHOICE, TEXT, RuleField
from routing.rules import queue_is_open
from routing.selectors import queue_can_serve_now
from routing.services.work_items import queue_position
from widgets.models import (
    AuthenticationSetting,
    ChatWidget,
    PostChatQuestion,
    PreChatQuestion,
    SelfServiceAction,
    Visitor,
)
from widgets.tokens import TokenError, read_conversation_token, read_visitor_token

LOADER_PATH = "/static/widgets/loader.js"


def public_base_url(request: HttpRequest | None = None) -> str:
    """Where browsers reach this server: ``PUBLIC_BASE_URL`` when set, else the request's scheme://host."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/")
    if request is None:
        return ""
    return f"{request.scheme}://{request.get_host()}"


def widget_script_tag(widget: ChatWidget, *, base_url: str) -> str:
    """The one tag a host page pastes to show the widget (WID-1, WID-2).

    Returns plain text, not markup marked safe: pages that show it must escape it.
    """
    src = escape(f"{base_url.rstrip('/')}{LOADER_PATH}")
    return f'<script src="{src}" data-widget="{widget.public_key}" async></script>'


def workstream_widget_names(*, workstream_id: int, without_authentication: bool = False) -> list[str]:
    """Names of the workstream's widgets; only those with no authentication setting if asked (PER-2)."""
    widgets = ChatWidget.objects.filter(workstream_id=workstream_id)
    if without_authentication:
        widgets = widgets.filter(authentication__isnull=True)
    return list(widgets.order_by("name").values_list("name", flat=True))


def self_service_rows(conversation: Conversation, kinds: Sequence[str], limit: int) -> list[SelfServiceRow]:
    """What the customer did before ``conversation``, newest first, only of ``kinds`` if any (SUM-12).

    The customer summary's reader of the actions, registered in ``WidgetsConfig.ready()``. One query.
    """
    actions = SelfServiceAction.objects.filter(conversation=conversation)
    if kinds:
        actions = actions.filter(kind__in=kinds)
    return [
        SelfServiceRow(
            kind=action.kind,
            kind_label=action.get_kind_display(),
            title=action.title,
            url=action.url,
            occurred_at=action.occurred_at,
        )
        for action in actions.order_by("-occurred_at", "-pk")[:limit]
    ]


def workstream_change_check(*, workstream_id: int, channel: str, chat_mode: str) -> dict[str, str]:
    """What the workstream's widgets say against this channel and chat mode (PER-2), by field.

    A widget needs a chat workstream, and a persistent one only with chat authentication.
    Registered with ``routing.contributions`` in ``WidgetsConfig.ready()``.
    """
    if channel != Channel.CHAT:
        names = workstream_widget_names(workstream_id=workstream_id)
        if names:
            return {
                "channel": _("Chat widgets use this workstream: %(names)s. Move them to another chat workstream first.")
                % {"names": ", ".join(names)}
            }
    elif chat_mode == Workstream.ChatMode.PERSISTENT:
        names = workstream_widget_names(workstream_id=workstream_id, without_authentication=True)
        if names:
            return {
                "chat_mode": _(  # spec: PER-2
                    "Persistent chat needs signed-in customers, and these widgets have no authentication "
                    "setting: %(names)s. Choose one on each widget first."
                )
                % {"names": ", ".join(names)}
            }
    return {}


# --- The widget's public side: what the script, its endpoints and its socket read ----------

#: A conversation the customer can still take part in; wrap-up and closed are over for them.
UNFINISHED_STATUSES = ("open", "active", "waiting")
#: A work item still waiting for an agent.
WAITING_ITEM_STATUSES = ("queued", "offered")
#: How much history the average wait looks at (WID-8, LIVE-1).


def widget_for_key(key: uuid.UUID | str) -> ChatWidget | None:
    """The active widget with this public key, with its workstream, queue and allowed origins."""
    try:
        key = uuid.UUID(str(key))
    except ValueError:
        return None
    return (
        ChatWidget.objects.filter(public_key=key, is_active=True)
        .select_related("workstream__default_queue")
        .prefetch_related("allowed_domains")
        .first()
    )


def widget_allows_origin(widget: ChatWidget, origin: str | bytes | None) -> bool:
    """Whether a page of ``origin`` (an ``Origin`` header) may use the widget (WID-3, SEC-3).

    Scheme, host and port must equal one of the widget's allowed domains. No origin, ``null``
    and anything that does not parse as an origin are never allowed; this never raises.
    """
    parsed = parse_origin_header(origin)
    if parsed is None:
        return False
    # A row saved around the admin's validation does not parse, and allows nothing.
    return origin_matches(parsed, (domain.origin for domain in widget.allowed_domains.all()))


def language_codes(tags: tuple[str | None, ...]) -> Iterator[str]:
    """The language codes of ``tags`` (language tags or Accept-Language values), in order, but ``*``."""
    for tag in tags:
        yield from (code for code, _quality in parse_accept_lang_header(tag or "") if code != "*")


def supported_language(*tags: str | None) -> str:
    """The first of ``tags`` (language tags or Accept-Language values) the widget speaks, else English."""
    for code in language_codes(tags):
        with contextlib.suppress(LookupError):
            return get_supported_language_variant(code)
    return settings.LANGUAGE_CODE


def visitor_language(*tags: str | None) -> str:
    """The visitor's own language for visitor details and routing (WID-13): the first tag given,
    as the widget supports it (``fr-CA`` → ``fr``) or as sent (``de-at``)."""
    for code in language_codes(tags):
        try:
            return get_supported_language_variant(code)
        except LookupError:
            return code[:16]
    return ""


def widget_prechat_questions(widget: ChatWidget) -> list[PreChatQuestion]:
    return list(PreChatQuestion.objects.filter(widget=widget).order_by("order", "pk"))


#: How long one widget's "can somebody answer now" is reused: every page load and every chat
#: socket's beat asks, so most askers cost a cache read, not queries (LIVE-4, WID-8).
SERVING_CACHE_SECONDS = 5


def widget_serving_now(widget: ChatWidget) -> dict[str, Any]:
    """``{"open", "available", "out_of_hours_message"}`` for the widget's queue now, cached for
    :data:`SERVING_CACHE_SECONDS`: at most three queries (the queue with its hours, their windows
    and holidays, the agents) per widget in that time, however many visitors ask."""
    key = f"widget-serving:{widget.public_key}"
    state = cache.get(key)
    if state is None:
        now = timezone.now()
        queue = (
            Queue.objects.select_related("operating_hours")
            .prefetch_related("operating_hours__windows", "operating_hours__holidays")
            .filter(pk=widget.workstream.default_queue_id)
            .first()
        )
        open_now = queue is not None and queue.is_active and queue_is_open(queue, now)
        state = {
            "open": open_now,
            "available": open_now and queue_can_serve_now(queue, widget.workstream, now=now),
            "out_of_hours_message": queue.out_of_hours_message if queue is not None else "",
        }
        cache.set(key, state, SERVING_CACHE_SECONDS)
    return state


def widget_unavailable_notice(widget: ChatWidget, *, language: str) -> dict[str, Any]:
    """What the widget shows about whether somebody can answer now (LIVE-4): ``available``,
    and when nobody can, the admin's ``message`` in ``language`` and whether a chat may still be
    started to wait (``may_wait``: not out of hours, where a live chat would end at once).
    A persistent conversation is always available: an agent picks it up later (PER-3)."""
    if widget.workstream.is_persistent:
        return {"available": True, "open": True, "message": "", "may_wait": True}
    state = widget_serving_now(widget)
    if state["available"]:
        return {"available": True, "open": True, "message": "", "may_wait": True}
    with translation.override(language):
        if widget.unavailable_message:
            message = widget.unavailable_message
        elif not state["open"] and state["out_of_hours_message"]:
            message = state["out_of_hours_message"]
        elif widget.when_unavailable == ChatWidget.WhenUnavailable.OFFLINE_FORM:
            message = _("Nobody can answer right now. Leave us a message and we will reply by email.")
        else:
            message = _("Nobody can answer right now. You can start a chat and wait for the next free agent.")
    return {
        "available": False,
        "open": state["open"],
        "message": message,
        "may_wait": state["open"] and widget.when_unavailable == ChatWidget.WhenUnavailable.WAIT,
    }


def widget_strings(language: str) -> dict[str, str]:
    """The words of the widget's newer controls, in ``language``: scripts get their strings from
    the server (I18N-1)."""
    with translation.override(language):
        return {
            "offlineName": _("Your name"),
            "offlineEmail": _("Your email"),
            "offlineMessage": _("Your message"),
            "offlineSend": _("Send message"),
            "offlineSent": _("Thank you. We have your message and will reply by email."),
            "unread": _("Unread messages"),
            "wait": _("Start a chat and wait"),
            "transcript": _("Download the transcript"),
            "transcriptEmail": _("Email me the transcript"),
            "transcriptSent": _("The transcript is on its way."),
            "surveyTitle": _("How was your chat?"),
            "surveyStar": _("{n} of 5"),
            "surveyGood": _("Good"),
            "surveyBad": _("Bad"),
            "surveyComment": _("Anything to add? (optional)"),
            "surveySend": _("Send feedback"),
            "surveyThanks": _("Thank you for your feedback."),
        }


#: The widget's public scripts (WID-5): their ``gettext("…")`` words are the widget's catalog.
WIDGET_SCRIPTS = [
    Path(__file__).resolve().parent / "static" / "widgets" / name for name in ("loader.js", "pane.js", "attachments.js")
]
GETTEXT_CALL = re.compile(r'\bgettext\("((?:[^"\\]|\\.)*)"\)')


@functools.cache
def widget_msgids() -> tuple[str, ...]:
    """The words the widget's scripts ask ``gettext`` for, in the order they first appear."""
    found: dict[str, None] = {}
    for path in WIDGET_SCRIPTS:
        for literal in GETTEXT_CALL.findall(path.read_text(encoding="utf-8")):
            found[json.loads(f'"{literal}"')] = None
    return tuple(found)


@functools.cache
def _widget_catalog(language: str) -> dict[str, str]:
    translated = DjangoTranslation(language, domain="djangojs")
    return {msgid: text for msgid in widget_msgids() if (text := translated.gettext(msgid)) != msgid}


def widget_catalog(language: str) -> dict[str, str]:
    """The widget scripts' words in ``language`` (I18N-1): the djangojs catalog (the one the
    workspace's /jsi18n/ serves), cut to what the widget uses and carried by the session answer, so
    the host page loads no second script and gets no global. Words left as they are are left out."""
    try:
        language = get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        language = settings.LANGUAGE_CODE
    return dict(_widget_catalog(language))


def widget_postchat_labels(widget: ChatWidget) -> list[str]:
    """The post-chat survey's extra questions, in order."""
    return list(PostChatQuestion.objects.filter(widget=widget).order_by("order", "pk").values_list("label", flat=True))


def widget_survey(widget: ChatWidget) -> dict[str, Any] | None:
    """The post-chat survey the widget shows when a chat ends, or None (issue 16)."""
    if widget.survey_rating == ChatWidget.SurveyRating.OFF:
        return None
    return {
        "rating": widget.survey_rating,
        "comment": widget.survey_comment,
        "questions": widget_postchat_labels(widget),
    }


def widget_config(widget: ChatWidget, *, language: str, questions: list[PreChatQuestion]) -> dict[str, Any]:
    """What the widget script needs to draw itself (the ``config`` of ``POST session``)."""
    shown_in = widget.language or language
    return {
        "availability": widget_unavailable_notice(widget, language=shown_in),
        "when_unavailable": widget.when_unavailable,
        "unread_sound": widget.unread_sound,
        "survey": widget_survey(widget),
        "transcript_email": settings.OUTBOUND_MAIL,
        "strings": widget_strings(shown_in),
        "catalog": widget_catalog(shown_in),
        "title": widget.title,
        "greeting": widget.greeting,
        "theme_color": widget.theme_color,
        "theme_ink": widget.theme_ink,
        "position": widget.position,
        "language": widget.language or language,
        "persistent": widget.workstream.is_persistent,
        "proactive_enabled": widget.proactive_enabled,
        "attachments": widget_attachment_config(widget, language=widget.language or language),
        "prechat_questions": [
            {
                "name": question.name,
                "label": question.label,
                "kind": question.kind,
                "required": question.required,
                "choices": question.choices if question.kind == PreChatQuestion.Kind.OPTION_SET else [],
                "consent_url": question.consent_url if question.kind == PreChatQuestion.Kind.CONSENT else "",
            }
            for question in questions
        ],
    }


#: What a file input may offer for each kind; the server still reads the real type from the content.
ATTACHMENT_ACCEPT = {
    "png": "image/png,.png",
    "jpeg": "image/jpeg,.jpg,.jpeg",
    "gif": "image/gif,.gif",
    "webp": "image/webp,.webp",
    "pdf": "application/pdf,.pdf",
    "text": "text/plain,.txt",
    "office": ".doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp",
}


def widget_attachment_config(widget: ChatWidget, *, language: str) -> dict[str, Any] | None:
    """What the widget's file control needs (issue 16): limits, and its words in the widget's
    language (scripts hold no text of their own). None when the widget allows no files."""
    policy = widget.attachment_policy
    if not policy.kinds:
        return None
    with translation.override(language):
        return {
            "max_bytes": policy.max_bytes,
            "accept": ",".join(ATTACHMENT_ACCEPT[kind] for kind in ATTACHMENT_ACCEPT if kind in policy.kinds),
            "strings": {
                "attach": _("Attach a file"),
                "drop": _("Drop files here to send them"),
                "uploading": _("Sending %(name)s…"),
                "progress": _("Upload progress"),
                "failed": _("The file could not be sent. Please try again."),
                "too_large": _("This file is too large: files up to %(size)s can be sent.")
                % {"size": size_label(policy.max_bytes)},
            },
        }


def visitor_for_token(widget: ChatWidget, token: object) -> Visitor:
    """The visitor a visitor token names, for this widget only; :class:`TokenError` otherwise."""
    claim = read_visitor_token(token, widget_key=widget.public_key)
    visitor = Visitor.objects.filter(public_id=claim.visitor, widget=widget).first()
    if visitor is None:
        raise TokenError("The visitor token names no visitor of this widget.")
    return visitor


def visitor_unfinished_conversation(visitor: Visitor) -> Conversation | None:
    """The visitor's latest conversation that is not over yet, if any (resume after a reload)."""
    return (
        Conversation.objects.filter(visitor=visitor, status__in=UNFINISHED_STATUSES)
        .order_by("-created_at", "-pk")
        .first()
    )


def conversation_for_customer(*, widget: ChatWidget, token: object) -> Conversation:
    """The one conversation a customer's conversation token opens (SEC-1).

    The token must be signed here, and name a conversation of its own visitor on this widget;
    anything else is refused the same way, so a customer learns nothing about other chats.
    """
    claim = read_conversation_token(token)
    conversation = (
        Conversation.objects.filter(
            public_id=claim.conversation, visitor__public_id=claim.visitor, visitor__widget=widget, widget=widget
        )
        .select_related("workstream")
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def widget_agent_available(widget: ChatWidget, *, now: datetime | None = None) -> bool:
    """An agent could take this widget's chat right now (PRO-7a): routing's answer for the
    workstream's default queue (:func:`routing.selectors.queue_can_serve_now`)."""
    return queue_can_serve_now(widget.workstream.default_queue, widget.workstream, now=now)


def _next_operating_change(hours: OperatingHours, now: datetime) -> datetime | None:
    """When the schedule next opens or closes, within a week; None if it never changes."""
    zone = zoneinfo.ZoneInfo(hours.time_zone)
    local_today = now.astimezone(zone).date()
    windows = list(hours.windows.all())
    candidates = set()
    for offset in range(9):
        day = local_today + timedelta(days=offset)
        # Midnights matter for holidays; window edges for the weekly schedule.
        candidates.add(datetime.combine(day, time(0), zone))
        for window in windows:
            if window.weekday != day.weekday():
                continue
            candidates.add(datetime.combine(day, window.opens_at, zone))
            closes_day = day + timedelta(days=1) if window.closes_at == time(0) else day
            candidates.add(datetime.combine(closes_day, window.closes_at, zone))
    open_now = hours.is_open_at(now)
    for moment in sorted(c for c in candidates if c > now):
        if hours.is_open_at(moment) != open_now:
            return moment
    return None


def conversation_queue_position(conversation: Conversation) -> int | None:
    """1 for the next conversation its queue serves; None once it is no longer waiting there."""
    item = WorkItem.objects.filter(pk=conversation.work_item_id, status__in=WAITING_ITEM_STATUSES).first()
    if item is None or item.queue_id is None:
        return None
    return queue_position(item)


def widget_availability(
    widget: ChatWidget, *, visitor: Visitor | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """What ``getAgentAvailability()`` answers (WID-8).

    ``available``: the widget's queue is open and an agent there could take a chat now;
    ``queue_position``: the visitor's place if their chat waits in a queue;
    ``average_wait_minutes`` of recent chats; ``next_change``: when the queue next opens or closes.
    """
    now = now or timezone.now()
    queue = (
        Queue.objects.select_related("operating_hours")
        .prefetch_related("operating_hours__windows", "operating_hours__holidays")
        .get(pk=widget.workstream.default_queue_id)
    )
    hours = queue.operating_hours
    open_now = queue.is_active and (hours is None or hours.is_open_at(now))
    answer: dict[str, Any] = {
        "available": bool(open_now and queue_can_serve_now(queue, widget.workstream, now=now)),
        "average_wait_minutes": queue_average_wait_minutes(queue, now=now),
        "next_change": None,
    }
    if hours is not None:
        change = _next_operating_change(hours, now)
        answer["next_change"] = change.isoformat() if change else None
    conversation = visitor_unfinished_conversation(visitor) if visitor is not None else None
    if conversation is not None:
        position = conversation_queue_position(conversation)
        if position is not None:
            answer["queue_position"] = position
    return answer


def workstream_rule_fields(workstream_id: int | None) -> list[RuleField]:
    """What the widgets on a workstream put in a chat's routing facts: each pre-chat question
    (an option set's answer is one of its choices, a consent is yes or no) and each claim the
    widgets' sign-in settings turn into a verified context variable. Two queries."""
    if workstream_id is None:
        return []
    fields = []
    questions = PreChatQuestion.objects.filter(widget__workstream_id=workstream_id).order_by("widget__name", "order")
    for question in questions:
        if question.kind == PreChatQuestion.Kind.OPTION_SET:
            kind, choices = CHOICE, tuple(question.choices if isinstance(question.choices, list) else [])
        elif question.kind == PreChatQuestion.Kind.CONSENT:
            kind, choices = BOOLEAN, ()
        else:
            kind, choices = TEXT, ()
        label = _("Pre-chat: %(question)s") % {"question": question.label}
        fields.append(RuleField("prechat", question.name, label, kind, choices, group=_("Pre-chat answers")))
    claims = AuthenticationSetting.objects.filter(widgets__workstream_id=workstream_id).values_list(
        "context_claims", flat=True
    )
    for name in sorted({claim for listed in claims if isinstance(listed, list) for claim in listed}):
        fields.append(
            RuleField("context", name, _("Signed-in: %(claim)s") % {"claim": name}, group=_("Verified context"))
        )
        fields.append(
            RuleField(
                "context_claim",
                name,
                _("%(claim)s (also from anonymous pages)") % {"claim": name},
                group=_("Context, unverified"),
            )
        )
    return fields


def conversation_attachment_policy(conversation: Conversation) -> AttachmentPolicy | None:
    """The file limits of the widget a chat came through (issue 16); None without a widget."""
    if not conversation.widget_id:
        return None
    widget = ChatWidget.objects.filter(pk=conversation.widget_id).only("attachment_kinds", "attachment_max_mb").first()
    return widget.attachment_policy if widget is not None else None
