"""One lock order between routing and conversations, proven on PostgreSQL (issue 11).

Each trial builds a live chat that an agent has an offer for (or holds), then releases two or
three calls on separate database connections at the same instant, with a random small jitter
and a random side first:

- ``end``: the agent accepts while the customer ends the chat (LIVE-3, ROU-10);
- ``left``: the agent accepts while the grace period after the customer left runs out (LIVE-3);
- ``transfer_queue`` / ``transfer_agent``: the holder transfers the chat (ROU-14) while the
  customer ends it, and the receiver accepts an offer for another chat.

Every trial must end without a database error (a deadlock is one), with exactly one consistent
outcome, capacity within bounds and matching the work the agents hold, and nothing stuck.
Today's thousands-of-trials version is marked ``slow``; a short one runs locally.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.models import Sum
from django.utils import timezone

from agents.models import AgentConnection, AgentProfile
from conversations.errors import ConversationError
from conversations.models import Conversation, Message, Session
from conversations.persistent import conversation_park
from conversations.services import (
    conversation_auto_close,
    conversation_customer_end,
    conversation_end_if_customer_gone,
    message_post,
)
from conversations.transfer import conversation_transfer
from routing.errors import RoutingError
from routing.models import Offer, WorkItem, Workstream
from routing.services import offer_accept, offers_dispatch
from tests.conversations.factories import ConversationFactory, chat_accepted_by
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkItemFactory, WorkstreamFactory
from tests.routing.races import race_pool
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 10
SCENARIOS = ("end", "left", "transfer_queue", "transfer_agent")
THREADS = 3


@pytest.fixture
def released_together(monkeypatch):
    """Run callables on their own threads (each its own database connection) released by one
    barrier. A trial's errors come back as values so the test can count them."""
    pool = race_pool(monkeypatch, THREADS)

    def on_every_thread(fn):
        # The barrier holds each thread until all have one: every thread runs ``fn`` once.
        barrier = threading.Barrier(THREADS)

        def once():
            barrier.wait()
            fn()

        for future in [pool.submit(once) for _ in range(THREADS)]:
            future.result()

    def prepare():
        # A deadlock is found after deadlock_timeout (1 s by default); finding it sooner keeps a
        # run against a wrong lock order short without changing what counts as one.
        with connection.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '100ms'")

    on_every_thread(prepare)

    def run(jobs, rng):
        barrier = threading.Barrier(len(jobs))
        delays = [rng.choice([0, 0, 0.0005, 0.001, 0.002]) for _ in jobs]

        def released(job, delay):
            barrier.wait()
            if delay:
                time.sleep(delay)
            try:
                return job()
            except (RoutingError, ConversationError) as error:
                return error.code
            except OperationalError as error:
                return f"database error: {error}"

        order = list(range(len(jobs)))
        rng.shuffle(order)  # which side is submitted (and so usually starts) first
        futures = {index: pool.submit(released, jobs[index], delays[index]) for index in order}
        return [futures[index].result() for index in range(len(jobs))]

    yield run
    on_every_thread(lambda: connection.close())  # a lambda: the proxy resolves per thread
    pool.shutdown()


def ok(fn, **kwargs):
    def call():
        fn(**kwargs)
        return "ok"

    return call


def reachable_agent(queue, *, chats: int = 1) -> AgentProfile:
    agent = AgentProfileFactory(queues=[queue], capacity=UNITS * chats)
    AgentConnection.objects.create(agent=agent, channel_name=f"lock-order.{agent.pk}")
    return agent


def offered_chat(workstream, agent) -> tuple[Conversation, Offer]:
    """A live chat in the workstream's queue, offered to ``agent`` by the real dispatch."""
    conversation = ConversationFactory(workstream=workstream, queue=workstream.default_queue)
    WorkItemFactory(conversation=conversation, queue=workstream.default_queue, capacity_units=UNITS)
    assert offers_dispatch(queue_ids=[workstream.default_queue_id], agent_id=agent.pk) == 1
    offer = Offer.objects.get(work_item__conversation=conversation, status=Offer.Status.PENDING)
    assert offer.agent_id == agent.pk
    return conversation, offer


def trial(scenario: str, run, rng: random.Random) -> tuple[str, list]:
    """Build one trial, race it, check it; returns (outcome, what each side answered)."""
    queue = QueueFactory()
    # Capacity is given back when the chat ends (wrap-up holds none), so "ended" has one meaning.
    workstream = WorkstreamFactory(
        default_queue=queue, capacity_units=UNITS, wrap_up_capacity=Workstream.WrapUpCapacity.NEVER
    )
    agent = reachable_agent(queue)
    conversation, offer = offered_chat(workstream, agent)
    agents = [agent]
    if scenario == "left":
        past = timezone.now() - timedelta(seconds=workstream.chat_settings.customer_grace_seconds + 1)
        Conversation.objects.filter(pk=conversation.pk).update(customer_left_at=past)
    if scenario in ("end", "left"):
        end = (
            ok(conversation_customer_end, conversation_id=conversation.pk)
            if scenario == "end"
            else ok(conversation_end_if_customer_gone, conversation_id=conversation.pk)
        )
        answers = run([ok(offer_accept, offer_id=offer.pk, agent=agent), end], rng)
    else:
        offer_accept(offer_id=offer.pk, agent=agent)  # the holder
        receiver = reachable_agent(queue, chats=2)  # room for its own offer and the transfer
        other_chat, receiver_offer = offered_chat(workstream, receiver)
        agents.append(receiver)
        target = {"to_queue_id": QueueFactory().pk} if scenario == "transfer_queue" else {"to_agent_id": receiver.pk}
        answers = run(
            [
                ok(conversation_transfer, conversation_id=conversation.pk, by=agent, note="Over to you", **target),
                ok(conversation_customer_end, conversation_id=conversation.pk),
                ok(offer_accept, offer_id=receiver_offer.pk, agent=receiver),
            ],
            rng,
        )
    if any(answer.startswith("database error") for answer in answers):
        return "database error", answers
    return check_consistent(scenario, conversation, agents, answers), answers


def check_consistent(scenario: str, conversation: Conversation, agents: list[AgentProfile], answers) -> str:
    """Exactly one outcome, capacity and sessions matching the work held, nothing stuck."""
    conversation.refresh_from_db()
    work_item = WorkItem.objects.get(conversation=conversation)
    # The customer ended the chat in every scenario, and nothing can overrule that.
    assert answers[1] == "ok", (scenario, answers)
    if conversation.status == Conversation.Status.CLOSED:
        # Ended before anyone held it: the work is gone and nobody holds a session of it.
        assert work_item.status == WorkItem.Status.DONE
        assert not Session.objects.filter(conversation=conversation, closed_at__isnull=True).exists()
        outcome = "ended before it was taken"
    else:
        # Ended while held: wrap-up with the holder, whose capacity it no longer takes.
        assert conversation.status == Conversation.Status.WRAP_UP, (scenario, answers, conversation.status)
        assert work_item.status == WorkItem.Status.ASSIGNED and work_item.agent_id == conversation.agent_id
        assert not work_item.holds_capacity
        sessions = Session.objects.filter(conversation=conversation, closed_at__isnull=True)
        assert list(sessions.values_list("agent_id", flat=True)) == [conversation.agent_id]
        outcome = "ended with its holder"
    if scenario in ("end", "left"):
        accepted = answers[0] == "ok"
        assert accepted == (outcome == "ended with its holder"), (scenario, answers, outcome)
        assert accepted or answers[0] == "offer_gone", answers
    else:
        transferred = answers[0] == "ok"
        assert transferred or answers[0] == "not_active", answers
        assert answers[2] == "ok", answers  # the receiver's own accept never depends on the transfer
        if scenario == "transfer_queue":
            assert (outcome == "ended before it was taken") == transferred, (answers, outcome)
        else:
            assert conversation.agent_id == (agents[1].pk if transferred else agents[0].pk), answers
        outcome += ", transferred first" if transferred else ", ended first"
    for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in agents]):
        assigned = WorkItem.objects.filter(agent=agent, status=WorkItem.Status.ASSIGNED)
        held = assigned.filter(holds_capacity=True).aggregate(units=Sum("capacity_units"))["units"] or 0
        assert 0 <= agent.capacity_used <= agent.capacity, agent
        assert agent.capacity_used == held, (scenario, answers, agent.capacity_used, held)
        assert agent.session_count == assigned.count(), (scenario, answers)
    related = WorkItem.objects.filter(workstream__default_queue__memberships__agent__in=agents).distinct()
    for item in related:
        if item.status == WorkItem.Status.OFFERED:
            assert item.offers.filter(status=Offer.Status.PENDING).exists(), item
        if Conversation.objects.filter(pk=item.conversation.pk, status=Conversation.Status.CLOSED).exists():
            assert item.status == WorkItem.Status.DONE, item
    return outcome


def race(run, *, trials: int, seed: int) -> Counter:
    rng = random.Random(seed)
    outcomes = Counter()
    failed = Counter()
    example = ""
    for number in range(trials):
        scenario = SCENARIOS[number % len(SCENARIOS)]
        outcome, answers = trial(scenario, run, rng)
        outcomes[(scenario, outcome)] += 1
        if outcome == "database error":
            failed[scenario] += 1
            example = example or next(answer for answer in answers if answer.startswith("database error"))
    # All trials run before failing, so a wrong lock order shows how often it deadlocks.
    assert not failed, f"{sum(failed.values())} of {trials} trials hit a database error {dict(failed)}: {example}"
    return outcomes


def test_accept_end_leave_and_transfer_at_the_same_instant_never_deadlock(released_together, published):
    # spec: ROU-10, ROU-14, LIVE-3 — issue 11's race, a short run for every local test run
    outcomes = race(released_together, trials=52, seed=11)
    assert sum(outcomes.values()) == 52
    assert {scenario for scenario, _ in outcomes} == set(SCENARIOS)


@pytest.mark.slow
@pytest.mark.parametrize("part", range(4))
def test_thousands_of_randomised_races_between_routing_and_conversations(part, released_together, published):
    # spec: ROU-10, ROU-14, LIVE-3 — issue 11's done-when: thousands of trials (4 × 500, so the
    # test processes share them), every scenario
    outcomes = race(released_together, trials=500, seed=2011 + part)
    assert sum(outcomes.values()) == 500
    # Both orders happened: the race was a real one, not one side always first.
    for scenario in ("end", "transfer_queue", "transfer_agent"):
        seen = {outcome for (name, outcome) in outcomes if name == scenario}
        assert len(seen) == 2, (scenario, seen)


def waiting_chat(number: int) -> tuple[Conversation, WorkItem]:
    """A persistent chat its agent accepted and parked (PER-6), due to auto-close (CONV-1); its
    agent has since closed the workspace, so the customer's return is not given back at once."""
    queue = QueueFactory()
    workstream = WorkstreamFactory(
        persistent=True, default_queue=queue, capacity_units=UNITS, chat_settings__auto_close_waiting_seconds=60
    )
    widget = ChatWidgetFactory(workstream=workstream, authentication=AuthenticationSettingFactory())
    agent = reachable_agent(queue)
    conversation = chat_accepted_by(agent, widget, authenticated=True, auth_subject=f"customer-{number}")
    conversation_park(conversation_id=conversation.pk, agent=agent)
    AgentConnection.objects.filter(agent=agent).delete()
    Conversation.objects.filter(pk=conversation.pk).update(auto_close_at=timezone.now() - timedelta(seconds=1))
    return conversation, WorkItem.objects.get(conversation=conversation)


def test_a_customer_writing_in_a_waiting_chat_as_it_auto_closes_never_deadlocks(released_together, published):
    # spec: PER-6, CONV-1 — the customer's message locks the work item before the conversation too
    rng = random.Random(611)
    outcomes = Counter()
    for number in range(40):
        conversation, work_item = waiting_chat(number)
        answers = released_together(
            [
                ok(message_post, conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text="I'm back"),
                ok(conversation_auto_close, conversation_id=conversation.pk),
            ],
            rng,
        )
        assert not any(answer.startswith("database error") for answer in answers), answers
        conversation.refresh_from_db()
        work_item.refresh_from_db()
        if answers[0] == "ok":  # back first: open again, its work queued for the agent; no auto-close
            assert (conversation.status, work_item.status) == ("open", "queued"), answers
            assert conversation.messages.filter(sender=Message.Sender.CUSTOMER, text="I'm back").exists()
            outcomes["back first"] += 1
        else:  # closed first: the message is refused and nothing of it stored
            assert answers[0] == "conversation_closed", answers
            assert (conversation.status, work_item.status) == ("closed", "done")
            assert not conversation.messages.filter(sender=Message.Sender.CUSTOMER, text="I'm back").exists()
            outcomes["closed first"] += 1
    assert sum(outcomes.values()) == 40
