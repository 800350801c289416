"""Conversation state machine (CONV-1; design.md, "State machines")."""

from core.statemachine import StateMachine

CONVERSATION = StateMachine.build(
    "conversation",
    states=("open", "active", "waiting", "wrap_up", "closed"),
    moves={
        # open → closed: the live-chat customer left before pick-up, or the open auto-close.
        "open": ("active", "closed"),
        # active → open: the agent closed a live chat's tab, so it is re-routed.
        "active": ("open", "waiting", "wrap_up", "closed"),
        # waiting → active: the customer came back (PER-6); → open when it must be re-routed.
        "waiting": ("active", "open", "wrap_up", "closed"),
        "wrap_up": ("closed",),
        "closed": (),
    },
)
