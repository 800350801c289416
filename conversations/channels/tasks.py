"""Thin tasks of the channel adapters: take ids, call one service (SMS-1, VOI-1)."""

from celery import shared_task

from conversations.channels import outbound, sms


@shared_task(name="conversations.provider_delivery_process", ignore_result=True)
def provider_delivery_process_task(delivery_id: int) -> None:
    sms.provider_delivery_process(delivery_id=delivery_id)


@shared_task(name="conversations.sms_outbound_send", ignore_result=True)
def sms_outbound_send(outbound_id: int) -> None:
    outbound.sms_outbound_send(outbound_id=outbound_id)
