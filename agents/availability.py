"""How the agents app tells the apps above it that an agent's availability changed (issue 11).

The agents app sits below routing and notifications, so it may not import them. Instead they
register here, in their ``AppConfig.ready()``, and the presence services call them:

- an availability listener hears that an agent may now take work (a person chose a presence,
  or a workspace page connected). Routing offers queued work; notifications clears the
  banners a person acted on.
- a presence hold says that automatic presence must leave an agent's presence alone (an open
  presence-changing banner waits for a person, NOT-10..12).

Both are plain callables, called in the caller's transaction while it holds the agent's row
lock, in the order they registered. A listener that needs the committed state defers its work
with ``transaction.on_commit``; one that raises aborts the caller's transaction, like any
failure inside it. Registering the same callable twice registers it once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Change(StrEnum):
    #: A person (the agent, a supervisor or an admin) chose the agent's presence (ROU-5).
    PRESENCE_CHOSEN = "presence_chosen"
    #: A workspace page of the agent connected: they are reachable (ROU-8).
    CONNECTED = "connected"


class AvailabilityListener(Protocol):
    def __call__(self, *, agent_id: int, change: Change) -> None: ...


class PresenceHold(Protocol):
    def __call__(self, *, agent_id: int) -> bool:
        """True while automatic presence (ROU-8) must not move this agent's presence."""
        ...


_listeners: list[AvailabilityListener] = []
_holds: list[PresenceHold] = []


def register_availability_listener(listener: AvailabilityListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def register_presence_hold(hold: PresenceHold) -> None:
    if hold not in _holds:
        _holds.append(hold)


def availability_changed(*, agent_id: int, change: Change) -> None:
    """Tell every registered listener; called by the presence services only."""
    for listener in _listeners:
        listener(agent_id=agent_id, change=change)


def presence_held(*, agent_id: int) -> bool:
    """Whether any registered hold keeps automatic presence away from this agent."""
    return any(hold(agent_id=agent_id) for hold in _holds)
