"""The supervisor's live view: page, read model, presence reset and the /ws/supervisor/ socket
(ADM-2, ROU-5, NOT-10, SEC-1), and the agent's desktop-notification setting (NOT-9)."""

import json
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agents.models import AgentProfile
from agents.services import agent_presence_set
from conversations.services import conversation_enqueue
from core.realtime import SUPERVISORS_GROUP, group_send_now
from notifications.models import AgentBanner
from routing.models import WorkItem
from tests.conversations.factories import ConversationFactory, chat_given_to
from tests.routing.factories import (
    AgentProfileFactory,
    QueueFactory,
    SupervisorFactory,
    UserFactory,
    WorkItemFactory,
    WorkstreamFactory,
    presence,
)
from tests.snapshots import snapshot

PAGE = "/workspace/supervisor/"
STATE = "/workspace/supervisor/state/"
DESKTOP = "/workspace/desktop-notifications/"


def reset_url(agent_id: int) -> str:
    return f"/workspace/supervisor/agents/{agent_id}/presence-reset/"


# --- Who may see it ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_supervisors_and_admins_see_the_supervisor_view(client):
    # spec: ADM-2, SEC-1
    for url in (PAGE, STATE):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/workspace/login/?next=")
    for user in (AgentProfileFactory().user, UserFactory()):  # an agent; a user who is no agent
        client.force_login(user)
        assert client.get(PAGE).status_code == 403
        assert client.get(STATE).status_code == 403
    for user in (SupervisorFactory().user, UserFactory(is_staff=True)):  # an admin need not be an agent
        client.force_login(user)
        assert client.get(PAGE).status_code == 200
        assert client.get(STATE).status_code == 200


@pytest.mark.django_db
def test_the_dashboard_links_to_the_supervisor_view_for_supervisors_only(client):
    # spec: ADM-2
    client.force_login(AgentProfileFactory().user)
    assert 'data-testid="nav-supervisor"' not in client.get("/workspace/").content.decode()
    client.force_login(SupervisorFactory().user)
    assert 'data-testid="nav-supervisor"' in client.get("/workspace/").content.decode()


@pytest.mark.django_db
def test_an_agent_cannot_reset_a_colleagues_presence_and_nothing_changes(client):
    # spec: ADM-2, ROU-5
    inactive = AgentProfileFactory(presence=presence("inactive"))
    AgentBanner.objects.create(agent=inactive, kind="missed_notification", message="You missed a chat.")
    colleague = AgentProfileFactory()
    before = snapshot(AgentProfile, AgentBanner)
    client.force_login(colleague.user)
    assert client.post(reset_url(inactive.pk)).status_code == 403
    client.logout()
    assert client.post(reset_url(inactive.pk)).status_code == 302  # to the sign-in page
    assert snapshot(AgentProfile, AgentBanner) == before


# --- What it shows ------------------------------------------------------------------------------


@pytest.fixture
def floor(time_machine):
    """Two agents and two queues, one with work waiting since known moments."""
    time_machine.move_to(timezone.now(), tick=False)
    sales = QueueFactory(name="Sales", priority=1)
    billing = QueueFactory(name="Billing", priority=2)
    ada = AgentProfileFactory(display_name="Ada", queues=[sales], capacity=100)
    bob = AgentProfileFactory(display_name="Bob <b>", queues=[billing], presence=presence("inactive"), capacity=40)
    AgentBanner.objects.create(agent=bob, kind="missed_notification", message="You missed a chat.")
    AgentBanner.objects.create(agent=ada, kind="rejected", message="Cleared", cleared_at=timezone.now())
    workstream = WorkstreamFactory(default_queue=sales)
    chat_given_to(ada, workstream=workstream)  # assigned: Ada holds 10 units, 1 session; not waiting
    now = timezone.now()
    WorkItemFactory(conversation=ConversationFactory(workstream=workstream), enqueued_at=now - timedelta(seconds=310))
    WorkItemFactory(
        conversation=ConversationFactory(workstream=workstream),
        status="offered",
        enqueued_at=now - timedelta(seconds=5),
    )
    WorkItemFactory(
        conversation=ConversationFactory(workstream=workstream), status="done", enqueued_at=now - timedelta(hours=2)
    )
    return {"sales": sales, "billing": billing, "ada": ada, "bob": bob, "now": now}


@pytest.mark.django_db
def test_the_page_shows_agents_presence_capacity_sessions_and_queues_waiting_and_longest_wait(client, floor):
    # spec: ADM-2, NOT-10, SEC-2
    client.force_login(SupervisorFactory(display_name="Sue").user)
    html = client.get(PAGE).content.decode()
    ada, bob = (_row(html, "supervisor-agent", "agent", floor[name].pk) for name in ("ada", "bob"))
    available, inactive = presence("available"), presence("inactive")
    assert '<th scope="row" data-testid="agent-name">Ada</th>' in ada
    assert f'data-presence-id="{available.pk}" data-base="available">{available.name}</td>' in ada
    assert 'data-used="10" data-capacity="100">10 of 100</td>' in ada
    assert '<td data-testid="agent-sessions">1</td>' in ada
    assert '<td data-testid="agent-banner"></td>' in ada  # a cleared banner is not shown
    assert '<th scope="row" data-testid="agent-name">Bob &lt;b&gt;</th>' in bob and "Bob <b>" not in html
    assert f'data-presence-id="{inactive.pk}" data-base="inactive">{inactive.name}</td>' in bob
    assert 'data-used="0" data-capacity="40">0 of 40</td>' in bob
    assert '<td data-testid="agent-banner">You missed a chat.</td>' in bob
    assert f'action="{reset_url(floor["bob"].pk)}"' in bob
    sales, billing = (_row(html, "supervisor-queue", "queue", floor[name].pk) for name in ("sales", "billing"))
    since = (floor["now"] - timedelta(seconds=310)).isoformat()
    assert '<td data-testid="queue-waiting">2</td>' in sales  # queued + offered; not assigned, not done
    assert f'data-since="{since}">5 min 10 s</td>' in sales
    assert '<td data-testid="queue-waiting">0</td>' in billing
    assert 'data-since="">—</td>' in billing


def _row(html: str, testid: str, kind: str, pk: int) -> str:
    start = html.index(f'<tr data-testid="{testid}" data-{kind}-id="{pk}">')
    return html[start : html.index("</tr>", start)]


@pytest.mark.django_db
def test_the_read_model_says_the_same_as_the_page(client, floor):
    # spec: ADM-2
    client.force_login(UserFactory(is_staff=True))
    state = client.get(STATE).json()
    ada, bob = floor["ada"], floor["bob"]
    agents = {agent["name"]: agent for agent in state["agents"]}
    available, inactive = presence("available"), presence("inactive")
    assert agents["Ada"] == {
        "id": ada.pk,
        "name": "Ada",
        "presence": {"id": available.pk, "name": available.name, "base": "available"},
        "capacity": 100,
        "capacity_used": 10,
        "session_count": 1,
        "banner": None,
    }
    assert agents["Bob <b>"] == {
        "id": bob.pk,
        "name": "Bob <b>",
        "presence": {"id": inactive.pk, "name": inactive.name, "base": "inactive"},
        "capacity": 40,
        "capacity_used": 0,
        "session_count": 0,
        "banner": "You missed a chat.",
    }
    queues = {queue["name"]: queue for queue in state["queues"]}
    assert queues["Sales"] == {
        "id": floor["sales"].pk,
        "name": "Sales",
        "waiting": 2,
        "oldest_waiting_since": (floor["now"] - timedelta(seconds=310)).isoformat(),
    }
    assert queues["Billing"] == {
        "id": floor["billing"].pk,
        "name": "Billing",
        "waiting": 0,
        "oldest_waiting_since": None,
    }


def _busy_floor(size: int) -> None:
    for number in range(size):
        queue = QueueFactory()
        agent = AgentProfileFactory(queues=[queue])
        AgentBanner.objects.create(agent=agent, kind="rejected", message=f"Rejected {number}")
        WorkItemFactory(conversation=ConversationFactory(workstream=WorkstreamFactory(default_queue=queue)))


@pytest.mark.django_db
@pytest.mark.parametrize("size", [3, 30])
def test_the_page_and_the_read_model_take_a_fixed_number_of_queries(client, django_assert_max_num_queries, size):
    # spec: ADM-2 — the same bound with 3 and with 30 agents and queues
    _busy_floor(size)
    client.force_login(SupervisorFactory().user)
    with django_assert_max_num_queries(6):  # session, user, agent, agents, queues, latest ratings
        response = client.get(PAGE)
    assert response.content.decode().count('data-testid="supervisor-agent"') == size + 1
    assert response.content.decode().count('data-testid="supervisor-queue"') == size
    with django_assert_max_num_queries(5):
        state = client.get(STATE).json()
    assert len(state["agents"]) == size + 1 and len(state["queues"]) == size


# --- Resetting a presence -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_supervisor_resets_an_agent_to_available_which_clears_their_banner(
    client, published, django_capture_on_commit_callbacks
):
    # spec: ADM-2, NOT-10, ROU-5
    agent = AgentProfileFactory(presence=presence("inactive"))
    banner = AgentBanner.objects.create(agent=agent, kind="missed_notification", message="You missed a chat.")
    supervisor = SupervisorFactory()
    client.force_login(supervisor.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reset_url(agent.pk))
    assert response.status_code == 302 and response.url == PAGE
    agent.refresh_from_db()
    banner.refresh_from_db()
    assert agent.presence == presence("available")
    assert banner.cleared_at is not None
    changed = [
        event for group, event in published if group == SUPERVISORS_GROUP and event["type"] == "presence.changed"
    ]
    assert [(event["agent"], event["presence"]["base"]) for event in changed] == [(agent.pk, "available")]
    assert "You missed a chat." not in client.get(PAGE).content.decode()
    assert client.post(reset_url(999_999)).status_code == 404


# --- The desktop-notification setting (NOT-9) ------------------------------------------------------------


@pytest.mark.django_db
def test_an_agent_saves_their_desktop_notification_mode_and_a_bad_one_changes_nothing(client):
    # spec: NOT-9
    agent = AgentProfileFactory()
    client.force_login(agent.user)
    assert 'data-desktop-notifications="template"' in client.get("/workspace/").content.decode()
    for mode in ("never", "always", "background", "template"):
        response = client.post(DESKTOP, {"mode": mode}, HTTP_ACCEPT="application/json")
        assert response.json() == {"mode": mode}
        agent.refresh_from_db()
        assert agent.desktop_notifications == mode
    client.post(DESKTOP, {"mode": "always"})
    response = client.post(DESKTOP, {"mode": "sometimes"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    agent.refresh_from_db()
    assert agent.desktop_notifications == "always"
    assert 'data-desktop-notifications="always"' in client.get("/workspace/").content.decode()
    assert client.get(DESKTOP).status_code == 405


@pytest.mark.django_db
def test_the_service_worker_is_served_under_the_workspace(client):
    # spec: NOT-9 — its scope must cover /workspace/
    response = client.get("/workspace/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript"
    assert response["Service-Worker-Allowed"] == "/workspace/"
    assert b"notificationclick" in b"".join(response.streaming_content)


@pytest.mark.django_db
def test_agents_set_only_their_own_desktop_mode_unless_they_supervise():
    # spec: NOT-9
    from agents.services import agent_desktop_notifications_set
    from core.errors import DomainError

    agent, colleague = AgentProfileFactory(), AgentProfileFactory()
    with pytest.raises(DomainError) as refused:
        agent_desktop_notifications_set(agent_id=colleague.pk, mode="never", by=agent.user)
    assert refused.value.code == "forbidden"
    colleague.refresh_from_db()
    assert colleague.desktop_notifications == "template"
    agent_desktop_notifications_set(agent_id=colleague.pk, mode="never", by=SupervisorFactory().user)
    colleague.refresh_from_db()
    assert colleague.desktop_notifications == "never"


# --- Live over the socket -----------------------------------------------------------------------------


@pytest.fixture
def supervisor_socket(asgi_server, client):
    with ExitStack() as sockets:

        def open_for(user, origin=None):
            client.force_login(user)
            return sockets.enter_context(
                connect(
                    f"{asgi_server.ws_url}/ws/supervisor/",
                    origin=origin or asgi_server.url,
                    additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
                    open_timeout=5,
                )
            )

        yield open_for


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def marker(ws) -> list[dict]:
    """Every frame before a marker sent to the supervisors' group now (group sends keep their order)."""
    group_send_now(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": -1})
    before = []
    while (frame := receive(ws)) != {"type": "queue.changed", "queue": -1}:
        before.append(frame)
    return before


def test_only_supervisors_and_admins_from_this_site_open_the_supervisor_socket(layer, supervisor_socket):
    # spec: ADM-2, SEC-1, SEC-3
    for user in (AgentProfileFactory().user, UserFactory()):
        with pytest.raises(InvalidStatus) as refused:
            supervisor_socket(user)
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        supervisor_socket(SupervisorFactory().user, origin="http://evil.example")
    admin = UserFactory(is_staff=True)
    assert receive(supervisor_socket(admin)) == {"type": "hello", "supervisor": admin.pk}


def test_presence_capacity_and_queue_changes_reach_the_supervisor_live(layer, supervisor_socket):
    # spec: ADM-2
    queue = QueueFactory(name="Sales")
    workstream = WorkstreamFactory(default_queue=queue)
    agent = AgentProfileFactory(queues=[queue], presence=presence("offline"))
    supervisor = SupervisorFactory()
    ws = supervisor_socket(supervisor.user)
    assert receive(ws)["type"] == "hello"

    agent_presence_set(agent_id=agent.pk, presence=presence("busy"), by=agent.user)
    [changed] = marker(ws)
    assert (changed["type"], changed["agent"], changed["presence"]["base"]) == ("presence.changed", agent.pk, "busy")

    conversation_enqueue(ConversationFactory(workstream=workstream), workstream=workstream, queue=queue, skills=[])
    assert marker(ws) == [{"type": "queue.changed", "queue": queue.pk}]  # Busy: nobody is offered it

    chat_given_to(agent, workstream=workstream)
    assert marker(ws) == [
        {"type": "agent.capacity", "agent": agent.pk, "capacity": 100, "capacity_used": 10, "session_count": 1}
    ]


def test_a_supervisor_resets_a_presence_over_the_socket_and_bad_frames_change_nothing(layer, supervisor_socket):
    # spec: ADM-2, NOT-10, REL-3
    agent = AgentProfileFactory(presence=presence("inactive"))
    banner = AgentBanner.objects.create(agent=agent, kind="missed_notification", message="You missed a chat.")
    ws = supervisor_socket(SupervisorFactory().user)
    assert receive(ws)["type"] == "hello"
    before = snapshot(AgentProfile, AgentBanner)
    for frame, code in (
        ({"type": "presence.reset"}, "invalid"),
        ({"type": "presence.reset", "agent": "Bob"}, "invalid"),
        ({"type": "presence.reset", "agent": 999_999}, "not_found"),
        ({"type": "presence.set", "presence": 1}, "unknown_type"),
    ):
        ws.send(json.dumps({**frame, "ref": "bad"}))
        error = receive(ws)
        assert (error["type"], error["code"], error["ref"]) == ("error", code, "bad"), frame
    assert snapshot(AgentProfile, AgentBanner) == before

    ws.send(json.dumps({"type": "presence.reset", "agent": agent.pk, "ref": "r1"}))
    frames = [receive(ws), receive(ws)]
    available = presence("available")
    assert {
        "type": "ack",
        "frame": "presence.reset",
        "agent": agent.pk,
        "presence": available.pk,
        "ref": "r1",
    } in frames
    [changed] = [frame for frame in frames if frame["type"] == "presence.changed"]
    assert (changed["agent"], changed["presence"]["id"]) == (agent.pk, available.pk)
    agent.refresh_from_db()
    banner.refresh_from_db()
    assert agent.presence_id == available.pk and banner.cleared_at is not None
    assert WorkItem.objects.count() == 0
