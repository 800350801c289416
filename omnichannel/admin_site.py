"""The admin center's site: pages grouped by an administrator's tasks, a start page (issue 14).

Django's default index lists apps alphabetically under their Python names, which puts the API
tokens first and reads like a developer's tool. This site keeps every ModelAdmin as registered
and only regroups the app list (index and side bar) into sections named after the jobs an
administrator does. A model is placed by its model name rather than its app label, so a model
that moves between apps (the agent models are moving to ``agents``) keeps its place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from omnichannel.admin_center import live_counts, setup_checklist
from routing.people_admin import people_section_links, people_urls


@dataclass(frozen=True)
class Section:
    slug: str
    name: Promise
    description: Promise
    #: model name → the name an administrator sees in the list, in the order shown.
    models: dict[str, Promise]
    read_only: bool = False


SECTIONS: tuple[Section, ...] = (
    Section(
        "channels",
        _("Channels"),
        _("Where customers reach you: chat widgets on your web pages, SMS and voice numbers."),
        {
            "chatwidget": _("Chat widgets"),
            "proactiverule": _("Proactive chat invitations"),
            "authenticationsetting": _("Chat sign-in (verified customers)"),
            "phonechannel": _("SMS and voice numbers"),
        },
    ),
    Section(
        "routing",
        _("Routing"),
        _("Which queue and which agent each conversation goes to, and when queues are open."),
        {
            "workstream": _("Workstreams and their routing rules"),
            "queue": _("Queues"),
            "operatinghours": _("Operating hours and holidays"),
            "skill": _("Skills"),
        },
    ),
    Section(
        "people",
        _("People"),
        _("Agents and supervisors, what they can do, and the presences they choose from."),
        {
            "agentprofile": _("Agents and supervisors"),
            "presence": _("Presences"),
            "user": _("Sign-in accounts"),
            "group": _("Permission groups"),
        },
    ),
    Section(
        "notifications",
        _("Notifications"),
        _("What agents see when work arrives, and when an agent is set aside automatically."),
        {
            "notificationtemplate": _("Notification templates"),
            "alertsettings": _("Alert settings"),
        },
    ),
    Section(
        "agent_tools",
        _("Agent tools"),
        _("What agents use while they answer: canned responses, conversation tags and wrap-up codes."),
        {
            "cannedresponse": _("Canned responses"),
            "tag": _("Conversation tags"),
            "wrapupsettings": _("Wrap-up codes"),
        },
    ),
    Section(
        "customers",
        _("Customers"),
        _("The people and companies you serve, their cases and notes."),
        {
            "contact": _("Contacts"),
            "account": _("Accounts"),
            "case": _("Cases"),
            "note": _("Notes"),
            "smsoptout": _("SMS opt-outs"),
        },
    ),
    Section(
        "activity",
        _("Activity"),
        _("What happened, for looking up: these records are written by the system and cannot be edited."),
        {
            "conversation": _("Conversations"),
            "message": _("Messages"),
            "session": _("Agent sessions"),
            "workitem": _("Routed work (queued and assigned)"),
            "offer": _("Offers of work to agents"),
            "notification": _("Notifications sent to agents"),
            "agentbanner": _("Alerts shown to agents"),
            "visitor": _("Website visitors"),
            "pagevisit": _("Pages visitors viewed"),
            "invitation": _("Chat invitations shown"),
            "selfserviceaction": _("Help articles and searches before a chat"),
            "providerdelivery": _("Incoming SMS and calls"),
            "outboundsms": _("SMS replies sent"),
            "webhookdelivery": _("Webhook deliveries"),
        },
        read_only=True,
    ),
    Section(
        "developers",
        _("Developers"),
        _("Connections to other systems: API credentials for bots and integrations, webhooks."),
        {
            "botclient": _("Bots and API clients"),
            "token": _("API tokens"),
            "tokenproxy": _("API tokens"),
            "webhookendpoint": _("Webhook endpoints"),
        },
    ),
)

#: Models registered after this list was written land here, so nothing disappears from view;
#: a test asserts the section stays empty, so a new admin page gets a proper place.
OTHER = Section("other", _("Other settings"), _("Pages not yet placed in a section."), {})


def section_of(model_name: str) -> Section:
    for section in SECTIONS:
        if model_name in section.models:
            return section
    return OTHER


class AdminCenterSite(admin.AdminSite):
    site_header = _("Omnichannel admin center")
    site_title = _("Admin center")
    index_title = _("Start")
    index_template = "admin/admin_center/index.html"

    def get_urls(self):
        return [*people_urls(self), *super().get_urls()]

    def index(self, request, extra_context=None):
        checklist = setup_checklist()
        context = {
            "checklist": checklist,
            "checklist_left": sum(not item.done for item in checklist),
            "live": live_counts(),
            **(extra_context or {}),
        }
        return super().index(request, context)

    def get_app_list(self, request, app_label=None):
        """Sections instead of apps; an app's own page (``/admin/<app>/``) keeps Django's list."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        by_section: dict[str, list[dict]] = {}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                name = model["model"]._meta.model_name
                section = section_of(name)
                if section is not OTHER:
                    model["name"] = section.models[name]
                model["section_order"] = list(section.models).index(name) if name in section.models else 0
                by_section.setdefault(section.slug, []).append(model)
        index_url = reverse("admin:index", current_app=self.name)
        sections = []
        for section in (*SECTIONS, OTHER):
            models = by_section.get(section.slug)
            if not models:
                continue
            models.sort(key=lambda model: (model["section_order"], str(model["name"])))
            if section.slug == "people" and request.user.has_perm("agents.view_agentprofile"):
                models = [*people_section_links(), *models]
            sections.append(
                {
                    "name": section.name,
                    "description": section.description,
                    "read_only": section.read_only,
                    "app_label": section.slug,
                    "app_url": f"{index_url}#section-{section.slug}",
                    "has_module_perms": True,
                    "models": models,
                }
            )
        return sections
