from celery import shared_task
from django.utils import timezone

from widgets import services
from widgets.models import Invitation


@shared_task(name="widgets.expire_invitation", ignore_result=True)
def expire_invitation(invitation_id: int) -> None:
    """At an invitation's deadline (PRO-4). Closing goes in batches with everything else due by
    now, so when many fall due together the tasks after the first find theirs closed: a no-op."""
    expires_at = (
        Invitation.objects.filter(pk=invitation_id, status=Invitation.Status.SHOWN)
        .values_list("expires_at", flat=True)
        .first()
    )
    if expires_at is None:
        return
    if expires_at > timezone.now():  # delivered early (clock skew between hosts): try again then
        expire_invitation.apply_async((invitation_id,), eta=expires_at)
        return
    services.invitations_expire_overdue()
