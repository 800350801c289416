from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # The channel adapters keep their admin and tasks beside their code.
        from conversations.channels import admin, tasks  # noqa: F401
