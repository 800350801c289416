from smtplib import SMTPException

from celery import shared_task

from conversations import services
from conversations.transcript import conversation_transcript_send


@shared_task(name="conversations.inactive_close", ignore_result=True)
def conversation_inactive_close(conversation_id: int) -> None:
    services.conversation_inactive_close(conversation_id=conversation_id)


@shared_task(name="conversations.end_if_customer_gone", ignore_result=True)
def end_if_customer_gone(conversation_id: int) -> None:
    services.conversation_end_if_customer_gone(conversation_id=conversation_id)


@shared_task(
    name="conversations.transcript_email",
    ignore_result=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def transcript_email(conversation_id: int, to: str, language: str) -> None:
    """The customer's transcript by email (issue 16); retried with backoff while the mail server
    is unreachable (about half an hour in all), then given up."""
    conversation_transcript_send(conversation_id=conversation_id, to=to, language=language)
