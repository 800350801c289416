"""The agent workspace pages: sign-in, dashboard and conversation page (LIVE-2, NOT-4, SUM-6..13).

Agents sign in here, not in the admin. Pages only read (conversations.workspace); every change
goes through the workspace socket or, for presence, a plain form calling the same service.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agents.models import AgentProfile, Presence
from agents.selectors import oversees_all, reset_presence
from agents.services import agent_desktop_notifications_set, agent_presence_set
from conversations import workspace
from conversations.channels.outbound import delivery_js_strings
from conversations.models import Conversation
from conversations.read_markers import conversation_mark_read
from conversations.search_forms import inbox_context
from conversations.summary import customer_summary
from conversations.survey import conversation_survey, recent_surveys
from conversations.tagging import conversation_tags_of
from core.errors import DomainError, NotFound
from core.i18n import request_language_use
from routing import selectors as routing_selectors

LOGIN_URL = reverse_lazy("conversations:login")


def agent_required(view):
    """Only signed-in agents use the workspace.

    Anonymous visitors go to the workspace sign-in (not the admin's); a signed-in user without an
    agent profile is told so, rather than sent round the sign-in page again.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=LOGIN_URL)
        agent = workspace.workspace_agent(request.user)
        if agent is None:
            return render(request, "conversations/not_agent.html", status=403)
        request.agent = agent
        request_language_use(request, agent.language)  # the agent's own setting, then the browser (I18N-1)
        return view(request, *args, **kwargs)

    return wrapped


class AgentAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_agent": gettext_lazy(
            "This account has no agent profile, so it cannot use the agent workspace. "
            "Ask an administrator to make you an agent."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if workspace.workspace_agent(user) is None:
            raise forms.ValidationError(self.error_messages["not_agent"], code="not_agent")


class WorkspaceLoginView(LoginView):
    template_name = "conversations/login.html"
    authentication_form = AgentAuthenticationForm
    next_page = reverse_lazy("conversations:dashboard")


class WorkspaceLogoutView(LogoutView):
    next_page = reverse_lazy("conversations:login")


def js_strings() -> dict[str, str]:
    """What the workspace scripts name at run time, as the server words it (an SMS's delivery
    status, SMS-1: the same words as the page's _sms_delivery.html). The scripts' own words come
    from the djangojs catalog at /jsi18n/ (I18N-1)."""
    return delivery_js_strings()


def page_context(request: HttpRequest, **context) -> dict:
    """What every workspace page's layout needs: the agent, the socket's path, the server clock."""
    return {
        "agent": request.agent,
        # The socket renders messages in the page's language (conversations.consumers.scope_language).
        "socket_path": f"/ws/workspace/?{urlencode({'lang': get_language()})}",
        "server_now": timezone.now().isoformat(),
        "js_strings": js_strings(),
        "can_supervise": oversees_all(request.user),
        **context,
    }


@require_GET
@agent_required
def dashboard(request: HttpRequest) -> HttpResponse:
    board = workspace.dashboard(request.agent)
    return render(
        request,
        "conversations/dashboard.html",
        page_context(
            request,
            board=board,
            pending_notifications=board.notifications,
            desktop_modes=AgentProfile._meta.get_field("desktop_notifications").choices,
            workspace_languages=settings.LANGUAGES,  # issue 17: each by its own name ("Français")
            **inbox_context(request),  # issue 15: the inbox's tabs
        ),
    )


@require_POST
@agent_required
def presence_set(request: HttpRequest) -> HttpResponse:
    """The form fallback of the presence selector (the page normally sends ``presence.set``)."""
    try:
        presence = Presence.objects.get(pk=int(request.POST.get("presence", "")))
    except (ValueError, Presence.DoesNotExist):
        messages.error(request, _("Choose one of the listed presences."))
        return redirect("conversations:dashboard")
    try:
        agent_presence_set(agent_id=request.agent.pk, presence=presence, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your presence is now %(name)s.") % {"name": presence.name})
    return redirect("conversations:dashboard")


@require_GET
@agent_required
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    try:
        page = workspace.conversation_page(request.user, request.agent, conversation_id)
    except NotFound:
        raise Http404(_("No such conversation.")) from None
    # Issue 15: opening the page reads the conversation (the inbox's unread count).
    conversation_mark_read(agent=request.agent, conversation_id=page.conversation.pk, seq=page.last_seq)
    # SUM-2..16: the customer summary beside the chat (conversations/summary.py).
    summary = customer_summary(
        Conversation.objects.filter(pk=page.conversation.pk), page.conversation.pk, user=request.user
    )
    return render(
        request,
        "conversations/conversation.html",
        page_context(
            request,
            page=page,
            summary=summary,
            survey=conversation_survey(page.conversation),
            pending_notifications=page.notifications,
            dashboard_url=reverse("conversations:dashboard"),
            tags=conversation_tags_of(page.conversation),  # issue 15
        ),
    )


# --- Desktop notifications (NOT-9) -------------------------------------------------------------
@require_POST
@agent_required
def desktop_notifications_set(request: HttpRequest) -> HttpResponse:
    """Save when the agent gets desktop notifications; JSON for the page's script, else back to the dashboard."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        agent = agent_desktop_notifications_set(
            agent_id=request.agent.pk, mode=request.POST.get("mode", ""), by=request.user
        )
    except DomainError as exc:
        if wants_json:
            return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
        messages.error(request, exc.message)
        return redirect("conversations:dashboard")
    if wants_json:
        return JsonResponse({"mode": agent.desktop_notifications})
    messages.success(request, _("Desktop notification setting saved."))
    return redirect("conversations:dashboard")


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The workspace's service worker, served under /workspace/ so that its scope covers the
    workspace pages: it shows desktop notifications and handles their buttons (NOT-9)."""
    path = finders.find("conversations/workspace-sw.js")
    if path is None:
        raise Http404
    response = FileResponse(open(path, "rb"), content_type="text/javascript")  # noqa: SIM115 - closed by Django
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/workspace/"
    return response


# --- The supervisor's live view (ADM-2) ----------------------------------------------------------
def supervisor_required(view):
    """Supervisors and admins only: anonymous visitors sign in, everybody else gets a 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=LOGIN_URL)
        if not oversees_all(request.user):
            return HttpResponse(_("Only supervisors and admins see the supervisor view."), status=403)
        request.agent = workspace.workspace_agent(request.user)  # None for an admin who is no agent
        if request.agent is not None:
            request_language_use(request, request.agent.language)
        return view(request, *args, **kwargs)

    return wrapped


def _agent_state(agent: AgentProfile) -> dict:
    return {
        "id": agent.pk,
        "name": agent.display_name,
        "presence": {"id": agent.presence_id, "name": agent.presence.name, "base": agent.presence.base},
        "capacity": agent.capacity,
        "capacity_used": agent.capacity_used,
        "session_count": agent.session_count,
        "banner": agent.open_banner,
    }


def _queue_state(queue) -> dict:
    since = queue.oldest_waiting_since
    return {
        "id": queue.pk,
        "name": queue.name,
        "waiting": queue.waiting,
        "oldest_waiting_since": since.isoformat() if since else None,
    }


@require_GET
@supervisor_required
def supervisor(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    queues = [
        (queue, workspace.format_wait((now - queue.oldest_waiting_since).total_seconds()))
        if queue.oldest_waiting_since
        else (queue, "")
        for queue in routing_selectors.supervisor_queues()
    ]
    return render(
        request,
        "conversations/supervisor.html",
        page_context(
            request,
            agents=routing_selectors.supervisor_agents(),
            queues=queues,
            surveys=recent_surveys(),
        ),
    )


@require_GET
@supervisor_required
def supervisor_state(request: HttpRequest) -> JsonResponse:
    """The supervisor view's read model, which the page re-reads when an event says it changed."""
    return JsonResponse(
        {
            "now": timezone.now().isoformat(),
            "agents": [_agent_state(agent) for agent in routing_selectors.supervisor_agents()],
            "queues": [_queue_state(queue) for queue in routing_selectors.supervisor_queues()],
        }
    )


@require_POST
@supervisor_required
def supervisor_presence_reset(request: HttpRequest, agent_id: int) -> HttpResponse:
    """Put an agent back in Available, clearing their presence-changing banners (ADM-2, NOT-10..12)."""
    presence = reset_presence()
    if presence is None:
        messages.error(request, _("There is no Available presence to reset to."))
        return redirect("conversations:supervisor")
    try:
        agent = agent_presence_set(agent_id=agent_id, presence=presence, by=request.user)
    except NotFound:
        raise Http404(_("No such agent.")) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(agent)s is now %(presence)s.") % {"agent": agent.display_name, "presence": presence.name}
        )
    return redirect("conversations:supervisor")
