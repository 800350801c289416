from celery import shared_task

from agents.services.presence import agents_mark_unreachable_overdue
from conversations.channels.outbound import sms_outbound_retry_overdue
from conversations.channels.sms import provider_deliveries_process_overdue
from conversations.customer_presence import customer_sockets_drop_stale
from conversations.services import conversations_apply_overdue_deadlines
from routing.services import capacity_release_overdue, offers_dispatch, offers_time_out_overdue
from webhooks.services import webhook_deliveries_retry_overdue
from widgets.services import invitations_expire_overdue


@shared_task(name="omnichannel.sweep_overdue_deadlines", ignore_result=True)
def sweep_overdue_deadlines() -> dict[str, int]:
    """Apply every overdue deadline whose own task was lost, then offer any queued work that a
    lost dispatch or a queue opening left waiting (design.md, "Time"; REL-2, ROU-11)."""
    return {
        "invitations_expired": invitations_expire_overdue(),
        "agents_unreachable": agents_mark_unreachable_overdue(),
        "offers_timed_out": offers_time_out_overdue(),
        "capacity_released": capacity_release_overdue(),
        "customers_without_socket": customer_sockets_drop_stale(),
        **conversations_apply_overdue_deadlines(),
        "provider_deliveries_routed": provider_deliveries_process_overdue(),
        "sms_replies_resent": sms_outbound_retry_overdue(),
        "webhooks_resent": webhook_deliveries_retry_overdue(),
        "offers_made": offers_dispatch(),
    }
