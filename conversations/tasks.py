from celery import shared_task

from conversations import services


@shared_task(name="conversations.inactive_close", ignore_result=True)
def conversation_inactive_close(conversation_id: int) -> None:
    services.conversation_inactive_close(conversation_id=conversation_id)


@shared_task(name="conversations.end_if_customer_gone", ignore_result=True)
def end_if_customer_gone(conversation_id: int) -> None:
    services.conversation_end_if_customer_gone(conversation_id=conversation_id)
