"""Admin center: workstreams, queues, operating hours, skills, presences and agents (ADM-1, ROU-1..5)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin, ReadOnlyTabularInline
from core.errors import DomainError
from routing.models import (
    AgentProfile,
    AgentSkill,
    Channel,
    Holiday,
    Offer,
    OperatingHours,
    OperatingWindow,
    Presence,
    Queue,
    QueueMembership,
    RoutingRule,
    Skill,
    WorkItem,
    Workstream,
    WorkstreamTemplate,
)
from routing.rule_editor import RoutingRuleForm, workstream_rules_try
from routing.rule_fields import rule_fields_for
from routing.services import agent_presence_set
from widgets.models import SelfServiceAction
from widgets.selectors import workstream_widget_names

# --- Presences and skills -------------------------------------------------------------------


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ["name", "base", "agent_selectable", "is_system", "color", "order"]
    list_filter = ["base", "is_system", "agent_selectable"]
    search_fields = ["name"]
    readonly_fields = ["is_system"]

    def get_readonly_fields(self, request, obj=None):
        # A system presence is one of the six ROU-5 names the routing engine relies on.
        if obj is not None and obj.is_system:
            return [*self.readonly_fields, "base"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "agent_count"]
    search_fields = ["name", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(agent_count=Count("agent_skills", distinct=True))

    @admin.display(description=_("agents"), ordering="agent_count")
    def agent_count(self, skill: Skill) -> int:
        return skill.agent_count


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


class QueueMembershipForQueueInline(admin.TabularInline):
    model = QueueMembership
    fk_name = "queue"
    autocomplete_fields = ["agent"]
    readonly_fields = ["joined_at"]
    extra = 1
    verbose_name = _("member agent")
    verbose_name_plural = _("member agents")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "queue")


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
    summary_self_service_types = forms.MultipleChoiceField(
        choices=SelfServiceAction.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Self-service action types in the customer summary"),
        help_text=_("None ticked shows every type."),  # SUM-12
    )

    class Meta:
        model = Workstream
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        # The widget rules (a chat workstream; PER-2) hold for widgets already on this workstream.
        channel = cleaned.get("channel")
        if channel and channel != Channel.CHAT:
            names = workstream_widget_names(workstream_id=self.instance.pk)
            if names:
                self.add_error(
                    "channel",
                    _("Chat widgets use this workstream: %(names)s. Move them to another chat workstream first.")
                    % {"names": ", ".join(names)},
                )
        elif channel == Channel.CHAT and cleaned.get("chat_mode") == Workstream.ChatMode.PERSISTENT:
            names = workstream_widget_names(workstream_id=self.instance.pk, without_authentication=True)
            if names:
                self.add_error(
                    "chat_mode",
                    _(
                        "Persistent chat requires chat authentication, and these widgets have none: "
                        "%(names)s. Set one on each widget first (PER-2)."
                    )
                    % {"names": ", ".join(names)},
                )
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
        (
            _("Auto-close and customer messages"),
            {
                "fields": [
                    "customer_grace_seconds",
                    "auto_close_open_seconds",
                    "auto_close_active_seconds",
                    "auto_close_waiting_seconds",
                    "auto_close_wrap_up_seconds",
                    "queue_position_message",
                    "average_wait_message",
                ]
            },
        ),
        (
            _("Customer summary"),
            {
                "fields": [
                    "summary_self_service_types",
                    "summary_show_additional_details",
                    "agents_may_edit_skills",
                ]
            },
        ),
    ]


# --- Agents ---------------------------------------------------------------------------------


class AgentSkillInline(admin.TabularInline):
    """Skills with a proficiency (ROU-4)."""

    model = AgentSkill
    autocomplete_fields = ["skill"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "skill")


class QueueMembershipForAgentInline(admin.TabularInline):
    model = QueueMembership
    fk_name = "agent"
    autocomplete_fields = ["queue"]
    readonly_fields = ["joined_at"]
    extra = 1
    verbose_name = _("queue")
    verbose_name_plural = _("queues")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "queue")


# The fields an admin edits on an existing agent. The counters (capacity used, sessions) move
# under the routing services' row locks, and presence goes through agent_presence_set, so a
# change saves only these columns rather than the whole row read seconds ago.
AGENT_ADMIN_COLUMNS = ("display_name", "role", "capacity", "desktop_notifications", "language")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "role", "presence", "capacity_in_use", "session_count"]
    list_filter = ["role", "presence", "queues", "skills"]
    list_select_related = ["user", "presence"]
    search_fields = ["display_name", "user__username", "user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    inlines = [AgentSkillInline, QueueMembershipForAgentInline]
    actions = ["reset_presence_to_available"]
    readonly_fields = [
        "capacity_used",
        "session_count",
        "presence_changed_at",
        "last_assigned_at",
        "last_work_ended_at",
        "disconnected_at",
    ]
    fieldsets = [
        (None, {"fields": ["user", "display_name", "role", "language"]}),
        (
            _("Capacity and presence"),
            {"fields": ["capacity", "capacity_used", "session_count", "presence", "presence_changed_at"]},
        ),
        (_("Notifications"), {"fields": ["desktop_notifications"]}),
        (
            _("Activity"),
            {"fields": ["last_assigned_at", "last_work_ended_at", "disconnected_at"], "classes": ["collapse"]},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "user"]
        return self.readonly_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # A new agent has no workspace open yet.
        offline = Presence.objects.filter(base=Presence.Base.OFFLINE, is_system=True).first()
        if offline is not None:
            initial.setdefault("presence", offline.pk)
        return initial

    @admin.display(description=_("capacity used"), ordering="capacity_used")
    def capacity_in_use(self, agent: AgentProfile) -> str:
        return f"{agent.capacity_used}/{agent.capacity}"

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        chosen_presence = obj.presence
        obj.save(update_fields=[name for name in form.changed_data if name in AGENT_ADMIN_COLUMNS])
        if "presence" in form.changed_data:
            agent_presence_set(agent_id=obj.pk, presence=chosen_presence, by=request.user)

    @admin.action(description=_("Reset presence to Available"), permissions=["change"])
    def reset_presence_to_available(self, request, queryset):
        """ROU-5, NOT-10..12: a supervisor sets agents back to Available; their banners clear."""
        available = Presence.objects.get(base=Presence.Base.AVAILABLE, is_system=True)
        reset = 0
        for agent_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                agent_presence_set(agent_id=agent_id, presence=available, by=request.user)
            except DomainError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                reset += 1
        if reset:
            self.message_user(
                request,
                ngettext("%(count)d agent reset to Available.", "%(count)d agents reset to Available.", reset)
                % {"count": reset},
                messages.SUCCESS,
            )


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
    search_fields = ["agent__display_name", "case__title", "conversation__contact__last_name"]
    date_hierarchy = "enqueued_at"
    inlines = [OfferInline]


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "agent", "created_at", "expires_at", "displayed_at", "responded_at"]
    list_filter = ["status"]
    list_select_related = ["agent", "work_item"]
    search_fields = ["agent__display_name", "agent__user__username"]
    date_hierarchy = "created_at"
