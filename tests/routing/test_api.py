"""Agents' presence, presences, queues and workstreams through the developer API (API-1, SEC-1, ROU-5)."""

import pytest
from rest_framework.test import APIClient

from agents.models import AgentProfile, Presence
from core.realtime import SUPERVISORS_GROUP, agent_group
from routing.models import RoutingRule
from tests.api_helpers import ids, token_client
from tests.routing.factories import (
    AgentProfileFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    SkillFactory,
    SupervisorFactory,
    UserFactory,
    WorkstreamFactory,
    presence,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
ME = f"{API}/agents/me/presence/"


@pytest.fixture
def sales():
    return QueueFactory(name="Sales")


@pytest.fixture
def billing():
    return QueueFactory(name="Billing")


@pytest.fixture
def agent(sales):
    return AgentProfileFactory(queues=[sales])


@pytest.mark.parametrize(
    "path", ["agents/", "agents/1/", "agents/me/presence/", "presences/", "queues/", "workstreams/"]
)
def test_anonymous_callers_get_401_with_a_json_detail(path):
    # spec: API-1 — token authentication
    response = APIClient().get(f"{API}/{path}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert APIClient().put(ME, {"presence": presence("away").pk}, format="json").status_code == 401


# --- Agents -----------------------------------------------------------------------------------


def test_an_agent_sees_themselves_and_the_agents_of_their_own_queues(sales, billing, agent):
    # spec: SEC-1, API-1
    colleague = AgentProfileFactory(queues=[sales, billing])
    stranger = AgentProfileFactory(queues=[billing])
    loner = AgentProfileFactory()
    api = token_client(agent.user)
    assert ids(api.get(f"{API}/agents/")) == sorted([agent.pk, colleague.pk])
    assert api.get(f"{API}/agents/{stranger.pk}/").status_code == 404
    assert ids(token_client(loner.user).get(f"{API}/agents/")) == [loner.pk]


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_supervisors_and_admins_see_every_agent(sales, billing, agent, who):
    # spec: SEC-1 — supervisors and admins see more
    other = AgentProfileFactory(queues=[billing])
    user = SupervisorFactory().user if who == "supervisor" else UserFactory(is_staff=True)
    expected = sorted(AgentProfile.objects.values_list("pk", flat=True))
    assert other.pk in expected
    assert ids(token_client(user).get(f"{API}/agents/")) == expected


def test_an_agent_shows_presence_capacity_and_sessions(agent):
    # spec: API-1, ROU-5, ROU-6
    AgentProfile.objects.filter(pk=agent.pk).update(capacity=60, capacity_used=20, session_count=2)
    body = token_client(agent.user).get(f"{API}/agents/{agent.pk}/").json()
    available = presence("available")
    assert body["id"] == agent.pk
    assert body["display_name"] == agent.display_name
    assert body["presence"] == {"id": available.pk, "name": "Available", "base": "available"}
    assert (body["capacity"], body["capacity_used"], body["session_count"]) == (60, 20, 2)


def test_agents_filter_by_queue_and_presence(sales, billing):
    # spec: API-1 — filters
    away = AgentProfileFactory(queues=[sales], presence=presence("away"))
    available = AgentProfileFactory(queues=[billing])
    api = token_client(SupervisorFactory().user)
    assert ids(api.get(f"{API}/agents/", {"queue": sales.pk})) == [away.pk]
    assert ids(api.get(f"{API}/agents/", {"presence_base": "away"})) == [away.pk]
    assert available.pk in ids(api.get(f"{API}/agents/", {"presence": presence("available").pk}))
    assert api.get(f"{API}/agents/", {"presence_base": "asleep"}).status_code == 400


# --- One's own presence (ROU-5) ---------------------------------------------------------------


def test_an_agent_reads_their_own_presence(agent):
    # spec: API-1, ROU-5
    response = token_client(agent.user).get(ME)
    assert response.status_code == 200
    available = presence("available")
    assert response.json()["agent"] == agent.pk
    assert response.json()["presence"] == {"id": available.pk, "name": "Available", "base": "available"}


def test_an_agent_sets_their_presence_and_it_is_published(agent, published, django_capture_on_commit_callbacks):
    # spec: ROU-5, API-1
    away = presence("away")
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(agent.user).put(ME, {"presence": away.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["presence"] == {"id": away.pk, "name": "Away", "base": "away"}
    agent.refresh_from_db()
    assert agent.presence == away
    assert response.json()["changed_at"] == agent.presence_changed_at.isoformat().replace("+00:00", "Z")
    events = [(group, event["type"], event["agent"], event["presence"]["id"]) for group, event in published]
    assert events == [
        (agent_group(agent.pk), "presence.changed", agent.pk, away.pk),
        (SUPERVISORS_GROUP, "presence.changed", agent.pk, away.pk),
    ]


def test_an_agent_cannot_choose_the_system_presence_inactive(agent, published, django_capture_on_commit_callbacks):
    # spec: ROU-5, REL-3 — Inactive is set by the system only
    before = AgentProfile.objects.values().get(pk=agent.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(agent.user).put(ME, {"presence": presence("inactive").pk}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "“Inactive” is set by the system; choose another presence.", "code": "routing"}
    assert AgentProfile.objects.values().get(pk=agent.pk) == before
    assert published == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"presence": 999_999}, "presence"),
        ({"presence": "away"}, "presence"),
        ({}, "presence"),
        ({"presence": None}, "presence"),
        ({"status": "away"}, "status"),
    ],
)
def test_bad_presence_input_is_a_400_and_changes_nothing(agent, published, body, field):
    # spec: REL-3
    before = AgentProfile.objects.values().get(pk=agent.pk)
    response = token_client(agent.user).put(ME, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert AgentProfile.objects.values().get(pk=agent.pk) == before
    assert published == []


def test_a_presence_body_that_is_not_json_is_a_400(agent):
    # spec: REL-3
    before = AgentProfile.objects.values().get(pk=agent.pk)
    response = token_client(agent.user).put(ME, '{"presence": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert AgentProfile.objects.values().get(pk=agent.pk) == before


def test_a_user_without_an_agent_profile_has_no_presence_to_set():
    # spec: SEC-1
    api = token_client(UserFactory(is_staff=True))
    assert api.get(ME).status_code == 403
    response = api.put(ME, {"presence": presence("away").pk}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You have no agent profile."}


def test_the_presences_are_listed(agent):
    # spec: API-1, ROU-5
    custom = Presence.objects.create(name="Lunch", base="away", order=45)
    response = token_client(agent.user).get(f"{API}/presences/")
    assert response.status_code == 200
    names = [row["name"] for row in response.json()["results"]]
    assert names == ["Available", "Busy", "Busy – Do not disturb", "Away", "Lunch", "Offline", "Inactive"]
    lunch = next(row for row in response.json()["results"] if row["id"] == custom.pk)
    assert (lunch["base"], lunch["agent_selectable"], lunch["is_system"]) == ("away", True, False)


# --- Queues and workstreams -------------------------------------------------------------------


def test_an_agent_sees_their_queues_with_their_settings(sales, billing, agent):
    # spec: SEC-1, API-1
    hours = OperatingHoursFactory(name="Office", time_zone="Europe/Paris")
    OperatingWindowFactory(schedule=hours, weekday=0, opens_at="09:00", closes_at="17:00")
    sales.operating_hours = hours
    sales.priority = 2
    sales.save()
    api = token_client(agent.user)
    assert ids(api.get(f"{API}/queues/")) == [sales.pk]
    assert api.get(f"{API}/queues/{billing.pk}/").status_code == 404
    body = api.get(f"{API}/queues/{sales.pk}/").json()
    assert (body["name"], body["priority"], body["assignment_method"]) == ("Sales", 2, "highest_capacity")
    assert body["operating_hours"]["time_zone"] == "Europe/Paris"
    assert body["operating_hours"]["windows"] == [{"weekday": 0, "opens_at": "09:00:00", "closes_at": "17:00:00"}]


def test_supervisors_see_every_queue(sales, billing):
    # spec: SEC-1 — supervisors see more
    assert ids(token_client(SupervisorFactory().user).get(f"{API}/queues/")) == sorted([sales.pk, billing.pk])


def test_an_agent_sees_the_workstreams_that_route_into_their_queues(sales, billing, agent):
    # spec: SEC-1, API-1
    by_default = WorkstreamFactory(default_queue=sales)
    by_fallback = WorkstreamFactory(default_queue=billing, fallback_queue=sales)
    by_rule = WorkstreamFactory(default_queue=QueueFactory())
    rule = RoutingRule.objects.create(workstream=by_rule, name="French speakers", queue=sales, order=1)
    rule.skills.add(SkillFactory(name="French"))
    elsewhere = WorkstreamFactory(default_queue=billing)
    api = token_client(agent.user)
    assert ids(api.get(f"{API}/workstreams/")) == sorted([by_default.pk, by_fallback.pk, by_rule.pk])
    assert api.get(f"{API}/workstreams/{elsewhere.pk}/").status_code == 404
    body = api.get(f"{API}/workstreams/{by_rule.pk}/").json()
    assert body["channel"] == "chat"
    assert body["routing_rules"][0]["name"] == "French speakers"
    assert body["routing_rules"][0]["queue"] == sales.pk
    assert [skill["name"] for skill in body["routing_rules"][0]["skills"]] == ["French"]
    all_ids = sorted([by_default.pk, by_fallback.pk, by_rule.pk, elsewhere.pk])
    assert ids(token_client(SupervisorFactory().user).get(f"{API}/workstreams/")) == all_ids


# --- Bounded queries --------------------------------------------------------------------------


def _make(kind: str, count: int, agent: AgentProfile) -> None:
    """``count`` rows of ``kind`` that ``agent`` (a plain agent) sees."""
    queue = agent.queues.get()
    if kind == "agents":
        AgentProfileFactory.create_batch(count - 1, queues=[queue])
    elif kind == "queues":
        hours = OperatingHoursFactory()
        OperatingWindowFactory(schedule=hours)
        for _ in range(count - 1):
            QueueFactory(operating_hours=hours).memberships.create(agent=agent)
    elif kind == "workstreams":
        skill = SkillFactory()
        for _ in range(count):
            workstream = WorkstreamFactory(default_queue=queue)
            workstream.allowed_presences.add(presence("available"), presence("busy"))
            RoutingRule.objects.create(workstream=workstream, name="Rule", queue=queue).skills.add(skill)
    else:
        for index in range(count - Presence.objects.count()):
            Presence.objects.create(name=f"Custom {index}", base="away")


@pytest.mark.parametrize("count", [3, 30])
@pytest.mark.parametrize(
    ("kind", "bound"),
    [
        ("agents", 4),  # token and user, agent profile, count, page (with presence)
        ("queues", 6),  # … count, page (with operating hours), windows, holidays
        ("workstreams", 7),  # … count, page, allowed presences, routing rules, their skills
        ("presences", 4),
    ],
)
def test_routing_lists_take_a_bounded_number_of_queries(agent, django_assert_max_num_queries, kind, bound, count):
    # spec: API-1 — bounded queries whatever the number of rows
    _make(kind, count, agent)
    api = token_client(agent.user)
    with django_assert_max_num_queries(bound):
        response = api.get(f"{API}/{kind}/")
    assert response.status_code == 200
    assert response.json()["count"] == max(count, 6 if kind == "presences" else count)
    assert len(response.json()["results"]) == response.json()["count"]
