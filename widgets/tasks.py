from celery import shared_task

from widgets import services


@shared_task(name="widgets.expire_invitation", ignore_result=True)
def expire_invitation(invitation_id: int) -> None:
    services.invitation_expire(invitation_id=invitation_id)
