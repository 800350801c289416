"""``manage.py demo_data``: a believable contact center that obeys the admin's own rules."""

import re
import zoneinfo
from datetime import datetime
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from agents.models import AgentProfile
from conversations.channels.standin import demo_standin
from conversations.models import Conversation, OutboundSms, PhoneChannel
from conversations.services import message_post
from customers.models import Account, Case, Contact
from notifications.models import AlertSettings, NotificationTemplate
from notifications.scenarios import Scenario
from omnichannel.management.commands.demo_data import LOGINS
from routing.models import OperatingHours, Queue, RoutingRule, Workstream, WorkstreamTemplate, validate_conditions
from tests.live import wait_until
from widgets.models import AuthenticationSetting, ChatWidget

pytestmark = pytest.mark.django_db

DEMO_APPS = ("auth", "customers", "agents", "routing", "notifications", "conversations", "widgets")

# Every kind of configuration row an admin edits in the admin center (ADM-1), plus the records.
CONFIG_MODELS = [
    "agents.Skill",
    "routing.OperatingHours",
    "routing.OperatingWindow",
    "routing.Holiday",
    "routing.Queue",
    "routing.QueueMembership",
    "routing.Workstream",
    "routing.WorkstreamTemplate",
    "routing.RoutingRule",
    "agents.AgentProfile",
    "agents.AgentSkill",
    "notifications.NotificationTemplate",
    "notifications.NotificationTemplateField",
    "notifications.AlertSettings",
    "widgets.AuthenticationSetting",
    "widgets.ChatWidget",
    "widgets.AllowedDomain",
    "widgets.PreChatQuestion",
    "widgets.ProactiveRule",
    "widgets.ProactiveRuleMessage",
    "customers.Contact",
    "customers.Account",
    "customers.Case",
    "customers.Note",
    "conversations.PhoneChannel",
]


def load(*args) -> str:
    out = StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in DEMO_APPS and model._meta.label != "auth.Permission"
    }


def test_loading_twice_creates_nothing_new():
    # spec: ADM-1 — the demo is configuration like an admin's; loading it again duplicates nothing
    load()
    first = row_counts()
    load()
    assert row_counts() == first
    assert first["auth.User"] == len(LOGINS) == 6
    assert first["agents.AgentProfile"] == 5
    assert first["routing.Queue"] >= 4
    assert first["routing.Workstream"] == 5
    assert first["conversations.PhoneChannel"] == 2
    assert first["customers.Contact"] == 20
    assert first["customers.Account"] == 5
    assert first["customers.Case"] == 15
    assert first["conversations.Conversation"] >= 3


def test_if_empty_loads_nothing_into_a_configured_database():
    load()
    before = row_counts()
    Workstream.objects.filter(name="Cases").update(capacity_units=99)

    out = load("--if-empty")

    assert "not loaded" in out
    assert row_counts() == before
    assert Workstream.objects.get(name="Cases").capacity_units == 99


def test_if_empty_loads_an_empty_database():
    assert not Workstream.objects.exists()
    load("--if-empty")
    assert Workstream.objects.count() == 5


def test_every_configuration_row_passes_the_admins_validation():
    # spec: ADM-1 — invalid settings are refused; the demo's rows are all valid
    load()
    checked = 0
    for label in CONFIG_MODELS:
        model = apps.get_model(label)
        rows = list(model.objects.all())
        assert rows, f"the demo has no {label}"
        for row in rows:
            row.full_clean()
            checked += 1
    assert checked > 100
    for rule in RoutingRule.objects.all():
        assert validate_conditions(rule.conditions) == []


def test_contacts_phones_are_stored_normalised():
    # spec: SMS-2 — customers are found by their mobile phone in international form
    load()
    phones = list(Contact.objects.values_list("mobile_phone", flat=True))
    assert len(phones) == 20
    assert all(re.fullmatch(r"\+[1-9]\d{7,14}", phone) for phone in phones), phones
    assert Contact.objects.get(email="emma.johnson@northwind.example").mobile_phone == "+14155550132"
    assert all(account.primary_contact.account_id == account.pk for account in Account.objects.all())


def test_the_printed_logins_can_log_in(client):
    out = load()
    usernames = {login.username for login in LOGINS}
    table = {}
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] in usernames:
            table[cells[0]] = cells[1]
    assert table == {login.username: login.password for login in LOGINS}

    for username, password in table.items():
        assert client.login(username=username, password=password), username
        client.logout()

    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    supervisor = User.objects.get(username="supervisor")
    assert supervisor.is_staff and not supervisor.is_superuser
    assert supervisor.agent.role == AgentProfile.Role.SUPERVISOR
    for username in ("alice", "bogdan", "chloe", "david"):
        agent = AgentProfile.objects.get(user__username=username)
        assert agent.role == AgentProfile.Role.AGENT and not agent.user.is_staff
        assert agent.agent_skills.exists() and agent.memberships.exists()
        assert agent.presence.base == "offline"

    # The admin center takes the staff logins.
    for username in ("admin", "supervisor"):
        response = client.post("/admin/login/?next=/admin/", {"username": username, "password": table[username]})
        assert response.status_code == 302 and response.url == "/admin/", username
        assert client.get("/admin/").status_code == 200
        client.logout()


def test_widgets_have_allowed_domains_prechat_and_a_proactive_rule():
    # spec: WID-2, WID-10, PRO-2
    load()
    live = ChatWidget.objects.get(name="Website chat")
    assert live.workstream.chat_mode == Workstream.ChatMode.LIVE
    assert set(live.allowed_domains.values_list("origin", flat=True)) == {
        "http://localhost:8001",
        "http://127.0.0.1:8001",
        "https://www.example.com",
    }
    questions = list(live.prechat_questions.values_list("name", "kind", "required"))
    assert questions == [
        ("name", "single_line", True),
        ("email", "single_line", False),  # SUM-5: links a demo contact
        ("topic", "option_set", False),
        ("consent", "consent", True),
    ]
    assert live.prechat_questions.get(name="topic").choices == ["Billing", "Orders", "Technical"]
    assert live.proactive_enabled
    rule = live.proactive_rules.get()
    assert (rule.location_match, rule.location_pattern, rule.time_on_page_seconds) == ("contains", "/checkout", 20)
    for widget in ChatWidget.objects.all():
        assert widget.allowed_domains.exists(), widget


def test_the_persistent_widget_uses_an_authentication_setting_with_only_a_public_key():
    # spec: PER-2, PER-8, AUTH-1
    load()
    portal = ChatWidget.objects.get(name="Customer portal chat")
    assert portal.is_persistent
    assert portal.workstream.keep_same_agent
    assert portal.authentication is not None
    pem = portal.authentication.public_key_pem
    assert "PRIVATE" not in pem
    assert isinstance(load_pem_public_key(pem.encode()), rsa.RSAPublicKey)
    load()  # a second load keeps the key, so tokens signed for it stay valid
    assert AuthenticationSetting.objects.get().public_key_pem == pem


def test_routing_notifications_and_hours_are_wired():
    # spec: ROU-1, ROU-2, ROU-3, NOT-2, NOT-6
    load()
    live = Workstream.objects.get(name="Website live chat")
    assert (live.channel, live.distribution, live.default_queue.name) == ("chat", "push", "General support")
    assert live.fallback_queue is not None
    rules = {rule.name: rule for rule in live.routing_rules.all()}
    assert rules["Gold customers to VIP"].queue.name == "VIP"
    assert rules["Gold customers to VIP"].conditions == [
        {"source": "context", "name": "tier", "operator": "equals", "value": "gold"}
    ]
    assert [s.name for s in rules["Billing questions"].skills.all()] == ["Billing"]
    assert [s.name for s in rules["French speakers"].skills.all()] == ["French"]
    assert Queue.objects.get(name="VIP").priority == 1
    assert {w.channel for w in Workstream.objects.all()} == {"chat", "sms", "voice", "records"}
    voice = Workstream.objects.get(name="Voice support")
    assert WorkstreamTemplate.objects.get(workstream=voice).scenario == Scenario.INCOMING_VOICE  # VOI-1

    custom = WorkstreamTemplate.objects.get(workstream=live, scenario=Scenario.INCOMING_CHAT).template
    assert not custom.is_default
    assert (custom.timeout_seconds, custom.show_timeout) == (90, False)
    assert NotificationTemplate.objects.filter(is_default=True).count() == len(Scenario.values)
    alerts = AlertSettings.load()
    assert alerts.missed_notification_enabled and alerts.agent_reject_enabled and alerts.max_sessions_enabled

    hours = OperatingHours.objects.get(name="Support hours")
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    holiday = hours.holidays.first().date
    assert hours.time_zone == "Europe/Paris"
    assert hours.is_open_at(datetime(2025, 3, 3, 10, 0, tzinfo=paris))  # a Monday
    assert not hours.is_open_at(datetime(2025, 3, 3, 21, 0, tzinfo=paris))
    assert not hours.is_open_at(datetime(2025, 3, 8, 10, 0, tzinfo=paris))  # a Saturday
    assert not hours.is_open_at(datetime(holiday.year, holiday.month, holiday.day, 10, 0, tzinfo=paris))
    assert Queue.objects.filter(operating_hours__isnull=True).exists()  # always open


def test_history_is_closed_conversations_with_ordered_messages_and_cases_with_notes():
    # spec: CONV-3, SUM-14 — past conversations keep their times, queue and messages
    load()
    history = Conversation.objects.all()
    assert history.count() >= 3
    for conversation in history:
        assert conversation.status == Conversation.Status.CLOSED
        assert conversation.created_at < conversation.first_assigned_at < conversation.closed_at
        seqs = list(conversation.messages.values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == conversation.last_message_seq
        assert list(conversation.events.values_list("to_status", flat=True)) == ["active", "wrap_up", "closed"]
    assert Case.objects.filter(status=Case.Status.ACTIVE).exists()
    assert Case.objects.filter(status=Case.Status.RESOLVED).exists()
    assert all(case.notes.exists() for case in Case.objects.all())
    oldest = Case.objects.order_by("created_at").first()
    newest = Case.objects.order_by("created_at").last()
    assert (newest.created_at - oldest.created_at).days > 60


def test_the_phone_channels_point_at_the_stand_in_provider():
    # spec: SMS-1, VOI-1 — the demo's SMS and voice channels, for `manage.py sms_standin`
    load()
    channels = {channel.kind: channel for channel in PhoneChannel.objects.select_related("workstream")}
    assert set(channels) == {"sms", "voice"}
    assert (channels["sms"].workstream.name, channels["voice"].workstream.name) == ("SMS support", "Voice support")
    for channel in channels.values():
        assert channel.api_base_url == "http://127.0.0.1:8010"
        assert channel.public_base_url == "http://127.0.0.1:8000"
        assert channel.phone_number.startswith("+1415555")


def test_sms_standin_refuses_without_the_demo_channels():
    with pytest.raises(CommandError, match="demo_data"):
        call_command("sms_standin", "--port", "0")


def test_the_demo_works_end_to_end_with_the_stand_in(asgi_server, celery_worker):
    # spec: SMS-1, SMS-2, VOI-1 — demo data + the one extra command (its body: demo_standin)
    load()
    contact = Contact.objects.filter(mobile_phone__startswith="+").first()
    provider = demo_standin(port=0, server=asgi_server.url)
    try:
        assert provider.send_inbound(from_number=contact.mobile_phone, body="Hello from the demo") == 200
        assert provider.send_call_handoff(from_number="+14155550177", transcript="Caller wants a refund.") == 200
        sms = wait_until(lambda: Conversation.objects.filter(channel="sms", status="open").first())
        voice = wait_until(lambda: Conversation.objects.filter(channel="voice").first())
        assert (sms.workstream.name, sms.contact_id) == ("SMS support", contact.pk)
        assert voice.workstream.name == "Voice support"
        agent = AgentProfile.objects.get(user__username="alice")
        Conversation.objects.filter(pk=sms.pk).update(status="active", agent=agent)
        message_post(conversation_id=sms.pk, sender="agent", text="Hi from Alice", agent=agent)
        wait_until(lambda: OutboundSms.objects.filter(status="delivered").exists())
        assert [(m["to"], m["body"]) for m in provider.messages] == [(contact.mobile_phone, "Hi from Alice")]
    finally:
        provider.stop()
