"""The admin center's People pages: every agent at a glance, create an agent in one form,
import agents from a CSV file, deactivate and reactivate (issue 14).

A new module on purpose, to move whole with the agent models to the ``agents`` app. The site
(``omnichannel.admin_site``) mounts :func:`people_urls` under ``/admin/people/``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agents.models import AgentProfile, AgentSkill, Skill
from core.errors import DomainError
from routing.models import Queue
from routing.people import CSV_COLUMNS, AgentDraft, agent_create, agent_deactivate, agent_reactivate, agents_import_csv


class AgentCreateForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, help_text=_("What the agent types to sign in to the workspace.")
    )
    email = forms.EmailField(label=_("Email"), required=False)
    display_name = forms.CharField(
        label=_("Display name"), max_length=100, help_text=_("The name customers and colleagues see.")
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to set it later; until then the agent cannot sign in."),
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=1,
        max_value=10_000,
        initial=100,
        help_text=AgentProfile._meta.get_field("capacity").help_text,
    )
    queues = forms.ModelMultipleChoiceField(
        label=_("Queues"),
        queryset=Queue.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The agent gets work from these queues. Without one, they get no work."),
    )
    supervisor = forms.BooleanField(
        label=_("Supervisor"),
        required=False,
        help_text=_("Supervisors see every queue and agent and may reset presences."),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        if password:
            validate_password(password)
        return password


class SkillRowForm(forms.Form):
    skill = forms.ModelChoiceField(label=_("Skill"), queryset=Skill.objects.order_by("name"), required=False)
    proficiency = forms.IntegerField(
        label=_("Proficiency"),
        min_value=1,
        max_value=10,
        initial=5,
        required=False,
        help_text=_("1 (novice) to 10 (expert)."),
    )


class BaseSkillRowFormSet(forms.BaseFormSet):
    def clean(self):
        seen = set()
        for form in self.forms:
            skill = form.cleaned_data.get("skill") if form.is_valid() else None
            if skill is None:
                continue
            if skill.pk in seen:
                form.add_error("skill", _("This skill is listed twice."))
            seen.add(skill.pk)


SkillRowFormSet = forms.formset_factory(SkillRowForm, formset=BaseSkillRowFormSet, extra=3, max_num=50)


class AgentImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, a header line first. Columns: %(columns)s.") % {"columns": ", ".join(CSV_COLUMNS)},
    )


def _context(site, request: HttpRequest, title, **extra) -> dict:
    return {**site.each_context(request), "title": title, "subtitle": None, **extra}


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def people_urls(site) -> list:
    """The People pages, each behind the admin's sign-in."""

    def people(request: HttpRequest) -> HttpResponse:
        """Every agent with their queues and skills, active ones first. Three queries."""
        _require(request, "agents.view_agentprofile")
        agents = (
            AgentProfile.objects.select_related("user", "presence")
            .prefetch_related("queues", Prefetch("agent_skills", AgentSkill.objects.select_related("skill")))
            .order_by("-user__is_active", "display_name", "pk")
        )
        return TemplateResponse(
            request, "admin/people/people.html", _context(site, request, _("People"), agents=agents)
        )

    def agent_create_view(request: HttpRequest) -> HttpResponse:
        _require(request, "agents.add_agentprofile")
        form = AgentCreateForm(request.POST or None)
        skills = SkillRowFormSet(request.POST or None, prefix="skills")
        if request.method == "POST" and form.is_valid() and skills.is_valid():
            data = form.cleaned_data
            draft = AgentDraft(
                username=data["username"],
                email=data["email"],
                display_name=data["display_name"],
                capacity=data["capacity"],
                queues=tuple(data["queues"]),
                skills=tuple(
                    (row["skill"], row["proficiency"] or 5) for row in skills.cleaned_data if row.get("skill")
                ),
                supervisor=data["supervisor"],
                password=data["password"],
            )
            try:
                agent = agent_create(draft=draft)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _t("%(name)s can now take work.") % {"name": agent.display_name})
                return redirect("admin:people")
        return TemplateResponse(
            request,
            "admin/people/agent_create.html",
            _context(site, request, _("Add an agent"), form=form, skills=skills),
        )

    def agent_import_view(request: HttpRequest) -> HttpResponse:
        _require(request, "agents.add_agentprofile")
        form = AgentImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                report = agents_import_csv(data=form.cleaned_data["file"].read())
            except DomainError as error:
                form.add_error("file", error.message)
        return TemplateResponse(
            request,
            "admin/people/agent_import.html",
            _context(site, request, _("Import agents"), form=form, report=report, columns=",".join(CSV_COLUMNS)),
        )

    @require_POST
    def agent_active_view(request: HttpRequest, agent_id: int, active: bool) -> HttpResponse:
        _require(request, "agents.change_agentprofile")
        try:
            agent = (
                agent_reactivate(agent_id=agent_id) if active else agent_deactivate(agent_id=agent_id, by=request.user)
            )
        except AgentProfile.DoesNotExist:
            raise Http404(_t("No such agent.")) from None
        except DomainError as error:
            messages.error(request, error.message)
        else:
            text = (
                _t("%(name)s can sign in again.")
                if active
                else _t("%(name)s can no longer sign in or get work; their history stays.")
            )
            messages.success(request, text % {"name": agent.display_name})
        return redirect("admin:people")

    def deactivate(request, agent_id):
        return agent_active_view(request, agent_id, False)

    def reactivate(request, agent_id):
        return agent_active_view(request, agent_id, True)

    return [
        path("people/", site.admin_view(people), name="people"),
        path("people/agents/add/", site.admin_view(agent_create_view), name="people_agent_create"),
        path("people/agents/import/", site.admin_view(agent_import_view), name="people_agent_import"),
        path("people/agents/<int:agent_id>/deactivate/", site.admin_view(deactivate), name="people_agent_deactivate"),
        path("people/agents/<int:agent_id>/reactivate/", site.admin_view(reactivate), name="people_agent_reactivate"),
    ]


def people_section_links() -> list[dict]:
    """The People pages as entries of the admin center's People section."""
    return [
        {
            "name": _("People overview: add, import, deactivate agents"),
            "object_name": "People",
            "admin_url": reverse("admin:people"),
            "add_url": reverse("admin:people_agent_create"),
            "view_only": False,
        }
    ]
