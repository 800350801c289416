"""Work item and offer state machines (design.md, "State machines")."""

from core.statemachine import StateMachine

# queued: waiting in a queue; offered: one pending offer out; assigned: an agent holds it;
# parked: a persistent chat in waiting (no capacity); done: finished.
WORK_ITEM = StateMachine.build(
    "work item",
    states=("queued", "offered", "assigned", "parked", "done"),
    moves={
        "queued": ("offered", "assigned", "done"),
        "offered": ("queued", "assigned", "done"),
        "assigned": ("queued", "parked", "done"),
        "parked": ("queued", "offered", "assigned", "done"),
        "done": (),
    },
)

OFFER = StateMachine.build(
    "offer",
    states=("pending", "accepted", "rejected", "timed_out", "lost"),
    moves={
        "pending": ("accepted", "rejected", "timed_out", "lost"),
        "accepted": (),
        "rejected": (),
        "timed_out": (),
        "lost": (),
    },
)
