"""Admin center: presences, skills and agents (ADM-1, ROU-4, ROU-5).

The routing app's admin adds the queues an agent belongs to to the agent page.
"""

from django import forms
from django.contrib import admin, messages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agents.avatars import avatar_check, avatar_discard_on_commit
from agents.models import AgentProfile, AgentSkill, Presence, Skill
from agents.services import agent_presence_set
from core.errors import DomainError

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


# --- Agents ---------------------------------------------------------------------------------


class AgentSkillInline(admin.TabularInline):
    """Skills with a proficiency (ROU-4)."""

    model = AgentSkill
    autocomplete_fields = ["skill"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent", "skill")


# The fields an admin edits on an existing agent. The counters (capacity used, sessions) move
# under the routing services' row locks, and presence goes through agent_presence_set, so a
# change saves only these columns rather than the whole row read seconds ago.
AGENT_ADMIN_COLUMNS = ("display_name", "role", "capacity", "desktop_notifications", "language", "avatar")


class AvatarInput(forms.ClearableFileInput):
    """The picture's upload box, without a link to where it is stored (it is never public)."""

    template_name = "admin/agents/avatar_input.html"

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates/ folder, which the default form renderer does not search.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


class AgentProfileForm(forms.ModelForm):
    class Meta:
        model = AgentProfile
        fields = "__all__"
        widgets = {"avatar": AvatarInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"})}

    def clean_avatar(self):
        """A new picture is checked from its content and renamed at random (agents.avatars)."""
        avatar = self.cleaned_data.get("avatar")
        if isinstance(avatar, UploadedFile):
            return avatar_check(avatar)
        return avatar


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    form = AgentProfileForm
    list_display = ["display_name", "user", "role", "presence", "capacity_in_use", "session_count"]
    list_filter = ["role", "presence", "skills"]
    list_select_related = ["user", "presence"]
    search_fields = ["display_name", "user__username", "user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    inlines = [AgentSkillInline]
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
        (None, {"fields": ["user", "display_name", "role", "language", "avatar"]}),
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
        replaced_avatar = (
            AgentProfile.objects.filter(pk=obj.pk).values_list("avatar", flat=True).first()
            if "avatar" in form.changed_data
            else ""
        )
        obj.save(update_fields=[name for name in form.changed_data if name in AGENT_ADMIN_COLUMNS])
        avatar_discard_on_commit(replaced_avatar)
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
