"""Origin checks shared by HTTP views and WebSocket consumers."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host


def scope_origin(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1")
    return None


def same_site_origin(scope) -> bool:
    """A workspace socket must come from a page of this site (its host is in ALLOWED_HOSTS)."""
    origin = scope_origin(scope)
    if not origin:
        return False
    host = urlsplit(origin).hostname
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)
