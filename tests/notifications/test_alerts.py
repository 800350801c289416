"""Alerts that change presence, and notifications never displayed (NOT-7, NOT-8, NOT-10, NOT-11, REL-2)."""

from datetime import timedelta

import pytest

from agents.models import AgentProfile
from agents.services import agent_presence_set
from agents.services.presence import agent_connect, agent_disconnect, agent_heartbeat, agent_mark_unreachable
from core.realtime import agent_group
from notifications.models import AgentBanner, AlertSettings, Notification
from notifications.selectors import pending_notifications
from notifications.services import notification_display
from omnichannel.tasks import sweep_overdue_deadlines
from routing.errors import RoutingError
from routing.models import Offer, WorkItem
from routing.services import offer_accept, offer_reject, offer_time_out
from tests.conversations.factories import chat_start, offer_to, pending_offer
from tests.routing.factories import AgentProfileFactory, presence, workspace_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_agents(chat):
    """``first`` is offered first (more free capacity), ``second`` next."""
    queue = chat.workstream.default_queue
    return AgentProfileFactory(reachable=True, queues=[queue], capacity=300), AgentProfileFactory(
        reachable=True, queues=[queue], capacity=200
    )


def switch(**values) -> None:
    AlertSettings.objects.update_or_create(pk=1, defaults=values)


def presence_of(agent) -> str:
    return AgentProfile.objects.select_related("presence").get(pk=agent.pk).presence.base


def open_banners(agent) -> list[str]:
    return list(AgentBanner.objects.filter(agent=agent, cleared_at__isnull=True).values_list("kind", flat=True))


def displayed(offer: Offer, agent) -> Offer:
    notification_display(notification_id=Notification.objects.get(offer_id=offer.pk).pk, agent=agent)
    return offer


# --- NOT-10: a displayed alert that times out ---------------------------------------------------------


def test_a_displayed_alert_that_times_out_reroutes_at_once_and_the_agent_turns_inactive_with_a_banner(
    chat, two_agents, run_on_commit, clock, published
):
    # spec: NOT-7, NOT-10
    first, second = two_agents
    conversation = run_on_commit(chat_start, chat)
    offer = displayed(pending_offer(conversation), first)
    clock.shift(timedelta(seconds=120))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    run_on_commit(offer_time_out, offer_id=offer.pk)  # twice changes nothing
    assert Offer.objects.get(pk=offer.pk).status == "timed_out"
    assert pending_offer(conversation).agent == second
    assert presence_of(first) == "inactive"
    assert open_banners(first) == ["missed_notification"]
    types = [e["type"] for g, e in published if g == agent_group(first.pk)]
    assert types.count("banner.raised") == 1 and types.count("presence.changed") == 1
    # No new work until a person sets an assignable presence.
    run_on_commit(agent_presence_set, agent_id=second.pk, presence=presence("away"), by=second.user)
    later = run_on_commit(chat_start, chat)
    assert pending_offer(later) is None
    run_on_commit(agent_presence_set, agent_id=first.pk, presence=presence("available"), by=first.user)
    assert open_banners(first) == []
    assert pending_offer(later).agent == first


def test_with_the_missed_notification_alert_off_the_timeout_only_reroutes(chat, two_agents, run_on_commit, clock):
    # spec: NOT-10 (switchable), NOT-7
    switch(missed_notification_enabled=False)
    first, second = two_agents
    conversation = run_on_commit(chat_start, chat)
    offer = displayed(pending_offer(conversation), first)
    clock.shift(timedelta(seconds=120))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    assert pending_offer(conversation).agent == second
    assert (presence_of(first), open_banners(first)) == ("available", [])


# --- NOT-11: reject -----------------------------------------------------------------------------------


def test_rejecting_turns_the_agent_do_not_disturb_with_a_banner(chat, two_agents, run_on_commit):
    # spec: NOT-11
    first, second = two_agents
    conversation = run_on_commit(chat_start, chat)
    run_on_commit(offer_reject, offer_id=pending_offer(conversation).pk, agent=first)
    assert pending_offer(conversation).agent == second
    assert presence_of(first) == "busy_dnd"
    [banner] = AgentBanner.objects.filter(agent=first, cleared_at__isnull=True)
    assert banner.kind == "rejected" and "Do not disturb" in banner.message


def test_with_the_reject_alert_off_rejecting_changes_no_presence(chat, two_agents, run_on_commit):
    # spec: NOT-11 (switchable)
    switch(agent_reject_enabled=False)
    first, second = two_agents
    conversation = run_on_commit(chat_start, chat)
    run_on_commit(offer_reject, offer_id=pending_offer(conversation).pk, agent=first)
    assert pending_offer(conversation).agent == second
    assert (presence_of(first), open_banners(first)) == ("available", [])


def test_a_refused_reject_changes_no_presence(chat, two_agents, run_on_commit):
    # spec: NOT-5, NOT-11 — only a reject that happened counts
    chat.workstream.agents_may_reject = False
    chat.workstream.save()
    first, _ = two_agents
    offer = pending_offer(run_on_commit(chat_start, chat))
    with pytest.raises(RoutingError):
        offer_reject(offer_id=offer.pk, agent=first)
    assert (presence_of(first), open_banners(first), Offer.objects.get(pk=offer.pk).status) == (
        "available",
        [],
        "pending",
    )


# --- NOT-8: sent but never displayed ------------------------------------------------------------------


def test_a_never_displayed_notification_keeps_the_work_with_the_agent_for_eight_minutes_then_reroutes(
    chat, two_agents, run_on_commit, clock
):
    # spec: NOT-8, REL-2
    first, second = two_agents
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    clock.shift(timedelta(seconds=120))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    run_on_commit(offer_time_out, offer_id=offer.pk)  # twice changes nothing
    offer.refresh_from_db()
    assert (offer.status, offer.agent, offer.reroute_at) == ("pending", first, offer.expires_at + timedelta(minutes=8))
    assert WorkItem.objects.get(conversation=conversation).status == "offered"  # still theirs
    assert not Offer.objects.filter(agent=second).exists()
    assert presence_of(first) == "inactive"  # unavailable at once
    [banner] = AgentBanner.objects.filter(agent=first, cleared_at__isnull=True)
    assert banner.kind == "missed_notification" and "could not show it" in banner.message
    # A workspace page opened in the window still shows it, with the re-route as its deadline.
    [shown] = pending_notifications(agent_id=first.pk)
    assert (shown.offer_id, shown.status, shown.expires_at) == (offer.pk, "sent", offer.reroute_at)

    clock.shift(timedelta(minutes=8) - timedelta(seconds=1))
    agent_heartbeat(agent_id=second.pk, channel_name=workspace_page(second))  # second's page is open all along
    assert run_on_commit(sweep_overdue_deadlines)["offers_timed_out"] == 0
    assert Offer.objects.get(pk=offer.pk).status == "pending"
    clock.shift(timedelta(seconds=1))
    assert run_on_commit(sweep_overdue_deadlines)["offers_timed_out"] == 1  # the task was lost: the sweep
    run_on_commit(offer_time_out, offer_id=offer.pk)
    assert Offer.objects.get(pk=offer.pk).status == "timed_out"
    assert Notification.objects.get(offer_id=offer.pk).status == "timed_out"
    assert pending_offer(conversation).agent == second
    assert Offer.objects.filter(agent=first).count() == 1


def test_the_agent_can_still_pick_it_up_within_the_eight_minutes(chat, two_agents, run_on_commit, clock):
    # spec: NOT-8
    first, second = two_agents
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    clock.shift(timedelta(seconds=120))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    clock.shift(timedelta(minutes=7))
    run_on_commit(offer_accept, offer_id=offer.pk, agent=first)
    clock.shift(timedelta(minutes=2))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    assert Offer.objects.get(pk=offer.pk).status == "accepted"
    assert WorkItem.objects.get(conversation=conversation).agent == first
    assert not Offer.objects.filter(agent=second).exists()


def test_after_the_eight_minutes_accepting_is_refused_and_changes_nothing(chat, two_agents, run_on_commit, clock):
    # spec: NOT-8
    first, _ = two_agents
    offer = pending_offer(run_on_commit(chat_start, chat))
    clock.shift(timedelta(seconds=120))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    clock.shift(timedelta(minutes=8))
    with pytest.raises(RoutingError, match="has passed"):
        offer_accept(offer_id=offer.pk, agent=first)
    assert Offer.objects.get(pk=offer.pk).status == "pending"
    assert AgentProfile.objects.get(pk=first.pk).session_count == 0


def test_an_offline_agent_who_missed_a_notification_comes_back_inactive(chat, two_agents, run_on_commit, clock):
    # spec: NOT-8, ROU-8 — reconnecting does not undo the missed notification
    first, _ = two_agents
    offer = pending_offer(run_on_commit(chat_start, chat))
    run_on_commit(agent_disconnect, channel_name=workspace_page(first))
    clock.shift(timedelta(seconds=5))
    run_on_commit(agent_mark_unreachable, agent_id=first.pk)
    assert presence_of(first) == "offline"
    clock.shift(timedelta(seconds=115))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    assert presence_of(first) == "offline"
    run_on_commit(agent_connect, agent_id=first.pk, channel_name="page.back")
    assert presence_of(first) == "inactive"
    assert open_banners(first) == ["missed_notification"]
    run_on_commit(offer_accept, offer_id=offer.pk, agent=first)  # still theirs to take
    assert Offer.objects.get(pk=offer.pk).status == "accepted"


def test_the_banner_and_the_presence_change_reach_the_open_workspace_page(asgi_server, agent_login, in_memory_layer):
    # spec: NOT-11, ROU-5 — pushed live over the workspace socket
    import json

    from websockets.sync.client import connect

    agent = AgentProfileFactory()
    cookie = agent_login(agent)
    with connect(
        f"{asgi_server.ws_url}/ws/workspace/", origin=asgi_server.url, additional_headers={"Cookie": cookie}
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        offer = offer_to(agent)
        assert json.loads(ws.recv(timeout=5))["type"] == "notification.raised"
        ws.send(json.dumps({"type": "offer.reject", "offer": offer.pk}))
        frames = {}
        while "banner.raised" not in frames:
            frame = json.loads(ws.recv(timeout=5))
            frames[frame["type"]] = frame
    banner = AgentBanner.objects.get(agent=agent, kind="rejected")
    assert frames["banner.raised"]["banner"]["id"] == banner.pk
    assert frames["presence.changed"]["presence"]["base"] == "busy_dnd"
    assert frames["offer.rejected"]["offer"] == offer.pk
