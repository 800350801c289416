"""Presence lifecycle: reachability through open workspace pages, automatic presence, and the
supervisor's reset (ROU-5, ROU-7, ROU-8, ROU-11, REL-2)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.sync.client import connect

from agents.models import AgentConnection, AgentProfile
from agents.services import agent_presence_set
from agents.services.presence import (
    agent_connect,
    agent_disconnect,
    agent_heartbeat,
    agent_mark_unreachable,
)
from core.realtime import SUPERVISORS_GROUP, agent_group
from notifications.models import AgentBanner
from omnichannel.tasks import sweep_overdue_deadlines
from routing.models import WorkItem
from routing.services import offer_accept, offer_reject, work_item_complete
from tests.conversations.factories import chat_accepted_by, chat_start, pending_offer
from tests.routing.factories import (
    AgentProfileFactory,
    QueueFactory,
    SupervisorFactory,
    WorkstreamFactory,
    presence,
    workspace_page,
)
from tests.widgets.factories import ChatWidgetFactory

pytestmark = pytest.mark.django_db


def state(agent) -> tuple:
    agent = AgentProfile.objects.select_related("presence").get(pk=agent.pk)
    return agent.presence.base, agent.presence_before_disconnect_id and agent.presence_before_disconnect.base


def presence_events(published, agent) -> list[str]:
    return [
        event["presence"]["name"]
        for group, event in published
        if group == agent_group(agent.pk) and event["type"] == "presence.changed"
    ]


# --- Reachability (ROU-8) -----------------------------------------------------------------------


def test_an_agent_without_an_open_workspace_page_is_not_offered_work_until_one_opens(chat, run_on_commit):
    # spec: ROU-8, ROU-11
    agent = AgentProfileFactory(queues=[chat.workstream.default_queue])
    conversation = run_on_commit(chat_start, chat)
    assert pending_offer(conversation) is None
    assert WorkItem.objects.get(conversation=conversation).status == "queued"
    run_on_commit(agent_connect, agent_id=agent.pk, channel_name="page.a")
    assert pending_offer(conversation).agent == agent  # offered the moment the page connects


def test_losing_the_last_page_turns_the_agent_offline_within_seconds_and_back_within_2_5_minutes_restores(
    chat, run_on_commit, clock, published
):
    # spec: ROU-8, ROU-11
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue], presence=presence("busy"))
    run_on_commit(agent_connect, agent_id=agent.pk, channel_name=f"page.{agent.pk}.2")
    run_on_commit(agent_disconnect, channel_name=workspace_page(agent))
    assert AgentProfile.objects.get(pk=agent.pk).disconnected_at is None  # another page is still open
    run_on_commit(agent_disconnect, channel_name=f"page.{agent.pk}.2")
    agent.refresh_from_db()
    assert agent.disconnected_at == timezone.now()
    clock.shift(timedelta(seconds=4))
    run_on_commit(agent_mark_unreachable, agent_id=agent.pk)  # early: nothing yet
    assert state(agent) == ("busy", None)
    clock.shift(timedelta(seconds=1))
    run_on_commit(agent_mark_unreachable, agent_id=agent.pk)
    run_on_commit(agent_mark_unreachable, agent_id=agent.pk)  # twice changes nothing
    assert state(agent) == ("offline", "busy")
    assert presence_events(published, agent) == ["Offline"]
    supervised = [e for g, e in published if g == SUPERVISORS_GROUP and e["type"] == "presence.changed"]
    assert [(e["agent"], e["presence"]["name"]) for e in supervised] == [(agent.pk, "Offline")]

    clock.shift(timedelta(seconds=144))  # 2.5 minutes after the disconnection, to the second
    run_on_commit(agent_connect, agent_id=agent.pk, channel_name="page.back")
    agent.refresh_from_db()
    assert state(agent) == ("busy", None) and agent.disconnected_at is None
    assert presence_events(published, agent) == ["Offline", "Busy"]


def test_coming_back_after_2_5_minutes_stays_offline(chat, run_on_commit, clock):
    # spec: ROU-8
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    run_on_commit(agent_disconnect, channel_name=workspace_page(agent))
    clock.shift(timedelta(seconds=5))
    run_on_commit(agent_mark_unreachable, agent_id=agent.pk)
    clock.shift(timedelta(seconds=146))
    conversation = run_on_commit(chat_start, chat)
    run_on_commit(agent_connect, agent_id=agent.pk, channel_name="page.back")
    assert state(agent) == ("offline", None)
    assert pending_offer(conversation) is None  # Offline is not assignable


def test_a_page_reload_within_the_grace_never_shows_offline(chat, run_on_commit, clock, published):
    # spec: ROU-8
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    run_on_commit(agent_disconnect, channel_name=workspace_page(agent))
    clock.shift(timedelta(seconds=1))
    run_on_commit(agent_connect, agent_id=agent.pk, channel_name=f"page.{agent.pk}.2")
    clock.shift(timedelta(seconds=10))
    run_on_commit(agent_mark_unreachable, agent_id=agent.pk)  # the task scheduled at the disconnection
    assert run_on_commit(sweep_overdue_deadlines)["agents_unreachable"] == 0
    assert state(agent) == ("available", None)
    assert presence_events(published, agent) == []


def test_the_sweep_turns_offline_an_agent_whose_task_was_lost(chat, run_on_commit, clock):
    # spec: ROU-8, REL-2
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    run_on_commit(agent_disconnect, channel_name=workspace_page(agent))
    clock.shift(timedelta(seconds=5))
    assert run_on_commit(sweep_overdue_deadlines)["agents_unreachable"] == 1
    assert run_on_commit(sweep_overdue_deadlines)["agents_unreachable"] == 0
    assert state(agent) == ("offline", "available")


def test_a_page_whose_server_process_died_stops_counting_after_30_seconds_without_heartbeat(chat, run_on_commit, clock):
    # spec: ROU-8, REL-2 — a crashed server process never says goodbye
    queue = chat.workstream.default_queue
    alive = AgentProfileFactory(reachable=True, queues=[queue])
    crashed = AgentProfileFactory(reachable=True, queues=[queue])
    clock.shift(timedelta(seconds=20))
    run_on_commit(agent_heartbeat, agent_id=alive.pk, channel_name=workspace_page(alive))
    clock.shift(timedelta(seconds=10))
    assert run_on_commit(sweep_overdue_deadlines)["agents_unreachable"] == 0  # 30 s is not yet stale
    clock.shift(timedelta(seconds=1))
    assert run_on_commit(sweep_overdue_deadlines)["agents_unreachable"] == 1
    assert state(crashed) == ("offline", "available")
    assert state(alive) == ("available", None)
    assert list(AgentConnection.objects.values_list("agent_id", flat=True)) == [alive.pk]
    crashed.refresh_from_db()
    assert crashed.disconnected_at == timezone.now() - timedelta(seconds=31)  # its last sign of life

    conversation = run_on_commit(chat_start, chat)
    assert pending_offer(conversation).agent == alive

    # The page was only paused: its next heartbeat makes the agent reachable again and restores.
    run_on_commit(agent_heartbeat, agent_id=crashed.pk, channel_name=workspace_page(crashed))
    assert state(crashed) == ("available", None)
    assert AgentConnection.objects.filter(agent=crashed).count() == 1


def test_the_workspace_socket_opens_beats_and_closes_a_connection(asgi_server, agent_login, in_memory_layer):
    # spec: ROU-8 — through the real socket
    import time

    agent = AgentProfileFactory()
    cookie = agent_login(agent)
    with connect(
        f"{asgi_server.ws_url}/ws/workspace/",
        origin=asgi_server.url,
        additional_headers={"Cookie": cookie},
        open_timeout=5,
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        [page] = AgentConnection.objects.filter(agent=agent)
        ws.send(json.dumps({"type": "heartbeat", "ref": "h"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "ack", "frame": "heartbeat", "ref": "h"}
        assert AgentConnection.objects.get(pk=page.pk).last_seen_at > page.last_seen_at
    deadline = time.monotonic() + 5
    while AgentConnection.objects.filter(agent=agent).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not AgentConnection.objects.filter(agent=agent).exists()
    assert AgentProfile.objects.get(pk=agent.pk).disconnected_at is not None


# --- Automatic presence (ROU-8) --------------------------------------------------------------------


@pytest.fixture
def automatic(chat):
    workstream = chat.workstream
    workstream.automatic_presence = True
    workstream.save()
    workstream.allowed_presences.set([presence("available"), presence("busy")])
    return chat


def test_automatic_presence_follows_capacity_busy_then_do_not_disturb_then_available(
    automatic, run_on_commit, published
):
    # spec: ROU-8
    agent = AgentProfileFactory(reachable=True, queues=[automatic.workstream.default_queue], capacity=80)
    first, second = run_on_commit(chat_start, automatic), run_on_commit(chat_start, automatic)
    run_on_commit(offer_accept, offer_id=pending_offer(first).pk, agent=agent)
    assert state(agent) == ("busy", None)  # 40 of 80 used
    run_on_commit(offer_accept, offer_id=pending_offer(second).pk, agent=agent)
    assert state(agent) == ("busy_dnd", None)  # full
    run_on_commit(work_item_complete, work_item_id=WorkItem.objects.get(conversation=first).pk)
    assert state(agent) == ("busy", None)
    run_on_commit(work_item_complete, work_item_id=WorkItem.objects.get(conversation=second).pk)
    assert state(agent) == ("available", None)
    assert presence_events(published, agent) == ["Busy", "Busy – Do not disturb", "Busy", "Available"]


def test_automatic_presence_never_overrides_away_a_banner_or_a_workstream_without_it(automatic, run_on_commit):
    # spec: ROU-8, NOT-11
    queue = automatic.workstream.default_queue
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    conversation = chat_accepted_by(agent, automatic)
    run_on_commit(agent_presence_set, agent_id=agent.pk, presence=presence("away"), by=agent.user)
    run_on_commit(work_item_complete, work_item_id=WorkItem.objects.get(conversation=conversation).pk)
    assert state(agent) == ("away", None)  # a person chose Away

    rejecter = AgentProfileFactory(reachable=True, queues=[queue])
    held = chat_accepted_by(rejecter, automatic)
    run_on_commit(offer_reject, offer_id=pending_offer(run_on_commit(chat_start, automatic)).pk, agent=rejecter)
    assert state(rejecter) == ("busy_dnd", None)
    run_on_commit(work_item_complete, work_item_id=WorkItem.objects.get(conversation=held).pk)
    assert state(rejecter) == ("busy_dnd", None)  # the reject banner holds until a person resets it

    manual = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=QueueFactory(), capacity_units=100))
    plain = AgentProfileFactory(reachable=True, queues=[manual.workstream.default_queue])
    chat_accepted_by(plain, manual)
    assert state(plain) == ("available", None)


# --- Maximum sessions (ROU-7, NOT-12) and the supervisor's reset (ROU-5) --------------------------------


def test_an_agent_at_ten_sessions_when_work_arrives_turns_do_not_disturb_with_a_banner(chat, run_on_commit, published):
    # spec: ROU-7, NOT-12
    queue = chat.workstream.default_queue
    full = AgentProfileFactory(reachable=True, queues=[queue], session_count=10)
    away_and_full = AgentProfileFactory(reachable=True, queues=[queue], session_count=10, presence=presence("away"))
    other = AgentProfileFactory(reachable=True, queues=[queue])
    conversation = run_on_commit(chat_start, chat)
    assert pending_offer(conversation).agent == other
    assert state(full) == ("busy_dnd", None)
    [banner] = AgentBanner.objects.filter(agent=full, cleared_at__isnull=True)
    assert banner.kind == "max_sessions" and "10 open sessions" in banner.message
    raised = [e for g, e in published if g == agent_group(full.pk) and e["type"] == "banner.raised"]
    assert raised == [
        {
            "type": "banner.raised",
            "banner": {
                "id": banner.pk,
                "kind": "max_sessions",
                "message": banner.message,
                "created_at": banner.created_at.isoformat(),
            },
        }
    ]
    assert state(away_and_full) == ("away", None)  # not assignable anyway: left alone
    assert not AgentBanner.objects.filter(agent=away_and_full).exists()
    run_on_commit(chat_start, chat)
    assert AgentBanner.objects.filter(agent=full).count() == 1  # one open banner per kind


def test_with_the_max_sessions_alert_off_nothing_changes(chat, run_on_commit):
    # spec: NOT-12 (switchable)
    from notifications.models import AlertSettings

    AlertSettings.objects.update_or_create(pk=1, defaults={"max_sessions_enabled": False})
    full = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue], session_count=10)
    run_on_commit(chat_start, chat)
    assert state(full) == ("available", None)
    assert not AgentBanner.objects.exists()


def test_a_supervisor_resets_the_presence_the_banner_clears_and_work_flows_again(chat, run_on_commit, published):
    # spec: ROU-5, NOT-11, ROU-11
    queue = chat.workstream.default_queue
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    offer = pending_offer(run_on_commit(chat_start, chat))
    run_on_commit(offer_reject, offer_id=offer.pk, agent=agent)
    assert state(agent) == ("busy_dnd", None)
    waiting = run_on_commit(chat_start, chat)
    assert pending_offer(waiting) is None
    supervisor = SupervisorFactory()
    run_on_commit(agent_presence_set, agent_id=agent.pk, presence=presence("available"), by=supervisor.user)
    assert state(agent) == ("available", None)
    assert not AgentBanner.objects.filter(agent=agent, cleared_at__isnull=True).exists()
    assert pending_offer(waiting).agent == agent
    cleared = [e for g, e in published if g == agent_group(agent.pk) and e["type"] == "banner.cleared"]
    assert len(cleared) == 1


def test_a_supervisor_resetting_an_agent_with_no_page_open_is_what_they_come_back_to(chat, run_on_commit, clock):
    # spec: ROU-5, ROU-8 — the agent stays unreachable (Offline) until a page opens
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue], presence=presence("away"))
    run_on_commit(agent_disconnect, channel_name=workspace_page(agent))
    clock.shift(timedelta(seconds=5))
    run_on_commit(agent_mark_unreachable, agent_id=agent.pk)
    supervisor = SupervisorFactory()
    run_on_commit(agent_presence_set, agent_id=agent.pk, presence=presence("available"), by=supervisor.user)
    assert state(agent) == ("available", None)
    conversation = run_on_commit(chat_start, chat)
    assert pending_offer(conversation) is None  # no page: not reachable whatever the presence
    assert run_on_commit(sweep_overdue_deadlines)["agents_unreachable"] == 1
    assert state(agent) == ("offline", "available")
    clock.shift(timedelta(seconds=60))
    run_on_commit(agent_connect, agent_id=agent.pk, channel_name="page.back")
    assert state(agent) == ("available", None)
    assert pending_offer(conversation).agent == agent
