from django.apps import AppConfig


class WidgetsConfig(AppConfig):
    name = "widgets"
    verbose_name = "Chat widgets"

    def ready(self) -> None:
        # The widget app sits above conversations and routing: it hands them what is its own,
        # through the interfaces they offer, rather than being imported by them.
        from conversations.self_service_kinds import self_service_kinds_register
        from conversations.services import register_chat_started_listener
        from conversations.summary import register_self_service_reader
        from routing.contributions import workstream_check_register
        from widgets.models import SelfServiceAction
        from widgets.selectors import self_service_rows, workstream_change_check
        from widgets.services import self_service_actions_attach

        register_chat_started_listener(self_service_actions_attach)  # SUM-12: actions join the chat
        register_self_service_reader(self_service_rows)  # SUM-12: the summary's Self-service tab
        self_service_kinds_register(SelfServiceAction.Kind.choices)  # SUM-12: what a workstream shows
        workstream_check_register(workstream_change_check)  # PER-2: the widgets on a workstream

        from conversations.attachments import register_attachment_policy
        from widgets.selectors import conversation_attachment_policy

        register_attachment_policy(conversation_attachment_policy)  # issue 16: a chat's file limits

        from routing.rule_fields import register_rule_field_source
        from widgets.selectors import workstream_rule_fields

        # The rule editor offers the pre-chat questions and sign-in claims of a workstream's widgets.
        register_rule_field_source(workstream_rule_fields)

        # Services send this app's tasks by name (core.tasks_by_name): register them in every process.
        from widgets import tasks  # noqa: F401
