"""The enabled endpoints, read once per transaction by the webhook sink (webhooks.services).

The memo belongs to the transaction's list of on-commit hooks, which Django replaces at every
commit and rollback (a savepoint rollback too); saving or deleting an endpoint forgets it.
"""

import threading

from django.db import transaction

_memo = threading.local()


def enabled_endpoints(read):
    """``read()`` once per transaction (every time outside one)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return read()
    if getattr(_memo, "hooks", None) is connection.run_on_commit:
        return _memo.endpoints
    endpoints = read()
    _memo.hooks, _memo.endpoints = connection.run_on_commit, endpoints
    return endpoints


def forget() -> None:
    """An endpoint changed in this thread: the next event reads them again."""
    _memo.hooks = None
