"""Issue 11: the links between work items and their work move to the owners with the data —
``Conversation.work_item`` and ``Case.work_item`` — and each work item gets its kind, its
notification scenario and the facts a notification shows, from existing rows; undone, the links
go back."""

import pytest
from django.db import connection

from tests.migrations import latest, latest_schema_after, migrate  # noqa: F401 (a fixture)

BEFORE = [
    ("routing", "0007_help_texts_in_admin_words"),
    ("conversations", "0012_help_texts_in_admin_words"),
    ("customers", "0002_help_texts_in_admin_words"),
]


def columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {column.name for column in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_work_item_links_move_to_their_owners_with_kind_scenario_and_facts():
    # spec: issue 11 — routing knows work items, not conversations: the owner holds the link, no row is lost
    apps = migrate(BEFORE)
    Queue = apps.get_model("routing", "Queue")
    Workstream = apps.get_model("routing", "Workstream")
    WorkItem = apps.get_model("routing", "WorkItem")
    Conversation = apps.get_model("conversations", "Conversation")
    Contact = apps.get_model("customers", "Contact")
    Case = apps.get_model("customers", "Case")
    queue = Queue.objects.create(name="Support")
    chat = Workstream.objects.create(name="Chat", channel="chat", chat_mode="live", default_queue=queue)
    sms = Workstream.objects.create(name="Texts", channel="sms", default_queue=queue)
    emma = Contact.objects.create(first_name="Emma", last_name="Johnson")
    marta = Contact.objects.create(first_name="Marta", last_name="Rossi")

    linked = Conversation.objects.create(
        channel="live_chat",
        workstream=chat,
        queue=queue,
        contact=emma,
        prechat_answers={"name": "Em", "order": "A-17"},
        context_variables={"plan": {"value": "gold", "isDisplayable": True}},
        language="fr",
        browser="Firefox 128",
        operating_system="Linux",
    )
    suggested = Conversation.objects.create(
        channel="live_chat", workstream=chat, queue=queue, origin="proactive", suggested_contact=marta
    )
    bot = Conversation.objects.create(channel="live_chat", workstream=chat, queue=queue, origin="bot")
    text = Conversation.objects.create(
        channel="sms", workstream=sms, queue=queue, origin="sms", customer_phone="+14155550132"
    )
    unrouted = Conversation.objects.create(channel="live_chat", workstream=chat, queue=queue, origin="bot")
    kettle = Case.objects.create(title="Kettle leaks", contact=marta)
    items = {
        name: WorkItem.objects.create(workstream=workstream, queue=queue, conversation=conversation).pk
        for name, workstream, conversation in (
            ("linked", chat, linked),
            ("suggested", chat, suggested),
            ("bot", chat, bot),
            ("text", sms, text),
        )
    }
    first_kettle = WorkItem.objects.create(workstream=chat, queue=queue, case=kettle, status="done").pk
    items["kettle"] = WorkItem.objects.create(workstream=chat, queue=queue, case=kettle).pk

    apps = migrate(latest())
    Conversation = apps.get_model("conversations", "Conversation")
    Case = apps.get_model("customers", "Case")
    WorkItem = apps.get_model("routing", "WorkItem")
    assert {"conversation_id", "case_id"}.isdisjoint(columns("routing_workitem"))
    assert dict(Conversation.objects.values_list("pk", "work_item_id")) == {
        linked.pk: items["linked"],
        suggested.pk: items["suggested"],
        bot.pk: items["bot"],
        text.pk: items["text"],
        unrouted.pk: None,
    }
    assert Case.objects.get(pk=kettle.pk).work_item_id == items["kettle"]  # routed twice: the latest
    assert WorkItem.objects.count() == 6  # no work item is lost, the older one of the case neither
    rows = {pk: (kind, scenario) for pk, kind, scenario in WorkItem.objects.values_list("pk", "kind", "scenario")}
    assert rows == {
        items["linked"]: ("conversation", "incoming_chat"),
        items["suggested"]: ("conversation", "incoming_chat"),
        items["bot"]: ("conversation", "bot_escalation"),
        items["text"]: ("conversation", "incoming_sms"),
        first_kettle: ("case", "case_assignment"),
        items["kettle"]: ("case", "case_assignment"),
    }
    facts = dict(WorkItem.objects.values_list("pk", "facts"))
    assert facts[items["linked"]] == {
        "refs": {"conversation": linked.pk},
        "url": f"/workspace/conversations/{linked.pk}/",
        "customer_name": "Emma Johnson",
        "channel": "Live chat",
        "language": "fr",
        "device": "Firefox 128 on Linux",
        "started_at": Conversation.objects.get(pk=linked.pk).created_at.isoformat(),
        "proactive": False,
        "possible_match": "",
        "values": {"plan": "gold", "name": "Em", "order": "A-17"},
    }
    assert (facts[items["suggested"]]["customer_name"], facts[items["suggested"]]["proactive"]) == ("Visitor", True)
    assert facts[items["suggested"]]["possible_match"] == "Marta Rossi"  # SUM-5
    assert (facts[items["text"]]["customer_name"], facts[items["text"]]["channel"]) == ("+14155550132", "SMS")
    assert facts[items["kettle"]]["refs"] == {"case": kettle.pk}
    assert (facts[items["kettle"]]["case_title"], facts[items["kettle"]]["customer_name"]) == (
        "Kettle leaks",
        "Marta Rossi",
    )

    apps = migrate(BEFORE)  # reversible: the work items hold their links again
    WorkItem = apps.get_model("routing", "WorkItem")
    assert dict(WorkItem.objects.filter(conversation__isnull=False).values_list("pk", "conversation_id")) == {
        items["linked"]: linked.pk,
        items["suggested"]: suggested.pk,
        items["bot"]: bot.pk,
        items["text"]: text.pk,
    }
    assert WorkItem.objects.get(pk=items["kettle"]).case_id == kettle.pk
    assert WorkItem.objects.get(pk=first_kettle).case_id == kettle.pk  # its facts named the case
