"""A dispatch pass leaves the caller's thread (issue 11, ROU-11): after a commit the pass is a
Celery task, so whoever committed (a socket handler storing a customer's message, starting a
chat) never waits for routing."""

import pytest

from agents.models import AgentConnection
from conversations.services import conversation_start
from routing import services as routing_services
from routing.models import Offer
from routing.services import dispatch
from routing.tasks import offers_dispatch_task
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory


def reachable_queue_member(queue):
    agent = AgentProfileFactory(queues=[queue])
    AgentConnection.objects.create(agent=agent, channel_name=f"dispatch-task.{agent.pk}")
    return agent


@pytest.mark.django_db
@pytest.mark.sent_dispatch
def test_starting_a_chat_sends_the_dispatch_pass_as_a_task_and_does_not_run_it(
    django_capture_on_commit_callbacks, monkeypatch
):
    # spec: ROU-11 — the committing thread only sends the pass; the worker makes the offer
    queue = QueueFactory()
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=queue))
    agent = reachable_queue_member(queue)
    sent, passes_here = [], []
    monkeypatch.setattr(offers_dispatch_task, "delay", lambda *args: sent.append(args))
    real_pass = dispatch.offers_dispatch
    for module in (dispatch, routing_services):  # however a pass would be called on this thread
        monkeypatch.setattr(module, "offers_dispatch", lambda **kwargs: passes_here.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        conversation = conversation_start(widget=widget, visitor=VisitorFactory(widget=widget))
    assert sent == [([queue.pk], None)]
    assert passes_here == []
    assert not Offer.objects.filter(work_item__conversation=conversation).exists()
    # What the worker then does with the task: the offer is made.
    for module in (dispatch, routing_services):
        monkeypatch.setattr(module, "offers_dispatch", real_pass)
    offers_dispatch_task.apply(sent[0])
    assert Offer.objects.get(work_item__conversation=conversation, status="pending").agent == agent


@pytest.mark.embedded
def test_a_real_worker_offers_a_new_chat(celery_worker):
    # spec: ROU-11 — the embedded worker thread, or a worker process on Redis + PostgreSQL
    from tests.conftest import restore_seed_data

    restore_seed_data()
    queue = QueueFactory()
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=queue))
    agent = reachable_queue_member(queue)
    conversation = conversation_start(widget=widget, visitor=VisitorFactory(widget=widget))
    wait_until(lambda: Offer.objects.filter(work_item__conversation=conversation).exists())
    assert Offer.objects.get(work_item__conversation=conversation).agent == agent
