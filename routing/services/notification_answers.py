"""What routing hears from the notifications of its offers.

Notifications sit below routing and never import it: routing registers these functions with
the notifications app in ``RoutingConfig.ready()``, and notifications call them inside their
own transaction.
"""

from __future__ import annotations

from datetime import datetime

from routing.models import Offer


def offer_displayed_record(*, offer_id: int, displayed_at: datetime) -> None:
    """The offer's notification was shown on a workspace page: keep the first time (NOT-8).

    Idempotent: a time already kept is not moved. An offer that does not exist changes nothing.
    """
    Offer.objects.filter(pk=offer_id, displayed_at__isnull=True).update(displayed_at=displayed_at)
