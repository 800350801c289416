"""Admin center: workstreams, queues, operating hours, routing rules, work items and offers (ADM-1, ROU-1..3)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from agents.admin import AgentProfileAdmin as AgentPageAdmin
from agents.models import AgentProfile
from core.admin import ReadOnlyAdmin, ReadOnlyTabularInline
from routing.contributions import workstream_change_problems, workstream_inlines
from routing.models import (
    Holiday,
    Offer,
    OperatingHours,
    OperatingWindow,
    Queue,
    QueueMembership,
    RoutingRule,
    WorkItem,
    Workstream,
    WorkstreamTemplate,
)
from routing.rule_editor import RoutingRuleForm, workstream_rules_try
from routing.rule_fields import rule_fields_for

# --- Operating hours and queues -------------------------------------------------------------


class OperatingWindowInline(admin.TabularInline):
    model = OperatingWindow
    extra = 1


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(OperatingHours)
class OperatingHoursAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "window_count", "holiday_count"]
    list_filter = ["time_zone"]
    search_fields = ["name", "time_zone"]
    inlines = [OperatingWindowInline, HolidayInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(window_count=Count("windows", distinct=True), holiday_count=Count("holidays", distinct=True))
        )

    @admin.display(description=_("weekly windows"), ordering="window_count")
    def window_count(self, hours: OperatingHours) -> int:
        return hours.window_count

    @admin.display(description=_("holidays"), ordering="holiday_count")
    def holiday_count(self, hours: OperatingHours) -> int:
        return hours.holiday_count


class QueueMembershipInline(admin.TabularInline):
    """Queue memberships, from the queue's side or the agent's (the subclass says which)."""

    model = QueueMembership
    readonly_fields = ["joined_at"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "queue")


class QueueMembershipForQueueInline(QueueMembershipInline):
    fk_name = "queue"
    autocomplete_fields = ["agent"]
    verbose_name = _("member agent")
    verbose_name_plural = _("member agents")


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "assignment_method", "operating_hours", "member_count", "is_active"]
    list_filter = ["is_active", "assignment_method", "priority", "operating_hours"]
    list_select_related = ["operating_hours"]
    search_fields = ["name"]
    autocomplete_fields = ["operating_hours"]
    inlines = [QueueMembershipForQueueInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, queue: Queue) -> int:
        return queue.member_count


# --- Workstreams ----------------------------------------------------------------------------


UNVERIFIED_SOURCE_LABELS = {
    "context_claim": _("a context value the page sends"),
    "prechat": _("a pre-chat answer"),
    "language": _("the browser's language"),
    "url": _("the page URL"),
}


def unverified_rule_warning(rule: RoutingRule) -> str:
    """The admin center's warning for a rule that trusts values a customer chooses ("" when none)."""
    sources = rule.unverified_sources
    if not sources:
        return ""
    return _(
        "Unverified: this rule routes on %(values)s, which anyone can type or send. Use it to sort "
        "work, never to grant a privilege (a VIP queue); for that, use a verified context value "
        "(a claim of the signed sign-in token)."
    ) % {"values": ", ".join(str(UNVERIFIED_SOURCE_LABELS[source]) for source in sources)}


class RoutingRuleInline(admin.StackedInline):
    """Ordered rules (ROU-2); the first whose conditions all hold picks the queue and skills."""

    model = RoutingRule
    form = RoutingRuleForm
    extra = 0
    fields = [("order", "name", "is_active"), "conditions", "trust", ("queue", "skills")]
    readonly_fields = ["trust"]

    @admin.display(description=_("Trust"))
    def trust(self, rule: RoutingRule) -> str:
        if rule.pk is None:
            return "—"
        return unverified_rule_warning(rule) or _("Verified facts only.")

    autocomplete_fields = ["queue", "skills"]

    def get_formset(self, request, obj=None, **kwargs):
        offered = rule_fields_for(obj.pk if obj is not None else None)
        kwargs["form"] = type("RoutingRuleForm", (self.form,), {"rule_fields": offered})
        return super().get_formset(request, obj, **kwargs)


class WorkstreamTemplateInline(admin.TabularInline):
    """The notification template for each scenario (ROU-1, NOT-2); unset scenarios use the default."""

    model = WorkstreamTemplate
    extra = 0
    autocomplete_fields = ["template"]
    verbose_name = _("notification template")
    verbose_name_plural = _("notification templates per scenario")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("workstream", "template")


class WorkstreamForm(forms.ModelForm):
    class Meta:
        model = Workstream
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        # What uses this workstream (a chat widget, PER-2) must allow the new channel and mode;
        # the apps that own those rows say so through routing.contributions.
        channel = cleaned.get("channel")
        if channel:
            problems = workstream_change_problems(
                workstream_id=self.instance.pk, channel=channel, chat_mode=cleaned.get("chat_mode") or ""
            )
            for name, message in problems.items():
                self.add_error(name, message)
        return cleaned


@admin.register(Workstream)
class WorkstreamAdmin(admin.ModelAdmin):
    form = WorkstreamForm
    list_display = [
        "name",
        "channel",
        "chat_mode",
        "distribution",
        "capacity_units",
        "default_queue",
        "auto_accept",
        "is_active",
        "unverified_rules",
    ]
    list_filter = ["channel", "chat_mode", "distribution", "is_active", "auto_accept", "skill_matching"]
    list_select_related = ["default_queue"]
    search_fields = ["name", "default_queue__name"]
    autocomplete_fields = ["default_queue", "fallback_queue"]
    filter_horizontal = ["allowed_presences"]
    readonly_fields = ["created_at"]
    inlines = [RoutingRuleInline, WorkstreamTemplateInline]
    change_form_template = "admin/routing/workstream/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("routing_rules")

    def get_inlines(self, request, obj):
        # The apps above routing edit the settings they keep per workstream here, first.
        return [*workstream_inlines(), *super().get_inlines(request, obj)]

    def get_urls(self):
        try_rules = self.admin_site.admin_view(self.try_rules_view)
        return [
            path("<path:object_id>/try-rules/", try_rules, name="routing_workstream_try_rules"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"try_rules_fields": [], **(extra_context or {})}
        if object_id:
            extra["try_rules_fields"] = rule_fields_for(int(object_id)) if object_id.isdigit() else []
        return super().change_view(request, object_id, form_url, extra)

    def try_rules_view(self, request, object_id):
        """The "try these rules" box: the saved rules against sample values, read-only."""
        workstream = self.get_object(request, object_id)
        if workstream is None or not self.has_view_permission(request, workstream):
            raise Http404(_("No such workstream."))
        fields = rule_fields_for(workstream.pk)
        samples = {field.key: request.GET.get(f"sample-{field.key}", "") for field in fields}
        trial = workstream_rules_try(workstream=workstream, samples=samples)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Try the rules of %(workstream)s") % {"workstream": workstream.name},
            "opts": self.model._meta,
            "original": workstream,
            "trial": trial,
            "try_rules_fields": fields,
            "samples": samples,
        }
        template = (
            "admin/routing/workstream/try_rules_result.html"
            if request.GET.get("partial")
            else ("admin/routing/workstream/try_rules.html")
        )
        return TemplateResponse(request, template, context)

    @admin.display(description=_("Rules on unverified values"))
    def unverified_rules(self, workstream: Workstream) -> str:
        names = [rule.name for rule in workstream.routing_rules.all() if rule.is_active and rule.unverified_sources]
        if not names:
            return "—"
        return _("⚠ Unverified: %(names)s") % {"names": ", ".join(names)}

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for rule in form.instance.routing_rules.all():
            warning = unverified_rule_warning(rule)
            if warning and rule.is_active:
                messages.warning(request, _("Rule “%(name)s”: %(warning)s") % {"name": rule.name, "warning": warning})

    fieldsets = [
        (None, {"fields": ["name", "channel", "chat_mode", "is_active", "created_at"]}),
        (
            _("Work distribution"),
            {
                "fields": [
                    "distribution",
                    "capacity_units",
                    "allowed_presences",
                    "default_queue",
                    "fallback_queue",
                    "auto_accept",
                    "agents_may_reject",
                    "keep_same_agent",
                    "automatic_presence",
                    ("wrap_up_capacity", "wrap_up_capacity_seconds"),
                    ("skill_matching", "closest_match_after_seconds"),
                ]
            },
        ),
    ]


# --- Agents ---------------------------------------------------------------------------------


class QueueMembershipForAgentInline(QueueMembershipInline):
    fk_name = "agent"
    autocomplete_fields = ["queue"]
    verbose_name = _("queue")
    verbose_name_plural = _("queues")


# The agents app registered its page first (it comes before routing in INSTALLED_APPS).
admin.site.unregister(AgentProfile)


@admin.register(AgentProfile)
class AgentProfileAdmin(AgentPageAdmin):
    """The agents app's page of an agent, with the queues they belong to (routing owns queues)."""

    list_filter = ["role", "presence", "queues", "skills"]
    inlines = [*AgentPageAdmin.inlines, QueueMembershipForAgentInline]


# --- Work items and offers (inspection only) ------------------------------------------------


class OfferInline(ReadOnlyTabularInline):
    model = Offer
    fields = ["agent", "status", "created_at", "expires_at", "displayed_at", "responded_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "work_item")


@admin.register(WorkItem)
class WorkItemAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "workstream", "queue", "agent", "capacity_units", "enqueued_at"]
    list_filter = ["status", "workstream", "queue"]
    list_select_related = ["workstream", "queue", "agent"]
    search_fields = ["agent__display_name", "facts__customer_name", "facts__case_title"]
    date_hierarchy = "enqueued_at"
    inlines = [OfferInline]


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "agent", "created_at", "expires_at", "displayed_at", "responded_at"]
    list_filter = ["status"]
    list_select_related = ["agent", "work_item"]
    search_fields = ["agent__display_name", "agent__user__username"]
    date_hierarchy = "created_at"
