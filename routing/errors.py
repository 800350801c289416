from omnichannel.errors import DomainError


class RoutingError(DomainError):
    code = "routing"
