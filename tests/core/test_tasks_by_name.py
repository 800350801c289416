"""Services send their tasks by stable name (core.tasks_by_name, issue 11): no service imports a
task module, and every name they send is a task some app registered."""

import re
from datetime import timedelta

import pytest
from celery import current_app
from django.db import transaction
from django.utils import timezone

from core.tasks_by_name import task_send, task_send_on_commit
from tests.project import product_python_files

SENT = re.compile(r"task_send(?:_on_commit)?\(\s*\"([\w.]+)\"")


def sent_names() -> set[str]:
    return {name for path in product_python_files() for name in SENT.findall(path.read_text())}


def test_every_task_a_service_sends_by_name_is_registered():
    # spec: issue 11 — a name that no task carries would only fail when the deadline comes
    names = sent_names()
    assert {"routing.offers_dispatch", "routing.time_out_offer", "widgets.expire_invitation"} <= names
    assert names <= set(current_app.tasks)


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_on_commit_goes_after_the_commit_and_never_for_a_rollback(monkeypatch):
    # spec: issue 11 — the service schedules, the broker sees it only once the change is stored
    task = current_app.tasks["widgets.expire_invitation"]
    sent = []
    monkeypatch.setattr(task, "apply_async", lambda args, **options: sent.append((args, options)))
    eta = timezone.now() + timedelta(minutes=1)
    with transaction.atomic():
        task_send_on_commit("widgets.expire_invitation", 7, eta=eta)
        assert sent == []
    assert sent == [((7,), {"eta": eta})]
    with pytest.raises(RuntimeError), transaction.atomic():
        task_send_on_commit("widgets.expire_invitation", 8, eta=eta)
        raise RuntimeError("refused")
    assert sent == [((7,), {"eta": eta})]


def test_a_task_sent_now_without_a_moment_is_delayed_and_an_unknown_name_is_refused(monkeypatch):
    task = current_app.tasks["conversations.provider_delivery_process"]
    sent = []
    monkeypatch.setattr(task, "delay", lambda *args: sent.append(args))
    task_send("conversations.provider_delivery_process", 3)
    assert sent == [(3,)]
    with pytest.raises(KeyError):
        task_send("conversations.no_such_task", 3)
