"""Logging filters.

:class:`ClientProtocolErrors`: uvicorn's WebSocket protocol (``websockets-sansio``, the default
of ``--ws auto`` from uvicorn 0.35) answers a text frame that is not valid UTF-8 correctly — it
closes the connection with 1007 (RFC 6455 §8.1) before our consumer sees anything — but logs it
with ``logger.exception`` on ``uvicorn.error``: a traceback at ERROR for a client's bad input
(REL-3). This filter turns exactly that record into a one-line WARNING; every other record passes
unchanged.
"""

from __future__ import annotations

import logging


class ClientProtocolErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, UnicodeDecodeError) and str(record.msg).startswith("Invalid UTF-8"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "Closed a WebSocket (1007): the client sent a text frame of invalid UTF-8.", ()
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Attach the filters to uvicorn's logger (a logger's filters survive uvicorn's dictConfig)."""
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, ClientProtocolErrors) for existing in uvicorn_error.filters):
        uvicorn_error.addFilter(ClientProtocolErrors())
