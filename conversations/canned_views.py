"""The agent's own canned responses in the workspace (issue 15): list, create, change, delete.

Plain forms: the list page holds a form for a new one; each personal one has its own page with
its form and a delete button. The writes are ``conversations.canned``'s services; the shared
canned responses are the admins' (admin center) and only listed here.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from conversations.canned import (
    access_personal_canned_response,
    canned_response_create,
    canned_response_delete,
    canned_response_update,
    canned_responses_for,
)
from conversations.errors import ConversationValidationError
from conversations.models import CannedResponse
from conversations.placeholders import PLACEHOLDERS
from conversations.views import agent_required, page_context
from core.errors import NotFound


class PersonalCannedResponseForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=100)
    shortcut = forms.SlugField(
        label=gettext_lazy("Shortcut"),
        max_length=40,
        help_text=gettext_lazy('Type "/" and this in the message box to insert it.'),
    )
    text = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 4}))
    language = forms.CharField(
        label=gettext_lazy("Language"),
        max_length=16,
        required=False,
        help_text=gettext_lazy("Offered only in conversations in this language; empty: in all."),
    )


def _save(request: HttpRequest, form: PersonalCannedResponseForm, *, canned_id: int | None) -> bool:
    """Call the service; its problems per field become the form's errors. True when saved."""
    if not form.is_valid():
        return False
    try:
        if canned_id is None:
            canned_response_create(agent=request.agent, **form.cleaned_data)
        else:
            canned_response_update(agent=request.agent, canned_id=canned_id, changes=form.cleaned_data)
    except ConversationValidationError as error:
        for name, problems in error.errors.items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)
        return False
    return True


def _render(request: HttpRequest, template: str, **context) -> HttpResponse:
    placeholders = [(f"{{{name}}}", meaning) for name, meaning in PLACEHOLDERS.items()]
    return render(request, template, page_context(request, placeholders=placeholders, **context))


@require_http_methods(["GET", "POST"])
@agent_required
def canned_responses(request: HttpRequest) -> HttpResponse:
    """The canned responses the agent may use, theirs first, and a form for a new personal one."""
    form = PersonalCannedResponseForm(request.POST or None)
    if request.method == "POST" and _save(request, form, canned_id=None):
        messages.success(request, _("Your canned response is saved."))
        return redirect("conversations:canned_responses")
    responses = list(canned_responses_for(request.agent))
    personal = [r for r in responses if r.visibility == CannedResponse.Visibility.PERSONAL]
    shared = [r for r in responses if r.visibility != CannedResponse.Visibility.PERSONAL]
    return _render(request, "conversations/canned_responses.html", form=form, personal=personal, shared=shared)


@require_http_methods(["GET", "POST"])
@agent_required
def canned_response_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    try:
        response = access_personal_canned_response(request.agent, canned_id)
    except NotFound:
        raise Http404(_("No such canned response.")) from None
    initial = {name: getattr(response, name) for name in ("title", "shortcut", "text", "language")}
    form = PersonalCannedResponseForm(request.POST or None, initial=initial)
    if request.method == "POST" and _save(request, form, canned_id=canned_id):
        messages.success(request, _("Your canned response is saved."))
        return redirect("conversations:canned_responses")
    return _render(request, "conversations/canned_response_edit.html", form=form, response=response)


@require_POST
@agent_required
def canned_response_remove(request: HttpRequest, canned_id: int) -> HttpResponse:
    try:
        canned_response_delete(agent=request.agent, canned_id=canned_id)
    except NotFound:
        raise Http404(_("No such canned response.")) from None
    messages.success(request, _("The canned response is deleted."))
    return redirect("conversations:canned_responses")
