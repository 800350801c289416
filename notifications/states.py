"""Notification lifecycle (design.md, "State machines")."""

from core.statemachine import StateMachine

# sent: pushed, no workspace page has acknowledged it; displayed: a page showed it.
# accepted / rejected / timed_out close an alert; dismissed closes a toast;
# withdrawn: the work went elsewhere (another agent won, the customer left).
NOTIFICATION = StateMachine.build(
    "notification",
    states=("sent", "displayed", "accepted", "rejected", "timed_out", "dismissed", "withdrawn"),
    moves={
        "sent": ("displayed", "accepted", "rejected", "timed_out", "dismissed", "withdrawn"),
        "displayed": ("accepted", "rejected", "timed_out", "dismissed", "withdrawn"),
        "accepted": (),
        "rejected": (),
        "timed_out": (),
        "dismissed": (),
        "withdrawn": (),
    },
)
