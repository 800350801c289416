"""The holder's "Transfer or consult" page of a conversation (ROU-14, ROU-15).

Two plain forms, each calling one routing service: transfer to an agent or a queue with a note,
or bring in a supervisor or another agent to consult. Refusals come back as a message and change
nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from agents.models import AgentProfile
from conversations import workspace
from conversations.views import agent_required, page_context
from core.errors import DomainError, NotFound
from routing.models import Queue
from routing.selectors import agents_visible_to
from routing.services.transfer import MAX_NOTE, conversation_consult, conversation_transfer


class TransferForm(forms.Form):
    target = forms.CharField(max_length=32, label=gettext_lazy("Transfer to"))
    note = forms.CharField(max_length=MAX_NOTE, required=False, widget=forms.Textarea, label=gettext_lazy("Note"))

    def clean_target(self) -> tuple[str, int]:
        kind, _sep, number = self.cleaned_data["target"].partition(":")
        if kind not in ("agent", "queue") or not number.isdigit():
            raise forms.ValidationError(_("Choose an agent or a queue."))
        return kind, int(number)


class ConsultForm(forms.Form):
    consultant = forms.IntegerField(min_value=1, label=gettext_lazy("Consult with"))
    note = forms.CharField(max_length=MAX_NOTE, required=False, widget=forms.Textarea, label=gettext_lazy("Note"))


def handover_choices(request: HttpRequest) -> dict:
    """Who and where the agent may hand over to: colleagues sharing a queue, supervisors, active queues."""
    me = request.agent
    colleagues = list(agents_visible_to(request.user).exclude(pk=me.pk).order_by("display_name", "pk"))
    supervisors = list(
        AgentProfile.objects.filter(role=AgentProfile.Role.SUPERVISOR)
        .exclude(pk__in=[me.pk, *(agent.pk for agent in colleagues)])
        .select_related("presence")
        .order_by("display_name", "pk")
    )
    return {
        "agents": colleagues,
        "consultants": colleagues + supervisors,
        "queues": list(Queue.objects.filter(is_active=True).order_by("priority", "name")),
    }


def _held(request: HttpRequest, conversation_id: int):
    try:
        conversation = workspace.access_workspace_conversation(request.user, request.agent, conversation_id)
    except NotFound:
        raise Http404(_("No such conversation.")) from None
    return conversation


@require_GET
@agent_required
def handover(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _held(request, conversation_id)
    return render(
        request,
        "conversations/handover.html",
        page_context(
            request,
            conversation=conversation,
            customer=workspace.customer_label(conversation),
            holds_it=conversation.agent_id == request.agent.pk and conversation.status == "active",
            pending_notifications=[],
            **handover_choices(request),
        ),
    )


def _form_problem(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@require_POST
@agent_required
def transfer(request: HttpRequest, conversation_id: int) -> HttpResponse:
    _held(request, conversation_id)
    form = TransferForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("conversations:handover", conversation_id)
    kind, target_id = form.cleaned_data["target"]
    try:
        conversation_transfer(
            conversation_id=conversation_id,
            by=request.agent,
            to_agent_id=target_id if kind == "agent" else None,
            to_queue_id=target_id if kind == "queue" else None,
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("conversations:handover", conversation_id)
    messages.success(request, _("The conversation was transferred."))
    return redirect("conversations:dashboard")


@require_POST
@agent_required
def consult(request: HttpRequest, conversation_id: int) -> HttpResponse:
    _held(request, conversation_id)
    form = ConsultForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("conversations:handover", conversation_id)
    try:
        participant = conversation_consult(
            conversation_id=conversation_id,
            by=request.agent,
            consultant_id=form.cleaned_data["consultant"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("conversations:handover", conversation_id)
    messages.success(request, _("%(name)s was asked to join.") % {"name": participant.agent.display_name})
    return redirect("conversations:conversation", conversation_id)
