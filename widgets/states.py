"""Invitation state machine (PRO-4; design.md, "State machines")."""

from core.statemachine import StateMachine

INVITATION = StateMachine.build(
    "invitation",
    states=("shown", "accepted", "dismissed", "expired"),
    moves={"shown": ("accepted", "dismissed", "expired"), "accepted": (), "dismissed": (), "expired": ()},
)
