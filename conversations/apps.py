from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # The channel adapters keep their admin and tasks beside their code.
        from conversations.channels import admin, tasks  # noqa: F401
        from conversations.services import ConversationWork
        from routing.models import WorkItem
        from routing.subjects import register_work_subject

        # Routing tells the conversation when an agent takes it (issue 11: routing knows work items).
        register_work_subject(WorkItem.Kind.CONVERSATION, ConversationWork())
