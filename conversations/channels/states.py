"""The outbound SMS status machine (SMS-1): moves only forward, whatever order callbacks come in."""

from core.statemachine import StateMachine

_FINAL = ("delivered", "undelivered", "failed")

OUTBOUND_SMS = StateMachine.build(
    "text message",
    states=("pending", "submitting", "unconfirmed", "queued", "sent", *_FINAL),
    moves={
        "pending": ("submitting", "failed"),
        # submitting → pending: a retryable error (the attempt is recorded); a status callback
        # may beat the provider's own answer, so any later status is allowed too.
        "submitting": ("pending", "unconfirmed", "queued", "sent", *_FINAL),
        "unconfirmed": ("queued", "sent", *_FINAL),
        "queued": ("sent", *_FINAL),
        "sent": _FINAL,
        "delivered": (),
        "undelivered": (),
        "failed": (),
    },
)

#: The provider's status words, in our terms.
PROVIDER_STATUS = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
