from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.drain", ignore_result=True)
def webhook_drain(endpoint_id: int, ordering_key: str) -> None:
    services.webhook_drain(endpoint_id=endpoint_id, ordering_key=ordering_key)
