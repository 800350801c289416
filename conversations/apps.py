from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # The channel adapters keep their admin and tasks beside their code. Services send the
        # tasks by name (core.tasks_by_name): they are registered here in every process.
        from conversations import tasks  # noqa: F401
        from conversations.admin import ChatSettingsInline
        from conversations.api.workstream_fields import workstream_chat_settings_fields
        from conversations.channels import admin  # noqa: F401
        from conversations.channels import tasks as channel_tasks  # noqa: F401
        from routing.contributions import workstream_api_fields_register, workstream_inline_register

        # A workstream's chat settings are this app's: edited on the workstream's page and shown
        # in the workstream API, which are routing's.
        workstream_inline_register(ChatSettingsInline)
        workstream_api_fields_register(workstream_chat_settings_fields, select_related=["chat_settings"])
        from conversations.services import ConversationWork
        from routing.models import WorkItem
        from routing.subjects import register_work_subject

        # Routing tells the conversation when an agent takes it (issue 11: routing knows work items).
        register_work_subject(WorkItem.Kind.CONVERSATION, ConversationWork())
        from django.utils.translation import gettext_lazy

        from conversations.search import register_conversation_filter
        from conversations.wrap_up import (
            conversations_with_chosen_wrap_up_code,
            wrap_up_code_label,
            wrap_up_codes_visible_to,
        )

        # Issue 15: the inbox, the search page and the search API filter by wrap-up code.
        register_conversation_filter(
            "wrap_up_code",
            label=gettext_lazy("Wrap-up code"),
            help_text=gettext_lazy("Wrap-up code id (one of your workstreams'): conversations closed with it."),
            choices=wrap_up_codes_visible_to,
            apply=conversations_with_chosen_wrap_up_code,
            option_label=wrap_up_code_label,
        )
