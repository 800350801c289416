"""The supervisor's live view socket (ADM-2): ``/ws/supervisor/``.

Routing services publish ``presence.changed``, ``agent.capacity`` and ``queue.changed`` to the
supervisors' group after each change commits; this consumer passes them on to the page, which
applies what they carry and re-reads the small read model (``/workspace/supervisor/state/``)
for what they do not. The page may reset an agent's presence with ``presence.reset``.
"""

from __future__ import annotations

from agents.selectors import oversees_all, reset_presence
from agents.services import agent_presence_set
from core.consumers import FrameConsumer
from core.errors import NotFound
from core.frames import Frame, Id
from core.realtime import SUPERVISORS_GROUP
from core.security import product_origin_allowed


class PresenceResetFrame(Frame):
    agent: Id


class SupervisorConsumer(FrameConsumer):
    """Only supervisors and admins, from a page of this site, may connect (else close 4403)."""

    frames = {"ping": Frame, "presence.reset": PresenceResetFrame}
    forwarded_events = frozenset({"presence.changed", "agent.capacity", "queue.changed"})

    def connect(self):
        user = self.scope.get("user")
        if user is None or not oversees_all(user) or not product_origin_allowed(self.scope):
            self.close(code=4403)
            return
        # The real user object: scope["user"] is a lazy proxy, and the service records who acted.
        self.user = user._wrapped if hasattr(user, "_wrapped") else user
        self.accept()
        self.join(SUPERVISORS_GROUP)
        self.send_json({"type": "hello", "supervisor": self.user.pk})

    def reply(self, frame: dict, answer: dict) -> None:
        if "ref" in frame:
            answer["ref"] = frame["ref"]
        self.send_json(answer)

    def frame_ping(self, frame):
        self.reply(frame, {"type": "pong"})

    def frame_presence_reset(self, frame):
        presence = reset_presence()
        if presence is None:
            raise NotFound("There is no Available presence to reset to.")
        agent = agent_presence_set(agent_id=frame["agent"], presence=presence, by=self.user)
        self.reply(frame, {"type": "ack", "frame": "presence.reset", "agent": agent.pk, "presence": agent.presence_id})
