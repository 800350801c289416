"""Origin checks and the client's address, shared by HTTP views and WebSocket consumers (SEC-3).

One origin parser for the whole product (:func:`parse_origin`, and :func:`parse_origin_header` for
what clients send): the widget's allowed domains,
the product's own origins and every ``Origin`` header go through it, so two spellings of one
origin compare equal and a header nobody can parse is refused, never a server error.
docs/security.md says what is checked where.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlsplit

import idna
from django.conf import settings
from django.http.request import HttpHeaders, split_domain_port, validate_host
from rest_framework.throttling import BaseThrottle

DEFAULT_PORTS = {"http": 80, "https": 443}
#: The scheme a page has whose socket arrives with this ASGI scheme.
PAGE_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
MAX_ORIGIN_LENGTH = 1000


@dataclass(frozen=True)
class Origin:
    """An origin as browsers compare them: scheme, host (lower-case ASCII, IDNA), port."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        if self.port == DEFAULT_PORTS[self.scheme]:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"


def _ascii_host(host: str) -> str | None:
    """The host in the form browsers send: an IP literal, or IDNA (UTS #46, as browsers map) labels."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def parse_origin(value: str | None) -> Origin | None:
    """A configured origin: ``https://Shop.Example.com:443/`` → ``Origin("https", "shop.example.com", 443)``.

    ``None`` for anything that is not an http(s) origin: no value, ``null``, a path, query,
    fragment or credentials, a port outside 1–65535, a host that is not an IP address or a valid
    domain name (a Unicode name becomes its IDNA form, as browsers send it). Never raises.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_ORIGIN_LENGTH:
        return None
    if value != value.strip() or any(ord(char) < 0x21 or ord(char) == 0x7F for char in value):
        return None  # whitespace or control characters: no browser sends them
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:99999", "http://host:abc"
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    if port is None:
        if parts.netloc.endswith(":"):
            return None
        port = DEFAULT_PORTS[scheme]
    elif port == 0:
        return None
    host = _ascii_host(parts.hostname)
    if host is None:
        return None
    return Origin(scheme, host, port)


def parse_origin_header(value: str | bytes | None) -> Origin | None:
    """An ``Origin`` header as a client sent it, or ``None``: :func:`parse_origin`, and only ASCII
    (browsers send host names in punycode; other bytes are not an origin). Never raises: it reads
    what strangers send."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")  # as Django decodes header bytes
    if not isinstance(value, str) or not value.isascii():
        return None
    return parse_origin(value)


def origin_matches(origin: Origin, allowed: Iterable[str], *, wildcards: bool = False) -> bool:
    """Whether ``origin`` is one of ``allowed`` (origins as configured). With ``wildcards`` an
    entry may begin ``https://*.`` for any subdomain, as Django's ``CSRF_TRUSTED_ORIGINS`` allows."""
    for entry in allowed:
        wildcard = wildcards and isinstance(entry, str) and "://*." in entry
        candidate = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if candidate is None:
            continue
        if wildcard:
            if (origin.scheme, origin.port) == (candidate.scheme, candidate.port) and origin.host.endswith(
                f".{candidate.host}"
            ):
                return True
        elif origin == candidate:
            return True
    return False


# --- WebSocket scopes -------------------------------------------------------------------------


def scope_header(scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes) in an ASGI scope."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


def scope_origin(scope) -> str | None:
    """The socket's ``Origin`` header as text (latin-1, as Django decodes headers), or None."""
    value = scope_header(scope, b"origin")
    return None if value is None else value.decode("latin-1")


def scope_own_origin(scope) -> Origin | None:
    """The origin of this server as the browser addressed it, seen as Django sees a request.

    Scheme: ``https`` when the socket is TLS or when ``SECURE_PROXY_SSL_HEADER`` names a header a
    trusted proxy set; host and port: the ``Host`` header (``X-Forwarded-Host`` with
    ``USE_X_FORWARDED_HOST``), only when it is in ``ALLOWED_HOSTS`` — so a page on a host name
    that merely resolves to this server (DNS rebinding) has no own origin.
    """
    scheme = PAGE_SCHEMES.get(scope.get("scheme") or "ws", "http")
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, expected = proxy_header
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        sent = scope_header(scope, header)
        if sent is not None:
            scheme = "https" if sent.decode("latin-1").split(",")[0].strip() == expected else "http"
    host_header = scope_header(scope, b"x-forwarded-host") if settings.USE_X_FORWARDED_HOST else None
    if host_header is None:
        host_header = scope_header(scope, b"host")
    if host_header is None:
        return None
    host = host_header.decode("latin-1")
    domain, _port = split_domain_port(host)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:  # as HttpRequest.get_host allows
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    return parse_origin(f"{scheme}://{host}")


def product_origins() -> list[str]:
    """The configured origins of the product's own pages: ``CSRF_TRUSTED_ORIGINS`` and
    ``PUBLIC_BASE_URL``."""
    origins = list(settings.CSRF_TRUSTED_ORIGINS)
    if settings.PUBLIC_BASE_URL:
        origins.append(settings.PUBLIC_BASE_URL.rstrip("/"))
    return origins


def product_origin_allowed(scope) -> bool:
    """A workspace or supervisor socket must come from a page of the product itself: its
    ``Origin`` (scheme, host and port) is this server's own origin or one of
    :func:`product_origins`. Pages of other ports or schemes of the same host are refused."""
    origin = parse_origin_header(scope_header(scope, b"origin"))
    if origin is None:
        return False
    own = scope_own_origin(scope)
    return origin == own or origin_matches(origin, product_origins(), wildcards=True)


# --- The client's address ---------------------------------------------------------------------


def client_address(meta) -> str | None:
    """The client's address for throttles, by DRF's rule (``REST_FRAMEWORK["NUM_PROXIES"]``).

    With ``NUM_PROXIES = 0`` (the default) it is the peer's address (``REMOTE_ADDR``) and
    ``X-Forwarded-For`` is ignored; with N trusted proxies in front, the address the outermost
    one saw (N-th from the right of ``X-Forwarded-For``). Every HTTP throttle uses this rule
    through DRF; sockets use it through :func:`scope_client_address`.
    """
    return BaseThrottle().get_ident(SimpleNamespace(META=meta, headers=HttpHeaders(meta)))


def scope_client_address(scope) -> str | None:
    """:func:`client_address` for a WebSocket: ``scope["client"]`` and its ``X-Forwarded-For``."""
    client = scope.get("client") or (None, None)
    meta = {"REMOTE_ADDR": client[0]}
    forwarded = scope_header(scope, b"x-forwarded-for")
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded.decode("latin-1")
    return client_address(meta)
