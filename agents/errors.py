from core.errors import DomainError


class AgentError(DomainError):
    # API clients knew presence errors by this code before the agents app existed (issue 11);
    # the code is part of the API's contract, so it outlived the move.
    code = "routing"
