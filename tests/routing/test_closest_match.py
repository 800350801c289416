"""Skill matching (ROU-4: exact, then the closest match after a wait; or none), routing rule
conditions of every kind (ROU-2) and operating hours with time zones and holidays (ROU-3)."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from agents.models import AgentConnection
from conversations.services import conversation_start
from customers.services import case_enqueue
from omnichannel.tasks import sweep_overdue_deadlines
from routing.models import Holiday, Offer, RoutingRule, WorkItem
from routing.rules import Facts, route_evaluate
from routing.services import offer_reject, offers_dispatch, work_item_closest_match_dispatch
from routing.tasks import closest_match_due
from tests.conversations.factories import chat_start
from tests.customers.factories import CaseFactory
from tests.routing.factories import (
    AgentProfileFactory,
    AgentSkillFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    SkillFactory,
    WorkstreamFactory,
)
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(monkeypatch):
    """The closest-match tasks sent: (work item id, eta)."""
    sent = []
    monkeypatch.setattr(closest_match_due, "apply_async", lambda args, eta: sent.append((args[0], eta)))
    return sent


def skilled(queue, **skills):
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    for name, proficiency in skills.items():
        AgentSkillFactory(agent=agent, skill=SkillFactory(name=name), proficiency=proficiency)
    return agent


def chat_needing(skills, *, matching="closest", wait=60):
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, skill_matching=matching, closest_match_after_seconds=wait)
    rule = RoutingRule.objects.create(workstream=workstream, name="Needs skills", queue=queue, conditions=[])
    rule.skills.set([SkillFactory(name=name) for name in skills])
    return ChatWidgetFactory(workstream=workstream), queue


def pending(conversation):
    return Offer.objects.filter(work_item__conversation=conversation, status="pending").first()


def test_closest_matching_waits_for_an_exact_match_then_offers_the_nearest(run_on_commit, time_machine, scheduled):
    # spec: ROU-4 — exact only until the configured wait is over (a deadline with its task at
    # that moment); then most of the needed skills first, then the higher total proficiency
    time_machine.move_to(timezone.now(), tick=False)
    widget, queue = chat_needing(["French", "Billing", "Polish"])
    expert = skilled(queue, French=9)  # 1 skill, 9
    pair = skilled(queue, French=2, Billing=2)  # 2 skills, 4
    best = skilled(queue, French=3, Billing=3)  # 2 skills, 6
    AgentProfileFactory(reachable=True, queues=[queue], capacity=1000)  # no skill, most room
    conversation = run_on_commit(chat_start, widget)
    work_item = WorkItem.objects.get(conversation=conversation)
    assert work_item.closest_match_at == work_item.enqueued_at + timedelta(seconds=60)
    assert scheduled == [(work_item.pk, work_item.closest_match_at)]
    assert pending(conversation) is None

    time_machine.shift(timedelta(seconds=59))
    assert run_on_commit(work_item_closest_match_dispatch, work_item_id=work_item.pk) == 0  # early: nothing
    assert run_on_commit(offers_dispatch) == 0
    time_machine.shift(timedelta(seconds=1))
    assert run_on_commit(work_item_closest_match_dispatch, work_item_id=work_item.pk) == 1
    assert run_on_commit(work_item_closest_match_dispatch, work_item_id=work_item.pk) == 0  # twice: no change
    assert pending(conversation).agent == best
    run_on_commit(offer_reject, offer_id=pending(conversation).pk, agent=best)
    assert pending(conversation).agent == pair
    run_on_commit(offer_reject, offer_id=pending(conversation).pk, agent=pair)
    assert pending(conversation).agent == expert


def test_with_closest_matching_an_exact_match_is_offered_at_once(run_on_commit, scheduled):
    # spec: ROU-4 — exact match first
    widget, queue = chat_needing(["French", "Billing"])
    skilled(queue, French=9)
    exact = skilled(queue, French=1, Billing=1)
    conversation = run_on_commit(chat_start, widget)
    assert pending(conversation).agent == exact


def test_the_sweep_offers_the_closest_match_when_its_task_was_lost(run_on_commit, time_machine, scheduled):
    # spec: ROU-4, REL-2 — the deadline lives in the database
    time_machine.move_to(timezone.now(), tick=False)
    widget, queue = chat_needing(["French", "Polish"], wait=20)
    nearest = skilled(queue, Polish=4)
    conversation = run_on_commit(chat_start, widget)
    assert pending(conversation) is None
    time_machine.shift(timedelta(seconds=21))
    assert run_on_commit(sweep_overdue_deadlines)["offers_made"] == 1
    assert pending(conversation).agent == nearest


def test_exact_matching_never_falls_back(run_on_commit, time_machine, scheduled):
    # spec: ROU-4 — the counter-case: exact matching waits for an agent with every skill
    time_machine.move_to(timezone.now(), tick=False)
    widget, queue = chat_needing(["French", "Polish"], matching="exact")
    skilled(queue, Polish=10)
    conversation = run_on_commit(chat_start, widget)
    assert WorkItem.objects.get(conversation=conversation).closest_match_at is None
    assert scheduled == []
    time_machine.shift(timedelta(hours=1))
    run_on_commit(sweep_overdue_deadlines)
    assert pending(conversation) is None


def test_no_skill_matching_ignores_skills(run_on_commit, scheduled):
    # spec: ROU-4, ROU-1 (skill matching "none")
    widget, queue = chat_needing(["French", "Polish"], matching="none")
    unskilled = AgentProfileFactory(reachable=True, queues=[queue], capacity=500)
    skilled(queue, French=10, Polish=10)
    conversation = run_on_commit(chat_start, widget)
    assert pending(conversation).agent == unskilled
    assert scheduled == []


# --- ROU-2: every kind of condition ------------------------------------------------------------


CONDITIONS = [
    ({"source": "context", "name": "tier", "operator": "equals", "value": "gold"}, Facts(context={"tier": "Gold"})),
    (
        {"source": "prechat", "name": "topic", "operator": "in", "value": ["Billing", "Refund"]},
        Facts(prechat={"topic": "refund"}),
    ),
    ({"source": "language", "operator": "starts_with", "value": "fr"}, Facts(language="fr-CA")),
    ({"source": "authenticated", "operator": "equals", "value": True}, Facts(authenticated=True)),
    ({"source": "url", "operator": "contains", "value": "/checkout"}, Facts(url="https://shop.example/checkout/pay")),
    ({"source": "sms_number", "operator": "equals", "value": "+33100000000"}, Facts(sms_number="+33100000000")),
    (
        {"source": "case", "name": "priority", "operator": "regex", "value": "^(high|urgent)$"},
        Facts(case={"priority": "urgent"}),
    ),
    ({"source": "context", "name": "order", "operator": "exists"}, Facts(context={"order": "A-1"})),
    ({"source": "language", "operator": "not_equals", "value": "en"}, Facts(language="pl")),
]


@pytest.mark.parametrize("condition, facts", CONDITIONS, ids=[c["source"] + "-" + c["operator"] for c, _ in CONDITIONS])
def test_a_rule_of_each_kind_routes_when_it_holds_and_not_otherwise(condition, facts):
    # spec: ROU-2 — context variables, pre-chat answers, language, authenticated, URL, SMS number,
    # case fields; with no rule matching, the default queue
    default, special = QueueFactory(name="Default"), QueueFactory(name="Special")
    workstream = WorkstreamFactory(default_queue=default)
    skill = SkillFactory(name="Special skill")
    rule = RoutingRule.objects.create(workstream=workstream, name="Rule", queue=special, conditions=[condition])
    rule.skills.set([skill])
    decision = route_evaluate(workstream, facts)
    assert (decision.queue, decision.skills, decision.rule) == (special, [skill], rule)
    # the same fact with another value (or missing) does not match
    otherwise = Facts(language="en") if condition["operator"] == "not_equals" else Facts(context={"tier": "silver"})
    assert (route_evaluate(workstream, otherwise).queue, route_evaluate(workstream, otherwise).skills) == (default, [])


def test_rules_apply_in_order_and_all_conditions_of_a_rule_must_hold():
    # spec: ROU-2 — the first active rule whose every condition holds
    default, first, second = QueueFactory(), QueueFactory(), QueueFactory()
    workstream = WorkstreamFactory(default_queue=default)
    RoutingRule.objects.create(
        workstream=workstream,
        order=1,
        name="Gold French",
        queue=first,
        conditions=[
            {"source": "context", "name": "tier", "operator": "equals", "value": "gold"},
            {"source": "language", "operator": "equals", "value": "fr"},
        ],
    )
    RoutingRule.objects.create(
        workstream=workstream,
        order=2,
        name="Gold",
        queue=second,
        conditions=[{"source": "context", "name": "tier", "operator": "equals", "value": "gold"}],
    )
    RoutingRule.objects.create(workstream=workstream, order=0, name="Off", queue=first, conditions=[], is_active=False)
    assert route_evaluate(workstream, Facts(context={"tier": "gold"}, language="fr")).queue == first
    assert route_evaluate(workstream, Facts(context={"tier": "gold"}, language="de")).queue == second
    assert route_evaluate(workstream, Facts(context={"tier": "silver"}, language="fr")).queue == default


def test_a_chat_is_routed_by_url_and_authentication(run_on_commit):
    # spec: ROU-2 — through conversation_start, the facts a widget sends
    default, checkout = QueueFactory(), QueueFactory(name="Checkout")
    workstream = WorkstreamFactory(default_queue=default)
    RoutingRule.objects.create(
        workstream=workstream,
        name="Checkout",
        queue=checkout,
        conditions=[
            {"source": "url", "operator": "contains", "value": "/checkout"},
            {"source": "authenticated", "operator": "equals", "value": "false"},
        ],
    )
    widget = ChatWidgetFactory(workstream=workstream)
    visitor = VisitorFactory(widget=widget)
    on_checkout = conversation_start(widget=widget, visitor=visitor, page_url="https://shop.example/checkout/")
    elsewhere = conversation_start(
        widget=widget, visitor=VisitorFactory(widget=widget), page_url="https://shop.example/"
    )
    assert (on_checkout.queue, elsewhere.queue) == (checkout, default)


# --- ROU-3: operating hours, time zones and holidays -------------------------------------------------


@pytest.fixture
def paris_hours():
    hours = OperatingHoursFactory(time_zone="Europe/Paris")
    for weekday in range(5):
        OperatingWindowFactory(schedule=hours, weekday=weekday, opens_at=time(8), closes_at=time(20))
    OperatingWindowFactory(schedule=hours, weekday=5, opens_at=time(22), closes_at=time(0))  # till midnight
    Holiday.objects.create(schedule=hours, date=date(2026, 12, 25), name="Christmas")
    return hours


@pytest.mark.parametrize(
    "moment, is_open",
    [
        ("2026-12-21T07:30:00+00:00", True),  # Monday 08:30 in Paris (UTC+1)
        ("2026-12-21T06:59:00+00:00", False),  # Monday 07:59 in Paris, though 06:59 UTC
        ("2026-12-21T19:00:00+00:00", False),  # Monday 20:00 in Paris: closed at the closing time
        ("2026-12-25T10:00:00+00:00", False),  # Friday, Christmas: a holiday
        ("2026-12-26T22:59:00+00:00", True),  # Saturday 23:59 in Paris: open until midnight
        ("2026-12-26T23:00:00+00:00", False),  # Sunday 00:00 in Paris
        ("2026-07-06T06:30:00+00:00", True),  # Monday 08:30 in Paris in summer (UTC+2)
    ],
)
def test_operating_hours_follow_their_time_zone_and_holidays(paris_hours, moment, is_open):
    # spec: ROU-3
    from datetime import datetime

    assert paris_hours.is_open_at(datetime.fromisoformat(moment)) is is_open


def test_queued_work_waits_in_a_closed_queue_and_is_offered_when_it_opens(run_on_commit, time_machine, paris_hours):
    # spec: ROU-3, ROU-9 — a case queued on a holiday is offered at the next opening
    queue = QueueFactory(operating_hours=paris_hours)
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    workstream = WorkstreamFactory(default_queue=queue, channel="records", chat_mode="")
    time_machine.move_to("2026-12-25T10:00:00+00:00", tick=False)
    work_item = run_on_commit(case_enqueue, case=CaseFactory(), workstream=workstream, queue=queue, skills=[])
    assert WorkItem.objects.get(pk=work_item.pk).status == "queued"
    time_machine.move_to("2026-12-28T07:01:00+00:00", tick=False)  # Monday 08:01 in Paris
    AgentConnection.objects.update(last_seen_at=timezone.now())  # the agent's page kept beating (ROU-8)
    assert run_on_commit(sweep_overdue_deadlines)["offers_made"] == 1
    assert Offer.objects.get(work_item=work_item).agent == agent
