"""Admin center: chat widgets and their script tag, authentication settings, proactive rules (ADM-1).

Visitors, page visits, self-service actions and invitations are shown for inspection only.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.admin import JSON_LIST_OVERRIDES, ReadOnlyAdmin, ReadOnlyTabularInline
from routing.models import OperatingWindow
from widgets.models import (
    MAX_PRECHAT_QUESTIONS,
    AllowedDomain,
    AuthenticationSetting,
    ChatWidget,
    Invitation,
    PageVisit,
    PreChatQuestion,
    ProactiveRule,
    ProactiveRuleMessage,
    SelfServiceAction,
    Visitor,
)
from widgets.selectors import public_base_url, widget_script_tag

# --- Authentication settings ----------------------------------------------------------------


class AuthenticationSettingForm(forms.ModelForm):
    algorithms = forms.MultipleChoiceField(
        choices=AuthenticationSetting.Algorithm.choices,
        required=False,  # AuthenticationSetting.clean says what is missing
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The signing algorithms accepted on sign-in tokens; others are refused."),  # AUTH-2
    )

    class Meta:
        model = AuthenticationSetting
        fields = "__all__"
        widgets = {"public_key_pem": forms.Textarea(attrs={"rows": 8, "cols": 70, "spellcheck": "false"})}


@admin.register(AuthenticationSetting)
class AuthenticationSettingAdmin(admin.ModelAdmin):
    """The customer organisation's key for verifying chat tokens (AUTH-1)."""

    form = AuthenticationSettingForm
    formfield_overrides = JSON_LIST_OVERRIDES
    list_display = ["name", "issuer", "key_source", "algorithm_list", "widget_count", "create_contact"]
    list_filter = ["create_contact"]
    search_fields = ["name", "issuer", "audience", "key_set_url"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["name", "created_at"]}),
        (_("Key"), {"fields": ["public_key_pem", "key_set_url", "key_cache_seconds", "algorithms"]}),
        (_("Token claims"), {"fields": ["issuer", "audience", "context_claims", "create_contact"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(widget_count=Count("widgets", distinct=True))

    @admin.display(description=_("key"))
    def key_source(self, setting: AuthenticationSetting) -> str:
        return _("Key-set URL") if setting.key_set_url else _("Public key (PEM)")

    @admin.display(description=_("algorithms"))
    def algorithm_list(self, setting: AuthenticationSetting) -> str:
        return ", ".join(setting.algorithms) if isinstance(setting.algorithms, list) else ""

    @admin.display(description=_("widgets"), ordering="widget_count")
    def widget_count(self, setting: AuthenticationSetting) -> int:
        return setting.widget_count


# --- Chat widgets ---------------------------------------------------------------------------


class AllowedDomainFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        # Two spellings of one origin (https://Shop.example.com/, https://shop.example.com) only
        # meet after AllowedDomain.clean normalised them, past the formset's own unique check.
        seen = set()
        for form in self.forms:
            if form.errors or self._should_delete_form(form) or not (form.instance.pk or form.has_changed()):
                continue
            origin = form.instance.origin
            if origin in seen:
                form.add_error("origin", _("%(origin)s is already in the list.") % {"origin": origin})
            seen.add(origin)


class AllowedDomainInline(admin.TabularInline):
    """The origins whose pages may embed the widget (WID-2, WID-3)."""

    model = AllowedDomain
    formset = AllowedDomainFormSet
    extra = 1


class PreChatQuestionFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if not self._should_delete_form(form) and (form.instance.pk or form.has_changed())
        ]
        if len(kept) > MAX_PRECHAT_QUESTIONS:
            raise forms.ValidationError(
                _("A widget has at most %(max)d pre-chat questions (WID-10); remove %(extra)d of these %(count)d."),
                params={"max": MAX_PRECHAT_QUESTIONS, "extra": len(kept) - MAX_PRECHAT_QUESTIONS, "count": len(kept)},
                code="too_many_questions",
            )


class PreChatQuestionInline(admin.TabularInline):
    """The ordered pre-chat survey (WID-10)."""

    model = PreChatQuestion
    formset = PreChatQuestionFormSet
    formfield_overrides = JSON_LIST_OVERRIDES
    max_num = MAX_PRECHAT_QUESTIONS
    extra = 1
    fields = ["order", "name", "label", "kind", "required", "choices", "consent_url"]
    verbose_name = _("pre-chat question")
    verbose_name_plural = format_lazy(_("pre-chat survey (at most {max} questions)"), max=MAX_PRECHAT_QUESTIONS)


class ProactiveRuleListInline(ReadOnlyTabularInline):
    """The widget's proactive rules at a glance; each opens in its own page (PRO-2)."""

    model = ProactiveRule
    fields = ["order", "name", "is_active", "audience", "location_match", "location_pattern", "trigger_message"]
    readonly_fields = fields
    verbose_name_plural = _("proactive rules (first match by order wins)")


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    list_display = ["name", "workstream", "chat_mode", "authentication", "proactive_enabled", "is_active"]
    list_filter = ["is_active", "proactive_enabled", "workstream__chat_mode", "workstream", "authentication"]
    list_select_related = ["workstream", "authentication"]
    search_fields = ["name", "title", "allowed_domains__origin"]
    autocomplete_fields = ["workstream", "authentication"]
    readonly_fields = ["script_tag", "public_key", "proactive_rules", "created_at"]
    inlines = [AllowedDomainInline, PreChatQuestionInline, ProactiveRuleListInline]
    fieldsets = [
        (None, {"fields": ["name", "workstream", "authentication", "is_active", "script_tag"]}),
        (_("Look"), {"fields": ["title", "greeting", "theme_color", "position", "language"]}),
        (_("Proactive chat"), {"fields": ["proactive_enabled", "proactive_rules"]}),
        (_("Identity"), {"fields": ["public_key", "created_at"], "classes": ["collapse"]}),
    ]

    def get_object(self, request, object_id, from_field=None):
        widget = super().get_object(request, object_id, from_field)
        if widget is not None:
            # Read-only fields see only the object; the tag's host may come from this request.
            widget.admin_base_url = public_base_url(request)
        return widget

    @admin.display(description=_("mode"), ordering="workstream__chat_mode")
    def chat_mode(self, widget: ChatWidget) -> str:
        return widget.workstream.get_chat_mode_display()

    @admin.display(description=_("script tag"))
    def script_tag(self, widget: ChatWidget) -> str:
        """WID-1: the ready-to-paste tag, escaped by format_html."""
        if widget.pk is None:
            return _("Save the widget to get its script tag.")
        tag = widget_script_tag(widget, base_url=getattr(widget, "admin_base_url", None) or public_base_url())
        return format_html(
            '<textarea readonly rows="2" cols="110" class="vLargeTextField" aria-label="{}">{}</textarea>'
            '<div class="help">{}</div>',
            _("Script tag"),
            tag,
            _("Paste this tag into the pages of the allowed domains, before </body>."),
        )

    @admin.display(description=_("rules"))
    def proactive_rules(self, widget: ChatWidget) -> str:
        if widget.pk is None:
            return _("Save the widget to add proactive rules.")
        changelist = reverse("admin:widgets_proactiverule_changelist")
        add = reverse("admin:widgets_proactiverule_add")
        return format_html(
            '<a href="{}?widget__id__exact={}">{}</a> · <a href="{}?widget={}">{}</a>',
            changelist,
            widget.pk,
            _("Manage this widget's rules"),
            add,
            widget.pk,
            _("Add a rule"),
        )


# --- Proactive rules ------------------------------------------------------------------------


class ProactiveRuleForm(forms.ModelForm):
    days_of_week = forms.TypedMultipleChoiceField(
        choices=OperatingWindow.Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means every day."),
    )

    class Meta:
        model = ProactiveRule
        fields = "__all__"

    def clean_days_of_week(self):
        return sorted(self.cleaned_data["days_of_week"])


class ProactiveRuleMessageInline(admin.TabularInline):
    """The trigger message in other languages (PRO-2)."""

    model = ProactiveRuleMessage
    extra = 1


@admin.register(ProactiveRule)
class ProactiveRuleAdmin(admin.ModelAdmin):
    """When to invite a visitor into a chat (PRO-2)."""

    form = ProactiveRuleForm
    list_display = [
        "name",
        "widget",
        "order",
        "is_active",
        "audience",
        "location_match",
        "daily_cap_per_visitor",
        "shown_count",
        "accepted_count",
        "dismissed_count",
        "expired_count",
        "acceptance_rate",
    ]
    list_filter = ["is_active", "audience", "location_match", "require_available_agent", "widget"]
    list_select_related = ["widget"]
    search_fields = ["name", "trigger_message", "location_pattern", "widget__name"]
    autocomplete_fields = ["widget"]
    readonly_fields = ["created_at", "acceptance"]
    inlines = [ProactiveRuleMessageInline]
    fieldsets = [
        (None, {"fields": ["widget", "order", "name", "is_active", "trigger_message", "created_at"]}),
        (_("Who"), {"fields": ["audience", "audience_language"]}),
        (
            _("When"),
            {
                "fields": [
                    ("starts_on", "ends_on"),
                    "days_of_week",
                    ("start_time", "end_time"),
                    "time_zone",
                    "time_on_page_seconds",
                ]
            },
        ),
        (_("Where"), {"fields": ["location_match", "location_pattern"]}),
        (_("Limits"), {"fields": ["daily_cap_per_visitor", "require_available_agent"]}),
        (_("Results"), {"fields": ["acceptance"]}),
    ]

    def get_queryset(self, request):
        # PRO-8: every rule's figures in the changelist's one query, counted by the database.
        status = Invitation.Status
        return (
            super()
            .get_queryset(request)
            .annotate(
                shown=Count("invitations"),
                accepted=Count("invitations", filter=Q(invitations__status=status.ACCEPTED)),
                dismissed=Count("invitations", filter=Q(invitations__status=status.DISMISSED)),
                expired=Count("invitations", filter=Q(invitations__status=status.EXPIRED)),
            )
        )

    @admin.display(description=_("shown"), ordering="shown")
    def shown_count(self, rule: ProactiveRule) -> int:
        return rule.shown

    @admin.display(description=_("accepted"), ordering="accepted")
    def accepted_count(self, rule: ProactiveRule) -> int:
        return rule.accepted

    @admin.display(description=_("dismissed"), ordering="dismissed")
    def dismissed_count(self, rule: ProactiveRule) -> int:
        return rule.dismissed

    @admin.display(description=_("expired"), ordering="expired")
    def expired_count(self, rule: ProactiveRule) -> int:
        return rule.expired

    @admin.display(description=_("acceptance rate"))
    def acceptance_rate(self, rule: ProactiveRule) -> str:
        """Accepted out of every invitation the rule showed (PRO-8); "—" before the first."""
        if not getattr(rule, "shown", 0):
            return "—"
        return f"{100 * rule.accepted / rule.shown:.1f} %"

    @admin.display(description=_("invitations"))
    def acceptance(self, rule: ProactiveRule) -> str:
        if rule.pk is None:
            return _("No invitations yet.")
        return format_html(
            '<span data-testid="rule-figures">{}</span>',
            _("%(shown)d shown · %(accepted)d accepted · %(dismissed)d dismissed · %(expired)d expired · %(rate)s")
            % {
                "shown": rule.shown,
                "accepted": rule.accepted,
                "dismissed": rule.dismissed,
                "expired": rule.expired,
                "rate": self.acceptance_rate(rule),
            },
        )


# --- What the widget learns (inspection only) -----------------------------------------------


class PageVisitInline(ReadOnlyTabularInline):
    model = PageVisit
    fields = ["url", "title", "started_at", "last_seen_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "widget", "contact", "language", "visit_count", "last_seen_at"]
    list_filter = ["widget", "language"]
    list_select_related = ["widget", "contact"]
    search_fields = ["public_id", "auth_subject", "contact__last_name", "contact__email"]
    date_hierarchy = "last_seen_at"
    inlines = [PageVisitInline]


@admin.register(PageVisit)
class PageVisitAdmin(ReadOnlyAdmin):
    list_display = ["url", "title", "visitor", "started_at", "last_seen_at"]
    list_filter = ["visitor__widget"]
    list_select_related = ["visitor"]
    search_fields = ["url", "title"]
    date_hierarchy = "started_at"


@admin.register(SelfServiceAction)
class SelfServiceActionAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "visitor", "conversation", "occurred_at"]
    list_filter = ["kind"]
    list_select_related = ["visitor", "conversation"]
    search_fields = ["title", "url"]
    date_hierarchy = "occurred_at"


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "widget", "rule", "visitor", "status", "shown_at", "closed_at"]
    list_filter = ["status", "widget", "rule"]
    list_select_related = ["widget", "rule", "visitor"]
    search_fields = ["message", "page_url"]
    date_hierarchy = "shown_at"
