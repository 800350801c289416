"""The agent's "Open items" page: the queued work of their pick-mode queues, and picking one (ROU-13).

The page lists what ``routing.selectors.open_items_for`` returns; the list is re-read when the
agent's socket says a queue's open items changed (``queue.items_changed``). Picking is a plain
form calling ``work_item_pick``, which decides between agents picking the same item at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from conversations.views import agent_required, page_context
from conversations.workspace import customer_label
from core.errors import DomainError
from routing.selectors import open_items_for
from routing.services import work_item_pick


@dataclass(frozen=True)
class OpenItemRow:
    work_item_id: int
    customer: str
    channel: str
    queue: str
    workstream: str
    enqueued_at: datetime


def open_item_rows(agent) -> list[OpenItemRow]:
    rows = []
    for item in open_items_for(agent):
        if item.conversation_id:
            customer, channel = customer_label(item.conversation), item.conversation.get_channel_display()
        else:
            customer, channel = item.case.title, _("Case")
        rows.append(OpenItemRow(item.pk, customer, channel, item.queue.name, item.workstream.name, item.enqueued_at))
    return rows


@require_GET
@agent_required
def open_items(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "conversations/open_items.html",
        page_context(request, items=open_item_rows(request.agent), pending_notifications=[]),
    )


@require_POST
@agent_required
def open_item_pick(request: HttpRequest, work_item_id: int) -> HttpResponse:
    """Take the item; on success go to its conversation, else back to the list with the reason."""
    try:
        work_item = work_item_pick(work_item_id=work_item_id, agent=request.agent)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("conversations:open_items")
    if work_item.conversation_id:
        return redirect("conversations:conversation", work_item.conversation_id)
    messages.success(request, _("The case is yours now."))
    return redirect("conversations:dashboard")
