"""Builders shared by the customer-summary tests: a customer with history."""

from datetime import timedelta

from django.utils import timezone

from conversations.models import Conversation
from customers.models import Case, Note
from tests.customers.factories import AccountFactory, ContactFactory


def summary_url(conversation_id: int, rest: str = "") -> str:
    return f"/workspace/conversations/{conversation_id}/summary/{rest}"


def customer_with_history(items: int, *, workstream, exact_times: bool = True):
    """A contact (with an account) whose timeline holds ``items`` activities, bulk-inserted:
    notes, cases and past conversations in turn, one minute apart (SUM-16, SUM-17).

    Notes and cases stamp their creation time themselves; ``exact_times`` puts them back in
    their minutes (slower: skip it when only the number of rows matters)."""
    account = AccountFactory(name="Globex")
    contact = ContactFactory(first_name="Marta", last_name="Nowak", email="marta@example.com", account=account)
    start = timezone.now() - timedelta(days=30)
    notes, cases, conversations = [], [], []
    note_times, case_times = [], []
    for number in range(items):
        at = start + timedelta(minutes=number)
        if number % 3 == 0:
            notes.append(Note(text=f"Note {number}", contact=contact))
            note_times.append(at)
        elif number % 3 == 1:
            cases.append(Case(title=f"Case {number}", contact=contact))
            case_times.append(at)
        else:
            conversations.append(
                Conversation(
                    channel=Conversation.Channel.LIVE_CHAT,
                    status=Conversation.Status.CLOSED,
                    workstream=workstream,
                    queue=workstream.default_queue,
                    contact=contact,
                    created_at=at,
                )
            )
    Note.objects.bulk_create(notes, batch_size=2000)
    Case.objects.bulk_create(cases, batch_size=2000)
    Conversation.objects.bulk_create(conversations, batch_size=2000)
    if exact_times:
        for model, rows, times in ((Note, notes, note_times), (Case, cases, case_times)):
            for row, at in zip(rows, times, strict=True):
                row.created_at = at
            model.objects.bulk_update(rows, ["created_at"], batch_size=1000)
    return contact
