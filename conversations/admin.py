"""Conversations, messages and sessions in the admin center: for inspection only.

Conversations move through their state machine in services alone (design.md, "State machines"),
so here they are listed, filtered, searched and read, with their audit trail and messages.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from conversations.bots import bot_client_create, bot_client_key_rotate
from conversations.models import BotClient, ChatSettings, Conversation, ConversationEvent, Message, Session, Tag
from conversations.self_service_kinds import self_service_kind_choices
from core.admin import ReadOnlyAdmin, ReadOnlyTabularInline


class ChatSettingsForm(forms.ModelForm):
    summary_self_service_types = forms.MultipleChoiceField(
        choices=self_service_kind_choices,  # the widget app's words, registered at start-up
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Self-service action types in the customer summary"),
        help_text=_("None ticked shows every type."),  # SUM-12
    )

    class Meta:
        model = ChatSettings
        fields = "__all__"

    def has_changed(self) -> bool:
        # Saved with its workstream even when left at the defaults: every workstream has its row.
        return True


class ChatSettingsInline(admin.StackedInline):
    """A workstream's chat settings, on the workstream's page (routing registers no model of ours)."""

    model = ChatSettings
    form = ChatSettingsForm
    can_delete = False
    min_num = max_num = 1
    fieldsets = [
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


class ConversationEventInline(ReadOnlyTabularInline):
    """The audit trail: every transition with who and when (CONV-1)."""

    model = ConversationEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "actor_user", "note"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user", "conversation")


class MessageInline(ReadOnlyTabularInline):
    model = Message
    fields = ["seq", "sender", "sender_user", "text", "created_at"]
    readonly_fields = fields
    ordering = ["seq"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sender_user")


class SessionInline(ReadOnlyTabularInline):
    model = Session
    fields = ["agent", "opened_at", "closed_at"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent")


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "channel", "workstream", "queue", "agent", "contact", "created_at"]
    list_filter = ["status", "channel", "origin", "authenticated", "workstream", "queue"]
    list_select_related = ["workstream", "queue", "agent", "contact"]
    search_fields = [
        "public_id",
        "contact__first_name",
        "contact__last_name",
        "contact__email",
        "customer_phone",
        "agent__display_name",
        "auth_subject",
    ]
    date_hierarchy = "created_at"
    inlines = [ConversationEventInline, MessageInline, SessionInline]
    fieldsets = [
        (None, {"fields": ["public_id", "status", "channel", "origin", "created_at", "closed_at"]}),
        (_("Routing"), {"fields": ["workstream", "queue", "skills", "agent", "first_assigned_at"]}),
        (_("Customer"), {"fields": ["contact", "account", "case", "widget", "visitor", "customer_phone"]}),
        (
            _("Visitor details"),
            {
                "fields": [
                    "authenticated",
                    "auth_subject",
                    "language",
                    "browser",
                    "operating_system",
                    "device",
                    "location",
                    "page_url",
                ]
            },
        ),
        (_("What the customer told us"), {"fields": ["prechat_answers", "context_variables"]}),
        (
            _("Timers"),
            {
                "fields": ["last_message_seq", "last_customer_activity_at", "customer_left_at", "auto_close_at"],
                "classes": ["collapse"],
            },
        ),
    ]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "conversation", "seq", "sender", "created_at"]
    list_filter = ["sender"]
    list_select_related = ["conversation"]
    search_fields = ["text"]
    date_hierarchy = "created_at"


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "agent", "work_item", "conversation", "opened_at", "closed_at"]
    list_filter = [("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["agent", "work_item", "conversation"]
    search_fields = ["agent__display_name", "agent__user__username"]
    date_hierarchy = "opened_at"


@admin.register(BotClient)
class BotClientAdmin(admin.ModelAdmin):
    """Bot clients of the bot API (ROU-15): the workstreams each may act in, its rate, its key.

    A key is shown once, when it is issued (on adding the client, or with "Issue a new key");
    only its hash is stored. Deactivate a client rather than delete it: its conversations keep it.
    """

    list_display = ["name", "key_prefix", "is_active", "throttle_rate", "created_at"]
    list_filter = ["is_active", "workstreams"]
    search_fields = ["name", "key_prefix"]
    fields = ["name", "workstreams", "throttle_rate", "is_active", "key_prefix", "created_at"]
    readonly_fields = ["key_prefix", "created_at"]
    filter_horizontal = ["workstreams"]
    actions = ["issue_new_key"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        client, key = bot_client_create(name=obj.name, throttle_rate=obj.throttle_rate, is_active=obj.is_active)
        obj.pk, obj.user, obj.key_prefix, obj.key_hash = client.pk, client.user, client.key_prefix, client.key_hash
        obj.created_at = client.created_at
        obj._state.adding = False  # the workstreams are set on this row next (save_related)
        self._show_key(request, client, key)

    @admin.action(description=_("Issue a new key (the old one stops working)"))
    def issue_new_key(self, request, queryset) -> None:
        for client in queryset:
            self._show_key(request, client, bot_client_key_rotate(client_id=client.pk))

    def _show_key(self, request, client, key: str) -> None:
        messages.warning(
            request,
            gettext("The key of %(name)s, shown only now: %(key)s (send it as “Authorization: Bot <key>”).")
            % {"name": client.name, "key": key},
        )


# Canned responses and wrap-up codes (issue 15) register from their own module.
from conversations import composer_admin  # noqa: E402, F401


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Tags agents put on conversations (issue 15); the chip's text colour follows the background."""

    list_display = ["name", "chip", "colour"]
    search_fields = ["name"]
    fields = ["name", "colour"]

    @admin.display(description=_("How it looks"))
    def chip(self, tag: Tag):
        return format_html(
            '<span style="background:{};color:{};padding:0 .5em;border-radius:1em">{}</span>',
            tag.colour,
            tag.text_colour,
            tag.name,
        )
