"""The workspace's inbox panel, search page, tag controls, inbox sound setting (issue 15) and the
workspace's language (issue 17).

Pages read through ``conversations.inbox`` and ``conversations.search`` (the access check is
inside); the tag controls and the sound setting are plain forms calling one service each.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agents.errors import AgentError
from agents.services import agent_inbox_sound_set, agent_language_set
from conversations.search import conversation_search, snippet_markup
from conversations.search_forms import ConversationFilterForm, inbox_context
from conversations.tagging import conversation_tag_add, conversation_tag_remove
from conversations.views import agent_required, page_context
from core.errors import DomainError, NotFound

SEARCH_PAGE_SIZE = 20


@require_GET
@agent_required
def inbox_panel(request: HttpRequest) -> HttpResponse:
    """The inbox alone, which the dashboard re-reads when the socket says it changed."""
    return render(request, "conversations/_inbox.html", {"agent": request.agent, **inbox_context(request)})


@require_GET
@agent_required
def search(request: HttpRequest) -> HttpResponse:
    """Search the conversations the agent may see (SEC-1 inside ``conversation_search``)."""
    form = ConversationFilterForm(request.GET or None, user=request.user)
    results, page = [], None
    if form.is_valid() and not form.filters().is_empty:
        paginator = Paginator(conversation_search(request.user, form.filters()), SEARCH_PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        results = [
            {"conversation": conversation, "snippet": snippet_markup(getattr(conversation, "snippet_source", ""))}
            for conversation in page.object_list
        ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "conversations/search.html",
        page_context(request, form=form, results=results, page=page, query=query.urlencode(), pending_notifications=[]),
    )


def _back(request: HttpRequest, conversation_id: int) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("conversations:conversation", args=[conversation_id])
    return redirect(target)


@require_POST
@agent_required
def conversation_tags(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Add (``action=add``) or remove (``action=remove``) a tag; back to the page the form was on."""
    action = request.POST.get("action")
    try:
        tag_id = int(request.POST.get("tag", ""))
    except ValueError:
        tag_id = None
    if action not in ("add", "remove") or tag_id is None:
        messages.error(request, _("Choose a tag."))
        return _back(request, conversation_id)
    change = conversation_tag_add if action == "add" else conversation_tag_remove
    try:
        change(conversation_id=conversation_id, tag_id=tag_id, by=request.user)
    except NotFound as exc:
        if exc.code == "no_such_tag":
            messages.error(request, exc.message)
            return _back(request, conversation_id)
        raise Http404(_("No such conversation.")) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, conversation_id)


@require_POST
@agent_required
def inbox_sound_set(request: HttpRequest) -> HttpResponse:
    """Switch the inbox sound; JSON for the page's script, else back to the dashboard."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    value = request.POST.get("sound", "")
    if value not in ("on", "off"):
        message = _("Choose on or off.")
        if wants_json:
            return JsonResponse({"code": "invalid", "message": message}, status=400)
        messages.error(request, message)
        return redirect("conversations:dashboard")
    agent = agent_inbox_sound_set(agent_id=request.agent.pk, on=value == "on", by=request.user)
    if wants_json:
        return JsonResponse({"sound": "on" if agent.inbox_sound else "off"})
    messages.success(request, _("Sound setting saved."))
    return redirect("conversations:dashboard")


@require_POST
@agent_required
def language_set(request: HttpRequest) -> HttpResponse:
    """Choose the workspace's language (I18N-1); JSON for a script, else back to the dashboard,
    which then renders in the new language (the workspace follows ``AgentProfile.language``)."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        language = request.POST.get("language", "")
        agent = agent_language_set(agent_id=request.agent.pk, language=language, by=request.user)
    except AgentError as error:
        if wants_json:
            return JsonResponse({"code": error.code, "message": str(error)}, status=400)
        messages.error(request, str(error))
        return redirect("conversations:dashboard")
    if wants_json:
        return JsonResponse({"language": agent.language})
    with translation.override(agent.language or translation.get_language()):
        messages.success(request, _("Language saved."))
    return redirect("conversations:dashboard")
