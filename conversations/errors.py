from core.errors import DomainError


class ConversationError(DomainError):
    code = "conversation"


class ConversationValidationError(ConversationError):
    """Input a customer can correct, with the problems per field (WID-6, WID-11)."""

    code = "invalid"

    def __init__(self, message: str, *, errors: dict):
        super().__init__(message)
        self.errors = errors
