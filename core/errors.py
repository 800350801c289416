class DomainError(Exception):
    """An illegal move or a broken business rule, with a message a person can read.

    Services raise it (or an app's subclass); views, consumers and the API turn it into a 4xx
    or an error frame. ``code`` is a stable machine-readable name for clients.
    """

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotFound(DomainError):
    """The thing does not exist, or the caller may not see it (the two look the same)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller may not do this (as opposed to: it cannot be done now)."""

    code = "forbidden"
