"""Driving an agent's workspace socket in tests: read and send frames, wait for one, join a
conversation and read its backlog (docs/live-chat-protocol.md)."""

import json

from core.realtime import agent_group, group_send_now


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def send(ws, frame) -> None:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))  # UTF-8, as browsers send


def until(ws, frame_type: str) -> tuple[dict, list[dict]]:
    """Read until a frame of ``frame_type``; return it and the frames before it."""
    before = []
    while True:
        frame = receive(ws)
        if frame["type"] == frame_type:
            return frame, before
        before.append(frame)


def marker(ws, agent) -> list[dict]:
    """Everything the socket receives before a marker event sent to the agent's group now.

    Group sends reach a consumer in the order they were made, and the consumer handles one
    thing at a time, so anything published before the marker (to any group the socket is in)
    has arrived when the marker does. Frames from the client are another stream: wait for the
    answer to a frame before placing a marker behind it.
    """
    group_send_now(agent_group(agent.pk), {"type": "banner.cleared", "banners": [-1]})
    frame, before = until(ws, "banner.cleared")
    assert frame["banners"] == [-1]
    return before


def join(ws, agent, conversation_id: int, after: int = 0) -> list[dict]:
    """Join a conversation; return the answer and the backlog that follows it."""
    send(ws, {"type": "conversation.join", "conversation": conversation_id, "after": after, "ref": "j"})
    # The answer first: a marker sent before the frame is handled could overtake it.
    answer = receive(ws)
    return [answer, *marker(ws, agent)]
