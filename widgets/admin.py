"""Admin center: chat widgets and their script tag, authentication settings, proactive rules (ADM-1).

Visitors, page visits, self-service actions and invitations are shown for inspection only.
"""

import re

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from conversations.attachments import AttachmentKind
from core.admin import ReadOnlyAdmin, ReadOnlyTabularInline, TextRowsField
from routing.models import OperatingWindow
from widgets.models import (
    MAX_PRECHAT_QUESTIONS,
    AllowedDomain,
    AuthenticationSetting,
    ChatWidget,
    Invitation,
    PageVisit,
    PostChatQuestion,
    PreChatQuestion,
    ProactiveRule,
    ProactiveRuleMessage,
    SelfServiceAction,
    Visitor,
    attachment_default_kinds,
)
from widgets.selectors import public_base_url, widget_config, widget_prechat_questions, widget_script_tag

# --- Authentication settings ----------------------------------------------------------------


class AuthenticationSettingForm(forms.ModelForm):
    algorithms = forms.MultipleChoiceField(
        choices=AuthenticationSetting.Algorithm.choices,
        required=False,  # AuthenticationSetting.clean says what is missing
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The signing algorithms accepted on sign-in tokens; others are refused."),  # AUTH-2
    )
    context_claims = TextRowsField(
        label=_("Context claims"),
        row_label=_("Claim"),
        add_label=_("Add a claim"),
        max_length=100,
        help_text=AuthenticationSetting._meta.get_field("context_claims").help_text,
    )

    class Meta:
        model = AuthenticationSetting
        fields = "__all__"
        widgets = {"public_key_pem": forms.Textarea(attrs={"rows": 8, "cols": 70, "spellcheck": "false"})}


@admin.register(AuthenticationSetting)
class AuthenticationSettingAdmin(admin.ModelAdmin):
    """The customer organisation's key for verifying chat tokens (AUTH-1)."""

    form = AuthenticationSettingForm
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
                _("A widget has at most %(max)d pre-chat questions; remove %(extra)d of these %(count)d."),
                params={"max": MAX_PRECHAT_QUESTIONS, "extra": len(kept) - MAX_PRECHAT_QUESTIONS, "count": len(kept)},
                code="too_many_questions",
            )


class PreChatQuestionForm(forms.ModelForm):
    choices = TextRowsField(
        label=_("Choices"),
        row_label=_("Choice"),
        add_label=_("Add a choice"),
        help_text=_("Option sets only: what the customer picks from, in this order."),
    )

    class Meta:
        model = PreChatQuestion
        fields = "__all__"


class PostChatQuestionInline(admin.TabularInline):
    """The post-chat survey's extra questions, one row each (issue 16)."""

    model = PostChatQuestion
    extra = 1
    max_num = 10
    fields = ["order", "label"]
    verbose_name = _("post-chat question")
    verbose_name_plural = _("post-chat survey: extra questions (answered in a line of text, optional)")


class PreChatQuestionInline(admin.TabularInline):
    """The ordered pre-chat survey (WID-10)."""

    model = PreChatQuestion
    form = PreChatQuestionForm
    formset = PreChatQuestionFormSet
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


class WidgetPreviewForm(forms.ModelForm):
    """The look fields of the widget page, as its live preview sends them (each one optional)."""

    class Meta:
        model = ChatWidget
        fields = ["title", "greeting", "theme_color", "position", "language"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def clean_theme_color(self):
        color = self.cleaned_data["theme_color"]
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
            raise forms.ValidationError(_("Use a hex colour such as #0f6cbd."))
        return color


class ChatWidgetForm(forms.ModelForm):
    # Files (issue 16): the allowed kinds as boxes to tick, not JSON.
    attachment_kinds = forms.TypedMultipleChoiceField(
        label=_("Files allowed"),
        choices=AttachmentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=attachment_default_kinds,
        help_text=_("Which files customers and agents may send in this widget's chats. None: no files."),
    )

    class Meta:
        model = ChatWidget
        fields = "__all__"


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    form = ChatWidgetForm
    list_display = ["name", "workstream", "chat_mode", "authentication", "proactive_enabled", "is_active"]
    list_filter = ["is_active", "proactive_enabled", "workstream__chat_mode", "workstream", "authentication"]
    list_select_related = ["workstream", "authentication"]
    search_fields = ["name", "title", "allowed_domains__origin"]
    autocomplete_fields = ["workstream", "authentication"]
    readonly_fields = ["script_tag", "preview", "public_key", "proactive_rules", "created_at"]
    inlines = [AllowedDomainInline, PreChatQuestionInline, PostChatQuestionInline, ProactiveRuleListInline]
    change_form_template = "admin/widgets/chatwidget/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "workstream", "authentication", "is_active", "script_tag"]}),
        (
            _("Look"),
            {"fields": ["title", "greeting", "theme_color", "position", "language", "unread_sound", "preview"]},
        ),
        (_("Proactive chat"), {"fields": ["proactive_enabled", "proactive_rules"]}),
        (_("Files"), {"fields": ["attachment_kinds", "attachment_max_mb"]}),  # issue 16
        (_("After the chat"), {"fields": ["survey_rating", "survey_comment"]}),
        (_("When nobody can answer"), {"fields": ["when_unavailable", "unavailable_message"]}),
        (_("Identity"), {"fields": ["public_key", "created_at"], "classes": ["collapse"]}),
    ]

    class Media:
        js = ["widgets/widget_admin.js"]

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="widgets_chatwidget_preview",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        widget = self.get_object(request, object_id)
        extra = {"without_allowed_domain": widget is not None and not widget.allowed_domains.exists()}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @method_decorator(xframe_options_sameorigin)
    def preview_view(self, request, object_id):
        """The real widget script drawn with this widget's look (the unsaved values in the query
        string win over the saved ones) and its saved pre-chat survey. Reads only."""
        widget = self.get_object(request, object_id)
        if widget is None or not self.has_view_permission(request, widget):
            raise Http404(_("No such widget."))
        look = WidgetPreviewForm(request.GET)
        look.is_valid()  # a value that does not fit keeps the saved one
        for name, value in look.cleaned_data.items():
            if name in request.GET:
                setattr(widget, name, value)
        config = widget_config(
            widget, language=widget.language or settings.LANGUAGE_CODE, questions=widget_prechat_questions(widget)
        )
        config["proactive_enabled"] = False  # the preview invites nobody
        return TemplateResponse(
            request,
            "admin/widgets/chatwidget/preview.html",
            {"widget": widget, "config": config, "title": _("Preview of the chat widget")},
        )

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
        """WID-1: the ready-to-paste tag, escaped by format_html, with a copy button."""
        if widget.pk is None:
            return _("Save the widget to get its script tag.")
        tag = widget_script_tag(widget, base_url=getattr(widget, "admin_base_url", None) or public_base_url())
        return format_html(
            '<div class="script-tag-box"><textarea readonly rows="3" id="widget-script-tag" '
            'class="vLargeTextField" aria-label="{}" aria-describedby="widget-script-tag-help">{}</textarea>'
            '<button type="button" class="button" data-copy-from="widget-script-tag">{}</button>'
            '<span role="status" class="copy-status" data-copied="{}"></span></div>'
            '<div class="help" id="widget-script-tag-help">{}</div>',
            _("Script tag"),
            tag,
            _("Copy"),
            _("Copied."),
            _(
                "Paste this tag into every page of your site that should offer chat, just before </body>. "
                "Only the allowed domains below can show it."
            ),
        )

    @admin.display(description=_("preview"))
    def preview(self, widget: ChatWidget) -> str:
        if widget.pk is None:
            return _("Save the widget to see a preview.")
        return format_html(
            '<iframe class="widget-preview-frame" title="{}" src="{}" data-widget-preview></iframe>'
            '<div class="help">{}</div>',
            _("Preview of the chat widget"),
            reverse("admin:widgets_chatwidget_preview", args=[widget.pk]),
            _(
                "The widget as customers see it, with the look and language above, even before you save. "
                "The pre-chat survey shows as last saved; a chat cannot be started from the preview."
            ),
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
