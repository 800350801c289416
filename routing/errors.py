from core.errors import DomainError


class RoutingError(DomainError):
    code = "routing"
