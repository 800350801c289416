"""ASGI entry point: Django for HTTP, Channels for WebSockets (each app brings its routes)."""

import asyncio
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.signals import request_finished  # noqa: E402
from django.db import connections  # noqa: E402


def close_request_connections(**kwargs) -> None:
    """Close an HTTP request's database connections when it ends, whatever ``CONN_MAX_AGE`` says.

    Django runs each ASGI request's sync code on a thread of the request's own, so a connection
    kept "persistent" there is never used again and lingers until its thread is collected
    (Django ticket #33497). Sockets keep theirs: their handlers run on a few long-lived threads.
    Only for ``ASGIHandler``: the test client sends the same signal from a test's own thread.
    """
    connections.close_all()


request_finished.connect(close_request_connections, sender=ASGIHandler)

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from core import realtime  # noqa: E402
from omnichannel.routing import websocket_urlpatterns  # noqa: E402


def _bind_loop(app):
    async def asgi(scope, receive, send):
        realtime.bind_socket_loop(asyncio.get_running_loop())
        return await app(scope, receive, send)

    return asgi


application = _bind_loop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # Origins are checked per consumer: the widget socket against its widget's allowed
            # domains, the workspace socket against this site's own hosts.
            "websocket": CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns)))),
        }
    )
)
