"""Data migrations apply to existing rows without loss (SUM-5: pre-chat links become suggestions)."""

import pytest

from tests.migrations import latest_schema_after, migrate  # noqa: F401 (a fixture)

BEFORE = [("conversations", "0005_conversation_suggested_contact")]
AFTER = [("conversations", "0006_prechat_links_become_suggestions")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_links_made_from_prechat_claims_become_suggestions_and_verified_ones_stay():
    # spec: SUM-5 — existing data: claim-made links turn into possible matches, nothing is lost
    apps = migrate(BEFORE)
    Conversation = apps.get_model("conversations", "Conversation")
    Event = apps.get_model("conversations", "ConversationEvent")
    Contact = apps.get_model("customers", "Contact")
    Account = apps.get_model("customers", "Account")
    Queue = apps.get_model("routing", "Queue")
    Workstream = apps.get_model("routing", "Workstream")
    queue = Queue.objects.create(name="Support")
    workstream = Workstream.objects.create(name="Chat", channel="chat", default_queue=queue)
    account = Account.objects.create(name="Northwind")
    emma = Contact.objects.create(first_name="Emma", last_name="Johnson", account=account)

    def linked(note, **fields):
        conversation = Conversation.objects.create(
            channel="live_chat", workstream=workstream, contact=emma, account=account, **fields
        )
        Event.objects.create(
            conversation=conversation,
            kind="linked",
            actor="system",
            note=note,
            data={"contact": emma.pk, "account": account.pk},
        )
        return conversation.pk

    by_email = linked("matched by email")
    by_typed_phone = linked("matched by mobile phone")
    sms = Conversation.objects.create(
        channel="sms", workstream=workstream, contact=emma, account=account, customer_phone="+14155550132"
    )
    Event.objects.create(
        conversation=sms, kind="linked", actor="system", note="matched by mobile phone", data={"contact": emma.pk}
    )
    by_token = linked("matched by token subject", authenticated=True, auth_subject="portal-1")
    confirmed_by_agent = linked("matched by email")
    Event.objects.create(
        conversation_id=confirmed_by_agent, kind="linked", actor="agent", note="linked by the agent", data={"case": 1}
    )
    relinked = linked("matched by email")
    Event.objects.create(
        conversation_id=relinked, kind="linked", actor="agent", note="linked by the agent", data={"contact": emma.pk}
    )

    apps = migrate(AFTER)
    Conversation = apps.get_model("conversations", "Conversation")
    rows = {
        row["pk"]: (row["contact_id"], row["account_id"], row["suggested_contact_id"], row["suggested_by"])
        for row in Conversation.objects.values("pk", "contact_id", "account_id", "suggested_contact_id", "suggested_by")
    }
    assert rows[by_email] == (None, None, emma.pk, "email")
    assert rows[by_typed_phone] == (None, None, emma.pk, "mobile phone")
    assert rows[sms.pk] == (emma.pk, account.pk, None, "")  # a channel identity stays linked
    assert rows[by_token] == (emma.pk, account.pk, None, "")
    assert rows[confirmed_by_agent] == (None, None, emma.pk, "email")  # a case link is no contact choice
    assert rows[relinked] == (emma.pk, account.pk, None, "")  # the agent chose the contact since
    Event = apps.get_model("conversations", "ConversationEvent")
    assert Event.objects.filter(note="pre-chat match made a suggestion (unverified)").count() == 3

    apps = migrate(BEFORE)  # reversible: exactly the changed rows are linked again
    Conversation = apps.get_model("conversations", "Conversation")
    assert set(Conversation.objects.values_list("contact_id", flat=True)) == {emma.pk}
    assert set(Conversation.objects.values_list("account_id", flat=True)) == {account.pk}
    migrate(AFTER)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_a_workstreams_chat_settings_move_to_the_conversations_app_with_their_values():
    # spec: LIVE-1, LIVE-3, SUM-7, SUM-12, SUM-13 — existing workstreams keep their chat settings
    apps = migrate([("routing", "0007_help_texts_in_admin_words"), ("conversations", "0012_help_texts_in_admin_words")])
    Queue = apps.get_model("routing", "Queue")
    Workstream = apps.get_model("routing", "Workstream")
    queue = Queue.objects.create(name="Support")
    changed = {
        "customer_grace_seconds": 45,
        "auto_close_open_seconds": 60,
        "auto_close_active_seconds": 3600,
        "auto_close_waiting_seconds": 86400,
        "auto_close_wrap_up_seconds": None,
        "queue_position_message": "Number {position}",
        "average_wait_message": "",
        "summary_self_service_types": ["page_visited"],
        "summary_show_additional_details": False,
        "agents_may_edit_skills": True,
    }
    custom = Workstream.objects.create(name="Custom", default_queue=queue, **changed).pk
    plain = Workstream.objects.create(name="Plain", default_queue=queue).pk

    apps = migrate([("routing", "0008_chat_settings_move_to_conversations")])
    ChatSettings = apps.get_model("conversations", "ChatSettings")
    stored = {row.pop("workstream_id"): row for row in ChatSettings.objects.values("workstream_id", *changed)}
    assert stored[custom] == changed
    assert stored[plain] == {
        "customer_grace_seconds": 120,
        "auto_close_open_seconds": None,
        "auto_close_active_seconds": None,
        "auto_close_waiting_seconds": None,
        "auto_close_wrap_up_seconds": 600,
        "queue_position_message": "You are number {position} in the queue.",
        "average_wait_message": "The average wait is about {minutes} minutes.",
        "summary_self_service_types": [],
        "summary_show_additional_details": True,
        "agents_may_edit_skills": False,
    }
    assert "customer_grace_seconds" not in {f.name for f in apps.get_model("routing", "Workstream")._meta.fields}

    apps = migrate([("routing", "0007_help_texts_in_admin_words"), ("conversations", "0012_help_texts_in_admin_words")])
    Workstream = apps.get_model("routing", "Workstream")
    assert Workstream.objects.values(*changed).get(pk=custom) == changed  # and back again
